"""Import benchmark: a synthetic OCR-VQA-layout parquet folder of N covers, imported whole and sampled.

Prints import time, covers/s, peak RSS of the importing process, and the time of ``vqa-desk info`` on the
result. Targets (issue 2): peak RSS < 1 GB whatever N is; ``info`` on the 207k workspace < 1 s.

    .venv/bin/python bench/bench_import.py            # 20,000 covers
    .venv/bin/python bench/bench_import.py --full     # 207,549 covers, as OCR-VQA
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.synthetic_ocrvqa import write_parquet

FULL = {"train": 166_022, "validation": 20_731, "test": 20_796}


def build_source(root: Path, n: int) -> Path:
    scale = n / sum(FULL.values())
    sizes = {split: max(1, round(count * scale)) for split, count in FULL.items()}
    folder = root / f"ocrvqa-{n}"
    marker = folder / ".complete"
    if marker.exists():
        return folder
    start = 0
    for split, count in sizes.items():
        shards = max(1, count // 20_000)
        per = -(-count // shards)
        for k in range(shards):
            rows = min(per, count - k * per)
            write_parquet(folder / "data" / f"{split}-{k:05d}-of-{shards:05d}.parquet", rows, start=start,
                          row_group_size=1000)
            start += rows
    marker.touch()
    return folder


def run(cmd: list[str]) -> tuple[float, int, str]:
    """Wall seconds and peak RSS (bytes) of a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the maximum over all children so far: run the big one first.
    return wall, max(peak, before) * 1024, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--covers", type=int, default=20_000)
    parser.add_argument("--full", action="store_true", help="207,549 covers like the real OCR-VQA")
    parser.add_argument("--work", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args()
    n = sum(FULL.values()) if args.full else args.covers
    args.work.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    source = build_source(args.work, n)
    print(f"source: {source} ({n} covers, built/reused in {time.perf_counter() - t0:.1f} s)")
    exe = [sys.executable, "-m", "vqa_desk.cli"]
    ws = args.work / f"bench-{n}.vqadesk"
    wall, rss, _ = run([*exe, "new", str(ws), "--from", str(source), "--sizes", "all,all,all", "--force", "--json"])
    print(f"import all:      {wall:7.1f} s  {n / wall:8.0f} covers/s  peak RSS {rss / 2**20:6.0f} MiB  "
          f"workspace {ws.stat().st_size / 2**20:.0f} MiB")
    sample = args.work / f"bench-{n}-sample.vqadesk"
    wall_s, _, _ = run([*exe, "new", str(sample), "--from", str(source), "--sizes", "150,50,100", "--force"])
    print(f"import sample:   {wall_s:7.1f} s  (150/50/100 covers, cookbook sizes)")
    info_runs = []
    for _ in range(3):
        t = time.perf_counter()
        run([*exe, "info", str(ws), "--json"])
        info_runs.append(time.perf_counter() - t)
    # The in-process cost of summary(), without interpreter start-up.
    from vqa_desk.core.workspace import Workspace

    t = time.perf_counter()
    with Workspace.open(ws) as opened:
        opened.summary()
    summary_s = time.perf_counter() - t
    print(f"info (process):  {min(info_runs):7.2f} s  best of 3 (summary() alone {summary_s * 1000:.0f} ms)")
    if os.environ.get("BENCH_KEEP") != "1":
        for path in (ws, sample):
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
