"""Synthetic parquet files in the OCR-VQA layout, of any size, for tests and benchmarks.

Covers are small real JPEGs drawn from a pool (encoding 207k distinct images would only slow the benchmark
down without testing anything more); every row still has its own id, questions and answers.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageDraw

GENRES = ["History", "Romance", "Travel", "Cookbooks, Food & Wine", "Science & Math", "Law", "Humor & Entertainment"]

SCHEMA = pa.schema([
    ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
    ("image_id", pa.string()),
    ("questions", pa.list_(pa.string())),
    ("answers", pa.list_(pa.string())),
    ("ocr_tokens", pa.list_(pa.string())),
    ("ocr_info", pa.list_(pa.struct([
        ("word", pa.string()),
        ("bounding_box", pa.struct([("width", pa.float64()), ("height", pa.float64()),
                                    ("top_left_x", pa.float64()), ("top_left_y", pa.float64())])),
    ]))),
    ("title", pa.string()),
    ("authorName", pa.string()),
    ("genre", pa.string()),
    ("image_width", pa.int64()),
    ("image_height", pa.int64()),
    ("image_url", pa.string()),
    ("set_name", pa.string()),
])


def cover_jpeg(seed: int, size: tuple[int, int] = (64, 96)) -> bytes:
    rng = random.Random(seed)
    img = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    draw.rectangle((4, 8, size[0] - 4, 30), fill=tuple(rng.randrange(256) for _ in range(3)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=70)
    return buf.getvalue()


def make_row(i: int, image: bytes, prefix: str = "B") -> dict[str, Any]:
    genre = GENRES[i % len(GENRES)]
    title = f"Book Number {i}"
    author = f"Author {i % 997}"
    questions = ["What is the title of this book?", "Who wrote this book?", "What type of book is this?",
                 f"Is this book related to {GENRES[(i + 1) % len(GENRES)]}?", "Is this a travel book?"]
    answers = [title, author, genre, "No", "Yes" if genre == "Travel" else "No"]
    return {
        "image": {"bytes": image, "path": f"{prefix}{i:09d}.jpg"},
        "image_id": f"{prefix}{i:09d}",
        "questions": questions,
        "answers": answers,
        "ocr_tokens": title.split(),
        "ocr_info": [{"word": w, "bounding_box": {"width": 0.2, "height": 0.05, "top_left_x": 0.1 + 0.2 * k,
                                                 "top_left_y": 0.1}} for k, w in enumerate(title.split())],
        "title": title,
        "authorName": author,
        "genre": genre,
        "image_width": 64,
        "image_height": 96,
        "image_url": f"http://example.invalid/{i}.jpg",
        "set_name": "train",
    }


def write_parquet(path: Path, n: int, *, start: int = 0, row_group_size: int = 1000, pool: int = 64,
                  prefix: str = "B", mutate: Callable[[dict[str, Any]], None] | None = None,
                  schema: pa.Schema = SCHEMA) -> Path:
    """Write ``n`` rows (ids ``start`` .. ``start+n-1``) in row groups, never holding more than one group."""
    images = [cover_jpeg(k) for k in range(pool)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, schema) as writer:
        for lo in range(start, start + n, row_group_size):
            rows = [make_row(i, images[i % pool], prefix) for i in range(lo, min(lo + row_group_size, start + n))]
            if mutate is not None:
                for row in rows:
                    mutate(row)
            writer.write_table(pa.Table.from_pylist(rows, schema=schema), row_group_size=row_group_size)
    return path


def synthetic_workspace(path: Path, *, train: int, validation: int, test: int) -> Path:
    """A workspace of synthetic covers, every row imported (ids 0.., 100.., 200.. by split)."""
    from vqa_desk.core.importer import import_dataset
    from vqa_desk.core.sampling import parse_sizes

    src = path.parent / f"{path.stem}-src"
    write_parquet(src / "train-00000-of-00001.parquet", train, start=0)
    write_parquet(src / "validation-00000-of-00001.parquet", validation, start=100)
    write_parquet(src / "test-00000-of-00001.parquet", test, start=200)
    import_dataset(str(src), path, sizes=parse_sizes("all,all,all"))
    return path
