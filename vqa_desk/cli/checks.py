"""check: find inconsistent labels, list them, and apply the confident fixes headless."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from vqa_desk.cli.common import EXIT_OK, ProgressBar, print_json
from vqa_desk.core.errors import VQADeskError


def cmd_check(args: argparse.Namespace) -> int:
    from vqa_desk.core import findings as store
    from vqa_desk.core.checks import KINDS
    from vqa_desk.core.ocr import engine_available
    from vqa_desk.core.workspace import Workspace

    if args.apply and args.apply != "all" and args.apply not in KINDS:
        raise VQADeskError(f"--apply takes 'all' or one of: {', '.join(KINDS)}.")
    Workspace.open(args.workspace).close()  # a clear error before any OCR starts
    use_ocr = engine_available() if args.ocr is None else args.ocr
    if not use_ocr and args.ocr is None:
        print("note: the OCR engine is not installed; checks run on text evidence only (cover evidence off).",
              file=sys.stderr)
    with ProgressBar("ocr", quiet=False) as bar:
        report = store.check_and_store(args.workspace, use_ocr=use_ocr, policy=args.policy, progress=bar.update,
                                       cancel=bar.cancel)
    for image_id, why in list(report.ocr_failed.items())[:10]:
        print(f"note: OCR of {image_id} failed: {why}", file=sys.stderr)
    applied: list[int] = []
    edits = 0
    with Workspace.open(args.workspace) as ws:
        if args.apply:
            chosen = store.select_for_apply(ws, kind=args.apply, min_confidence=args.min_confidence)
            applied = [f.id for f in chosen if f.id is not None]
            edits = len(store.apply(ws, applied, source="check")) if applied else 0
        findings = store.load(ws)
    counts = {k: sum(1 for f in findings if f.kind == k and f.status == "open") for k in KINDS}
    if args.json:
        print_json({
            "counts": counts,
            "policy": report.policy,
            "cover_text": report.cover_text,
            "ocr": {"read": report.ocr_read, "cached": report.ocr_cached, "failed": report.ocr_failed}
            if use_ocr else None,
            "stored": report.stored.__dict__,
            "applied": {"findings": len(applied), "edits": edits},
            "findings": [_finding_json(f) for f in findings],
        })
        return EXIT_OK
    print(f"Checks on {args.workspace} (title policy {report.policy}; cover evidence "
          f"{'on, ' + str(report.covers_with_text) + ' covers with text' if report.cover_text else 'off'})")
    for kind in KINDS:
        print(f"  {kind:<20} {counts[kind]:>5} open")
    if args.apply:
        print(f"Applied {len(applied)} findings ({edits} answers changed, source 'check').")
    for f in findings:
        if f.status != "open":
            continue
        flag = " (possible)" if f.possible else ""
        print(f"[{f.id}] {f.kind}/{f.detail} {f.confidence:.2f}{flag}: {f.summary}")
        for ch in f.changes[:6]:
            print(f"      {ch.image_id} {ch.question!r}: {ch.old!r} -> {ch.new!r}")
        if len(f.changes) > 6:
            print(f"      ... and {len(f.changes) - 6} more")
    return EXIT_OK


def _finding_json(f: Any) -> dict[str, Any]:
    return {"id": f.id, "kind": f.kind, "detail": f.detail, "confidence": f.confidence, "status": f.status,
            "reason": f.reason, "summary": f.summary, "evidence": f.evidence,
            "changes": [{"qa_id": c.qa_id, "image_id": c.image_id, "question": c.question, "old": c.old,
                         "new": c.new} for c in f.changes]}
