"""Reading the covers: offline OCR (RapidOCR with the models inside its wheel), cached in the workspace.

The detector runs with ``limit_type=max, limit_side_len=960`` (REFERENCE.md §5): small covers are not
upscaled, which keeps a cover at ~0.1 s. Covers are upright, so the orientation classifier is off. Each
worker thread has its own engine (onnxruntime releases the GIL), so both cores are used.

When the engine is not installed, ``engine_available()`` is False and the checks run on text evidence only
(and say so). Covers that fail to decode are recorded with their error; the rest continue.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vqa_desk.core.errors import Cancelled, VQADeskError
from vqa_desk.core.images import ImageError, to_rgb_or_rgba
from vqa_desk.core.progress import ProgressFn, check_cancel, report
from vqa_desk.core.timeutil import utc_now
from vqa_desk.core.workspace import Workspace

ENGINE_NAME = "rapidocr"
_PARAMS = {"Global.log_level": "error", "Global.use_cls": False, "Det.limit_type": "max", "Det.limit_side_len": 960,
           "EngineConfig.onnxruntime.intra_op_num_threads": 1, "EngineConfig.onnxruntime.inter_op_num_threads": 1}
_local = threading.local()


class OcrUnavailable(VQADeskError):
    """The OCR engine is not installed; checks still run without cover text."""


@dataclass(frozen=True)
class OcrLine:
    text: str
    score: float
    top: float  # pixels from the top of the cover
    height: float  # line height in pixels: title lines are taller than subtitles and author lines
    box: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class OcrRun:
    read: int
    failed: dict[str, str]  # image_id -> why
    skipped_cached: int


def engine_available() -> bool:
    try:
        import rapidocr  # noqa: F401
    except ImportError:
        return False
    return True


def _engine() -> Any:
    engine = getattr(_local, "engine", None)
    if engine is None:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise OcrUnavailable("OCR is not installed (pip install rapidocr onnxruntime).") from exc
        engine = _local.engine = RapidOCR(params=_PARAMS)
    return engine


def read_cover(data: bytes) -> list[OcrLine]:
    """OCR one cover's bytes; lines top to bottom."""
    import numpy as np
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as opened:
            img = ImageOps.exif_transpose(opened) or opened
            img = to_rgb_or_rgba(img).convert("RGB")
    except Exception as exc:
        raise ImageError(f"cannot decode image ({exc})") from exc
    result = _engine()(np.asarray(img))
    lines = []
    for box, text, score in zip(result.boxes if result.boxes is not None else [], result.txts or (),
                                result.scores or (), strict=False):
        ys = [float(p[1]) for p in box]
        lines.append(OcrLine(str(text), float(score), min(ys), max(ys) - min(ys),
                             tuple((float(p[0]), float(p[1])) for p in box)))
    return sorted(lines, key=lambda line: (round(line.top), line.box[0][0]))


def lines_to_json(lines: Iterable[OcrLine]) -> str:
    return json.dumps([{"text": x.text, "score": round(x.score, 4), "box": [list(p) for p in x.box]} for x in lines],
                      ensure_ascii=False)


def lines_from_json(text: str) -> list[OcrLine]:
    out = []
    for item in json.loads(text):
        box = tuple((float(p[0]), float(p[1])) for p in item["box"])
        ys = [p[1] for p in box]
        out.append(OcrLine(item["text"], float(item["score"]), min(ys), max(ys) - min(ys), box))
    return out


def lines_from_dataset(ocr_info: list[dict[str, Any]], width: int | None, height: int | None) -> list[OcrLine]:
    """OCR-VQA's own ``ocr_info`` words (normalised boxes), joined into lines by vertical position."""
    if not ocr_info or not width or not height:
        return []
    words = []
    for item in ocr_info:
        bb = item.get("bounding_box") or {}
        try:
            x, y = float(bb["top_left_x"]) * width, float(bb["top_left_y"]) * height
            w, h = float(bb["width"]) * width, float(bb["height"]) * height
        except (KeyError, TypeError, ValueError):
            continue
        words.append((y, x, w, h, str(item.get("word", ""))))
    words.sort()
    lines: list[list[tuple[float, float, float, float, str]]] = []
    for word in words:
        if lines and abs(word[0] - lines[-1][0][0]) < 0.5 * max(word[3], lines[-1][0][3]):
            lines[-1].append(word)
        else:
            lines.append([word])
    out = []
    for line in lines:
        line.sort(key=lambda w: w[1])
        top = min(w[0] for w in line)
        h = max(w[0] + w[3] for w in line) - top
        left, right = line[0][1], line[-1][1] + line[-1][2]
        out.append(OcrLine(" ".join(w[4] for w in line), 1.0, top, h,
                           ((left, top), (right, top), (right, top + h), (left, top + h))))
    return out


