"""The label checks on REAL published covers, judged against a hand annotation of what the covers print.

Build the covers first (publishers' artwork: never commit, ship or test on them):

    python ../shared/tools/build_real_covers.py --mirror /work/.mirror --out /tmp/real
    .venv/bin/python bench/eval_real_covers.py /tmp/real/data --ws /tmp/real.vqadesk

The first argument is the parquet folder the builder writes (or an existing workspace built from it). OCR runs
once and is cached in the workspace; later runs only re-run the checks. Prints, per finding kind, the
suggestions at --min-confidence (default 0.8) on annotated covers: right / harmful / neutral (see
tools/real_cover_eval.py), the recall of title labels that differ from the printed title block, and OCR speed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.real_cover_eval import judge_run, load_annotation, recall
from vqa_desk.core.checks import TitlePolicy, run_checks
from vqa_desk.core.importer import import_dataset
from vqa_desk.core.ocr import run_ocr
from vqa_desk.core.questions import QuestionType
from vqa_desk.core.workspace import Workspace

ANNOTATION = Path(__file__).with_name("real_covers_annotation.jsonl")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="parquet folder from build_real_covers.py, or a workspace")
    parser.add_argument("--ws", type=Path, help="where to build the workspace (default: a temporary file)")
    parser.add_argument("--annotation", type=Path, default=ANNOTATION)
    parser.add_argument("--min-confidence", type=float, default=0.8)
    parser.add_argument("--workers", type=int, default=2, help="OCR worker threads")
    parser.add_argument("--cached-only", action="store_true", help="judge with the cover text read so far")
    parser.add_argument("--show", type=int, default=12, help="examples printed per kind and verdict")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws_path = args.source if args.source.is_file() else (args.ws or Path(tmp) / "real.vqadesk")
        if not ws_path.exists():
            t = time.perf_counter()
            import_dataset(str(args.source), ws_path, sizes={"train": None, "validation": None, "test": None})
            print(f"import: {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        ocr = run_ocr(ws_path, workers=args.workers) if not args.cached_only else None
        wall = time.perf_counter() - t
        if ocr is None:
            pass
        elif ocr.read:
            print(f"OCR: {ocr.read} covers in {wall:.1f} s = {ocr.read / wall:.2f} covers/s "
                  f"({args.workers} workers), {len(ocr.failed)} failed, {ocr.skipped_cached} cached")
        else:
            print(f"OCR: all {ocr.skipped_cached} covers cached (run bench/bench_ocr.py --real for speed)")
        annotation = load_annotation(args.annotation)
        with Workspace.open(ws_path) as ws:
            t = time.perf_counter()
            run = run_checks(ws, use_ocr=True, policy=TitlePolicy.AS_PRINTED)
            checks_s = time.perf_counter() - t
            labels = {iid: answer for iid, answer in ws.connection.execute(
                "SELECT i.image_id, q.answer FROM qa q JOIN images i ON i.id = q.image WHERE q.qtype = ?",
                (QuestionType.TITLE.value,))}
        covers = len(labels)
        annotated = sum(1 for iid in labels if iid in annotation)
        print(f"checks: {len(run.findings)} findings on {covers} covers in {checks_s:.1f} s; "
              f"{annotated} covers annotated ({sum(1 for a in annotation.values() if a.legible)} legible)")
        tally = judge_run(run, annotation, min_confidence=args.min_confidence)
        print(f"\nsuggestions at confidence >= {args.min_confidence} on annotated, legible covers:")
        total = {"right": 0, "harmful": 0, "neutral": 0}
        for kind, counts in sorted(tally.by_kind.items()):
            n = sum(counts.values())
            for v in total:
                total[v] += counts[v]
            print(f"  {kind:<36} {n:4d}: right {counts['right']:3d}  harmful {counts['harmful']:3d}  "
                  f"neutral {counts['neutral']:3d}")
        n = sum(total.values())
        if n:
            print(f"  {'all':<36} {n:4d}: right {total['right']:3d} ({total['right'] / n:.0%})  "
                  f"harmful {total['harmful']:3d}  neutral {total['neutral']:3d}")
        print(f"  (not annotated or not judged: {dict(tally.unjudged)})")
        for key, examples in sorted(tally.examples.items()):
            if key.endswith("/right") and args.show < 50:
                examples = examples[: max(3, args.show // 4)]
            print(f"\n  {key}:")
            for e in examples[: args.show]:
                print(f"    {e}")
        found, differ, misses = recall(run, labels, annotation)
        print(f"\ntitle labels that differ from the printed title block (legible annotated covers): {differ}; "
              f"found with a right suggestion: {found} ({found / differ:.0%})" if differ else "\nno differing titles")
        for m in misses[: args.show]:
            print(f"    missed {m}")
        confident = [f for f in run.findings if f.confidence >= args.min_confidence and not f.possible]
        unannotated = [f for f in confident if f.kind == "title_vs_cover"
                       and not any(c.image_id in annotation for c in f.changes)]
        print(f"\ntitle suggestions >= {args.min_confidence} on covers nobody annotated: {len(unannotated)}")
        for f in unannotated[: args.show]:
            print(f"    {f.summary} ({f.confidence})")


if __name__ == "__main__":
    main()
