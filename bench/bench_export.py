"""Export benchmark: VQA Desk's export against a plain single-process reference of the cookbook's method.

Both turn the same synthetic 1,000-cover set (realistic ~300x450 JPEG covers of ~26 KB, unique per cover, five
questions each; split 500 / 167 / 333 like the cookbook's 150 / 50 / 100) into train / validation / test JSONL
files in the cookbook's layout: system prompt, 6 few-shot pairs with their images, the question with its image,
the answer (none in the test file).

- reference: the notebook's method — ``pandas.read_parquet``, ``explode`` questions/answers into rows, for every
  row open the image with PIL, convert to RGB, save as JPEG quality 50, base64, build the messages; all examples
  in a list, then ``json.dumps`` per line. (Kind to the reference: the few-shot images are encoded once.)
- ours: ``export_workspace`` on a workspace imported from the same parquet files, ``quality=50`` so both write
  the same kind of images; validation off, as the reference has none (the validator runs afterwards, timed
  apart). A second run with the defaults (original bytes passed through) is shown for information.

Each run is its own process; it reports its wall time for the work (imports excluded) and its peak RSS
(``ru_maxrss``). Target (issue 5): at least 3x the reference's covers/s at no more than 1/3 of its peak RSS,
and our files pass the validator.

    .venv/bin/python bench/bench_export.py                  # 1,000 covers
    .venv/bin/python bench/bench_export.py --covers 300     # quicker
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
FONT = ROOT / "tools" / "fonts" / "DejaVuSerif-Bold.ttf"
RATIO = {"train": 150, "validation": 50, "test": 100}


# ----- the synthetic set ---------------------------------------------------------------------------------

def realistic_cover(i: int) -> bytes:
    """A unique ~300x450 cover with gradient, grain, shapes and text: JPEG q85, ~26 KB like OCR-VQA's."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

    rng = random.Random(i)
    w, h = rng.randint(280, 320), rng.randint(420, 480)
    colours = [tuple(rng.randrange(256) for _ in range(3)) for _ in range(2)]
    img = ImageOps.colorize(Image.linear_gradient("L").rotate(rng.randrange(360)).resize((w, h)), *colours)
    grain = Image.effect_noise((w, h), rng.uniform(30, 60)).convert("RGB")
    img = Image.blend(img, grain.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5))), 0.35)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(3, 8)):
        x, y = rng.randrange(w), rng.randrange(h)
        draw.ellipse((x, y, x + rng.randint(20, 150), y + rng.randint(20, 150)),
                     fill=tuple(rng.randrange(256) for _ in range(3)))
    draw.text((15, 30), f"Book Number {i}", font=ImageFont.truetype(str(FONT), rng.randint(22, 32)), fill="white",
              stroke_width=2, stroke_fill="black")
    draw.text((15, h - 60), f"Author {i % 997}", font=ImageFont.truetype(str(FONT), 18), fill="white")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def split_sizes(n: int) -> dict[str, int]:
    total = sum(RATIO.values())
    sizes = {s: round(n * r / total) for s, r in RATIO.items()}
    sizes["test"] = n - sizes["train"] - sizes["validation"]
    return sizes


def build_source(work: Path, n: int) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tools.synthetic_ocrvqa import SCHEMA, make_row

    folder = work / f"export-src-{n}"
    if (folder / ".complete").exists():
        return folder
    start = 0
    for split, count in split_sizes(n).items():
        rows = []
        for i in range(start, start + count):
            row = make_row(i, realistic_cover(i))
            row["image_width"], row["image_height"] = 300, 450
            rows.append(row)
        (folder / "data").mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), folder / "data" / f"{split}-00000-of-00001.parquet",
                       row_group_size=100)
        start += count
    (folder / ".complete").touch()
    return folder


def build_workspace(work: Path, source: Path, n: int) -> Path:
    from vqa_desk.core.importer import import_dataset
    from vqa_desk.core.sampling import parse_sizes

    ws = work / f"export-{n}.vqadesk"
    if not ws.exists():
        import_dataset(str(source), ws, sizes=parse_sizes("all,all,all"))
    return ws


# ----- the two exports, each run in its own process --------------------------------------------------------

