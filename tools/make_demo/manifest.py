"""The manifest of what was planted (planted.json) and the README that explains the demo data."""

from __future__ import annotations

import json
from pathlib import Path

from .books import Book
from .catalogue import DECOYS
from .config import DEFAULT_OUT, GENERATOR, REPO_ROOT, SEED, SPLITS
from .planting import IMAGE_PLANTS, LABEL_PLANTS


def write_planted(out: Path, books: list[Book], problems: list[dict[str, object]]) -> list[dict[str, object]]:
    """Write planted.json; return its problems, numbered and in file order (split, then cover)."""
    split_order = list(SPLITS)
    index = {b.image_id: i for i, b in enumerate(books)}
    problems.sort(key=lambda p: (split_order.index(str(p["split"])), index[str(p["image_id"])]))
    ordered: list[dict[str, object]] = []
    for i, p in enumerate(problems, start=1):
        ordered.append(
            {
                "id": f"P{i:03d}",
                "kind": p["kind"],
                "split": p["split"],
                "image_id": p["image_id"],
                "question": p.get("question"),
                "field": p["field"],
                "label": p.get("label"),
                "truth": p.get("truth"),
                "note": p["note"],
                **({"format": p["format"]} if "format" in p else {}),
            }
        )
    decoys = []
    for pair in DECOYS:
        names = [n for n, _, _ in pair]
        decoys.append(
            {
                "names": names,
                "image_ids": [b.image_id for b in books if b.author.name in names],
                "note": "different people whose names look alike; do not merge",
            }
        )
    groups: dict[str, list[str]] = {}
    for b in books:
        groups.setdefault(b.author.name, []).append(b.image_id)
    planted = {
        "generator": GENERATOR,
        "seed": SEED,
        "splits": dict(SPLITS),
        "problems": ordered,
        "decoys": decoys,
        "author_groups": dict(sorted(groups.items())),
    }
    (out / "planted.json").write_text(json.dumps(planted, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return ordered


def write_readme(out: Path, problems: list[dict[str, object]]) -> None:
    counts = {k: 0 for k in [*LABEL_PLANTS, *IMAGE_PLANTS]}
    for p in problems:
        counts[str(p["kind"])] += 1
    kinds = "\n".join(f"| `{k}` | {n} |" for k, n in counts.items())
    total = sum(SPLITS.values())
    sizes = f"`train` {SPLITS['train']}, `validation` {SPLITS['validation']}, `test` {SPLITS['test']}"
    text = f"""# VQA Desk demo data

A small synthetic dataset in the exact layout of the Hugging Face dataset
[`howard-hou/OCR-VQA`](https://huggingface.co/datasets/howard-hou/OCR-VQA): one parquet file
per split ({sizes} covers,
{total} in all) with the same columns and Hugging Face features (`image`, `image_id`,
`questions`, `answers`, `ocr_tokens`, `ocr_info`, `title`, `authorName`, `genre`, `image_width`,
`image_height`, `image_url`, `set_name`; `set_name` is `train` / `val` / `test`). Genres are the
32 Book32 categories.

The book covers are drawn by `{GENERATOR}` with Pillow: genre-flavoured colours and shapes,
a bold title, often a subtitle, the author near the bottom, sometimes an edition line; calendars
print their year. Titles, subtitles and most author names are invented; a few real-looking names
are used on purpose as look-alike decoys. `ocr_tokens` / `ocr_info` are the words exactly as drawn,
with boxes normalised to 0..1 of the image size. Questions use the OCR-VQA templates (title,
author, genre, yes/no genre questions, edition, calendar year), and labels normally equal the
`title` / `authorName` / `genre` columns. The yes/no paraphrases keep OCR-VQA's own wording,
quirks included (`Is this christianity book?`).

## Planted problems

`planted.json` lists every deliberately planted label problem and broken image (id, kind, split,
image_id, question, field, label as stored, truth as shown on the cover, note), the look-alike
author **decoys** that must not be merged, and `author_groups` (canonical author -> image ids).
About {round(100 * len(problems) / total)}% of the covers carry one problem:

| kind | count |
| --- | --- |
{kinds}

Rows with broken images keep their QA pairs; `image.path` has the real extension and
`image_width` / `image_height` give the true size (0 for undecodable bytes).

## Regenerate

    .venv/bin/python {GENERATOR} --out {DEFAULT_OUT.relative_to(REPO_ROOT).as_posix()}

The generator is deterministic (seed {SEED}); `tests/core/test_demo_data.py` checks the shipped
files against a fresh run.

## Licence

The data is synthetic and made for this project. The covers are rendered with DejaVu fonts
(`tools/fonts/`, Bitstream Vera licence, DejaVu changes in the public domain; see
`tools/fonts/LICENSE`).
"""
    (out / "README.md").write_text(text, encoding="utf-8")
