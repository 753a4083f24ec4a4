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


def decode_image(url: str, *, max_side: int | None = None) -> Image.Image:
    match = _DATA_URL.match(url)
    if not match:
        raise MessageError("images must be base64 data URLs (data:image/jpeg;base64,...); nothing is downloaded")
    try:
        image = Image.open(io.BytesIO(base64.b64decode(url[match.end():], validate=True)))
        image.load()
    except (binascii.Error, ValueError, OSError) as exc:
        raise MessageError(f"an image could not be decoded ({exc})") from None
    image = image.convert("RGB")
    if max_side and max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image


def to_processor_messages(messages: list[dict[str, Any]], *, max_side: int | None = None
                          ) -> tuple[list[dict[str, Any]], list[Image.Image]]:
    """(messages with ``{"type": "image"}`` / ``{"type": "text"}`` parts, the images in order)."""
    out: list[dict[str, Any]] = []
    images: list[Image.Image] = []
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
                    images.append(decode_image(url, max_side=max_side))
                    parts.append({"type": "image"})
                else:
                    raise MessageError(f"message {i} has a {kind!r} part; the local model takes text and images")
        elif content is not None:
            raise MessageError(f"message {i} has content that is neither text nor a list of parts")
        out.append({"role": role, "content": parts or [{"type": "text", "text": ""}]})
    return out, images
