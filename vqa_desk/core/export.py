"""Export a workspace as training files a provider accepts the first time.

Built from the *current* answers. Covers are read one at a time on the calling thread (SQLite connections
stay on their thread), their images encoded on a thread pool (Pillow releases the GIL while decoding,
resizing and encoding, so both cores work) within a bounded window that keeps the output in order, and each
finished cover is written at once: memory does not depend on the dataset size.

Nothing is half-written: an example whose image cannot be used is left out and listed (``skipped``), and the
files appear under their final names only when the whole export succeeded (see ``formats.Staging``). A
manifest beside them records the settings, counts, checksums, tool version and workspace — never a secret:
nothing from the environment goes into it.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from vqa_desk import __version__
from vqa_desk.core.errors import VQADeskError, WorkspaceError
from vqa_desk.core.formats import (
    ChatLayout,
    EncodedCover,
    FewShotExample,
    HFWriter,
    OpenAIWriter,
    ShareGPTWriter,
    SplitCounts,
    Staging,
    Writer,
    WrittenFile,
    image_part_json,
)
from vqa_desk.core.images import DEFAULT_EXPORT_QUALITY, ImageError, encode_for_export
from vqa_desk.core.progress import ProgressFn, check_cancel, report
from vqa_desk.core.prompts import DEFAULT_SYSTEM_PROMPT, workspace_system_prompt
from vqa_desk.core.timeutil import utc_now
from vqa_desk.core.tokens import DEFAULT_MODEL, Estimate, SplitTokens, image_tokens, make_estimate
from vqa_desk.core.validate import PROVIDERS, ValidationReport, validate_file
from vqa_desk.core.workspace import SPLITS, QAPair, Workspace

FORMATS = ("openai", "sharegpt", "hf")
DETAILS = ("low", "high", "auto")
MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
DEFAULT_FEW_SHOT = 6
MAX_FEW_SHOT = 63  # Azure's 64 images per example, less the question's own
_PROGRESS_EVERY_S = 0.1

T = TypeVar("T")
R = TypeVar("R")


class ExportError(VQADeskError):
    """The export cannot be made as asked (bad option, unusable folder); the message says what to change."""


@dataclass(frozen=True)
class ExportOptions:
    """How to export. Every default reproduces the cookbook's layout, keeping original image bytes where a
    provider accepts them as they are."""

    format: str = "openai"  # openai | sharegpt | hf
    system_prompt: str | None = None  # None: the workspace's saved prompt, else prompts.DEFAULT_SYSTEM_PROMPT
    few_shot: int = DEFAULT_FEW_SHOT  # openai only: K example pairs before each question
    quality: int | None = None  # JPEG quality; setting it re-encodes every image
    max_side: int | None = None  # longest side in pixels; larger images are shrunk
    detail: str | None = None  # low | high | auto, written into each image part; None leaves it out
    passthrough: bool = True  # keep original bytes when already acceptable and nothing is asked to change
    seed: int = 42  # which training covers become few-shot examples
    provider: str = "openai"  # rules the files are validated against: openai | azure | compatible
    model: str = DEFAULT_MODEL  # for the token and cost estimate
    epochs: int | None = None  # None: estimate what n_epochs=auto picks
    validate: bool = True  # validate the training and validation files before they are put in place
    estimate: bool = True  # count tokens while writing (loads the tokenizer, ~80 MB) for the cost estimate
    workers: int | None = None  # image-encoding threads; None: one per CPU

    def check(self) -> None:
        if self.format not in FORMATS:
            raise ExportError(f"Unknown export format {self.format!r}; choose {', '.join(FORMATS)}.")
        if not 0 <= self.few_shot <= MAX_FEW_SHOT:
            raise ExportError(f"Few-shot examples must be between 0 and {MAX_FEW_SHOT}, not {self.few_shot}.")
        if self.quality is not None and not 1 <= self.quality <= 100:
            raise ExportError(f"JPEG quality must be between 1 and 100, not {self.quality}.")
        if self.max_side is not None and self.max_side < 64:
            raise ExportError(f"The maximum side must be at least 64 pixels, not {self.max_side}.")
        if self.detail is not None and self.detail not in DETAILS:
            raise ExportError(f"Image detail must be low, high or auto, not {self.detail!r}.")
        if self.provider not in PROVIDERS:
            raise ExportError(f"Unknown provider {self.provider!r}; choose {', '.join(PROVIDERS)}.")
        if self.epochs is not None and self.epochs < 1:
            raise ExportError(f"Epochs must be at least 1, not {self.epochs}.")
        if self.workers is not None and self.workers < 1:
            raise ExportError(f"Workers must be at least 1, not {self.workers}.")
        if self.system_prompt is not None and not self.system_prompt.strip():
            raise ExportError("The system prompt is empty. Write one, or leave it unset to use the default.")

    def settings(self) -> dict[str, Any]:
        """The options as recorded in the manifest (the prompt is recorded separately, resolved)."""
        out = {k: v for k, v in asdict(self).items()
               if k not in ("system_prompt", "workers", "validate", "estimate")}
        out["jpeg_quality_when_reencoding"] = self.quality or DEFAULT_EXPORT_QUALITY
        return out


@dataclass(frozen=True)
class SkippedItem:
    """QA pairs left out of the export, per cover, and why."""

    split: str
    image_id: str
    qa_ids: tuple[int, ...]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"split": self.split, "image_id": self.image_id, "qa_ids": list(self.qa_ids), "reason": self.reason}


@dataclass
class ExportResult:
    format: str
    out_dir: Path
    files: dict[str, Path]  # split -> file (openai, sharegpt) or split folder (hf)
    manifest: Path
    examples: dict[str, int]  # split -> QA pairs written
    skipped: list[SkippedItem]
    estimate: Estimate | None  # openai with options.estimate only: other formats' tokens depend on the model
    validation: dict[str, ValidationReport]  # split -> report (openai train/validation, when validated)
    few_shot: list[dict[str, Any]]
    images: dict[str, int]  # passthrough / re_encoded covers
    all_files: list[Path]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.validation.values())

    def to_json(self) -> dict[str, Any]:
        """What ``vqa-desk export --json`` prints."""
        return {
            "format": self.format,
            "out_dir": str(self.out_dir),
            "files": {split: str(p) for split, p in self.files.items()},
            "manifest": str(self.manifest),
            "examples": dict(self.examples),
            "skipped": [s.to_dict() for s in self.skipped],
            "skipped_examples": sum(len(s.qa_ids) for s in self.skipped),
            "estimate": self.estimate.to_dict() if self.estimate else {},
            "validation": {split: {"ok": r.ok, "errors": [i.to_dict() for i in r.errors],
                                   "warnings": [i.to_dict() for i in r.warnings]}
                           for split, r in self.validation.items()},
            "images": dict(self.images),
            "notes": list(self.notes),
            "seconds": round(self.seconds, 2),
        }


def export_workspace(workspace: str | Path | Workspace, out_dir: str | Path, *, options: ExportOptions | None = None,
                     progress: ProgressFn | None = None, cancel: threading.Event | None = None) -> ExportResult:
    """Write the workspace's splits in ``options.format`` into ``out_dir`` (created if its parent exists).

    A ``Workspace`` passed in must belong to the calling thread; a path is opened and closed here.
    Raises ExportError for bad options or folders, Cancelled when ``cancel`` is set (nothing is written).
    """
    opts = options or ExportOptions()
    opts.check()
    with _opened(workspace) as ws:
        return _Export(ws, Path(out_dir), opts, progress, cancel).run()


@contextmanager
def _opened(workspace: str | Path | Workspace) -> Iterator[Workspace]:
    if isinstance(workspace, Workspace):
        yield workspace
        return
    ws = Workspace.open(workspace)
    try:
        yield ws
    finally:
        ws.close()


def resolve_system_prompt(ws: Workspace, opts: ExportOptions) -> tuple[str, str]:
    """(prompt, where it came from: option | workspace | default)."""
    if opts.system_prompt is not None:
        return opts.system_prompt, "option"
    saved = workspace_system_prompt(ws)
    return (saved, "workspace") if saved else (DEFAULT_SYSTEM_PROMPT, "default")


# ----- the covers and what goes out of them ---------------------------------------------------------------

@dataclass
class _Job:
    split: str
    pk: int
    image_id: str
    qa: list[QAPair]
    data: bytes
    title: str | None
    author: str | None
    genre: str | None


def _usable(split: str, qa: list[QAPair]) -> tuple[list[QAPair], list[QAPair]]:
    """(QA pairs to export, QA pairs refused). An empty answer would teach the model to answer nothing; the
    test split has no answers in the file, so its empty answers are fine."""
    if split == "test":
        return qa, []
    return [q for q in qa if q.answer.strip()], [q for q in qa if not q.answer.strip()]


def _split_sizes(ws: Workspace) -> list[tuple[str, int]]:
    counts = dict(ws.connection.execute("SELECT split, count(*) FROM images GROUP BY split").fetchall())
    known = [(s, counts.pop(s)) for s in SPLITS if s in counts]
    return known + sorted(counts.items())


def _encode(job: _Job, opts: ExportOptions) -> EncodedCover | SkippedItem:
    """Runs on a worker thread: only bytes in, nothing from the workspace."""
    try:
        image = encode_for_export(job.data, max_side=opts.max_side, quality=opts.quality,
                                  passthrough=opts.passthrough)
    except ImageError as exc:
        return SkippedItem(job.split, job.image_id, tuple(q.id for q in job.qa),
                           f"the image cannot be exported: {exc}")
    part = image_part_json(image, opts.detail) if opts.format == "openai" else b""
    return EncodedCover(job.split, job.pk, job.image_id, job.qa, image, part, job.title, job.author, job.genre)


def ordered_map(fn: Callable[[T], R], items: Iterator[T], *, workers: int, window: int) -> Iterator[R]:
    """``map(fn, items)`` on a thread pool, results in input order, at most ``window`` items in flight.

    ``items`` is advanced on the consuming thread (so it may read SQLite). Closing the iterator early (an error
    or a cancel in the consumer) drops what has not started and waits for what has."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vqa-export") as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


