"""Export output: the atomic staging of files, and one writer per format.

Every file is written under a hidden temporary name in the target folder and renamed into place only when
the whole export is complete, so a failure or a cancel leaves the destination as it was. Writers receive
covers whose image is already encoded, one at a time, and write them straight to disk: memory does not grow
with the dataset.

- ``openai``: ``train.jsonl`` / ``validation.jsonl`` / ``test.jsonl`` in chat format, the cookbook's layout
  (system message, K few-shot user/assistant pairs each with its image, the question with its image, the
  answer; the test file without the answer), plus ``lines.csv`` mapping each line back to its QA pair.
- ``sharegpt``: ``train.json`` ... (LLaVA-style ``conversations``, one record per cover, all its questions as
  turns) plus an ``images/`` folder; test records keep their answers, for evaluation scripts.
- ``hf``: a ``datasets`` ``save_to_disk`` folder ``dataset/`` (DatasetDict) in the OCR-VQA layout: ``image``,
  ``image_id``, ``questions``, ``answers`` (the curated ones), ``question_types``, ``title``, ``authorName``,
  ``genre`` — so VQA Desk itself, or any trainer, can load it back.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import io
import json
import os
import re
import secrets
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from vqa_desk.core.images import ExportImage
from vqa_desk.core.tokens import TOKENS_PER_EXAMPLE, SplitTokens, image_tokens, message_text_tokens
from vqa_desk.core.workspace import QAPair

_LINES_CSV = "lines.csv"


# ----- staging --------------------------------------------------------------------------------------------

class Staging:
    """Temporary files and folders in the target folder, renamed over their final names on ``commit``."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self._tag = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._moves: list[tuple[Path, Path]] = []  # (temporary, final), in commit order

    def _temp(self, final_name: str) -> Path:
        tmp = self.out_dir / f".{final_name}.{self._tag}.partial"
        self._moves.append((tmp, self.out_dir / final_name))
        return tmp

    def file(self, final_name: str) -> Path:
        return self._temp(final_name)

    def folder(self, final_name: str) -> Path:
        tmp = self._temp(final_name)
        tmp.mkdir()
        return tmp

    def temp_path(self, final_name: str) -> Path:
        """The temporary path that will become ``final_name`` (to read a file before it is put in place)."""
        return next(tmp for tmp, final in self._moves if final == self.out_dir / final_name and tmp != final)

    def scratch(self, name: str) -> Path:
        """A temporary folder that is never renamed into place (removed by commit and discard alike)."""
        tmp = self.out_dir / f".{name}.{self._tag}.partial"
        tmp.mkdir()
        self._moves.append((tmp, tmp))
        return tmp

    def commit(self) -> None:
        for tmp, final in self._moves:
            if tmp == final:
                _remove(tmp)
            elif tmp.is_dir() and final.exists():
                # A folder cannot be renamed over a non-empty one: move the old one aside first.
                old = final.with_name(f".{final.name}.{self._tag}.old")
                os.replace(final, old)
                os.replace(tmp, final)
                _remove(old)
            else:
                os.replace(tmp, final)
        _fsync_dir(self.out_dir)
        self._moves.clear()

    def discard(self) -> None:
        for tmp, _ in self._moves:
            with contextlib.suppress(OSError):  # keep going: every other temporary must go too
                _remove(tmp)
        self._moves.clear()


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not supported (Windows): the renames are still atomic, just not yet durable
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class HashingFile:
    """A binary file that hashes what it writes, so the manifest needs no second pass over large files."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: BinaryIO = path.open("wb", buffering=1 << 20)
        self._sha = hashlib.sha256()
        self.bytes = 0

    def write(self, data: bytes) -> None:
        self._fh.write(data)
        self._sha.update(data)
        self.bytes += len(data)

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()

    def abort(self) -> None:
        """Close on the failure path: no fsync, and no second error (a full disk fails the flush too)."""
        with contextlib.suppress(OSError):
            self._fh.close()

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()


def sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


# ----- what writers receive ------------------------------------------------------------------------------

@dataclass
class EncodedCover:
    """A cover whose image is encoded, with the QA pairs that go into the export."""

    split: str
    pk: int
    image_id: str
    qa: list[QAPair]
    image: ExportImage
    image_part: bytes = b""  # the OpenAI image content part as JSON (ASCII), built on the worker thread
    title: str | None = None
    author: str | None = None
    genre: str | None = None


@dataclass(frozen=True)
class FewShotExample:
    qa: QAPair
    image_id: str
    image_part: bytes  # JSON of the image content part (b"" in estimates, which encode nothing)
    width: int
    height: int
    format: str = ""
    n_bytes: int = 0
    passthrough: bool = False


@dataclass
class SplitCounts:
    examples: int = 0
    covers: int = 0
    question_types: Counter[str] = field(default_factory=Counter)
    edited: int = 0
    tokens: SplitTokens = field(default_factory=SplitTokens)

    def count(self, qa: QAPair) -> None:
        self.examples += 1
        self.question_types[qa.qtype] += 1
        self.edited += qa.edited


@dataclass(frozen=True)
class WrittenFile:
    name: str  # final name, relative to the export folder
    sha256: str
    bytes: int
    split: str | None = None


class Writer(Protocol):
    def begin(self, split: str) -> None: ...
    def add(self, cover: EncodedCover, counts: SplitCounts) -> None: ...
    def end(self) -> None: ...
    def finish(self) -> None: ...
    def split_paths(self) -> dict[str, str]: ...  # split -> final name (relative)
    def written(self) -> list[WrittenFile]: ...
    def close_all(self) -> None: ...  # on failure: release file handles so staging can remove them


def image_part_json(image: ExportImage, detail: str | None) -> bytes:
    """The image content part as JSON bytes, built without a str round trip: base64 and the MIME type need no
    JSON escaping, and this is the bulk of every line."""
    tail = b"}}" if detail is None else b', "detail": ' + json.dumps(detail).encode("ascii") + b"}}"
    return (b'{"type": "image_url", "image_url": {"url": "data:' + image.mime.encode("ascii") + b";base64,"
            + base64.b64encode(image.data) + b'"' + tail)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


# ----- OpenAI chat JSONL ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Prefix:
    """The system message and few-shot pairs that open an example, as JSON bytes, with their token counts."""

    json: bytes
    few_shot: tuple[FewShotExample, ...]
    text_tokens: int  # includes the per-example formatting tokens; 0 when tokens are not counted
    image_tokens: int


class ChatLayout:
    """The cookbook's example layout: the system prompt, K few-shot question/answer pairs each with its own
    cover, then ``Question [K+1]: ...`` with the cover, then the answer. Shared by the writer, the estimate
    and the preview, so all three agree.

    The few-shot list may carry one spare: an example whose own cover is among the first K takes the spare
    instead, so no line shows its own cover (and answer) in its few-shot context."""

    def __init__(self, *, system_prompt: str, few_shot: list[FewShotExample], k: int, detail: str | None,
                 model: str, count_tokens: bool = True) -> None:
        self.system_prompt = system_prompt
        self._few_shot = few_shot
        self._k = k
        self.detail = detail
        self.model = model
        # Text tokens need the tokenizer (~80 MB once loaded); a plain file export can do without.
        self.count_tokens = count_tokens
        self._prefixes: dict[int | None, Prefix] = {}

    def prefix(self, target_pk: int) -> Prefix:
        clash = next((i for i, f in enumerate(self._few_shot[:self._k]) if f.qa.image_pk == target_pk), None)
        cached = self._prefixes.get(clash)
        if cached is None:
            chosen = tuple(f for i, f in enumerate(self._few_shot) if i != clash)[:self._k]
            cached = self._prefixes[clash] = self._build(chosen)
        return cached

    def _build(self, chosen: tuple[FewShotExample, ...]) -> Prefix:
        parts = [_dumps({"role": "system", "content": self.system_prompt}).encode("utf-8")]
        text_msgs: list[dict[str, Any]] = [{"role": "system", "content": self.system_prompt}]
        img_tokens = 0
        for n, f in enumerate(chosen, start=1):
            question = self.question_text(n, f.qa.question)
            parts.append(b"".join(self.user_pieces(question, f.image_part)))
            parts.append(_dumps({"role": "assistant", "content": f.qa.answer}).encode("utf-8"))
            text_msgs += [{"role": "user", "content": [{"type": "text", "text": question}]},
                          {"role": "assistant", "content": f.qa.answer}]
            img_tokens += image_tokens(f.width, f.height, self.detail, self.model)
        text_tokens = message_text_tokens(text_msgs) if self.count_tokens else 0
        return Prefix(b", ".join(parts), chosen, text_tokens, img_tokens)

    @staticmethod
    def question_text(n: int, question: str) -> str:
        return f"Question [{n}]: {question}"

    @staticmethod
    def user_pieces(question: str, image_part: bytes) -> list[bytes]:
        return [b'{"role": "user", "content": [', _dumps({"type": "text", "text": question}).encode("utf-8"),
                b", ", image_part, b"]}"]

    def tail_text_tokens(self, question: str, answer: str | None) -> int:
        """Text tokens of the final question (and answer), formatting included, without the per-example part."""
        if not self.count_tokens:
            return 0
        tail: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": question}]}]
        if answer is not None:
            tail.append({"role": "assistant", "content": answer})
        return message_text_tokens(tail) - TOKENS_PER_EXAMPLE

    def pieces(self, target_pk: int, question: str, image_part: bytes,
               answer: str | None) -> tuple[list[bytes], Prefix, str]:
        """(the JSON line in pieces, newline included; its prefix; the numbered question text). Pieces, not one
        string: the prefix (the few-shot images, most of the line) is written as is, never copied per line."""
        prefix = self.prefix(target_pk)
        text = self.question_text(len(prefix.few_shot) + 1, question)
        out = [b'{"messages": [', prefix.json, b", ", *self.user_pieces(text, image_part)]
        if answer is not None:
            out += [b", ", _dumps({"role": "assistant", "content": answer}).encode("utf-8")]
        out.append(b"]}\n")
        return out, prefix, text

    def line(self, target_pk: int, question: str, image_part: bytes, answer: str | None) -> tuple[str, Prefix, str]:
        """Like ``pieces``, as one string without the newline (for previews)."""
        pieces, prefix, text = self.pieces(target_pk, question, image_part, answer)
        return b"".join(pieces).decode("utf-8").rstrip("\n"), prefix, text


class OpenAIWriter:
    """One line per QA pair. Lines are assembled from pre-serialised JSON fragments: the system prompt and the
    few-shot messages (with their base64 images) are serialised once per export, not once per line."""

    def __init__(self, staging: Staging, layout: ChatLayout) -> None:
        self._staging = staging
        self._layout = layout
        self._files: dict[str, HashingFile] = {}
        self._current: HashingFile | None = None
        self._line = 0
        self._index_file = HashingFile(staging.file(_LINES_CSV))
        self._index_text = io.StringIO()
        self._index = csv.writer(self._index_text, lineterminator="\n")
        self._index.writerow(["split", "line", "qa_id", "image_id", "question_type"])
        self._flush_index()

    def begin(self, split: str) -> None:
        self._line = 0
        self._current = self._files[split] = HashingFile(self._staging.file(f"{split}.jsonl"))

    def add(self, cover: EncodedCover, counts: SplitCounts) -> None:
        assert self._current is not None
        layout = self._layout
        # The test file is what inference sends: the same context, without the answer to predict.
        with_answer = cover.split != "test"
        target_tokens = image_tokens(cover.image.width, cover.image.height, layout.detail, layout.model)
        for qa in cover.qa:
            answer = qa.answer if with_answer else None
            pieces, prefix, question = layout.pieces(cover.pk, qa.question, cover.image_part, answer)
            for piece in pieces:
                self._current.write(piece)
            self._line += 1
            self._index.writerow([cover.split, self._line, qa.id, cover.image_id, qa.qtype])
            counts.count(qa)
            counts.tokens.add(prefix.text_tokens + layout.tail_text_tokens(question, answer),
                              prefix.image_tokens + target_tokens, len(prefix.few_shot) + 1)
        self._flush_index()

    def _flush_index(self) -> None:
        self._index_file.write(self._index_text.getvalue().encode("utf-8"))
        self._index_text.seek(0)
        self._index_text.truncate()

    def end(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None

    def finish(self) -> None:
        self.end()
        self._index_file.close()

    def split_paths(self) -> dict[str, str]:
        return {split: f"{split}.jsonl" for split in self._files}

    def written(self) -> list[WrittenFile]:
        out = [WrittenFile(f"{split}.jsonl", f.sha256, f.bytes, split) for split, f in self._files.items()]
        out.append(WrittenFile(_LINES_CSV, self._index_file.sha256, self._index_file.bytes))
        return out

    def close_all(self) -> None:
        for f in (*self._files.values(), self._index_file):
            f.abort()


# ----- ShareGPT / LLaVA ----------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ShareGPTWriter:
    """``<split>.json``: a JSON list streamed one record at a time; images as files in ``images/``."""

    def __init__(self, staging: Staging, *, system_prompt: str) -> None:
        self._staging = staging
        self._system_prompt = system_prompt
        self._images_dir = staging.folder("images")
        self._image_names: set[str] = set()
        self._image_hashes: list[tuple[str, str]] = []
        self._files: dict[str, HashingFile] = {}
        self._current: HashingFile | None = None
        self._first = True

    def begin(self, split: str) -> None:
        self._current = self._files[split] = HashingFile(self._staging.file(f"{split}.json"))
        self._current.write(b"[")
        self._first = True

    def add(self, cover: EncodedCover, counts: SplitCounts) -> None:
        assert self._current is not None
        if not cover.qa:
            return
        name = self._image_name(cover)
        (self._images_dir / name).write_bytes(cover.image.data)
        self._image_hashes.append((hashlib.sha256(cover.image.data).hexdigest(), f"images/{name}"))
        turns: list[dict[str, str]] = []
        for i, qa in enumerate(cover.qa):
            turns.append({"from": "human", "value": ("<image>\n" if i == 0 else "") + qa.question})
            turns.append({"from": "gpt", "value": qa.answer})
            counts.count(qa)
        record = {"id": cover.image_id, "image": f"images/{name}", "system": self._system_prompt,
                  "conversations": turns}
        self._current.write((b"\n" if self._first else b",\n") + _dumps(record).encode("utf-8"))
        self._first = False

    def _image_name(self, cover: EncodedCover) -> str:
        stem = _UNSAFE.sub("_", cover.image_id).strip("._") or "cover"
        name = f"{stem}.{cover.image.extension}"
        if name in self._image_names:  # two ids that differ only in unsafe characters
            name = f"{stem}-{cover.pk}.{cover.image.extension}"
        self._image_names.add(name)
        return name

    def end(self) -> None:
        if self._current is not None:
            self._current.write(b"\n]\n")
            self._current.close()
            self._current = None

    def finish(self) -> None:
        self.end()
        # One checksum file for the images (sha256sum format), so the manifest stays small for 200k covers.
        listing = HashingFile(self._staging.file("images.sha256"))
        for digest, rel in sorted(self._image_hashes, key=lambda x: x[1]):
            listing.write(f"{digest}  {rel}\n".encode())
        listing.close()
        self._listing = listing

    def split_paths(self) -> dict[str, str]:
        return {split: f"{split}.json" for split in self._files}

    def written(self) -> list[WrittenFile]:
        out = [WrittenFile(f"{split}.json", f.sha256, f.bytes, split) for split, f in self._files.items()]
        out.append(WrittenFile("images.sha256", self._listing.sha256, self._listing.bytes))
        return out

    def close_all(self) -> None:
        for f in self._files.values():
            f.abort()


# ----- Hugging Face datasets ------------------------------------------------------------------------------

@contextlib.contextmanager
def _quiet_datasets() -> Iterator[None]:
    """``save_to_disk`` draws a progress bar on stderr; core reports progress through its callback only."""
    from datasets.utils import logging as ds_logging

    was_enabled = ds_logging.is_progress_bar_enabled()
    ds_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            ds_logging.enable_progress_bar()


class HFWriter:
    """Arrow files written row by row (``ArrowWriter`` flushes every few rows), then ``save_to_disk``."""

    _BATCH = 64  # rows per Arrow record batch: bounds memory to a few dozen images

    def __init__(self, staging: Staging) -> None:
        import datasets

        self._datasets = datasets
        seq = getattr(datasets, "List", None) or datasets.Sequence
        text = datasets.Value("string")
        self._features = datasets.Features({
            "image": datasets.Image(), "image_id": text, "questions": seq(text), "answers": seq(text),
            "question_types": seq(text), "title": text, "authorName": text, "genre": text,
        })
        self._staging = staging
        self._scratch = staging.scratch("hf-build")
        self._folder = staging.folder("dataset")
        self._arrow: dict[str, Path] = {}
        self._writer: Any = None
        self._split = ""
        self._files: list[WrittenFile] = []

    def begin(self, split: str) -> None:
        from datasets.arrow_writer import ArrowWriter

        self._split = split
        self._arrow[split] = self._scratch / f"{split}.arrow"
        self._writer = ArrowWriter(features=self._features, path=str(self._arrow[split]),
                                   writer_batch_size=self._BATCH)

    def add(self, cover: EncodedCover, counts: SplitCounts) -> None:
        if not cover.qa:
            return
        for qa in cover.qa:
            counts.count(qa)
        row = {
            "image": {"bytes": cover.image.data, "path": f"{cover.image_id}.{cover.image.extension}"},
            "image_id": cover.image_id, "questions": [qa.question for qa in cover.qa],
            "answers": [qa.answer for qa in cover.qa], "question_types": [qa.qtype for qa in cover.qa],
            "title": cover.title, "authorName": cover.author, "genre": cover.genre,
        }
        self._writer.write(self._features.encode_example(row))

    def end(self) -> None:
        if self._writer is not None:
            self._writer.finalize()
            self._writer.close()
            self._writer = None

    def finish(self) -> None:
        self.end()
        ds = self._datasets
        parts = {split: ds.Dataset.from_file(str(path)) for split, path in self._arrow.items()}
        with _quiet_datasets():
            ds.DatasetDict(parts).save_to_disk(str(self._folder))
        for path in sorted(p for p in self._folder.rglob("*") if p.is_file()):
            rel = path.relative_to(self._folder)
            split = rel.parts[0] if len(rel.parts) > 1 else None
            self._files.append(WrittenFile(f"dataset/{rel.as_posix()}", sha256_of(path), path.stat().st_size, split))

    def split_paths(self) -> dict[str, str]:
        return {split: f"dataset/{split}" for split in self._arrow}

    def written(self) -> list[WrittenFile]:
        return list(self._files)

    def close_all(self) -> None:
        if self._writer is not None:
            # Best effort on the failure path: the scratch folder is removed next anyway.
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
