"""Text repairs with a reason: mojibake, whitespace, casing, Yes/No. Each returns the fixed text or None."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

import ftfy

_HALFWIDTH_KATAKANA = re.compile(r"[\uff61-\uff9f]")
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


# Initialisms a shouted label keeps in capitals. Words without a vowel (BBC, GCHQ, TF) are kept by rule; this list
# holds the ones a vowel would otherwise let through, and the common roman numerals. Never an English word or a
# first name (IT, US, AIDS, SAT, IRA): a shouted "ALL OF US" must become "All of Us".
_ACRONYM_WORDS = """
    AI ASAP AWS CEO CIA CSS EU FAQ FBI GI HIV HR HTML IBM ICT IELTS II III IQ IRS IV IX MBA MI5 MI6 NASA NATO NBA
    NFL NHL NHS NIV NKJV NRA NYC NYPD OED PTSD RAF RNLI SAS SOS UFO UK UN UNESCO UNICEF USA USB USSR YMCA VI VII
    VIII WWI WWII XI XII XIII XIV XV XVI XX
"""
ACRONYMS = frozenset(_ACRONYM_WORDS.split())
_VOWELS = set("AEIOUY")
_INTERJECTIONS = frozenset({"BRR", "GRR", "HMM", "PFFT", "PSST", "SHH", "TSK", "ZZZ"})
_SMALL_WORDS = {"a", "an", "and", "as", "at", "but", "by", "for", "in", "of", "on", "or", "the", "to", "with"}
_WORD_CORE = re.compile(r"^(\W*)(.*?)(\W*)$")


def is_acronym(word: str, known: Collection[str] = ()) -> bool:
    """Whether a capitalised word is an initialism that normal casing must keep (GCHQ, RNLI, TF, WWII).

    ``known``: words the rest of the catalogue writes in capitals inside normally cased labels — a curator's
    own spelling is the best evidence there is.
    """
    core = re.sub(r"[^A-Za-z0-9]", "", word)
    if not core or core.upper() != core or not any(c.isalpha() for c in core):
        return False
    if core in ACRONYMS or core in known:
        return True
    letters = [c for c in core if c.isalpha()]
    if "." in word and all(len(p) <= 1 for p in word.strip(".").split(".")) and len(letters) >= 2:
        return True  # U.S.A., D.C.
    return len(letters) >= 2 and not _VOWELS.intersection(letters) and core not in _INTERJECTIONS


# Short words a label may set in capitals for emphasis ("I'm So NOT Over You"): never taken for acronyms.
_COMMON_SHORT_WORDS = """
    a about after all am an and any are as at be been but by can did do does for from get go got had has have he
    her him his how i if in into is it its just let me more my new no not now of off old on one only or our out
    own she so than that the their them then they this to too two up us was we were what when who why will with
    yes you your
"""
_COMMON_SHORT = frozenset(_COMMON_SHORT_WORDS.split())


def capitals_in_use(labels: Iterable[str]) -> set[str]:
    """All-capital words (2+ letters) that labels written in normal casing use: the catalogue's own acronyms."""
    out: set[str] = set()
    for label in labels:
        if is_shouting(label):
            continue
        for word in label.split():
            core = re.sub(r"[^A-Za-z0-9]", "", word)
            if len(core) >= 2 and core.isupper() and any(c.isalpha() for c in core) \
                    and core.casefold() not in _COMMON_SHORT:
                out.add(core)
    return out


def _cap(word: str) -> str:
    """'mcdonald' -> 'McDonald', "o'brien" -> "O'Brien", "don't" -> "Don't"."""
    word = word[:1].upper() + word[1:]
    if re.match(r"^Ma?c[a-z]{3,}$", word) and word.startswith("Mc"):
        return "Mc" + word[2:3].upper() + word[3:]
    if re.match(r"^[OD]'[a-z]{2,}$", word):
        return word[:2] + word[2:3].upper() + word[3:]
    return word


def title_case(text: str, keep: Collection[str] = ()) -> str:
    """Headline casing for a shouted label: small words lower-case except at the start; initials and acronyms
    kept; spaces normalised (a canonical form never has doubled, leading or trailing spaces)."""
    out: list[str] = []
    for word in text.split():
        if is_acronym(word, keep):
            out.append(word)
            continue
        lead, core, trail = _WORD_CORE.match(word).groups()  # type: ignore[union-attr]
        lower = core.lower()
        starts_phrase = not out or out[-1].endswith((":", ".", "?", "!", "—"))
        if not starts_phrase and lower in _SMALL_WORDS and not lead:
            out.append(lead + lower + trail)
        else:
            out.append(lead + "-".join(_cap(part) for part in lower.split("-")) + trail)
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
