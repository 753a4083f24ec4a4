"""demo: the whole loop headless on the demo data with an in-process sandbox."""

from __future__ import annotations

import argparse
import sys

from vqa_desk.cli.common import EXIT_OK, ProgressBar, print_json
from vqa_desk.cli.evaluate import print_metrics
from vqa_desk.core.errors import VQADeskError


def cmd_demo(args: argparse.Namespace) -> int:
    """The whole loop on the demo data, offline: checks, fixes, export, fine-tune, evaluate, grade, report."""
    from vqa_desk.core import findings, finetune, grading, inference
    from vqa_desk.core.export import ExportOptions, export_workspace
    from vqa_desk.core.importer import import_dataset
    from vqa_desk.core.ocr import engine_available
    from vqa_desk.core.paths import data_dir
    from vqa_desk.core.providers import ProviderKind, ProviderProfile, make_client
    from vqa_desk.core.report import build_report
    from vqa_desk.core.workspace import Workspace
    from vqa_desk.sandbox.server import SandboxServer

    if args.out is None:  # our own folder: on a fresh account even its parents may not exist yet
        out = data_dir() / "demo-run"
        out.mkdir(parents=True, exist_ok=True)
    else:  # a folder the user named: a mistyped parent is refused, not created
        out = args.out
        if not out.parent.is_dir():
            raise VQADeskError(f"The folder {out.parent} does not exist; create it or choose another --out.")
        out.mkdir(exist_ok=True)
    ws = out / "demo.vqadesk"

    def step(text: str) -> None:
        print(f"demo: {text}", file=sys.stderr, flush=True)

    step(f"1/7 new workspace {ws}")
    import_dataset("demo", ws, force=True)
    use_ocr = engine_available()
    step(f"2/7 label checks (cover evidence {'on' if use_ocr else 'off: OCR engine not installed'})")
    with ProgressBar("checks", quiet=False) as bar:
        report = findings.check_and_store(ws, use_ocr=use_ocr, progress=bar.update, cancel=bar.cancel)
    with Workspace.open(ws) as opened:
        chosen = findings.select_for_apply(opened, kind="all", min_confidence=0.9)
        edits = findings.apply(opened, [f.id for f in chosen if f.id is not None]) if chosen else []
    step(f"   {sum(report.counts.values())} findings; applied {len(chosen)} confident ones ({len(edits)} answers)")
    step("3/7 export")
    export_dir = out / "export"
    with ProgressBar("export", quiet=False) as bar:
        exported = export_workspace(ws, export_dir, options=ExportOptions(quality=75, max_side=512),
                                    progress=bar.update, cancel=bar.cancel)
    with SandboxServer(state_dir=out / "sandbox", step_delay=0) as server:
        profile = ProviderProfile("sandbox", ProviderKind.SANDBOX, base_url=server.base_url)
        client = make_client(profile, key=server.token)
        step("4/7 fine-tune sandbox-ocr on the export (the offline sandbox: a baseline, not GPT-4o)")
        request = finetune.LaunchRequest(export_dir / "train.jsonl", export_dir / "validation.jsonl", "sandbox-ocr",
                                         suffix="demo", manifest=exported.manifest)
        with ProgressBar("upload", quiet=False) as bar:
            record = finetune.launch(ws, profile, request, client, progress=bar.update, cancel=bar.cancel)
        record = finetune.follow(ws, record.id, profile, client, poll_seconds=0.5)
        if record.status != "succeeded":
            raise VQADeskError(f"The demo's fine-tuning job ended {record.status}: {record.error}")
        step(f"   {record.fine_tuned_model}")
        step("5/7 evaluate the base and the fine-tuned model on the test split")
        for model in ("sandbox-ocr", str(record.fine_tuned_model)):
            with ProgressBar(model[:30], quiet=False) as bar:
                inference.evaluate(ws, profile, client, model, export_dir, concurrency=8, progress=bar.update,
                                   cancel=bar.cancel)
        client.close()
    step("6/7 grade")
    summary = grading.grade_workspace(ws)
    step("7/7 report")
    built = build_report(ws, out / "report.html", csv_dir=out / "csv")
    if args.json:
        print_json({"workspace": str(ws), "metrics": summary.metrics, "report": str(built.html),
                     "findings": report.counts, "applied": len(chosen), "fine_tuned_model": record.fine_tuned_model,
                     "export": {k: str(v) for k, v in exported.files.items()}})
    else:
        print_metrics(summary.metrics)
        print(f"Report: {built.html}")
    return EXIT_OK
