"""Genre-flavoured decoration drawn in the space the text leaves free."""

from __future__ import annotations

import itertools
import math
import random

from PIL import Image, ImageDraw

from .drawing import RGB


def _ellipse_points(cx: float, cy: float, rx: float, ry: float, angle: float, n: int = 60) -> list[tuple[float, float]]:
    ca, sa = math.cos(angle), math.sin(angle)
    pts = []
    for i in range(n):
        t = 2 * math.pi * i / n
        x, y = rx * math.cos(t), ry * math.sin(t)
        pts.append((cx + x * ca - y * sa, cy + x * sa + y * ca))
    return pts


def _heart(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, fill: RGB) -> None:
    d.ellipse([cx - r, cy - r * 0.6, cx, cy + r * 0.4], fill=fill)
    d.ellipse([cx, cy - r * 0.6, cx + r, cy + r * 0.4], fill=fill)
    d.polygon([(cx - r * 0.97, cy), (cx + r * 0.97, cy), (cx, cy + r * 1.15)], fill=fill)


def draw_art(style: str, rng: random.Random, size: tuple[int, int], bg: RGB, acc: list[RGB]) -> Image.Image:
    """Genre-flavoured decoration for the free area between the text blocks."""
    w, h = size
    tile = Image.new("RGB", size, bg)
    d = ImageDraw.Draw(tile)
    a1, a2, a3 = acc[0], acc[1], acc[2]
    m = min(w, h)
    if style == "band":
        top, bot = h * 0.28, h * 0.72
        d.rectangle([0, top, w, bot], fill=a1)
        d.rectangle([0, top - 6, w, top - 3], fill=a2)
        d.rectangle([0, bot + 3, w, bot + 6], fill=a2)
    elif style == "frame":
        x0, x1, y0, y1 = w * 0.2, w * 0.8, h * 0.06, h * 0.94
        d.rectangle([x0, y0, x1, y1], fill=a1, outline=a2, width=3)
        cx = (x0 + x1) / 2
        hr = min(x1 - x0, y1 - y0) * 0.18
        d.ellipse([cx - hr, y0 + (y1 - y0) * 0.25, cx + hr, y0 + (y1 - y0) * 0.25 + 2 * hr], fill=a2)
        d.pieslice([cx - 2.2 * hr, y1 - 1.6 * hr, cx + 2.2 * hr, y1 + 2.4 * hr], 180, 360, fill=a2)
    elif style in ("circles", "bubbles"):
        count = rng.randint(3, 6) if style == "circles" else rng.randint(8, 14)
        for i in range(count):
            r = m * (rng.uniform(0.12, 0.32) if style == "circles" else rng.uniform(0.05, 0.14))
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=acc[i % 3])
    elif style == "sun":
        r = m * 0.28
        cx, cy = w * rng.uniform(0.3, 0.7), h * 0.5
        for k in range(12):
            ang = k * math.pi / 6
            d.line([(cx, cy), (cx + math.cos(ang) * r * 1.8, cy + math.sin(ang) * r * 1.8)], fill=a2, width=4)
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=a1)
    elif style == "bars":
        n = rng.randint(4, 6)
        bw = w * 0.7 / n
        for i in range(n):
            bh = h * (0.2 + 0.7 * (i + 1) / n)
            x = w * 0.15 + i * bw
            d.rectangle([x + 2, h - bh, x + bw - 3, h], fill=a1 if i % 2 else a2)
        d.line([(w * 0.1, h * 0.85), (w * 0.5, h * 0.5), (w * 0.9, h * 0.1)], fill=a3, width=4)
    elif style == "calendar":
        cols, rows = 7, 5
        gx0, gy0, gx1, gy1 = w * 0.08, h * 0.18, w * 0.92, h * 0.95
        d.rectangle([gx0, h * 0.04, gx1, h * 0.14], fill=a2)
        cw, ch = (gx1 - gx0) / cols, (gy1 - gy0) / rows
        for r in range(rows):
            for c in range(cols):
                box = [gx0 + c * cw + 2, gy0 + r * ch + 2, gx0 + (c + 1) * cw - 2, gy0 + (r + 1) * ch - 2]
                d.rectangle(box, fill=a1 if rng.random() < 0.15 else None, outline=a2, width=1)
    elif style == "panels":
        d.rectangle([0, 0, w, h], fill=a3)
        gap = 5
        d.rectangle([gap, gap, w * 0.55, h * 0.5], fill=a1, outline=(0, 0, 0), width=3)
        d.rectangle([w * 0.55 + gap, gap, w - gap, h * 0.5], fill=a2, outline=(0, 0, 0), width=3)
        d.rectangle([gap, h * 0.5 + gap, w - gap, h - gap], fill=bg, outline=(0, 0, 0), width=3)
        d.ellipse([w * 0.15, h * 0.6, w * 0.6, h * 0.85], fill=(255, 255, 255), outline=(0, 0, 0), width=2)
        d.polygon([(w * 0.3, h * 0.83), (w * 0.25, h * 0.95), (w * 0.38, h * 0.84)], fill=(255, 255, 255))
    elif style == "grid":
        step = rng.randint(24, 34)
        for x in range(0, w, step):
            d.line([(x, 0), (x, h)], fill=a3, width=1)
        for y in range(0, h, step):
            d.line([(0, y), (w, y)], fill=a3, width=1)
        pts = [(rng.randrange(0, w, step), rng.randrange(0, h, step)) for _ in range(8)]
        for p, q in itertools.pairwise(pts):
            d.line([p, (q[0], p[1]), q], fill=a1, width=3)
        for x, y in pts:
            d.ellipse([x - 5, y - 5, x + 5, y + 5], fill=a2)
    elif style == "plate":
        cx, cy, r = w / 2, h / 2, m * 0.42
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=a2)
        d.ellipse([cx - r * 0.8, cy - r * 0.8, cx + r * 0.8, cy + r * 0.8], fill=(250, 248, 240))
        d.ellipse([cx - r * 0.5, cy - r * 0.5, cx + r * 0.5, cy + r * 0.5], fill=a1)
        d.rectangle([cx - r * 1.35, cy - r * 0.8, cx - r * 1.2, cy + r * 0.8], fill=a3)
        d.rectangle([cx + r * 1.2, cy - r * 0.8, cx + r * 1.35, cy + r * 0.8], fill=a3)
    elif style == "stripes":
        sw = rng.randint(22, 32)
        for i, x in enumerate(range(-h, w + h, sw * 2)):
            d.polygon([(x, h), (x + sw, h), (x + sw + h, 0), (x + h, 0)], fill=acc[i % 2])
    elif style == "quilt":
        s = max(24, m // 4)
        for yy in range(0, h, s):
            for xx in range(0, w, s):
                c = acc[rng.randrange(3)]
                if rng.random() < 0.5:
                    d.polygon([(xx, yy), (xx + s, yy), (xx, yy + s)], fill=c)
                else:
                    d.rectangle([xx + 2, yy + 2, xx + s - 2, yy + s - 2], outline=c, width=2)
    elif style == "cross":
        cx, cy = w / 2, h / 2
        t = m * 0.08
        for k in range(16):
            ang = k * math.pi / 8
            d.line([(cx, cy), (cx + math.cos(ang) * m, cy + math.sin(ang) * m)], fill=a3, width=2)
        d.rectangle([cx - t, cy - m * 0.42, cx + t, cy + m * 0.42], fill=a1)
        d.rectangle([cx - m * 0.26, cy - m * 0.2 - t, cx + m * 0.26, cy - m * 0.2 + t], fill=a1)
    elif style == "rays":
        cx, cy = w / 2, h * 1.05
        for k in range(9):
            ang = math.pi + k * math.pi / 8
            d.polygon(
                [
                    (cx, cy),
                    (cx + math.cos(ang) * h * 2, cy + math.sin(ang) * h * 2),
                    (cx + math.cos(ang + 0.12) * h * 2, cy + math.sin(ang + 0.12) * h * 2),
                ],
                fill=a3,
            )
        r = m * 0.35
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=a1)
    elif style in ("plus", "pulse"):
        if style == "plus":
            cx, cy, t = w / 2, h / 2, m * 0.13
            d.rectangle([cx - t, cy - m * 0.38, cx + t, cy + m * 0.38], fill=a1)
            d.rectangle([cx - m * 0.38, cy - t, cx + m * 0.38, cy + t], fill=a1)
        ys = h * 0.5
        pts = [
            (0, ys),
            (w * 0.3, ys),
            (w * 0.37, ys - h * 0.3),
            (w * 0.45, ys + h * 0.3),
            (w * 0.52, ys - h * 0.12),
            (w * 0.58, ys),
            (w, ys),
        ]
        d.line(pts, fill=a2, width=4)
    elif style == "skyline":
        r = m * 0.2
        mx, my = w * rng.uniform(0.2, 0.8), h * 0.3
        d.ellipse([mx - r, my - r, mx + r, my + r], fill=a1)
        x = 0.0
        while x < w:
            bw = rng.uniform(w * 0.08, w * 0.18)
            bh = rng.uniform(h * 0.25, h * 0.7)
            d.rectangle([x, h - bh, x + bw, h], fill=(12, 12, 14))
            for wy in range(int(h - bh + 6), h - 6, 10):
                for wx in range(int(x + 4), int(x + bw - 6), 8):
                    if rng.random() < 0.25:
                        d.rectangle([wx, wy, wx + 3, wy + 4], fill=a2)
            x += bw + 2
    elif style == "columns":
        n = 4
        x0, x1 = w * 0.12, w * 0.88
        top, bot = h * 0.3, h * 0.9
        d.polygon([(x0 - 6, top), ((x0 + x1) / 2, h * 0.08), (x1 + 6, top)], fill=a1)
        cw = (x1 - x0) / (2 * n - 1)
        for i in range(n):
            cx0 = x0 + i * 2 * cw
            d.rectangle([cx0, top + 4, cx0 + cw, bot], fill=a1)
        d.rectangle([x0 - 8, bot, x1 + 8, bot + 8], fill=a1)
    elif style == "waves":
        for k in range(rng.randint(3, 5)):
            base = h * (0.2 + 0.18 * k)
            amp = h * rng.uniform(0.04, 0.1)
            ph = rng.uniform(0, math.pi)
            pts = [(x, base + amp * math.sin(x / w * 2 * math.pi * 1.5 + ph)) for x in range(0, w + 4, 4)]
            d.line(pts, fill=acc[k % 3], width=5)
    elif style == "hearts":
        for i in range(rng.randint(2, 4)):
            r = m * rng.uniform(0.15, 0.3)
            _heart(d, rng.uniform(r, w - r), rng.uniform(r, h - r), r, acc[i % 3])
    elif style == "atom":
        cx, cy = w / 2, h / 2
        for k in range(3):
            pts = _ellipse_points(cx, cy, m * 0.45, m * 0.15, k * math.pi / 3)
            d.line([*pts, pts[0]], fill=a1, width=3)
        r = m * 0.08
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=a2)
    elif style == "stars":
        for _ in range(60):
            x, y = rng.uniform(0, w), rng.uniform(0, h)
            s = rng.choice((1, 1, 2))
            d.rectangle([x, y, x + s, y + s], fill=(230, 230, 240))
        r = m * rng.uniform(0.2, 0.3)
        cx, cy = w * rng.uniform(0.3, 0.7), h * rng.uniform(0.35, 0.65)
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=a1)
        pts = _ellipse_points(cx, cy, r * 1.7, r * 0.35, -0.3)
        d.line([*pts, pts[0]], fill=a2, width=3)
    elif style == "mountains":
        r = m * 0.15
        sx, sy = w * rng.uniform(0.2, 0.8), h * 0.3
        d.ellipse([sx - r, sy - r, sx + r, sy + r], fill=a2)
        for k in range(3):
            px = w * rng.uniform(0.1, 0.9)
            ph = h * rng.uniform(0.35, 0.75)
            d.polygon([(px - w * 0.5, h), (px, h - ph), (px + w * 0.5, h)], fill=acc[(k + 2) % 3] if k else a1)
    elif style == "books":
        y = h
        while y > h * 0.2:
            bh = rng.uniform(h * 0.08, h * 0.15)
            inset = rng.uniform(0, w * 0.15)
            c = acc[rng.randrange(3)]
            d.rectangle([w * 0.1 + inset, y - bh, w * 0.9 - inset * 0.5, y - 2], fill=c)
            d.line([(w * 0.15 + inset, y - bh / 2), (w * 0.4, y - bh / 2)], fill=bg, width=2)
            y -= bh
    elif style == "rainbow":
        colors = [(228, 3, 3), (255, 140, 0), (255, 237, 0), (0, 128, 38), (0, 77, 255), (117, 7, 135)]
        cx, cy = w / 2, h * 1.0
        r0 = m * 0.95
        for i, c in enumerate(colors):
            r = r0 - i * m * 0.08
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=c)
        r = r0 - len(colors) * m * 0.08
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=bg)
    elif style == "bridge":
        d.arc([w * 0.05, h * 0.25, w * 0.95, h * 1.4], 180, 360, fill=a1, width=5)
        deck = h * 0.75
        d.rectangle([0, deck, w, deck + 6], fill=a1)
        for x in range(int(w * 0.12), int(w * 0.9), 14):
            d.line([(x, deck), (x, deck - h * 0.35)], fill=a2, width=2)
    return tile
