"""The whole run: books, planted problems, QA pairs, covers, then the files."""

from __future__ import annotations

import random
from pathlib import Path

import datasets

from .books import make_books
from .config import SEED
from .layouts import render_cover
from .manifest import write_planted, write_readme
from .oddities import encode_image
from .parquet_out import SplitRows
from .planting import apply_answer_problem, apply_label_problem, assign_problems
from .qa import build_qa


def generate(out: Path) -> None:
    datasets.disable_progress_bars()
    rng = random.Random(SEED)
    books = make_books(rng)
    problems = assign_problems(books, rng)
    example_left = True
    for book in books:
        example_left = apply_label_problem(book, rng, example_left)
    for book in books:
        build_qa(book, rng)
        apply_answer_problem(book, rng)

    out.mkdir(parents=True, exist_ok=True)
    rows = SplitRows()
    # Rendering uses its own stream so tweaking the artwork never reshuffles labels or problems.
    art_rng = random.Random(SEED + 1)
    for book in books:
        rendered = render_cover(book, art_rng)
        data, ext, w, h, words, note = encode_image(book, rendered, art_rng)
        if note and book.problem is not None:
            book.problem.update(field="image", question=None, label=None, truth=None, note=note)
            book.problem["format"] = ext
        rows.add(book, (data, ext), (w, h), words, rendered.image.size)
    rows.write(out)

    ordered = write_planted(out, books, problems)
    write_readme(out, ordered)
