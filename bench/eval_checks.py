"""Precision and recall of the label checks on the demo data, with OCR on and off.

    .venv/bin/python bench/eval_checks.py            # builds the demo workspace and OCRs it once (~20 s)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.check_eval import evaluate
from vqa_desk.core.importer import import_dataset
from vqa_desk.core.ocr import run_ocr


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "demo.vqadesk"
        import_dataset("demo", ws)
        t = time.perf_counter()
        ocr = run_ocr(ws)
        print(f"OCR: {ocr.read} covers in {time.perf_counter() - t:.1f} s, {len(ocr.failed)} failed")
        for use_ocr in (True, False):
            ev = evaluate(ws, use_ocr=use_ocr)
            print(f"\n=== OCR {'on' if use_ocr else 'off'}: {len(ev.run.findings)} findings {ev.run.counts}")
            print("precision by finding kind (changes of confident findings):")
            for kind, s in sorted(ev.precision.items()):
                print(f"  {kind:<20} {s.ratio:6.1%}  ({s.correct}/{s.total})")
                for miss in s.misses[:8]:
                    print(f"      x {miss}")
            print("recall by planted kind:")
            for kind, s in sorted(ev.recall.items()):
                print(f"  {kind:<28} {s.ratio:6.1%}  ({s.correct}/{s.total})")
                for miss in s.misses[:5]:
                    print(f"      - {miss}")
            print(f"decoy merges: {ev.decoy_merges or 'none'}")


if __name__ == "__main__":
    main()
