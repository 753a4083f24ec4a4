"""Helpers shared by the sandbox tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import base64
import io
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

from PIL import Image, ImageDraw, ImageFont

T = TypeVar("T")


def wait_for(fn: Callable[[], T], *, timeout: float = 60.0, interval: float = 0.05) -> T:
    """Poll ``fn`` until it returns something truthy (the sandbox's jobs run on their own threads)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {getattr(fn, '__name__', fn)}")
        time.sleep(interval)


def http(method: str, url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None,
         timeout: float = 30) -> tuple[int, dict[str, str], Any]:
    """A bare HTTP request (no client library in between): status, headers, parsed JSON body."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, hdrs, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        status, hdrs, raw = exc.code, dict(exc.headers), exc.read()
    try:
        return status, {k.lower(): v for k, v in hdrs.items()}, json.loads(raw)
    except ValueError:
        return status, {k.lower(): v for k, v in hdrs.items()}, raw


def cover(title: str, author: str, *, subtitle: str = "", size: tuple[int, int] = (300, 450)) -> bytes:
    """A plain synthetic cover: a big title, an optional smaller subtitle, the author at the bottom."""
    img = Image.new("RGB", size, (245, 240, 228))
    draw = ImageDraw.Draw(img)
    big = ImageFont.load_default(size=40)
    small = ImageFont.load_default(size=18)
    y = 40
    for word_line in title.split("\n"):
        draw.text((24, y), word_line, fill=(20, 20, 20), font=big)
        y += 50
    if subtitle:
        draw.text((24, y + 6), subtitle, fill=(40, 40, 40), font=small)
    draw.text((24, size[1] - 50), author, fill=(20, 20, 20), font=small)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def data_url(data: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def question(text: str, image: bytes) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text},
                                        {"type": "image_url", "image_url": {"url": data_url(image)}}]}
