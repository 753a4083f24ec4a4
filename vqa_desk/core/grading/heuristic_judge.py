"""The offline judge: the cookbook's four ratings from string similarity (``judge:heuristic``)."""

from __future__ import annotations

import functools
import re
from collections import Counter

from rapidfuzz import fuzz

from vqa_desk.core.grading.graders import extract_answer, norm_text

# Words whose presence or absence does not change what an answer names: articles and "and" (titles and genre
# names are written with "&" and "and"), company suffixes, degrees and honorifics (labels carry "M.D.", "Ph.D.").
_MINOR = frozenset({"a", "an", "the", "and", "inc", "incorporated", "ltd", "llc", "co", "corp", "corporation",
                    "md", "phd", "mba", "jr", "sr", "dr", "mr", "mrs", "ms", "prof"})
_SUFFIX = re.compile(r"(?i),?\s*\b(?:inc|ltd|llc|co|corp|m\.?\s?d|ph\.?\s?d|m\.?\s?a|m\.?b\.?a|r\.?n|jr|sr)\.?\s*$")
_YES_NO = re.compile(r"\b(yes|no)\b")


def _core_words(text: str) -> list[str]:
    raw = text
    for _ in range(3):  # "Jane Doe, M.D., Ph.D."
        stripped = _SUFFIX.sub("", raw)
        if stripped == raw or not stripped.strip():
            break
        raw = stripped
    words = [w for w in norm_text(raw).split() if w not in _MINOR]
    return words or norm_text(text).split()


@functools.lru_cache(maxsize=65536)
def heuristic_rating(truth: str, prediction: str) -> tuple[str, str]:
    """(rating, one-line reason) by string similarity, tuned on the cookbook's examples."""
    answer = extract_answer(prediction)
    t, p = norm_text(truth), norm_text(answer)
    if t in ("yes", "no"):
        said = _YES_NO.search(p) or _YES_NO.search(norm_text(prediction))
        if said is None:
            return "Incorrect", "No yes or no in the answer."
        if said.group(1) == t:
            return "Very Similar", f"Says {truth.strip()!r}, as the label does."
        return "Incorrect", f"Says {said.group(1)!r}; the label is {truth.strip()!r}."
    if not p:
        return "Incorrect", "No answer."
    if not t:
        return "Incorrect", "The label is empty, so nothing can match it (a label problem)."
    if t == p:
        return "Very Similar", "The same answer, apart from case, spacing or punctuation."
    tw, pw = _core_words(truth), _core_words(answer)
    if tw == pw:
        return "Very Similar", "The same answer, apart from minor words (articles, 'and', 'Inc.', degrees)."
    tc, pc = Counter(tw), Counter(pw)
    numbers_differ = {w for w in tw if w.isdigit()} != {w for w in pw if w.isdigit()}
    if not pc - tc or not tc - pc:
        shorter, longer = sorted((len(tw), len(pw)))
        missing = "missing from" if len(pw) < len(tw) else "added to"
        if shorter / longer >= 0.5 and not numbers_differ:
            return "Mostly Similar", f"The same words with some {missing} the label."
        return "Somewhat Similar", f"Part of the label, with many words {missing} it."
    similarity = fuzz.ratio(" ".join(tw), " ".join(pw))
    if similarity >= 90 and not numbers_differ:
        return "Mostly Similar", "Nearly the same text (a small spelling difference)."
    overlap = sum((tc & pc).values()) / max(len(tw), len(pw))
    if overlap >= 0.5 or (similarity >= 75 and not numbers_differ):
        return "Somewhat Similar", "Shares the core of the label but differs noticeably."
    return "Incorrect", "A different answer."
