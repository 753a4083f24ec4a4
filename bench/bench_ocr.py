"""OCR throughput: covers per second and peak RSS for reading 1,000 covers with the bundled engine.

Covers come from the demo data (drawn at real cover sizes, ~200-300 x 300-420 px), cycled to 1,000 distinct
workspace rows. Runs with 1 and 2 worker threads.

    .venv/bin/python bench/bench_ocr.py [--covers 1000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build(path: Path, n: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vqa_desk.core.dataset import demo_dir
    from vqa_desk.core.importer import import_dataset

    table = pq.read_table(demo_dir() / "train-00000-of-00001.parquet")
    rows = [r for r in table.to_pylist() if r["image_width"] and r["image_width"] > 100]
    out = []
    for i in range(n):
        row = dict(rows[i % len(rows)])
        row["image_id"] = f"{row['image_id']}-{i}"
        out.append(row)
    src = path.parent / "train.parquet"
    pq.write_table(pa.Table.from_pylist(out, schema=table.schema), src)
    import_dataset(str(src), path, sizes={"train": None})


def child(path: str, workers: int) -> None:
    from vqa_desk.core.ocr import run_ocr

    t = time.perf_counter()
    run = run_ocr(Path(path), workers=workers, redo=True)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"read": run.read, "failed": len(run.failed), "seconds": wall, "peak_mib": peak}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--covers", type=int, default=1000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ocr.vqadesk"
        build(ws, args.covers)
        for workers in (1, 2):
            done = subprocess.run([sys.executable, __file__, "--child", str(ws), str(workers)],
                                  capture_output=True, text=True, check=True)
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{workers} worker(s): {r['read']} covers in {r['seconds']:.1f} s = {r['read'] / r['seconds']:.1f} "
                  f"covers/s, {r['failed']} failed, peak RSS {r['peak_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
