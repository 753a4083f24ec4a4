"""Looking at image bytes: what they are and whether they can be used.

Covers come from the wild (Amazon thumbnails): tiny placeholder GIFs, truncated JPEGs, CMYK, palette images.
Import keeps every row and records what is wrong instead of failing.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

# Far above any book cover, far below what would exhaust memory when decoded.
MAX_PIXELS = 40_000_000
# Smaller than this on either side is an Amazon "no image" placeholder, not a cover.
MIN_SIDE = 32


@dataclass(frozen=True)
class ImageInfo:
    width: int | None
    height: int | None
    format: str | None
    mode: str | None
    sha256: str
    n_bytes: int
    valid: bool
    reason: str | None


def inspect_image(data: bytes | None) -> ImageInfo:
    """Identify and fully decode ``data`` (at reduced scale for JPEG, which is enough to catch truncation)."""
    if not data:
        return ImageInfo(None, None, None, None, "", 0, False, "no image bytes")
    digest = hashlib.sha256(data).hexdigest()

    mode: str | None = None

    def bad(reason: str, img: Image.Image | None = None, size: tuple[int, int] | None = None) -> ImageInfo:
        if img is None or size is None:
            return ImageInfo(None, None, None, None, digest, len(data), False, reason)
        return ImageInfo(size[0], size[1], img.format, mode, digest, len(data), False, reason)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return bad(f"image too large to decode safely ({_short(exc)})")
    except UnidentifiedImageError as exc:
        return bad(f"not a readable image ({_short(exc)})")
    except Exception as exc:  # Pillow raises many types for hostile headers
        return bad(f"not a readable image ({_short(exc)})")
    with img:
        width, height = img.size
        mode = img.mode  # read before draft(), which may change it
        if width * height > MAX_PIXELS:
            return bad(f"image too large to decode safely ({width}x{height} pixels)", img, (width, height))
        try:
            if img.format == "JPEG":
                img.draft(img.mode, (max(1, width // 8), max(1, height // 8)))
            img.load()
        except Exception as exc:
            return bad(f"image data is damaged ({_short(exc)})", img, (width, height))
        if min(width, height) < MIN_SIDE:
            return bad(f"placeholder image ({width}x{height} {img.format})", img, (width, height))
        return ImageInfo(width, height, img.format, mode, digest, len(data), True, None)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."
