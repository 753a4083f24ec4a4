"""Author names: parsing into first / middle / last, and comparing two spellings of maybe one person.

The rules are deliberately conservative: "Marcia S. Brown" and "Marcia Brown" may be one person (a middle
initial dropped), "Richard J. Evans" and "Richard Paul Evans" are not (J is not P), and "Mary Monroe" and
"Mary Alice Monroe" are only "possibly" the same person. Checks add cover evidence on top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

from vqa_desk.core.textfix import fix_mojibake

_DEGREES = (r"(?:M\.?\s?D|Ph\.?\s?D|M\.?\s?A|M\.?\s?S|M\.?\s?Sc|B\.?\s?A|Ed\.?\s?D|Psy\.?\s?D|D\.?\s?O|R\.?\s?N"
            r"|MBA|LCSW|DDS|DVM)\.?")
_DEGREE_SUFFIX = re.compile(rf"(?:,?\s+{_DEGREES})+\s*$", re.IGNORECASE)
# Inside a name only the unspaced forms count as degrees: "Robert C. M.D. Atkins", but "M. A. Smith" has initials.
_DEGREE_INSIDE = re.compile(r"(?<=\s)(?:M\.D\.|Ph\.D\.?|PhD|M\.A\.|M\.S\.|M\.Sc\.?|B\.A\.|Ed\.D\.?|Psy\.D\.?"
                            r"|D\.O\.|R\.N\.|MD|MBA|LCSW|DDS|DVM),?(?=\s)")
_TITLE_PREFIX = re.compile(r"^(?:Dr|Prof|Professor)\.?\s+", re.IGNORECASE)


class Difference(IntEnum):
    """How two spellings differ, from harmless to different people."""

    SAME = 0
    COSMETIC = 1  # casing, spaces, periods, mojibake
    DEGREE = 2  # a degree or "Dr." on one side only
    ORDER = 3  # "Last, First" vs "First Last"
    INITIAL = 4  # a middle initial on one side only
    MIDDLE_NAME = 5  # a whole middle name on one side only: only possibly the same person
    DIFFERENT = 6


@dataclass(frozen=True)
class Name:
    raw: str
    first: str
    middles: tuple[str, ...]
    last: str
    suffix: str  # Jr., III ... (part of the name, unlike degrees)
    degree: bool
    reordered: bool

    @property
    def person_key(self) -> tuple[str, str]:
        return (self.first, self.last)


def parse(raw: str) -> Name | None:
    text = fix_mojibake(raw) or raw
    text = " ".join(text.split())
    degree = False
    stripped = _DEGREE_SUFFIX.sub("", text)
    if stripped != text:
        degree, text = True, stripped
    stripped = " ".join(_DEGREE_INSIDE.sub("", text).split())
    if stripped != text:
        degree, text = True, stripped
    stripped = _TITLE_PREFIX.sub("", text)
    if stripped != text:
        degree, text = True, stripped
    reordered = False
    if text.count(",") == 1:
        last, first = (p.strip() for p in text.split(","))
        if last and first and " " not in last and not re.fullmatch(r"(?i)jr\.?|sr\.?|i+|iv", first):
            text, reordered = f"{first} {last}", True
    tokens = [t for t in re.split(r"[\s.]+", text.casefold().replace(",", " ")) if t]
    suffix = ""
    if tokens and re.fullmatch(r"jr|sr|ii|iii|iv", tokens[-1]):
        suffix = tokens.pop()
    if len(tokens) < 2:
        return None
    return Name(raw, tokens[0], tuple(tokens[1:-1]), tokens[-1], suffix, degree, reordered)


def compare(a: Name, b: Name) -> Difference:
    if a.person_key != b.person_key or a.suffix != b.suffix:
        return Difference.DIFFERENT
    if a.middles != b.middles:
        shorter, longer = sorted((a.middles, b.middles), key=len)
        if len(longer) - len(shorter) != 1 or not _is_sub(shorter, longer):
            # Same number of middles that differ (J vs Paul, C vs Ackerman) means different people,
            # unless one is the initial of the other.
            if len(a.middles) == len(b.middles) and all(
                    x == y or (len(x) == 1 and y.startswith(x)) or (len(y) == 1 and x.startswith(y))
                    for x, y in zip(a.middles, b.middles, strict=True)):
                return Difference.INITIAL
            return Difference.DIFFERENT
        extra = next(m for m in longer if m not in shorter)
        return Difference.INITIAL if len(extra) == 1 else Difference.MIDDLE_NAME
    if a.degree != b.degree:
        return Difference.DEGREE
    if a.reordered != b.reordered:
        return Difference.ORDER
    return Difference.SAME if a.raw == b.raw else Difference.COSMETIC


def _is_sub(shorter: tuple[str, ...], longer: tuple[str, ...]) -> bool:
    it = iter(longer)
    return all(any(x == y for y in it) for x in shorter)


def spoken_form(name: Name) -> str:
    """A comparison key for matching a name against cover text: words only, lower case, no degree."""
    return " ".join([name.first, *name.middles, name.last, *([name.suffix] if name.suffix else [])])