# ----- few-shot examples ----------------------------------------------------------------------------------

def pick_few_shot(ws: Workspace, opts: ExportOptions, *, encode: bool = True) -> tuple[list[FewShotExample],
                                                                                        list[str]]:
    """K + 1 few-shot examples (one spare, see ``ChatLayout``) from distinct training covers, drawn by
    ``opts.seed``: covers in a seeded shuffle, from each the question whose type has been used least, so the
    examples show titles, authors, genres and yes/no questions alike. Only valid images and non-empty
    answers; with ``encode`` each image is encoded as exported and a cover whose image fails is passed over.
    Returns (examples, notes)."""
    want = opts.few_shot + 1 if opts.few_shot else 0
    if not want:
        return [], []
    rows = ws.connection.execute(
        "SELECT id, image_id, width, height FROM images WHERE split = 'train' AND valid = 1 ORDER BY rank"
    ).fetchall()
    order = list(range(len(rows)))
    random.Random(opts.seed).shuffle(order)
    chosen: list[FewShotExample] = []
    used: Counter[str] = Counter()
    for i in order:
        if len(chosen) >= want:
            break
        pk, image_id, width, height = rows[i]
        qa = [q for q in ws.qa_for_image(pk) if q.answer.strip()]
        if not qa:
            continue
        pick = min(qa, key=lambda q: (used[q.qtype], q.idx))
        if encode:
            try:
                image = encode_for_export(ws.image_bytes(pk), max_side=opts.max_side, quality=opts.quality,
                                          passthrough=opts.passthrough)
            except (ImageError, WorkspaceError):
                continue
            example = FewShotExample(pick, image_id, image_part_json(image, opts.detail), image.width, image.height,
                                     image.format, len(image.data), image.passthrough)
        else:
            w, h = scaled_size(width or 0, height or 0, opts.max_side)
            example = FewShotExample(pick, image_id, b"", w, h)
        used[pick.qtype] += 1
        chosen.append(example)
    notes = []
    if len(chosen) < opts.few_shot:
        notes.append(f"Only {len(chosen)} training covers can serve as few-shot examples; {opts.few_shot} were "
                     f"asked for, so examples have {len(chosen)}.")
    return chosen, notes


def scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """The size an image will have after export's resize (for estimates made without encoding)."""
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


# ----- the export itself ----------------------------------------------------------------------------------

class _Export:
    def __init__(self, ws: Workspace, out_dir: Path, opts: ExportOptions, progress: ProgressFn | None,
                 cancel: threading.Event | None) -> None:
        self.ws = ws
        self.out_dir = out_dir
        self.opts = opts
        self.progress = progress
        self.cancel = cancel
        self.counts: dict[str, SplitCounts] = {}
        self.skipped: list[SkippedItem] = []
        self.images = Counter[str]()
        self.notes: list[str] = []
        self._done = 0
        self._total = 0
        self._last_report = 0.0

    def run(self) -> ExportResult:
        started = time.perf_counter()
        created = _prepare_out_dir(self.out_dir, self.opts.format)
        staging = Staging(self.out_dir)
        writer: Writer | None = None
        try:
            prompt, origin = resolve_system_prompt(self.ws, self.opts)
            splits = _split_sizes(self.ws)
            self._total = sum(n for _, n in splits)
            report(self.progress, 0, self._total, "choosing few-shot examples")
            few_shot, notes = pick_few_shot(self.ws, self.opts) if self.opts.format == "openai" else ([], [])
            self.notes += notes
            layout = ChatLayout(system_prompt=prompt, few_shot=few_shot, k=self.opts.few_shot,
                                detail=self.opts.detail, model=self.opts.model, count_tokens=self.opts.estimate)
            writer = self._writer(staging, layout)
            for split, _ in splits:
                self._write_split(writer, split)
            writer.finish()
            validation = self._validate(staging, writer)
            rejected = [f"{split}: {issue.message}" for split, r in validation.items() for issue in r.errors]
            if rejected and (self.out_dir / MANIFEST_NAME).exists():
                # Never swap a previous (maybe good) export for files the provider would refuse.
                raise ExportError(
                    f"The new files would be rejected by {self.opts.provider} ({'; '.join(rejected[:3])}), so the "
                    f"previous export in {self.out_dir} was kept. Change the options, or export to another folder "
                    "to inspect the rejected files.")
            estimate = self._estimate()
            manifest = self._manifest(writer, prompt, origin, layout, estimate, validation)
            manifest_tmp = staging.file(MANIFEST_NAME)
            manifest_tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            check_cancel(self.cancel)
            staging.commit()
        except BaseException:
            if writer is not None:
                writer.close_all()
            staging.discard()
            if created:
                _rmdir_if_empty(self.out_dir)
            raise
        report(self.progress, self._total, self._total, "done")
        files = {split: self.out_dir / rel for split, rel in writer.split_paths().items()}
        validation = {s: replace(r, path=files[s]) for s, r in validation.items()}
        return ExportResult(
            format=self.opts.format, out_dir=self.out_dir, files=files, manifest=self.out_dir / MANIFEST_NAME,
            examples={s: c.examples for s, c in self.counts.items()}, skipped=self.skipped, estimate=estimate,
            validation=validation, few_shot=_few_shot_summary(layout), images=dict(self.images),
            all_files=[self.out_dir / f.name for f in writer.written()] + [self.out_dir / MANIFEST_NAME],
            notes=self.notes, seconds=time.perf_counter() - started,
        )

    def _writer(self, staging: Staging, layout: ChatLayout) -> Writer:
        if self.opts.format == "openai":
            return OpenAIWriter(staging, layout)
        if self.opts.format == "sharegpt":
            return ShareGPTWriter(staging, system_prompt=layout.system_prompt)
        return HFWriter(staging)

    def _write_split(self, writer: Writer, split: str) -> None:
        counts = self.counts[split] = SplitCounts()
        writer.begin(split)
        workers = self.opts.workers or os.cpu_count() or 1
        encode = _bind(_encode, self.opts)
        # closing(): on an error or a cancel the pool stops now, not whenever the traceback is freed.
        with closing(ordered_map(encode, self._jobs(split), workers=workers, window=4 * workers)) as results:
            for result in results:
                check_cancel(self.cancel)
                self._done += 1
                if isinstance(result, SkippedItem):
                    self.skipped.append(result)
                else:
                    self.images["passthrough" if result.image.passthrough else "re_encoded"] += 1
                    counts.covers += 1
                    writer.add(result, counts)
                self._report(split)
        writer.end()
        if counts.examples == 0:
            self.notes.append(f"The {split} split has no exportable examples; its file is empty.")

    def _jobs(self, split: str) -> Iterator[_Job]:
        """Covers of a split in sample order, with their bytes; covers left out are recorded here."""
        rows = self.ws.connection.execute(
            "SELECT id, image_id, valid, invalid_reason, title, author, genre FROM images WHERE split = ? "
            "ORDER BY rank", (split,))
        for pk, image_id, valid, reason, title, author, genre in rows:
            qa, refused = _usable(split, self.ws.qa_for_image(pk))
            if refused:
                self.skipped.append(SkippedItem(split, image_id, tuple(q.id for q in refused),
                                                "empty answer: fill it in, or the example stays out of the file"))
            skip = None if qa else ""
            if qa and not valid:
                skip = f"invalid image ({reason or 'unknown reason'}): the cover's examples were left out"
            data = b""
            if skip is None:
                try:
                    data = self.ws.image_bytes(pk)
                except WorkspaceError:
                    skip = "no stored image bytes: the cover's examples were left out"
            if skip is not None:
                if skip:
                    self.skipped.append(SkippedItem(split, image_id, tuple(q.id for q in qa), skip))
                self._done += 1
                continue
            yield _Job(split, pk, image_id, qa, data, title, author, genre)

    def _report(self, split: str) -> None:
        now = time.monotonic()
        if now - self._last_report >= _PROGRESS_EVERY_S:
            self._last_report = now
            report(self.progress, self._done, self._total, f"{split}: {self._done} of {self._total} covers")

    def _validate(self, staging: Staging, writer: Writer) -> dict[str, ValidationReport]:
        if self.opts.format != "openai" or not self.opts.validate:
            return {}
        out = {}
        for split, rel in writer.split_paths().items():
            if split == "test":
                continue  # inference input, not a training file: it has no answers by design
            report(self.progress, self._total, self._total, f"validating {rel}")
            tmp = staging.temp_path(rel)
            out[split] = validate_file(tmp, self.opts.provider, self.opts.model, cancel=self.cancel)
        return out

    def _estimate(self) -> Estimate | None:
        if self.opts.format != "openai" or not self.opts.estimate:
            return None
        splits = {s: c.tokens for s, c in self.counts.items()}
        return make_estimate(splits, model=self.opts.model, epochs=self.opts.epochs)

    def _manifest(self, writer: Writer, prompt: str, origin: str, layout: ChatLayout, estimate: Estimate | None,
                  validation: dict[str, ValidationReport]) -> dict[str, Any]:
        meta = self.ws.meta
        written: list[WrittenFile] = writer.written()
        paths = writer.split_paths()
        return {
            "manifest_version": MANIFEST_VERSION,
            "tool": {"name": "vqa-desk", "version": __version__},
            "created": utc_now(),
            "workspace": {"path": str(self.ws.path.resolve()), "source": meta.get("source"),
                          "sampling": meta.get("sampling"),
                          "edits": self.ws.connection.execute("SELECT count(*) FROM edits").fetchone()[0]},
            "format": self.opts.format,
            "settings": {**self.opts.settings(), "system_prompt": prompt, "system_prompt_origin": origin},
            "few_shot": _few_shot_summary(layout),
            "splits": {split: {
                "path": paths.get(split), "covers": c.covers, "examples": c.examples,
                "question_types": dict(sorted(c.question_types.items())), "edited_answers": c.edited,
                "skipped_examples": sum(len(s.qa_ids) for s in self.skipped if s.split == split),
            } for split, c in self.counts.items()},
            "counts": {
                "examples": {s: c.examples for s, c in self.counts.items()},
                "question_types": dict(sorted(sum((c.question_types for c in self.counts.values()),
                                                  Counter[str]()).items())),
                "edited_answers": sum(c.edited for c in self.counts.values()),
                "skipped_examples": sum(len(s.qa_ids) for s in self.skipped),
                "images": dict(self.images),
            },
            "files": {f.name: {"sha256": f.sha256, "bytes": f.bytes, "split": f.split} for f in written},
            "skipped": [s.to_dict() for s in self.skipped],
            "estimate": estimate.to_dict() if estimate else None,
            "validation": {s: {"provider": r.provider, "ok": r.ok, "errors": [i.message for i in r.errors],
                               "warnings": [i.message for i in r.warnings]} for s, r in validation.items()},
            "notes": self.notes,
        }


