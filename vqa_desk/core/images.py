"""Looking at image bytes: what they are and whether they can be used.

Covers come from the wild (Amazon thumbnails): tiny placeholder GIFs, truncated JPEGs, CMYK, palette images.
Import keeps every row and records what is wrong instead of failing.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from vqa_desk.core.errors import VQADeskError

# Far above any book cover, far below what would exhaust memory when decoded.
MAX_PIXELS = 40_000_000
# Smaller than this on either side is an Amazon "no image" placeholder, not a cover.
MIN_SIDE = 32


class ImageError(VQADeskError):
    """Image bytes that cannot be decoded or used; the message says why."""


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
    except UnidentifiedImageError:
        return bad("not a readable image (unknown or corrupt format)")
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


def to_rgb_or_rgba(img: Image.Image) -> Image.Image:
    """Any Pillow mode to RGB, or RGBA where the image has transparency (what viewers and OpenAI accept)."""
    mode = img.mode
    if mode in ("RGB", "RGBA"):
        return img
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in img.info
        return img.convert("RGBA" if has_alpha else "RGB")
    if mode in ("LA", "La", "RGBa"):
        return img.convert("RGBA")
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # Pillow's own convert("L") clips 16-bit values at 255; scale the real range down instead.
        import numpy as np

        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        scaled = np.zeros_like(arr) if hi <= lo else (arr - lo) * (255.0 / (hi - lo))
        return Image.fromarray(scaled.round().astype(np.uint8), "L").convert("RGB")
    return img.convert("RGB")


@dataclass(frozen=True)
class Thumbnail:
    width: int
    height: int
    mode: str  # "RGB" or "RGBA"
    pixels: bytes  # row-major, tightly packed


def make_thumbnail(data: bytes, max_side: int) -> Thumbnail:
    """A small RGB(A) rendering of cover bytes, for the browser grid and the detail pane."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format == "JPEG":
                img.draft("RGB" if img.mode == "RGB" else img.mode, (max_side, max_side))
    except Exception as exc:
        raise ImageError(f"cannot decode image ({_short(exc)})") from exc
    if img.width * img.height > MAX_PIXELS:
        raise ImageError(f"image too large to decode safely ({img.width}x{img.height} pixels)")
    try:
        img.load()
        img = ImageOps.exif_transpose(img) or img
        img = to_rgb_or_rgba(img)
        img.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    except Exception as exc:
        raise ImageError(f"cannot decode image ({_short(exc)})") from exc
    return Thumbnail(img.width, img.height, img.mode, img.tobytes())
