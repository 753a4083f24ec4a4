"""Question types of OCR-VQA, recognised from the question text.

OCR-VQA questions come from a handful of templates (REFERENCE.md §2). The type drives reporting and checks;
``cookbook_type`` maps onto the four buckets the OpenAI cookbook reported (Title, Genre, Author, Other) so
our per-type figures can be compared with its charts.
"""

from __future__ import annotations

import functools
import re
from enum import StrEnum


class QuestionType(StrEnum):
    TITLE = "title"
    AUTHOR = "author"
    GENRE = "genre"
    YES_NO = "yes_no"
    YEAR = "year"
    EDITION = "edition"
    OTHER = "other"


_THIS = r"this (?:book|calendar)"
_PATTERNS: list[tuple[QuestionType, re.Pattern[str]]] = [
    (QuestionType.TITLE, re.compile(rf"^what is the (?:full )?title of {_THIS}$")),
    (QuestionType.AUTHOR, re.compile(rf"^who (?:wrote|is the author of) {_THIS}$")),
    (QuestionType.GENRE, re.compile(rf"^what (?:is the genre of {_THIS}|type of (?:book|calendar) is this)$")),
    (QuestionType.EDITION, re.compile(rf"^what is the edition of {_THIS}$")),
    (QuestionType.YEAR, re.compile(rf"^what (?:is the year printed on {_THIS}|year is this calendar for)$")),
    # Binary questions: "Is this book related to X?", "Is this a X book?", "Is this an X book?" and close variants.
    (QuestionType.YES_NO, re.compile(r"^(?:is|are|does|do|was|can) (?:this|these|it)\b.*$")),
]

_SPACES = re.compile(r"\s+")


def normalize_question(question: str) -> str:
    """Lower-case, collapse whitespace, drop the trailing question mark and a cookbook-style prefix."""
    text = _SPACES.sub(" ", question).strip().lower()
    text = re.sub(r"^question(?: \[?\d+\]?)?:\s*", "", text)
    return text.rstrip(" ?.!")


@functools.lru_cache(maxsize=4096)  # OCR-VQA asks a handful of templates over and over
def question_type(question: str) -> QuestionType:
    """Classify one question; anything unrecognised is OTHER, never an error."""
    text = normalize_question(question)
    for qtype, pattern in _PATTERNS:
        if pattern.match(text):
            return qtype
    return QuestionType.OTHER


_COOKBOOK = {
    QuestionType.TITLE: "Title",
    QuestionType.AUTHOR: "Author",
    QuestionType.GENRE: "Genre",
}


def cookbook_type(question: str) -> str:
    """The cookbook's bucket: Title, Genre, Author or Other (yes/no, year and edition are Other there)."""
    return _COOKBOOK.get(question_type(question), "Other")


def is_closed_answer(answer: str) -> bool:
    """The cookbook's definition of a closed question: the ground truth is exactly Yes or No."""
    return answer in ("Yes", "No")