def run_ocr(path: Path, *, workers: int = 2, redo: bool = False, progress: ProgressFn | None = None,
            cancel: threading.Event | None = None) -> OcrRun:
    """OCR every valid cover without a cached result (all of them with ``redo``) and store the lines."""
    if not engine_available():
        raise OcrUnavailable("OCR is not installed (pip install rapidocr onnxruntime); run checks with --no-ocr.")
    with Workspace.open(path) as ws:
        c = ws.connection
        todo = [(pk, iid) for pk, iid in c.execute(
            "SELECT id, image_id FROM images WHERE valid = 1"
            # Covers that failed last time are tried again: engine failures can be transient.
            + ("" if redo else " AND id NOT IN (SELECT image FROM ocr_lines WHERE error IS NULL)") + " ORDER BY id")]
        cached = c.execute("SELECT count(*) FROM ocr_lines WHERE error IS NULL").fetchone()[0] if not redo else 0
        failed: dict[str, str] = {}
        done = 0
        report(progress, 0, len(todo), "reading covers")

        def work(item: tuple[int, str]) -> tuple[int, str, list[OcrLine] | None, str | None]:
            pk, iid = item
            if cancel is not None and cancel.is_set():
                return pk, iid, None, "cancelled"
            try:
                with Workspace.open(path) as reader:  # sqlite connections stay on their own thread
                    data = reader.image_bytes(pk)
                return pk, iid, read_cover(data), None
            except (ImageError, VQADeskError) as exc:
                return pk, iid, None, str(exc)
            except Exception as exc:  # one unreadable cover must not stop the other 200k
                return pk, iid, None, f"OCR failed ({type(exc).__name__}: {exc})"

        batch: list[tuple[int, str, str | None]] = []
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            # A bounded window of futures keeps memory flat however many covers there are.
            window = max(4, workers * 4)
            pending = []
            items = iter(todo)
            for item in items:
                pending.append(pool.submit(work, item))
                if len(pending) < window:
                    continue
                done += _collect(pending.pop(0).result(), batch, failed)
                if len(batch) >= 50:
                    _store(ws, batch)
                report(progress, done, len(todo), "reading covers")
                if cancel is not None and cancel.is_set():
                    for f in pending:
                        f.cancel()
                    _store(ws, batch)
                    raise Cancelled("OCR stopped; the covers read so far are kept.")
            for fut in pending:
                done += _collect(fut.result(), batch, failed)
            _store(ws, batch)
        check_cancel(cancel)
        report(progress, len(todo), len(todo), "done")
        return OcrRun(read=len(todo) - len(failed), failed=failed, skipped_cached=cached)


def _collect(result: tuple[int, str, list[OcrLine] | None, str | None], batch: list[tuple[int, str, str | None]],
             failed: dict[str, str]) -> int:
    pk, iid, lines, error = result
    if error == "cancelled":
        return 0
    if error is not None:
        failed[iid] = error
    batch.append((pk, lines_to_json(lines or []), error))
    return 1


def _store(ws: Workspace, batch: list[tuple[int, str, str | None]]) -> None:
    if not batch:
        return
    now = utc_now()
    with ws.transaction() as c:
        c.executemany(
            "INSERT INTO ocr_lines(image, engine, lines, error, created_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(image) DO UPDATE SET engine = excluded.engine, lines = excluded.lines, "
            "error = excluded.error, created_at = excluded.created_at",
            [(pk, ENGINE_NAME, lines, error, now) for pk, lines, error in batch])
    batch.clear()


def lines_for(ws: Workspace, pk: int) -> list[OcrLine]:
    """One cover's text lines, from the same sources as ``cover_lines``."""
    row = ws.connection.execute("SELECT lines FROM ocr_lines WHERE image = ? AND error IS NULL", (pk,)).fetchone()
    if row is not None:
        return lines_from_json(row[0])
    row = ws.connection.execute(
        "SELECT o.ocr_info, i.width, i.height FROM image_ocr o JOIN images i ON i.id = o.image WHERE o.image = ?",
        (pk,)).fetchone()
    return lines_from_dataset(json.loads(row[0]) or [], row[1], row[2]) if row and row[0] else []


def cover_lines(ws: Workspace) -> dict[int, list[OcrLine]]:
    """Engine OCR where it was run, else the dataset's own OCR words: every cover with any cover text."""
    out: dict[int, list[OcrLine]] = {}
    for pk, lines in ws.connection.execute("SELECT image, lines FROM ocr_lines WHERE error IS NULL"):
        out[pk] = lines_from_json(lines)
    for pk, info, width, height in ws.connection.execute(
            "SELECT o.image, o.ocr_info, i.width, i.height FROM image_ocr o JOIN images i ON i.id = o.image"):
        if pk not in out and info:
            lines = lines_from_dataset(json.loads(info) or [], width, height)
            if lines:
                out[pk] = lines
    return out
