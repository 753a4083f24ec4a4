"""OpenAI chat messages as a vision-language processor takes them: text/image parts plus the images.

One conversion for both directions of the local path: training reads the export's chat JSONL with it, and the
server turns chat-completion requests into model inputs with it, so a model is asked exactly what it learned
from. Torch-free (Pillow decodes the covers).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from typing import Any

from PIL import Image

_DATA_URL = re.compile(r"^data:[^;,]*;base64,", re.IGNORECASE)


class MessageError(ValueError):
    """A message the local model cannot take; the text says which part and why."""


def image_bytes(url: str) -> bytes:
    """The bytes of a data-URL image, checked to be an image Pillow can decode."""
    match = _DATA_URL.match(url)
    if not match:
        raise MessageError("images must be base64 data URLs (data:image/jpeg;base64,...); nothing is downloaded")
    try:
        data = base64.b64decode(url[match.end():], validate=True)
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except (binascii.Error, ValueError, OSError) as exc:
        raise MessageError(f"an image could not be decoded ({exc})") from None
    return data


def decode_image(url: str) -> Image.Image:
    """The image as RGB (covers come as CMYK JPEGs, palette GIFs, ...); the processor does any resizing."""
    return Image.open(io.BytesIO(image_bytes(url))).convert("RGB")


def final_turn(messages: list[dict[str, Any]], *, with_answer: bool) -> list[dict[str, Any]]:
    """The system message(s) and the last question (with the answer after it, for training).

    The export's lines carry few-shot pairs, each with its own cover: fine for GPT-4o, but seven covers a row
    would fill a small model's context (SmolVLM tiles a cover into up to ~1,000 tokens). Local models learn and
    answer each question from its own cover; training and serving both go through here, so they agree.
    """
    users = [i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        raise MessageError("there is no user message (the question)")
    last = users[-1]
    if with_answer:
        if last + 1 >= len(messages) or not isinstance(messages[last + 1], dict) \
                or messages[last + 1].get("role") != "assistant":
            raise MessageError("the last question has no answer after it")
        tail = [messages[last], messages[last + 1]]
    else:
        tail = [messages[last]]
    system = [m for m in messages[:last] if isinstance(m, dict) and m.get("role") in ("system", "developer")]
    return [*system, *tail]


def to_processor_messages(messages: list[dict[str, Any]], *, as_bytes: bool = False
                          ) -> tuple[list[dict[str, Any]], list[Any]]:
    """(messages with ``{"type": "image"}`` / ``{"type": "text"}`` parts, the images in order: RGB images, or
    their original bytes with ``as_bytes``)."""
    out: list[dict[str, Any]] = []
    images: list[Any] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise MessageError(f"message {i} is not an object")
        role = message.get("role")
        if role == "developer":
            role = "system"
        if role not in ("system", "user", "assistant"):
            raise MessageError(f"message {i} has role {role!r}; the local model takes system, user and assistant")
        content = message.get("content")
        parts: list[dict[str, Any]] = []
        if isinstance(content, str):
            parts.append({"type": "text", "text": content})
        elif isinstance(content, list):
            for part in content:
                kind = part.get("type") if isinstance(part, dict) else None
                if kind == "text":
                    parts.append({"type": "text", "text": str(part.get("text", ""))})
                elif kind == "image_url":
                    ref = part.get("image_url")
                    url = ref.get("url") if isinstance(ref, dict) else None
                    if not isinstance(url, str):
                        raise MessageError(f"message {i} has an image part without a url")
                    images.append(image_bytes(url) if as_bytes else decode_image(url))
                    parts.append({"type": "image"})
                else:
                    raise MessageError(f"message {i} has a {kind!r} part; the local model takes text and images")
        elif content is not None:
            raise MessageError(f"message {i} has content that is neither text nor a list of parts")
        out.append({"role": role, "content": parts or [{"type": "text", "text": ""}]})
    return out, images
