"""Text repairs with a reason: mojibake, whitespace, casing, Yes/No. Each returns the fixed text or None."""

from __future__ import annotations

import re

import ftfy

_HALFWIDTH_KATAKANA = re.compile(r"[\uff61-\uff9f]")
_SMALL_WORDS = {"a", "an", "and", "as", "at", "but", "by", "for", "in", "of", "on", "or", "the", "to", "with"}


def fix_mojibake(text: str) -> str | None:
    """UTF-8 text that was decoded with the wrong codec, decoded right; None when nothing needs fixing."""
    if _HALFWIDTH_KATAKANA.search(text):
        # UTF-8 bytes read as Shift-JIS show up as half-width katakana ("Hervﾃｩ"); ftfy would normalise them
        # to full-width first and lose the bytes, so undo this one directly.
        try:
            fixed = text.encode("cp932").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            fixed = text
        if fixed != text and not _HALFWIDTH_KATAKANA.search(fixed):
            return fixed
    fixed = ftfy.fix_encoding(text)
    return fixed if fixed != text else None


def fix_spaces(text: str) -> str | None:
    fixed = " ".join(text.split())
    return fixed if fixed != text else None


def is_shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 4 and text.upper() == text and text.lower() != text


def title_case(text: str) -> str:
    """Headline casing for a shouted label: small words lower-case except at the start; initials kept."""
    words = text.lower().split(" ")
    out = []
    for i, word in enumerate(words):
        if i and word in _SMALL_WORDS:
            out.append(word)
        else:
            out.append("-".join(part[:1].upper() + part[1:] for part in word.split("-")))
    return " ".join(out)


def fix_yes_no(text: str) -> str | None:
    """'yes', 'YES', 'Yes.' -> 'Yes'; None if already exact or not a yes/no answer at all."""
    if text in ("Yes", "No"):
        return None
    key = text.strip().strip(".!").strip().casefold()
    if key in ("yes", "y", "true"):
        return "Yes"
    if key in ("no", "n", "false"):
        return "No"
    return None