def reference_export(source: Path, out: Path) -> int:
    """The cookbook notebook's method, single process, everything in memory before writing."""
    import base64

    import pandas as pd
    from PIL import Image

    from vqa_desk.core.prompts import DEFAULT_SYSTEM_PROMPT

    def encode_image(image: dict[str, Any]) -> str:
        img = Image.open(io.BytesIO(image["bytes"]))
        if img.mode != "RGB":
            img = img.convert("RGB")
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=50)
        return base64.b64encode(buf.getvalue()).decode("utf-8")

    def user(question: str, b64: str) -> dict[str, Any]:
        image = {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{b64}"}}
        return {"role": "user", "content": [{"type": "text", "text": question}, image]}

    frames = {split: pd.read_parquet(source / "data" / f"{split}-00000-of-00001.parquet").explode(
        ["questions", "answers"]) for split in RATIO}
    few_shot = frames["train"].sample(n=6, random_state=42)
    shots: list[dict[str, Any]] = []
    for k, (_, row) in enumerate(few_shot.iterrows(), start=1):
        shots += [user(f"Question [{k}]: {row['questions']}", encode_image(row["image"])),
                  {"role": "assistant", "content": row["answers"]}]
    lines = 0
    for split, df in frames.items():
        examples = []
        for _, row in df.iterrows():
            messages = [{"role": "system", "content": DEFAULT_SYSTEM_PROMPT}, *shots,
                        user(f"Question [7]: {row['questions']}", encode_image(row["image"]))]
            if split != "test":
                messages.append({"role": "assistant", "content": row["answers"]})
            examples.append({"messages": messages})
        with (out / f"{split}.jsonl").open("w") as fh:
            for example in examples:
                fh.write(json.dumps(example) + "\n")
        lines += len(examples)
    return lines


# What each of our runs sets: "ours" does the reference's work (files only, JPEG q50); "ours-full" adds what
# the CLI does on top (token estimate, validation); "ours-default" is the defaults (original bytes kept).
OUR_RUNS: dict[str, dict[str, Any]] = {
    "ours": {"quality": 50, "validate": False, "estimate": False},
    "ours-full": {"quality": 50},
    "ours-default": {},
}


def our_export(ws: Path, out: Path, settings: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    from vqa_desk.core.export import ExportOptions, export_workspace

    result = export_workspace(ws, out, options=ExportOptions(**settings))
    checked = {split: [e.message for e in r.errors] for split, r in result.validation.items()}
    return sum(result.examples.values()), checked


def child(mode: str, src: Path, ws: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    lines, checked = (reference_export(src, out), {}) if mode == "reference" else our_export(ws, out, OUR_RUNS[mode])
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(json.dumps({"seconds": seconds, "rss": rss, "lines": lines, "bytes": size, "validation": checked}))


def run_child(mode: str, src: Path, ws: Path, out: Path) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run([sys.executable, __file__, "--child", mode, "--src", str(src), "--ws", str(ws),
                           "--out", str(out)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--covers", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--keep", action="store_true", help="keep the exported files")
    parser.add_argument("--child", choices=["reference", *OUR_RUNS])
    parser.add_argument("--src", type=Path)
    parser.add_argument("--ws", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.src, args.ws, args.out)
        return

    import os

    n = args.covers
    args.work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    src = build_source(args.work, n)
    ws = build_workspace(args.work, src, n)
    print(f"set: {n} covers {split_sizes(n)}, ~300x450 JPEG; built/reused in {time.perf_counter() - t0:.1f} s; "
          f"{os.cpu_count()} CPUs")
    runs: dict[str, dict[str, Any]] = {}
    for mode in ("reference", *OUR_RUNS):
        out = args.work / f"export-{mode}-{n}"
        runs[mode] = r = run_child(mode, src, ws, out)
        print(f"{mode:13s} {r['seconds']:6.1f} s  {n / r['seconds']:7.1f} covers/s  {r['lines']:6d} lines  "
              f"peak RSS {r['rss'] / 2**20:6.0f} MiB  files {r['bytes'] / 2**20:6.0f} MiB")
        for split, errors in r["validation"].items():  # validated inside the run (ours-full, ours-default)
            print(f"  validated in the run, {split}: " + ("ok" if not errors else "; ".join(errors)))
        if mode == "ours":
            from vqa_desk.core.validate import validate_file

            for split in ("train", "validation"):
                t = time.perf_counter()
                rep = validate_file(out / f"{split}.jsonl", provider="openai")
                print(f"  validator on our {split}.jsonl: ok={rep.ok} errors={len(rep.errors)} "
                      f"warnings={len(rep.warnings)} ({time.perf_counter() - t:.1f} s)")
                for issue in rep.errors:
                    print(f"    error: {issue.message}")
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    ref, ours = runs["reference"], runs["ours"]
    speed = ref["seconds"] / ours["seconds"]
    memory = ours["rss"] / ref["rss"]
    print(f"ours vs reference (both JPEG q50): {speed:.1f}x the throughput (target >= 3x), "
          f"{memory:.2f} of the peak RSS (target <= 0.33)")
    for mode in ("ours-full", "ours-default"):
        print(f"{mode}: {ref['seconds'] / runs[mode]['seconds']:.1f}x the throughput, "
              f"{runs[mode]['rss'] / ref['rss']:.2f} of the peak RSS")


if __name__ == "__main__":
    main()
