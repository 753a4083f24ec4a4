"""Check a chat-format JSONL training file against a provider's rules, line by line, before any upload.

Works on any file, not only ours: it reads one line at a time (memory does not grow with the file), decodes
every image data URL once (few-shot images repeat on every line, so decoded results are cached by digest),
and reports each problem once with all the line numbers it occurs on and what to do about it.
The rules are data (``PROVIDERS``) because providers differ: OpenAI takes 10 images per example, Azure 64.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from vqa_desk.core.errors import VQADeskError
from vqa_desk.core.images import MAX_PIXELS
from vqa_desk.core.progress import ProgressFn, check_cancel, report
from vqa_desk.core.tokens import (
    DEFAULT_MODEL,
    Estimate,
    SplitTokens,
    image_tokens,
    make_estimate,
    message_text_tokens,
)

MB = 1024 * 1024
_LISTED_LINES = 10  # line numbers spelled out in a message; the full list is in Issue.lines
_JSON_LINES_CAP = 1000  # line numbers per issue in to_dict(), so a broken 50k-line file gives a bounded report
_IMAGE_CACHE_CAP = 100_000


class ValidateError(VQADeskError):
    """The file to validate cannot be read at all (missing, a folder, unreadable)."""


@dataclass(frozen=True)
class ProviderRules:
    """What one provider accepts in a vision fine-tuning file (REFERENCE.md §3). None: no known limit."""

    key: str
    label: str
    min_examples: int
    recommended_examples: int
    max_examples_with_images: int | None
    max_images_per_example: int | None
    max_image_bytes: int | None
    image_formats: tuple[str, ...]
    image_modes: tuple[str, ...]
    max_tokens_per_example: int | None
    max_file_bytes: int | None
    moderation_note: bool


_IMAGE_FORMATS = ("JPEG", "PNG", "WEBP")
_IMAGE_MODES = ("RGB", "RGBA")

PROVIDERS: dict[str, ProviderRules] = {
    "openai": ProviderRules(
        key="openai", label="OpenAI", min_examples=10, recommended_examples=50, max_examples_with_images=50_000,
        max_images_per_example=10, max_image_bytes=10 * MB, image_formats=_IMAGE_FORMATS, image_modes=_IMAGE_MODES,
        max_tokens_per_example=65_536, max_file_bytes=512 * MB, moderation_note=True,
    ),
    # Azure OpenAI runs the same vision fine-tuning with more images per example.
    "azure": ProviderRules(
        key="azure", label="Azure OpenAI", min_examples=10, recommended_examples=50, max_examples_with_images=50_000,
        max_images_per_example=64, max_image_bytes=10 * MB, image_formats=_IMAGE_FORMATS, image_modes=_IMAGE_MODES,
        max_tokens_per_example=65_536, max_file_bytes=512 * MB, moderation_note=True,
    ),
    # Any OpenAI-compatible trainer: the chat structure and the image types every such server decodes; its
    # size limits are its own, so they are not enforced here.
    "compatible": ProviderRules(
        key="compatible", label="an OpenAI-compatible server", min_examples=1, recommended_examples=50,
        max_examples_with_images=None, max_images_per_example=None, max_image_bytes=None,
        image_formats=_IMAGE_FORMATS, image_modes=_IMAGE_MODES, max_tokens_per_example=None, max_file_bytes=None,
        moderation_note=False,
    ),
}

_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_TOP_LEVEL_KEYS = ("messages", "tools", "functions", "parallel_tool_calls")
_DETAILS = ("low", "high", "auto")
_DATA_URL = re.compile(r"^data:([^;,]*)(;base64)?,", re.IGNORECASE)


@dataclass
class Issue:
    """One problem, with every line it occurs on (empty for problems of the whole file)."""

    code: str
    message: str
    lines: list[int] = field(default_factory=list)

    @property
    def line(self) -> int | None:
        return self.lines[0] if self.lines else None

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message, "code": self.code,
                "lines": self.lines[:_JSON_LINES_CAP], "count": len(self.lines)}


@dataclass
class ValidationStats:
    file_bytes: int = 0
    lines: int = 0
    examples: int = 0  # lines that hold a chat example, valid or not
    examples_with_images: int = 0
    images: int = 0
    distinct_images: int = 0
    url_images: int = 0
    max_images_per_example: int = 0
    tokens: SplitTokens = field(default_factory=SplitTokens)

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "tokens"}
        out["tokens"] = self.tokens.to_dict()
        return out


@dataclass
class ValidationReport:
    path: Path
    provider: str
    model: str
    errors: list[Issue]
    warnings: list[Issue]
    stats: ValidationStats

    @property
    def ok(self) -> bool:
        return not self.errors

    def estimate(self, epochs: int | None = None) -> Estimate:
        """Training cost if this file were the training file."""
        return make_estimate({"train": self.stats.tokens}, model=self.model, epochs=epochs)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "file": str(self.path), "provider": self.provider, "model": self.model,
                "errors": [i.to_dict() for i in self.errors], "warnings": [i.to_dict() for i in self.warnings],
                "stats": self.stats.to_dict()}


def validate_file(path: str | Path, provider: str = "openai", model: str = DEFAULT_MODEL, *,
                  progress: ProgressFn | None = None, cancel: threading.Event | None = None) -> ValidationReport:
    """Validate a chat-format JSONL file for ``provider`` (openai | azure | compatible)."""
    path = Path(path)
    rules = PROVIDERS.get(provider)
    if rules is None:
        raise ValidateError(f"Unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}.")
    if not path.is_file():
        raise ValidateError(f"{path} is not a file. Give the path of a .jsonl training file.")
    checker = _Checker(rules, model)
    try:
        size = path.stat().st_size
        checker.stats.file_bytes = size
        done = 0
        with path.open("rb") as fh:
            for lineno, raw in enumerate(fh, start=1):
                done += len(raw)
                checker.line(lineno, raw)
                if lineno % 200 == 0:
                    check_cancel(cancel)
                    report(progress, done, size, f"line {lineno}")
    except OSError as exc:
        raise ValidateError(f"Cannot read {path}: {exc}") from exc
    checker.finish()
    report(progress, checker.stats.file_bytes, checker.stats.file_bytes, "done")
    return ValidationReport(path, rules.key, model, checker.issues("error"), checker.issues("warning"), checker.stats)


@dataclass(frozen=True)
class _ImageResult:
    width: int
    height: int
    problems: tuple[tuple[str, str, str], ...]  # (severity, code, text)


class _Checker:
    def __init__(self, rules: ProviderRules, model: str) -> None:
        self.rules = rules
        self.model = model
        self.stats = ValidationStats()
        self._found: dict[tuple[str, str, str], list[int]] = {}
        self._images: dict[bytes, _ImageResult] = {}
        self._examples_without_answer = 0

    # ----- collecting -----------------------------------------------------------------------------------
    def add(self, severity: str, code: str, text: str, line: int | None = None) -> None:
        lines = self._found.setdefault((severity, code, text), [])
        if line is not None and (not lines or lines[-1] != line):  # lines arrive in order: once per line
            lines.append(line)

    def issues(self, severity: str) -> list[Issue]:
        out = []
        for (sev, code, text), lines in self._found.items():
            if sev == severity:
                out.append(Issue(code, _with_lines(text, lines), lines))
        return out

    # ----- one line -------------------------------------------------------------------------------------
    def line(self, lineno: int, raw: bytes) -> None:
        self.stats.lines = lineno
        if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
            self.add("error", "bom", "the file starts with a byte-order mark; save it as UTF-8 without BOM", lineno)
            raw = raw[3:]
        if not raw.strip():
            self.add("warning", "empty_line", "empty line; remove it (some uploaders reject empty lines)", lineno)
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.add("error", "not_utf8", "not valid UTF-8; save the file as UTF-8", lineno)
            return
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            self.add("error", "not_json", f"not valid JSON ({exc.msg}); each line must hold one complete JSON "
                     "object (a pretty-printed or cut-off example breaks this)", lineno)
            return
        if not isinstance(obj, dict) or not isinstance(obj.get("messages"), list) or not obj["messages"]:
            self.add("error", "no_messages", 'not a chat example; each line must be {"messages": [...]} with at '
                     "least one message", lineno)
            return
        unknown = sorted(k for k in obj if k not in _TOP_LEVEL_KEYS)
        if unknown:
            self.add("warning", "unknown_keys", f"unknown key(s) {', '.join(map(repr, unknown))} beside "
                     "'messages'; remove them, the provider may reject the file", lineno)
        self.stats.examples += 1
        self._example(lineno, obj["messages"])

    def _example(self, lineno: int, messages: list[Any]) -> None:
        n_images = 0
        image_tok = 0
        has_answer = False
        for index, message in enumerate(messages, start=1):
            if not isinstance(message, dict):
                self.add("error", "bad_message", f"message {index} is not an object with 'role' and 'content'", lineno)
                continue
            role = message.get("role")
            if role not in _ROLES:
                self.add("error", "bad_role", f"message {index} has role {role!r}; use system, user or assistant",
                         lineno)
                continue
            has_answer = has_answer or role == "assistant"
            if role == "assistant" and message.get("weight") not in (None, 0, 1):
                self.add("error", "bad_weight", f"message {index} has weight {message.get('weight')!r}; an "
                         "assistant weight must be 0 or 1", lineno)
            for part in self._parts(lineno, index, role, message):
                n_images += 1
                image_tok += self._image_part(lineno, part)
        self._example_totals(lineno, messages, n_images, image_tok, has_answer)

    def _parts(self, lineno: int, index: int, role: str, message: dict[str, Any]) -> list[Mapping[str, Any]]:
        """Check a message's content; return its image parts."""
        content = message.get("content")
        if content is None and role == "assistant" and (message.get("tool_calls") or message.get("function_call")):
            return []
        if isinstance(content, str):
            if role == "assistant" and not content.strip():
                self.add("error", "empty_answer", f"message {index} (assistant) is empty; give the answer", lineno)
            return []
        if not isinstance(content, list) or not content:
            self.add("error", "bad_content", f"message {index} ({role}) has no content; give text or a list of "
                     "content parts", lineno)
            return []
        images: list[Mapping[str, Any]] = []
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                if not isinstance(part.get("text"), str):
                    self.add("error", "bad_text", f"message {index} has a text part without a 'text' string", lineno)
            elif kind == "image_url":
                if role == "assistant":
                    self.add("error", "assistant_image", f"message {index} is an assistant message with an image; "
                             "images are allowed only in user messages: move it to the user message before", lineno)
                    continue
                if role != "user":
                    self.add("warning", "non_user_image", f"message {index} ({role}) has an image; providers expect "
                             "images in user messages", lineno)
                images.append(part)
            else:
                self.add("error", "bad_part", f"message {index} has a content part of type {kind!r}; use 'text' or "
                         "'image_url'", lineno)
        return images

    def _image_part(self, lineno: int, part: Mapping[str, Any]) -> int:
        """Check one image part; return the tokens it costs."""
        ref = part.get("image_url")
        url = ref.get("url") if isinstance(ref, dict) else None
        if not isinstance(url, str):
            self.add("error", "bad_image_part", 'an image part has no URL; write {"type": "image_url", "image_url": '
                     '{"url": "data:image/jpeg;base64,..."}}', lineno)
            return 0
        detail = ref.get("detail") if isinstance(ref, dict) else None
        if detail is not None and detail not in _DETAILS:
            self.add("error", "bad_detail", f"an image has detail {detail!r}; use low, high or auto", lineno)
            detail = None
        self.stats.images += 1
        if url.startswith("https://"):
            self.stats.url_images += 1
            self.add("warning", "url_not_fetched", "an image is an https URL; it was not downloaded, so its size, "
                     "format and tokens were not checked (the provider must be able to fetch it)", lineno)
            return image_tokens(0, 0, "low", self.model)  # its size is unknown: count the minimum
        if not _DATA_URL.match(url):
            self.add("error", "bad_image_url", "an image is neither a base64 data URL nor an https URL; embed it as "
                     "data:image/jpeg;base64,...", lineno)
            return 0
        result = self._decoded(url)
        for severity, code, text in result.problems:
            self.add(severity, code, text, lineno)
        if result.width == 0:
            return 0
        return image_tokens(result.width, result.height, detail, self.model)

    def _decoded(self, url: str) -> _ImageResult:
        key = hashlib.sha256(url.encode("ascii", "replace")).digest()
        cached = self._images.get(key)
        if cached is None:
            if len(self._images) >= _IMAGE_CACHE_CAP:
                self._images.clear()  # bounded memory on huge files; a re-decode costs only time
            cached = self._images[key] = _check_image(url, self.rules)
            self.stats.distinct_images += 1
        return cached

    def _example_totals(self, lineno: int, messages: list[Any], n_images: int, image_tok: int,
                        has_answer: bool) -> None:
        rules = self.rules
        self.stats.max_images_per_example = max(self.stats.max_images_per_example, n_images)
        self.stats.examples_with_images += n_images > 0
        if not has_answer:
            self._examples_without_answer += 1
            self.add("error", "no_answer", "no assistant message; a training example ends with the answer as an "
                     "assistant message (a test file made for inference cannot be used for training)", lineno)
        elif isinstance(messages[-1], dict) and messages[-1].get("role") != "assistant":
            self.add("warning", "ends_after_answer", "the example ends with a question, not an answer; nothing "
                     "after the last assistant message is learnt (is this a test file made for inference?)", lineno)
        if rules.max_images_per_example is not None and n_images > rules.max_images_per_example:
            self.add("error", "too_many_images", f"{n_images} images in one example; {rules.label} accepts at most "
                     f"{rules.max_images_per_example}. Export with at most {rules.max_images_per_example - 1} "
                     "few-shot examples, or target a provider that takes more (Azure OpenAI: 64)", lineno)
        text_tok = message_text_tokens(m for m in messages if isinstance(m, dict))
        total = text_tok + image_tok
        if rules.max_tokens_per_example is not None and total > rules.max_tokens_per_example:
            self.add("warning", "too_many_tokens", f"more than {rules.max_tokens_per_example:,} tokens in one "
                     f"example; {rules.label} truncates it from the end, so the answer is lost. Use fewer few-shot "
                     "examples, detail=low, or smaller images", lineno)
        self.stats.tokens.add(text_tok, image_tok, n_images)

    # ----- the whole file -------------------------------------------------------------------------------
    def finish(self) -> None:
        rules, stats = self.rules, self.stats
        if stats.examples == 0:
            self.add("error", "empty_file", "The file holds no chat examples. Each line must be one JSON object "
                     '{"messages": [...]}.')
        elif stats.examples < rules.min_examples:
            self.add("error", "too_few_examples", f"The file has {stats.examples} example(s); {rules.label} needs at "
                     f"least {rules.min_examples} ({rules.recommended_examples} to 100 recommended). Add examples.")
        elif stats.examples < rules.recommended_examples:
            self.add("warning", "few_examples", f"The file has {stats.examples} examples; "
                     f"{rules.recommended_examples} to 100 are recommended for a useful fine-tune.")
        if rules.max_examples_with_images is not None and stats.examples_with_images > rules.max_examples_with_images:
            self.add("error", "too_many_image_examples", f"{stats.examples_with_images:,} examples contain images; "
                     f"{rules.label} accepts at most {rules.max_examples_with_images:,}. Export a smaller sample.")
        if rules.max_file_bytes is not None and stats.file_bytes > rules.max_file_bytes:
            self.add("error", "file_too_large", f"The file is {stats.file_bytes / MB:,.0f} MB; {rules.label}'s Files "
                     f"API accepts at most {rules.max_file_bytes // MB} MB per file. Export with a lower JPEG quality, "
                     "a smaller maximum side or fewer few-shot examples (their images repeat on every line), or "
                     "split the data.")
        if rules.moderation_note and stats.examples_with_images:
            self.add("warning", "moderation", f"{rules.label}'s moderation drops training images that show people, "
                     "faces, children or CAPTCHAs. Book covers often show people, so some examples may be left out "
                     "of training; this check cannot tell which.")


