import io

import pytest
from PIL import Image

from vqa_desk.core.images import inspect_image


def _encode(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_a_normal_jpeg_is_valid() -> None:
    info = inspect_image(_encode(Image.new("RGB", (200, 300), "navy"), "JPEG"))
    assert info.valid and (info.width, info.height, info.format, info.mode) == (200, 300, "JPEG", "RGB")
    assert len(info.sha256) == 64 and info.n_bytes > 0


@pytest.mark.parametrize(
    ("img", "fmt", "mode"),
    [(Image.new("CMYK", (100, 150)), "JPEG", "CMYK"), (Image.new("LA", (100, 150)), "PNG", "LA"),
     (Image.new("I;16", (100, 150)), "PNG", "I;16"), (Image.new("1", (100, 150)), "PNG", "1")],
)
def test_odd_modes_are_valid_and_recorded(img: Image.Image, fmt: str, mode: str) -> None:
    info = inspect_image(_encode(img, fmt))
    assert info.valid and info.mode == mode


def test_palette_with_transparency() -> None:
    img = Image.new("P", (80, 120), 0)
    info = inspect_image(_encode(img, "PNG", transparency=0))
    assert info.valid and info.mode == "P"


def test_truncated_jpeg_is_invalid_with_reason() -> None:
    noisy = Image.effect_noise((300, 400), 80).convert("RGB")
    data = _encode(noisy, "JPEG", quality=90)
    info = inspect_image(data[: len(data) // 2])
    assert not info.valid and "damaged" in (info.reason or "")
    assert (info.width, info.height) == (300, 400)


@pytest.mark.parametrize(("data", "reason"), [(b"", "no image bytes"), (None, "no image bytes"),
                                             (b"\x00garbage" * 50, "not a readable image")])
def test_garbage(data: bytes | None, reason: str) -> None:
    info = inspect_image(data)
    assert not info.valid and reason in (info.reason or "")


def test_tiny_placeholder_gif_is_invalid() -> None:
    info = inspect_image(_encode(Image.new("P", (1, 1)), "GIF"))
    assert not info.valid and "placeholder" in (info.reason or "")


def test_decompression_bomb_is_refused_without_decoding() -> None:
    # A 1-bit PNG of 10000x10000 is tiny on disk but 100 megapixels when decoded.
    info = inspect_image(_encode(Image.new("1", (10_000, 10_000)), "PNG"))
    assert not info.valid and "too large" in (info.reason or "")


@pytest.mark.parametrize(
    ("img", "fmt", "kw", "mode"),
    [(Image.new("CMYK", (300, 450), (0, 255, 255, 0)), "JPEG", {}, "RGB"),
     (Image.new("P", (300, 450), 0), "PNG", {"transparency": 0}, "RGBA"),
     (Image.new("LA", (300, 450)), "PNG", {}, "RGBA"),
     (Image.new("1", (300, 450), 1), "PNG", {}, "RGB"),
     (Image.linear_gradient("L").resize((300, 450)).convert("I;16"), "PNG", {}, "RGB")],
)
def test_thumbnail_of_every_mode_is_rgb_or_rgba(img: Image.Image, fmt: str, kw: dict, mode: str) -> None:
    from vqa_desk.core.images import make_thumbnail

    thumb = make_thumbnail(_encode(img, fmt, **kw), 160)
    assert thumb.mode == mode and max(thumb.width, thumb.height) == 160
    assert len(thumb.pixels) == thumb.width * thumb.height * len(mode)


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    from vqa_desk.core.images import to_rgb_or_rgba

    img = Image.new("I;16", (4, 1))
    img.putdata([0, 20000, 40000, 65535])
    values = list(to_rgb_or_rgba(img).tobytes()[::3])
    assert values[0] == 0 and values[-1] == 255 and 0 < values[1] < values[2] < 255


def test_thumbnail_honours_exif_orientation() -> None:
    from vqa_desk.core.images import make_thumbnail

    img = Image.new("RGB", (400, 200), "red")  # stored landscape, displayed portrait (orientation 6)
    exif = Image.Exif()
    exif[0x0112] = 6
    thumb = make_thumbnail(_encode(img, "JPEG", exif=exif), 100)
    assert (thumb.width, thumb.height) == (50, 100)


def test_thumbnail_of_garbage_raises_a_readable_error() -> None:
    from vqa_desk.core.images import ImageError, make_thumbnail

    with pytest.raises(ImageError, match="cannot decode image"):
        make_thumbnail(b"nope" * 10, 100)
