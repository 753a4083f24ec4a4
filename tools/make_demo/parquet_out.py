"""The parquet files: one per split, with the columns and Hugging Face features of howard-hou/OCR-VQA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datasets import Dataset, Features, Value
from datasets import Image as HFImage
from datasets import Sequence as HFSequence

from .books import Book
from .config import SET_NAMES, SPLITS, URL_PREFIX
from .drawing import Word
from .layouts import ocr_info


def features() -> Features:
    return Features(
        {
            "image": HFImage(),
            "image_id": Value("string"),
            "questions": HFSequence(Value("string")),
            "answers": HFSequence(Value("string")),
            "ocr_tokens": HFSequence(Value("string")),
            "ocr_info": [
                {
                    "word": Value("string"),
                    "bounding_box": {
                        "width": Value("float64"),
                        "height": Value("float64"),
                        "top_left_x": Value("float64"),
                        "top_left_y": Value("float64"),
                    },
                }
            ],
            "title": Value("string"),
            "authorName": Value("string"),
            "genre": Value("string"),
            "image_width": Value("int64"),
            "image_height": Value("int64"),
            "image_url": Value("string"),
            "set_name": Value("string"),
        }
    )


class SplitRows:
    """Collects the rows of every split, in the order covers are added, then writes the parquet files."""

    def __init__(self) -> None:
        self.features = features()
        self.rows: dict[str, dict[str, list[Any]]] = {s: {k: [] for k in self.features} for s in SPLITS}

    def add(
        self,
        book: Book,
        image: tuple[bytes, str],
        size: tuple[int, int],
        words: list[Word],
        drawn_size: tuple[int, int],
    ) -> None:
        """``size`` is what the row claims (the true size of the file); boxes are relative to ``drawn_size``."""
        data, ext = image
        w, h = size
        r = self.rows[book.split]
        r["image"].append({"bytes": data, "path": f"{book.image_id}.{ext}"})
        r["image_id"].append(book.image_id)
        r["questions"].append(book.questions)
        r["answers"].append(book.answers)
        r["ocr_tokens"].append([wd.text for wd in words])
        r["ocr_info"].append(ocr_info(words, *drawn_size))
        r["title"].append(book.title_col)
        r["authorName"].append(book.author_col)
        r["genre"].append(book.genre_col)
        r["image_width"].append(w)
        r["image_height"].append(h)
        r["image_url"].append(f"{URL_PREFIX}{book.image_id}.jpg")
        r["set_name"].append(SET_NAMES[book.split])

    def write(self, out: Path) -> None:
        for split, cols in self.rows.items():
            ds = Dataset.from_dict(cols, features=self.features)
            ds.to_parquet(str(out / f"{split}-00000-of-00001.parquet"), batch_size=50)