def _check_image(url: str, rules: ProviderRules) -> _ImageResult:
    """Decode one data URL and check it against the rules; problems are (severity, code, text). Texts do not
    name the image's position, so one bad few-shot image on every line is one message, not one per slot."""
    match = _DATA_URL.match(url)
    assert match is not None  # the caller checked the prefix
    declared = match.group(1).lower()
    if not match.group(2):
        return _ImageResult(0, 0, (("error", "image_not_base64", "an image data URL is not base64 (';base64,' is "
                                    "missing)"),))
    try:
        data = base64.b64decode(url[match.end():], validate=True)
    except (binascii.Error, ValueError):
        return _ImageResult(0, 0, (("error", "image_bad_base64", "an image data URL is not valid base64"),))
    problems: list[tuple[str, str, str]] = []
    if rules.max_image_bytes is not None and len(data) > rules.max_image_bytes:
        problems.append(("error", "image_too_large", f"an image is larger than {_size(rules.max_image_bytes)}, the "
                         f"most {rules.label} accepts per image. Re-export with a smaller maximum side"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Exception:
        problems.append(("error", "image_unreadable", "an image cannot be decoded (not an image, or damaged)"))
        return _ImageResult(0, 0, tuple(problems))
    with img:
        width, height, fmt, mode = img.width, img.height, img.format or "unknown", img.mode
        if width * height > MAX_PIXELS:
            problems.append(("error", "image_too_many_pixels", f"an image has more than {MAX_PIXELS // 1_000_000} "
                             "megapixels, too many to decode safely. Re-export with a smaller maximum side"))
            return _ImageResult(width, height, tuple(problems))
        if fmt not in rules.image_formats:
            problems.append(("error", "image_format", f"an image is {fmt}; {rules.label} accepts "
                             f"{', '.join(rules.image_formats)}. Convert it (VQA Desk's export does)"))
        elif declared and declared != f"image/{fmt.lower()}":
            problems.append(("warning", "image_mime", f"an image is {fmt} but its data URL says {declared}; make "
                             "them agree"))
        if mode not in rules.image_modes:
            problems.append(("error", "image_mode", f"an image is in {mode} mode; {rules.label} accepts "
                             f"{' or '.join(rules.image_modes)}. Convert it (VQA Desk's export does)"))
        try:
            if fmt == "JPEG":
                img.draft(img.mode, (max(1, width // 8), max(1, height // 8)))
            img.load()
        except Exception:
            problems.append(("error", "image_damaged", "an image is damaged (its data ends early or is corrupt)"))
    return _ImageResult(width, height, tuple(problems))


def _size(n_bytes: int) -> str:
    return f"{n_bytes / MB:g} MB" if n_bytes >= MB else f"{n_bytes:,} bytes"


def _with_lines(text: str, lines: list[int]) -> str:
    if not lines:
        return text
    shown = ", ".join(str(n) for n in lines[:_LISTED_LINES])
    more = len(lines) - _LISTED_LINES
    where = f"Line {shown}" if len(lines) == 1 else f"Lines {shown}" + (f" and {more:,} more" if more > 0 else "")
    count = "" if len(lines) == 1 else f" ({len(lines):,} lines)"
    return f"{where}{count}: {text}."
