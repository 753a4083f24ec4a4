"""Looking at image bytes: what they are and whether they can be used.

Covers come from the wild (Amazon thumbnails): tiny placeholder GIFs, truncated JPEGs, CMYK, palette images.
Import keeps every row and records what is wrong instead of failing.
"""

from __future__ import annotations

import base64
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


# ----- encoding for export ------------------------------------------------------------------------------

# What OpenAI's vision fine-tuning accepts (REFERENCE.md §3): these formats, RGB or RGBA, at most 10 MB each.
EXPORT_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXPORT_MODES = ("RGB", "RGBA")
MAX_EXPORT_BYTES = 10 * 1024 * 1024
# Re-encoding quality when no quality is asked for: high enough that small cover text stays legible.
DEFAULT_EXPORT_QUALITY = 90
_ORIENTATION = 0x0112


@dataclass(frozen=True)
class ExportImage:
    """Image bytes ready for a training file, and what they are."""

    data: bytes
    format: str  # JPEG | PNG | WEBP
    width: int
    height: int
    mode: str  # RGB | RGBA
    passthrough: bool  # the original bytes, unchanged

    @property
    def mime(self) -> str:
        return EXPORT_MIME[self.format]

    @property
    def extension(self) -> str:
        return {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[self.format]

    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def encode_for_export(data: bytes | None, *, max_side: int | None = None, quality: int | None = None,
                      passthrough: bool = True) -> ExportImage:
    """Cover bytes as a provider accepts them: JPEG/PNG/WEBP, RGB/RGBA, upright, within ``max_side``.

    The original bytes are kept when they already qualify and nothing was asked to change (no ``quality``,
    no resize needed): re-encoding a JPEG only loses detail. Anything else is decoded, turned upright by its
    EXIF orientation, converted (CMYK, palette, 16-bit grey ...), shrunk to ``max_side`` and saved as JPEG
    with transparency laid onto white. Raises ImageError with the reason when the bytes cannot be used.
    """
    if not data:
        raise ImageError("no image bytes")
    img = _open_for_export(data)
    with img:
        width, height, fmt, mode = img.width, img.height, str(img.format), img.mode
        if min(width, height) < MIN_SIDE:
            raise ImageError(f"placeholder image ({width}x{height} {fmt}), not a cover")
        if passthrough and quality is None and _can_pass_through(img, len(data), max_side):
            _decode_fully(img)  # may decode at reduced scale: the size was read above
            return ExportImage(data, fmt, width, height, mode, True)
        return _reencode(img, max_side=max_side, quality=quality or DEFAULT_EXPORT_QUALITY)


def _open_for_export(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"image too large to decode safely ({_short(exc)})") from exc
    except Exception as exc:  # Pillow raises many types for hostile headers
        raise ImageError(f"not a readable image ({_short(exc)})") from exc
    if img.width * img.height > MAX_PIXELS:
        img.close()
        raise ImageError(
            f"image too large to decode safely ({img.width}x{img.height} pixels; the limit is "
            f"{MAX_PIXELS // 1_000_000} megapixels)"
        )
    return img


def _can_pass_through(img: Image.Image, n_bytes: int, max_side: int | None) -> bool:
    if img.format not in EXPORT_MIME or img.mode not in EXPORT_MODES or n_bytes > MAX_EXPORT_BYTES:
        return False
    if getattr(img, "n_frames", 1) != 1:  # animated WEBP/PNG: only a still image is accepted
        return False
    if max_side is not None and max(img.size) > max_side:
        return False
    # A provider may ignore EXIF orientation; a rotated cover must be re-encoded upright.
    return img.getexif().get(_ORIENTATION, 1) == 1


def _decode_fully(img: Image.Image) -> None:
    """Prove the passed-through bytes decode (a truncated JPEG must never reach a training file)."""
    try:
        if img.format == "JPEG":
            # Decoding at 1/8 scale still reads every entropy-coded block, so truncation is caught cheaply.
            img.draft(img.mode, (max(1, img.width // 8), max(1, img.height // 8)))
        img.load()
    except Exception as exc:
        raise ImageError(f"image data is damaged ({_short(exc)})") from exc


def _reencode(img: Image.Image, *, max_side: int | None, quality: int) -> ExportImage:
    try:
        if max_side is not None and img.format == "JPEG":
            # Let libjpeg skip detail the resize would throw away anyway (it keeps at least the asked size).
            img.draft(img.mode, (max_side, max_side))
        img.load()
        upright = ImageOps.exif_transpose(img) or img
        rgb = to_rgb_or_rgba(upright)
        if max_side is not None and max(rgb.size) > max_side:
            rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        if rgb.mode == "RGBA":
            rgb = _onto_white(rgb)
        buf = io.BytesIO()
        rgb.save(buf, "JPEG", quality=quality)
    except ImageError:
        raise
    except Exception as exc:
        raise ImageError(f"image data is damaged ({_short(exc)})") from exc
    out = buf.getvalue()
    if len(out) > MAX_EXPORT_BYTES:
        raise ImageError(
            f"still {len(out) / 2**20:.1f} MB after re-encoding ({rgb.width}x{rgb.height}); providers accept at "
            "most 10 MB per image. Set a maximum side length or a lower quality."
        )
    return ExportImage(out, "JPEG", rgb.width, rgb.height, "RGB", False)


def _onto_white(img: Image.Image) -> Image.Image:
    # JPEG has no alpha: transparent areas become white (what a viewer shows), not the black Pillow would give.
    background = Image.new("RGB", img.size, (255, 255, 255))
    background.paste(img, mask=img.getchannel("A"))
    return background