def _bind(fn: Callable[[_Job, ExportOptions], R], opts: ExportOptions) -> Callable[[_Job], R]:
    def call(job: _Job) -> R:
        return fn(job, opts)

    return call


def _few_shot_summary(layout: ChatLayout) -> list[dict[str, Any]]:
    return [{"qa_id": f.qa.id, "image_id": f.image_id, "question": f.qa.question, "answer": f.qa.answer,
             "question_type": f.qa.qtype} for f in layout.prefix(-1).few_shot]


def _prepare_out_dir(out_dir: Path, fmt: str) -> bool:
    """Check (or create) the export folder; True when it was created here."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir} is a file; --out takes a folder.")
    created = False
    if not out_dir.exists():
        if not out_dir.parent.is_dir():
            raise ExportError(f"Cannot export to {out_dir}: the folder {out_dir.parent} does not exist. Create it "
                              "first or choose another location.")
        try:
            out_dir.mkdir()
        except OSError as exc:
            raise ExportError(f"Cannot create {out_dir}: {exc}. Check that the folder is writable.") from exc
        created = True
    previous = out_dir / MANIFEST_NAME
    if previous.is_file():
        try:
            other = json.loads(previous.read_text(encoding="utf-8")).get("format")
        except (OSError, ValueError, AttributeError):
            other = None
        if other is not None and other != fmt:
            raise ExportError(f"{out_dir} already holds a {other} export; a {fmt} export beside it would leave a "
                              "manifest that does not describe its files. Choose another folder.")
    if not os.access(out_dir, os.W_OK):
        raise ExportError(f"Cannot write to {out_dir}. Check its permissions or choose another folder.")
    return created


def _rmdir_if_empty(folder: Path) -> None:
    with suppress(OSError):
        folder.rmdir()


# ----- estimate and preview without writing ---------------------------------------------------------------

def estimate_workspace(workspace: str | Path | Workspace, options: ExportOptions | None = None) -> Estimate:
    """Tokens per split and training cost of an OpenAI export with these options, without encoding images:
    image sizes come from the workspace (after the ``max_side`` resize). Fast enough for a live GUI panel."""
    opts = options or ExportOptions()
    opts.check()
    with _opened(workspace) as ws:
        prompt, _ = resolve_system_prompt(ws, opts)
        few_shot, notes = pick_few_shot(ws, opts, encode=False)
        layout = ChatLayout(system_prompt=prompt, few_shot=few_shot, k=opts.few_shot, detail=opts.detail,
                            model=opts.model)
        splits: dict[str, SplitTokens] = {}
        rows = ws.connection.execute(
            "SELECT q.split, q.image, q.question, q.answer, i.width, i.height FROM qa q "
            "JOIN images i ON i.id = q.image WHERE i.valid = 1 ORDER BY i.split, i.rank, q.idx")
        for split, pk, question, answer, width, height in rows:
            if split != "test" and not answer.strip():
                continue
            prefix = layout.prefix(pk)
            text = layout.question_text(len(prefix.few_shot) + 1, question)
            w, h = scaled_size(width or 0, height or 0, opts.max_side)
            tokens = splits.setdefault(split, SplitTokens())
            tokens.add(prefix.text_tokens + layout.tail_text_tokens(text, None if split == "test" else answer),
                       prefix.image_tokens + image_tokens(w, h, opts.detail, opts.model), len(prefix.few_shot) + 1)
    estimate = make_estimate(splits, model=opts.model, epochs=opts.epochs)
    estimate.notes[:0] = notes
    return estimate


@dataclass(frozen=True)
class PreviewImage:
    image_pk: int
    image_id: str
    width: int
    height: int
    format: str
    n_bytes: int
    passthrough: bool
    tokens: int


@dataclass
class Preview:
    """One example as it would be exported (OpenAI layout), for the GUI: image URLs shortened to a label."""

    split: str
    qa_id: int
    messages: list[dict[str, Any]]
    images: list[PreviewImage]  # in the order they appear; thumbnails come from ws.image_bytes(image_pk)
    text_tokens: int
    image_tokens: int


def preview_example(workspace: str | Path | Workspace, options: ExportOptions | None = None, *,
                    split: str = "train", qa_id: int | None = None) -> Preview:
    """The example for ``qa_id`` (default: the first exportable QA pair of ``split``) as the export writes it,
    image URLs replaced by a short label. Encodes only the K + 2 images involved."""
    opts = options or ExportOptions()
    opts.check()
    with _opened(workspace) as ws:
        qa = ws.qa(qa_id) if qa_id is not None else _first_exportable(ws, split)
        prompt, _ = resolve_system_prompt(ws, opts)
        few_shot, _ = pick_few_shot(ws, opts)
        labelled = [replace(f, image_part=_label_part(f.format, f.width, f.height, f.n_bytes, f.passthrough,
                                                      opts.detail)) for f in few_shot]
        layout = ChatLayout(system_prompt=prompt, few_shot=labelled, k=opts.few_shot, detail=opts.detail,
                            model=opts.model)
        try:
            image = encode_for_export(ws.image_bytes(qa.image_pk), max_side=opts.max_side, quality=opts.quality,
                                      passthrough=opts.passthrough)
        except (ImageError, WorkspaceError) as exc:
            raise ExportError(f"This cover is left out of the export: its image cannot be used ({exc}).") from exc
        answer = None if qa.split == "test" else qa.answer
        part = _label_part(image.format, image.width, image.height, len(image.data), image.passthrough, opts.detail)
        line, prefix, question = layout.line(qa.image_pk, qa.question, part, answer)
        images = [PreviewImage(f.qa.image_pk, f.image_id, f.width, f.height, f.format, f.n_bytes, f.passthrough,
                               image_tokens(f.width, f.height, opts.detail, opts.model)) for f in prefix.few_shot]
        images.append(PreviewImage(qa.image_pk, ws.image_meta(qa.image_pk).image_id, image.width, image.height,
                                   image.format, len(image.data), image.passthrough,
                                   image_tokens(image.width, image.height, opts.detail, opts.model)))
        return Preview(qa.split, qa.id, json.loads(line)["messages"], images,
                       prefix.text_tokens + layout.tail_text_tokens(question, answer), sum(i.tokens for i in images))


def _first_exportable(ws: Workspace, split: str) -> QAPair:
    row = ws.connection.execute(
        "SELECT q.id FROM qa q JOIN images i ON i.id = q.image WHERE i.split = ? AND i.valid = 1 "
        "AND (? = 'test' OR trim(q.answer) != '') ORDER BY i.rank, q.idx LIMIT 1", (split, split)).fetchone()
    if row is None:
        raise ExportError(f"The {split} split has no exportable example to preview.")
    return ws.qa(row[0])


def _label_part(fmt: str, width: int, height: int, n_bytes: int, passthrough: bool, detail: str | None) -> bytes:
    """An image part whose URL is a readable label instead of kilobytes of base64."""
    origin = "original bytes" if passthrough else "re-encoded"
    ref = {"url": f"<{fmt} {width}x{height}, {n_bytes / 1024:.0f} KB, {origin}>"}
    if detail is not None:
        ref["detail"] = detail
    return json.dumps({"type": "image_url", "image_url": ref}).encode("utf-8")
