"""Drawing primitives: colours and contrast, fonts, wrapped text blocks and a canvas that records word boxes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from .config import FONT_DIR

RGB = tuple[int, int, int]


def hex_rgb(value: str) -> RGB:
    value = value.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def luminance(c: RGB) -> float:
    def chan(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    return 0.2126 * chan(c[0]) + 0.7152 * chan(c[1]) + 0.0722 * chan(c[2])


def contrast(a: RGB, b: RGB) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


INK_DARK: RGB = (26, 26, 26)

INK_LIGHT: RGB = (250, 250, 246)


def ink_for(bg: RGB, preferred: Sequence[RGB] = ()) -> RGB:
    # WCAG AA (4.5) keeps the text readable for OCR engines, not only for people.
    for c in preferred:
        if contrast(c, bg) >= 4.5:
            return c
    return INK_DARK if contrast(INK_DARK, bg) >= contrast(INK_LIGHT, bg) else INK_LIGHT


_FONT_CACHE: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    key = (name, size)
    if key not in _FONT_CACHE:
        # BASIC layout: raqm may or may not be present, and it shifts glyph positions, which
        # would make the OCR boxes differ between machines.
        _FONT_CACHE[key] = ImageFont.truetype(str(FONT_DIR / name), size, layout_engine=ImageFont.Layout.BASIC)
    return _FONT_CACHE[key]


SANS_BOLD = "DejaVuSans-Bold.ttf"

SERIF_BOLD = "DejaVuSerif-Bold.ttf"

SANS = "DejaVuSans.ttf"


@dataclass
class Block:
    lines: list[str]
    font: ImageFont.FreeTypeFont
    fill: RGB

    @property
    def line_height(self) -> int:
        ascent, descent = self.font.getmetrics()
        return ascent + descent

    @property
    def spacing(self) -> int:
        return max(1, round(self.font.size * 0.08))

    @property
    def height(self) -> int:
        n = len(self.lines)
        return n * self.line_height + (n - 1) * self.spacing


def wrap(text: str, fnt: ImageFont.FreeTypeFont, max_w: float) -> list[str] | None:
    lines: list[str] = []
    cur = ""
    for word in text.split():
        if fnt.getlength(word) > max_w:
            return None
        trial = f"{cur} {word}" if cur else word
        if fnt.getlength(trial) <= max_w:
            cur = trial
        else:
            lines.append(cur)
            cur = word
    if cur:
        lines.append(cur)
    return lines


def fit_block(text: str, face: str, max_w: float, start: int, min_size: int, max_lines: int, fill: RGB) -> Block:
    size = start
    while size > min_size:
        lines = wrap(text, font(face, size), max_w)
        if lines is not None and len(lines) <= max_lines:
            return Block(lines, font(face, size), fill)
        size -= 1
    lines = wrap(text, font(face, min_size), max_w) or [text]
    return Block(lines, font(face, min_size), fill)


@dataclass
class Word:
    text: str
    box: tuple[float, float, float, float]


class Canvas:
    def __init__(self, w: int, h: int, bg: RGB) -> None:
        self.w, self.h = w, h
        self.img = Image.new("RGB", (w, h), bg)
        self.draw = ImageDraw.Draw(self.img)
        self.words: list[Word] = []

    def block(self, blk: Block, y: float, x0: float, x1: float, align: str) -> float:
        for line in blk.lines:
            lw = blk.font.getlength(line)
            x = x0 if align == "left" else x0 + (x1 - x0 - lw) / 2
            x = round(x)
            yy = round(y)
            self.draw.text((x, yy), line, font=blk.font, fill=blk.fill)
            # Boxes come from the glyphs actually drawn, so the OCR info matches the pixels.
            pos = 0
            for word in line.split(" "):
                idx = line.index(word, pos)
                wx = x + blk.font.getlength(line[:idx])
                left, top, right, bottom = blk.font.getbbox(word)
                self.words.append(Word(word, (wx + left, yy + top, wx + right, yy + bottom)))
                pos = idx + len(word)
            y += blk.line_height + blk.spacing
        return y - blk.spacing
