"""What the cover browser shows: every cover's row, and fast filtering over covers and their QA pairs.

Qt-free so it is tested without a display and shared by any front end. Loading is split in two: the cover
rows (needed for the first paint, one indexed query) and the search index (every answer of every QA pair,
built afterwards, off the GUI thread). Filtering is a pass over in-memory lists: a few tens of milliseconds
for 207k covers and 1M QA pairs, where a SQL LIKE over 1M answers would take longer on every keystroke.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from vqa_desk.core.workspace import SPLITS, Workspace

_SEP = "\x1f"  # between a cover's texts in its search string, so a query never matches across two answers


class CoverRow(NamedTuple):
    # A NamedTuple, not a dataclass: 207k of them are built straight from SQL rows at open time. Only what
    # the grid and its filters need; the detail pane reads the rest with Workspace.image_meta().
    pk: int
    image_id: str
    split: str
    title: str
    author: str
    valid: int
    invalid_reason: str | None

    @property
    def label(self) -> str:
        return self.title or self.image_id


@dataclass
class SearchIndex:
    """Per cover: lowercase search text, and the question types it has."""

    text: dict[int, str] = field(default_factory=dict)
    qtypes: dict[str, set[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class CoverFilter:
    split: str | None = None  # None: all splits
    qtype: str | None = None  # None: any question type
    edited: bool | None = None  # True: edited only, False: unedited only
    invalid_only: bool = False
    text: str = ""

    @property
    def is_empty(self) -> bool:
        return self == CoverFilter()


class CoverIndex:
    def __init__(self, rows: list[CoverRow], edited: set[int]) -> None:
        self.rows = rows
        self.row_of_pk = {r.pk: i for i, r in enumerate(rows)}
        self.edited = edited
        self.search: SearchIndex | None = None

    @classmethod
    def load(cls, ws: Workspace) -> CoverIndex:
        # One indexed, already-ordered query per split: no sort in Python or SQLite.
        splits = [s for (s,) in ws.connection.execute("SELECT DISTINCT split FROM images")]
        ordered = [s for s in SPLITS if s in splits] + sorted(s for s in splits if s not in SPLITS)
        rows: list[CoverRow] = []
        for split in ordered:
            rows.extend(map(CoverRow._make, ws.connection.execute(
                "SELECT id, image_id, split, coalesce(title, ''), coalesce(author, ''), valid, invalid_reason "
                "FROM images WHERE split = ? ORDER BY rank", (split,))))
        return cls(rows, edited_covers(ws))

    def filter(self, f: CoverFilter) -> list[int]:
        """Row indices (in browse order) of the covers that pass ``f``."""
        words = [w for w in f.text.lower().split() if w]
        search = self.search
        if (words or f.qtype) and search is None:
            search = SearchIndex()  # not built yet: match on title and author only
        qtype_set = search.qtypes.get(f.qtype, set()) if (f.qtype and search is not None) else None
        out: list[int] = []
        for i, r in enumerate(self.rows):
            if f.split is not None and r.split != f.split:
                continue
            if f.invalid_only and r.valid:
                continue
            if f.edited is not None and (r.pk in self.edited) != f.edited:
                continue
            if qtype_set is not None and r.pk not in qtype_set:
                continue
            if words:
                text = search.text.get(r.pk) if search is not None else None
                if text is None:
                    text = f"{r.title}{_SEP}{r.author}{_SEP}{r.image_id}".lower()
                if not all(w in text for w in words):
                    continue
            out.append(i)
        return out

    def update_cover(self, ws: Workspace, pk: int) -> None:
        """Refresh one cover's edited flag and search text after its answers changed."""
        if ws.connection.execute(
            "SELECT 1 FROM qa WHERE image = ? AND answer != original_answer LIMIT 1", (pk,)
        ).fetchone():
            self.edited.add(pk)
        else:
            self.edited.discard(pk)
        if self.search is not None and pk in self.row_of_pk:
            row = self.rows[self.row_of_pk[pk]]
            answers = [a for (a,) in ws.connection.execute("SELECT answer FROM qa WHERE image = ?", (pk,))]
            self.search.text[pk] = _search_text(row, answers)


def edited_covers(ws: Workspace) -> set[int]:
    # Every changed answer has an edit row, so only edited QA pairs need checking, not all of them.
    return {pk for (pk,) in ws.connection.execute(
        "SELECT DISTINCT image FROM qa WHERE id IN (SELECT qa FROM edits) AND answer != original_answer")}


def build_search_index(path: Path, rows: list[CoverRow]) -> SearchIndex:
    """Read every answer once. Opens its own connection, so it can run on a worker thread."""
    with Workspace.open(path) as ws:
        answers: dict[int, list[str]] = {}
        qtypes: dict[str, set[int]] = {}
        for pk, qtype, answer in ws.connection.execute("SELECT image, qtype, answer FROM qa"):
            answers.setdefault(pk, []).append(answer)
            qtypes.setdefault(qtype, set()).add(pk)
    return SearchIndex({r.pk: _search_text(r, answers.get(r.pk, [])) for r in rows}, qtypes)


def _search_text(row: CoverRow, answers: list[str]) -> str:
    return _SEP.join([row.title, row.author, row.image_id, *answers]).lower()
