"""Cover layouts: title, subtitle, edition, year and author placed around the artwork; OCR info of the result."""

from __future__ import annotations

import random
from dataclasses import dataclass

from PIL import Image

from .artwork import draw_art
from .books import Book
from .drawing import SANS, SANS_BOLD, SERIF_BOLD, Canvas, Word, contrast, fit_block, hex_rgb, ink_for, luminance
from .genres import GENRES


@dataclass
class Rendered:
    image: Image.Image
    words: list[Word]


def render_cover(book: Book, rng: random.Random) -> Rendered:
    spec = GENRES[book.genre]
    if book.year:
        w = rng.randrange(240, 291)
        h = min(480, round(w * rng.uniform(1.0, 1.15)))
    else:
        # Small on purpose: the shipped demo has to stay within a few MB.
        w = rng.randrange(200, 271)
        h = max(300, min(480, round(w * rng.uniform(1.3, 1.56))))
    bg = hex_rgb(rng.choice(spec.bgs))
    accents = [hex_rgb(c) for c in spec.accents]
    rng.shuffle(accents)
    art = rng.choice(spec.art)
    layout = "top" if book.year else rng.choices(("top", "author_top", "panel"), (5, 2, 3))[0]
    align = "left" if rng.random() < 0.2 else "center"
    title_face = SERIF_BOLD if spec.serif else SANS_BOLD
    margin = round(w * 0.08)
    border = rng.random() < 0.3 and spec.serif
    # Calendars are mostly picture, so their text starts smaller.
    title_scale = 0.8 if book.year else 1.0

    title_text = book.title.upper() if book.upper_title else book.title
    author_text = book.author.name.upper() if book.upper_author else book.author.name

    for _attempt in range(8):
        canvas = Canvas(w, h, bg)
        panel_bg = bg
        if layout == "panel":
            panel_bg = rng.choice(((247, 243, 233), (28, 28, 36), (255, 255, 255)))
            if contrast(panel_bg, bg) < 1.4:
                panel_bg = (28, 28, 36) if luminance(bg) > 0.4 else (247, 243, 233)
        text_bg = panel_bg
        ink = ink_for(text_bg)
        title_ink = ink_for(text_bg, accents)
        inner_w = w - 2 * margin
        title = fit_block(title_text, title_face, inner_w, round(w * 0.14 * title_scale), 14, 4, title_ink)
        sub = fit_block(book.subtitle, SANS, inner_w, max(12, round(w * 0.058)), 10, 3, ink) if book.subtitle else None
        author = fit_block(author_text, SANS_BOLD, inner_w, max(13, round(w * 0.068)), 11, 2, title_ink)
        edition = (
            fit_block(book.edition, SANS_BOLD, inner_w, max(11, round(w * 0.05)), 10, 1, ink)
            if (book.edition)
            else None
        )
        year = year_kind = None
        if book.year:
            year = fit_block(book.year, SANS_BOLD, inner_w, round(w * 0.15), 20, 1, title_ink)
            year_kind = fit_block(book.calendar_kind or "", SANS, inner_w, round(w * 0.065), 11, 2, ink)
        gap = max(6, round(h * 0.025))
        stack = [b for b in (edition, title, sub, year, year_kind) if b is not None]
        stack_h = sum(b.height for b in stack) + gap * (len(stack) - 1)
        art_box: tuple[int, int, int, int] | None
        ok = True
        if layout == "top":
            y = margin
            after_stack = y + stack_h
            ay = h - margin - author.height
            art_box = (0, round(after_stack + gap), w, round(ay - gap))
            ok = art_box[3] - art_box[1] >= 30
        elif layout == "author_top":
            sy = h - margin - stack_h
            art_box = (0, round(margin + author.height + gap), w, round(sy - gap))
            ok = art_box[3] - art_box[1] >= 30
        else:
            pad = round(h * 0.04)
            panel_h = stack_h + gap * 2 + author.height + 2 * pad
            panel_top = h - panel_h
            art_box = (0, 0, w, panel_top)
            ok = panel_top >= h * 0.3
        if ok:
            break
        title_scale *= 0.85
        if title_scale < 0.45:
            layout = "top"
            title_scale = 1.0
    else:
        art_box = None

    full_width = art in ("band", "stripes", "waves", "skyline", "mountains", "rainbow", "rays", "panels")
    if art_box is not None and art_box[3] - art_box[1] >= 30:
        x0, y0, x1, y1 = art_box
        if not full_width and layout != "panel":
            x0, x1 = margin, w - margin
        tile = draw_art(art, rng, (x1 - x0, y1 - y0), bg, accents)
        canvas.img.paste(tile, (x0, y0))
    if border:
        inset = round(margin * 0.4)
        canvas.draw.rectangle([inset, inset, w - inset - 1, h - inset - 1], outline=title_ink, width=2)

    x0, x1 = margin, w - margin
    if layout == "top":
        y = float(margin)
        for b in stack:
            y = canvas.block(b, y, x0, x1, align) + gap
        canvas.block(author, h - margin - author.height, x0, x1, align)
    elif layout == "author_top":
        canvas.block(author, margin, x0, x1, align)
        y = float(h - margin - stack_h)
        for b in stack:
            y = canvas.block(b, y, x0, x1, align) + gap
    else:
        assert art_box is not None
        panel_top = art_box[3]
        canvas.draw.rectangle([0, panel_top, w, h], fill=panel_bg)
        canvas.draw.rectangle([0, panel_top, w, panel_top + 3], fill=accents[0])
        y = float(panel_top + round(h * 0.04))
        for b in stack:
            y = canvas.block(b, y, x0, x1, align) + gap
        canvas.block(author, h - round(h * 0.04) - author.height, x0, x1, align)
    return Rendered(canvas.img, canvas.words)


def ocr_info(words: list[Word], w: int, h: int) -> list[dict[str, object]]:
    out = []
    for word in words:
        x0, y0, x1, y1 = word.box
        out.append(
            {
                "word": word.text,
                "bounding_box": {
                    "width": round((x1 - x0) / w, 6),
                    "height": round((y1 - y0) / h, 6),
                    "top_left_x": round(x0 / w, 6),
                    "top_left_y": round(y0 / h, 6),
                },
            }
        )
    return out
