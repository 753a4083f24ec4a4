"""Encoding covers as image files, including the deliberately odd ones (truncated, CMYK, 16-bit, EXIF-rotated...)."""

from __future__ import annotations

import io
import random

import numpy as np
from PIL import Image

from .books import Book
from .drawing import Word
from .layouts import Rendered


def encode_jpeg(img: Image.Image, quality: int, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, optimize=True, progressive=True, **kwargs)
    return buf.getvalue()


def encode_png(img: Image.Image, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True, **kwargs)
    return buf.getvalue()


def encode_image(
    book: Book, rendered: Rendered, rng: random.Random
) -> tuple[bytes, str, int, int, list[Word], str | None]:
    """Return (bytes, extension, width, height, ocr words, note) for a cover."""
    img = rendered.image
    w, h = img.size
    quality = rng.randint(70, 78)
    kind = book.problem["kind"] if book.problem else None
    if kind == "truncated_jpeg":
        data = encode_jpeg(img, quality)
        return data[: len(data) // 2], "jpg", w, h, rendered.words, "JPEG cut after half its bytes"
    if kind == "cmyk_jpeg":
        return encode_jpeg(img.convert("CMYK"), quality), "jpg", w, h, rendered.words, "CMYK JPEG"
    if kind == "palette_transparency":
        pal = img.quantize(colors=48, dither=Image.Dither.NONE)
        idx = pal.getpixel((0, 0))
        return (
            encode_png(pal, transparency=idx),
            "png",
            w,
            h,
            rendered.words,
            "palette PNG whose background colour is transparent (tRNS)",
        )
    if kind == "placeholder_gif":
        gif = Image.new("L", (1, 1), 128)
        buf = io.BytesIO()
        gif.save(buf, "GIF")
        return buf.getvalue(), "gif", 1, 1, [], "1x1 grey placeholder GIF instead of a cover"
    if kind == "la_png":
        la = img.convert("LA")
        return encode_png(la), "png", w, h, rendered.words, "grey + alpha (LA) PNG"
    if kind == "i16_png":
        arr = np.asarray(img.convert("L"), dtype=np.uint16) * 257
        i16 = Image.fromarray(arr)
        return encode_png(i16), "png", w, h, rendered.words, "16-bit greyscale PNG (I;16)"
    if kind == "exif_orientation":
        # Orientation 6 means "rotate 90 degrees clockwise to display", so store it rotated the
        # other way; ImageOps.exif_transpose gives back the upright w x h cover.
        stored = img.transpose(Image.Transpose.ROTATE_90)
        exif = Image.Exif()
        exif[0x0112] = 6
        return (
            encode_jpeg(stored, quality, exif=exif.tobytes()),
            "jpg",
            w,
            h,
            rendered.words,
            "pixels stored rotated with EXIF orientation 6; width/height are the upright size",
        )
    if kind == "not_an_image":
        blob = rng.randbytes(2048 + rng.randrange(2048))
        return blob, "jpg", 0, 0, [], "random bytes, not an image"
    return encode_jpeg(img, quality), "jpg", w, h, rendered.words, None
