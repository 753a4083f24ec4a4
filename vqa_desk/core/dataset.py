"""Dataset sources in the OCR-VQA layout, read as streams.

A source is a set of splits; each split knows its row count and yields the rows a sample asks for, one
bounded batch at a time, so the same code reads 300 covers or the full 207k without holding all images.
Rows are normalised to ``SourceRow`` whatever the source: parquet files, a ``save_to_disk`` folder, the
Hugging Face hub, or an OpenAI chat-format JSONL file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from vqa_desk.core.errors import SourceError

REQUIRED_COLUMNS = ("image", "image_id", "questions", "answers")
OPTIONAL_COLUMNS = (
    "ocr_tokens", "ocr_info", "title", "authorName", "genre", "image_width", "image_height", "image_url",
    "set_name",
)
_BATCH_ROWS = 64

# File-name words that name a split, as the hub and common exports spell them.
_SPLIT_WORDS = {
    "train": "train", "training": "train",
    "validation": "validation", "valid": "validation", "val": "validation", "dev": "validation",
    "test": "test", "testing": "test",
}


@dataclass
class SourceRow:
    """One cover with its questions, normalised from any source."""

    row: int  # index within its split, in source order
    source_ref: str
    image_id: str
    image_bytes: bytes | None
    questions: list[Any]
    answers: list[Any]
    ocr_tokens: list[Any] | None = None
    ocr_info: list[Any] | None = None
    title: str | None = None
    author: str | None = None
    genre: str | None = None
    image_url: str | None = None
    set_name: str | None = None
    notes: list[tuple[str, str]] = field(default_factory=list)  # (kind, message) found while reading


class SplitReader(Protocol):
    split: str
    num_rows: int
    source_notes: list[tuple[str, str]]  # (kind, message) about the split as a whole

    def read(self, rows: np.ndarray) -> Iterator[SourceRow]:
        """Yield the given rows (ascending source indices) in that order."""
        ...


@dataclass
class Source:
    kind: str  # demo | parquet | save_to_disk | hf | jsonl
    location: str
    splits: dict[str, SplitReader]
    default_all: bool  # demo and JSONL files are imported whole unless sizes are given

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "location": self.location,
                "split_rows": {s: r.num_rows for s, r in self.splits.items()}}


# ----- opening a source -------------------------------------------------------------------------------

def demo_dir() -> Path:
    return Path(str(resources.files("vqa_desk") / "resources" / "demo"))


def open_source(spec: str, *, split: str | None = None, cache_dir: Path | None = None) -> Source:
    """Resolve a ``--from`` value: ``demo``, ``hf:<id>``, a parquet file or folder, a save_to_disk folder, a JSONL."""
    if spec == "demo":
        src = _parquet_source(sorted(demo_dir().glob("*.parquet")), kind="demo", location="demo", default_split=None,
                              root=demo_dir())
        src.default_all = True
        return src
    if spec.startswith("hf:"):
        return _hub_source(spec[3:], cache_dir=cache_dir)
    path = Path(spec).expanduser()
    if not path.exists():
        raise SourceError(
            f"{spec} does not exist. --from takes 'demo', 'hf:<dataset id>', a parquet file or folder, a "
            "save_to_disk folder, or a .jsonl file."
        )
    if path.is_file() and path.suffix.lower() in (".jsonl", ".json"):
        return _jsonl_source(path, split=split)
    if path.is_file() and path.suffix.lower() == ".parquet":
        return _parquet_source([path], kind="parquet", location=str(path), default_split=split, root=None)
    if path.is_dir():
        if (path / "dataset_dict.json").exists() or (path / "dataset_info.json").exists():
            return _disk_source(path, split=split)
        files = sorted(path.rglob("*.parquet"))
        if files:
            return _parquet_source(files, kind="parquet", location=str(path), default_split=split, root=path)
        raise SourceError(
            f"{path} holds no .parquet files and is not a save_to_disk folder (no dataset_dict.json or "
            "dataset_info.json)."
        )
    raise SourceError(f"{path} is not a parquet, JSONL or dataset folder; cannot tell how to read it.")


def split_from_name(name: str) -> str | None:
    words = re.split(r"[^a-z]+", name.lower())
    for word in words:
        if word in _SPLIT_WORDS:
            return _SPLIT_WORDS[word]
    return None


# ----- parquet (local files, the bundled demo) ---------------------------------------------------------

def _parquet_source(files: Sequence[Path], *, kind: str, location: str, default_split: str | None,
                    root: Path | None) -> Source:
    """``location`` is what the workspace records (a label); ``root`` is the folder file references are relative
    to (never derived from the label: a folder named like it in the current directory must not matter)."""
    import pyarrow.parquet as pq

    if not files:
        raise SourceError(f"No parquet files found in {location}.")
    by_split: dict[str, list[Path]] = {}
    for f in files:
        split = split_from_name(f.name) or (
            split_from_name(str(f.parent.relative_to(root))) if root is not None else None
        ) or default_split or "train"
        by_split.setdefault(split, []).append(f)
    readers: dict[str, SplitReader] = {}
    for split, paths in by_split.items():
        metas = []
        for p in paths:
            try:
                pf = pq.ParquetFile(p)
            except Exception as exc:
                raise SourceError(f"{p} is not a readable parquet file ({exc}).") from exc
            _require_columns(pf.schema_arrow.names, p.name)
            metas.append((p, pf.metadata))
        readers[split] = _ParquetSplit(split, metas, root)
    return Source(kind, location, readers, default_all=False)


def _require_columns(found: Sequence[str], where: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in found]
    if missing:
        raise SourceError(
            f"{where} is not in the OCR-VQA layout: missing column(s) {', '.join(missing)}. "
            f"It has: {', '.join(found) or 'no columns'}. Needed: {', '.join(REQUIRED_COLUMNS)} "
            f"(optional: {', '.join(OPTIONAL_COLUMNS)})."
        )


class _ParquetSplit:
    def __init__(self, split: str, files: list[tuple[Path, Any]], root: Path | None) -> None:
        self.split = split
        self._files = files
        self._root = root
        self.num_rows = sum(meta.num_rows for _, meta in files)
        self.source_notes: list[tuple[str, str]] = []

    def read(self, rows: np.ndarray) -> Iterator[SourceRow]:
        import pyarrow.parquet as pq

        offset = 0
        for path, meta in self._files:
            ref_name = str(path.relative_to(self._root)) if self._root else path.name
            pf = pq.ParquetFile(path)
            columns = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in pf.schema_arrow.names]
            for rg in range(meta.num_row_groups):
                rg_rows = meta.row_group(rg).num_rows
                lo, hi = np.searchsorted(rows, [offset, offset + rg_rows])
                wanted = rows[lo:hi] - offset  # positions inside this row group
                if len(wanted):
                    yield from self._read_row_group(pf, rg, columns, wanted, offset, ref_name, path.parent)
                offset += rg_rows

    def _read_row_group(self, pf: Any, rg: int, columns: list[str], wanted: np.ndarray, offset: int,
                        ref_name: str, folder: Path) -> Iterator[SourceRow]:
        start = 0
        for batch in pf.iter_batches(batch_size=_BATCH_ROWS, row_groups=[rg], columns=columns):
            end = start + batch.num_rows
            lo, hi = np.searchsorted(wanted, [start, end])
            if hi > lo:
                picked = batch.take(wanted[lo:hi] - start).to_pylist()
                for local, record in zip(wanted[lo:hi], picked, strict=True):
                    row = offset + int(local)
                    yield _row_from_record(record, row, f"{ref_name}#{row - offset}", folder)
            start = end


def _row_from_record(record: dict[str, Any], row: int, ref: str, folder: Path | None) -> SourceRow:
    image = record.get("image")
    data: bytes | None = None
    notes: list[tuple[str, str]] = []
    if isinstance(image, dict):
        data = image.get("bytes")
        if not data and image.get("path") and folder is not None:
            candidate = folder / image["path"]
            if candidate.is_file():
                data = candidate.read_bytes()
    elif isinstance(image, bytes | bytearray):
        data = bytes(image)
    image_id = record.get("image_id")
    if image_id is None or str(image_id).strip() == "":
        image_id = f"row{row}"
        notes.append(("missing_image_id", f"row {ref} has no image_id; named it {image_id}"))
    return SourceRow(
        row=row, source_ref=ref, image_id=str(image_id), image_bytes=data,
        questions=list(record.get("questions") or []), answers=list(record.get("answers") or []),
        ocr_tokens=record.get("ocr_tokens"), ocr_info=record.get("ocr_info"),
        title=record.get("title"), author=record.get("authorName"), genre=record.get("genre"),
        image_url=record.get("image_url"), set_name=record.get("set_name"), notes=notes,
    )


# ----- datasets: save_to_disk folders and the hub -------------------------------------------------------

def _disk_source(path: Path, *, split: str | None) -> Source:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:
        raise SourceError(f"{path} could not be read as a save_to_disk folder ({exc}).") from exc
    return _datasets_source(loaded, kind="save_to_disk", location=str(path), split=split)


def _hub_source(dataset_id: str, *, cache_dir: Path | None) -> Source:
    import datasets

    if not dataset_id:
        raise SourceError("hf: needs a dataset id, for example hf:howard-hou/OCR-VQA.")
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") or os.environ.get(
        "HF_DATASETS_OFFLINE", "") not in ("", "0")
    try:
        loaded = datasets.load_dataset(dataset_id, cache_dir=str(cache_dir) if cache_dir else None)
    except Exception as exc:
        hint = (
            "HF_HUB_OFFLINE is set, so only a copy already in the Hugging Face cache can be used, and none was "
            "found. Unset HF_HUB_OFFLINE and connect to the network, or download the parquet files once and "
            "use --from <folder>."
            if offline else
            "Check the dataset id and your network connection (the hub needs internet access; on an offline "
            "machine set HF_HUB_OFFLINE=1 to use the local cache, or download the parquet files and use "
            "--from <folder>)."
        )
        raise SourceError(
            f"Could not load {dataset_id!r} from the Hugging Face hub: {_first_line(exc)}. {hint}"
        ) from exc
    return _datasets_source(loaded, kind="hf", location=f"hf:{dataset_id}", split=None)


def _datasets_source(loaded: Any, *, kind: str, location: str, split: str | None) -> Source:
    import datasets

    parts = dict(loaded.items()) if isinstance(loaded, datasets.DatasetDict) else {split or "train": loaded}
    readers: dict[str, SplitReader] = {}
    for name, ds in parts.items():
        _require_columns(ds.column_names, f"{location} [{name}]")
        if isinstance(ds.features.get("image"), datasets.Image):
            # Keep the encoded bytes: decoding to PIL here would cost time and memory for nothing.
            ds = ds.cast_column("image", datasets.Image(decode=False))
        canonical = split_from_name(name) or name
        readers[canonical] = _DatasetsSplit(canonical, name, ds, location)
    return Source(kind, location, readers, default_all=False)


class _DatasetsSplit:
    def __init__(self, split: str, name: str, ds: Any, location: str) -> None:
        self.split = split
        self._name = name
        self._ds = ds
        self._location = location
        self.num_rows = len(ds)
        self.source_notes: list[tuple[str, str]] = []

    def read(self, rows: np.ndarray) -> Iterator[SourceRow]:
        columns = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in self._ds.column_names]
        subset = self._ds.select_columns(columns).select(rows.tolist())
        position = 0
        for batch in subset.iter(batch_size=_BATCH_ROWS):
            count = len(batch["image_id"])
            for i in range(count):
                record = {c: batch[c][i] for c in columns}
                row = int(rows[position])
                yield _row_from_record(record, row, f"{self._location}:{self._name}#{row}", None)
                position += 1


# ----- OpenAI chat-format JSONL ---------------------------------------------------------------------------

_DATA_URL = re.compile(r"^data:image/[\w.+-]+;base64,(.*)$", re.DOTALL)
_QUESTION_PREFIX = re.compile(r"^\s*Question(?:\s*\[?\s*\d+\s*\]?)?\s*:\s*", re.IGNORECASE)


def _jsonl_source(path: Path, *, split: str | None) -> Source:
    target = split or split_from_name(path.stem) or "train"
    return Source("jsonl", str(path), {target: _JsonlSplit(target, path)}, default_all=True)


class _JsonlSplit:
    """Each line is a chat example; its last user message gives question and image, the last assistant
    message the answer. Lines showing the same image (same bytes) become one cover with several questions."""

    def __init__(self, split: str, path: Path) -> None:
        self.split = split
        self._path = path
        self._groups, bad_lines = self._scan()
        self.num_rows = len(self._groups)
        self.source_notes = [("bad_line", f"{path.name} line {n}: {m}; the line was skipped") for n, m in bad_lines]

    def _scan(self) -> tuple[list[tuple[str, list[int]]], list[tuple[int, str]]]:
        # First pass keeps only line numbers and a hash per image, never the images themselves.
        order: dict[str, list[int]] = {}
        bad: list[tuple[int, str]] = []
        try:
            with self._path.open("rb") as fh:
                for lineno, raw in enumerate(fh, start=1):
                    if not raw.strip():
                        continue
                    try:
                        parsed = _parse_chat_line(raw)
                    except ValueError as exc:
                        bad.append((lineno, str(exc)))
                        continue
                    # Lines without any image stay separate covers rather than merging on an empty key.
                    key = hashlib.sha256(parsed.image or parsed.url.encode() or f"line{lineno}".encode()).hexdigest()
                    order.setdefault(key, []).append(lineno)
        except OSError as exc:
            raise SourceError(f"Cannot read {self._path}: {exc}") from exc
        if not order:
            detail = f" Line {bad[0][0]}: {bad[0][1]}" if bad else ""
            raise SourceError(f"{self._path} holds no usable chat examples.{detail}")
        return list(order.items()), bad

    def read(self, rows: np.ndarray) -> Iterator[SourceRow]:
        wanted_lines: dict[int, int] = {}
        for r in rows:
            for lineno in self._groups[int(r)][1]:
                wanted_lines[lineno] = int(r)
        collected: dict[int, list[_ChatLine]] = {}
        with self._path.open("rb") as fh:
            for lineno, raw in enumerate(fh, start=1):
                if lineno in wanted_lines:
                    collected.setdefault(wanted_lines[lineno], []).append(_parse_chat_line(raw))
                    group = wanted_lines[lineno]
                    if len(collected[group]) == len(self._groups[group][1]):
                        yield self._row(group, collected.pop(group))

    def _row(self, group: int, parsed: list[_ChatLine]) -> SourceRow:
        key, lines = self._groups[group]
        first = parsed[0]
        notes: list[tuple[str, str]] = []
        if first.image is None and first.url:
            notes.append(("image_url_not_fetched",
                          f"line {lines[0]}: the image is a URL ({first.url[:80]}); it was not downloaded"))
        notes.extend(("not_utf8", f"line {n}: not valid UTF-8; undecodable bytes were replaced with U+FFFD")
                     for n, line in zip(lines, parsed, strict=True) if line.lossy)
        return SourceRow(
            row=group, source_ref=f"{self._path.name}:{lines[0]}", image_id=f"sha-{key[:12]}",
            image_bytes=first.image, questions=[p.question for p in parsed], answers=[p.answer for p in parsed],
            image_url=first.url or None, notes=notes,
        )


@dataclass(frozen=True)
class _ChatLine:
    image: bytes | None
    question: str
    answer: str
    url: str
    lossy: bool  # the line was not valid UTF-8


def _parse_chat_line(raw: bytes) -> _ChatLine:
    """Question, answer and image of one chat-format line, or ValueError saying why there are none."""
    try:
        text, lossy = raw.decode("utf-8"), False
    except UnicodeDecodeError:
        # Keep the line: one bad byte in an author name must not cost the whole example.
        text, lossy = raw.decode("utf-8", errors="replace"), True
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg})") from None
    messages = obj.get("messages") if isinstance(obj, dict) else None
    if not isinstance(messages, list) or not messages:
        raise ValueError("no 'messages' list")
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        raise ValueError("no user message")
    last_user = users[-1]
    texts: list[str] = []
    image: bytes | None = None
    url = ""
    content = last_user.get("content")
    parts = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
    for part in parts:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif part.get("type") == "image_url":
            ref = part.get("image_url")
            ref = ref.get("url") if isinstance(ref, dict) else ref
            if isinstance(ref, str):
                match = _DATA_URL.match(ref)
                if match:
                    try:
                        image = base64.b64decode(match.group(1), validate=False)
                    except (binascii.Error, ValueError):
                        raise ValueError("image data URL is not valid base64") from None
                    url = ""
                else:
                    url = ref
    question = _QUESTION_PREFIX.sub("", " ".join(t.strip() for t in texts if t.strip()))
    if not question:
        raise ValueError("the last user message has no question text")
    last_user_index = max(i for i, m in enumerate(messages) if m is last_user)
    answer = ""
    for m in messages[last_user_index + 1:]:
        if isinstance(m, dict) and m.get("role") == "assistant":
            answer = _content_text(m.get("content"))
    return _ChatLine(image, question, answer, url, lossy)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
