"""Judge label-check suggestions against a hand annotation of what real covers print.

The annotation (bench/real_covers_annotation.jsonl) records, per cover, the title, subtitle, series line,
format descriptor and authors as a person reads them on the front cover. A suggestion is

- **right** when it moves the label toward what the cover prints (the printed title, with its printed
  subtitle; casing as a catalogue writes it),
- **harmful** when it adds words the cover's title block does not have (a blurb, a credit, a fragment), drops
  printed title or subtitle words, breaks the casing of a word the cover prints (an acronym), or leaves
  doubled / leading / trailing spaces,
- **neutral** otherwise (a change the annotation cannot call either way).

Used by bench/eval_real_covers.py; tested on hand-made annotations in tests/core/test_real_cover_eval.py.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz

from vqa_desk.core.checks import CheckRun, normalize, split_title
from vqa_desk.core.questions import QuestionType, question_type

RIGHT, HARMFUL, NEUTRAL = "right", "harmful", "neutral"


@dataclass(frozen=True)
class Printed:
    image_id: str
    title: str
    subtitle: str
    series: str
    descriptor: str
    authors: tuple[str, ...]
    legible: bool

    @property
    def expected_title(self) -> str:
        return f"{self.title}: {self.subtitle}" if self.subtitle else self.title

    @property
    def title_block(self) -> set[str]:
        return set(normalize(" ".join((self.title, self.subtitle, self.series, self.descriptor))).split())


def load_annotation(path: Path) -> dict[str, Printed]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            a = json.loads(line)
            out[a["image_id"]] = Printed(a["image_id"], a.get("title", ""), a.get("subtitle", ""), a.get("series", ""),
                                         a.get("descriptor", ""), tuple(a.get("authors") or ()),
                                         bool(a.get("legible", True)))
    return out


def _words(text: str) -> list[str]:
    return normalize(text).split()


def _has(words: set[str] | list[str], word: str) -> bool:
    return any(w == word or fuzz.ratio(w, word) >= 85 for w in words)


def judge_title(old: str, new: str, printed: Printed) -> tuple[str, str]:
    """(verdict, why) for a change of a title answer."""
    if new != " ".join(new.split()):
        return HARMFUL, "doubled, leading or trailing spaces"
    block = printed.title_block
    added = [w for w in _words(new) if w not in _words(old)]
    foreign = [w for w in added if not _has(block, w)]
    if foreign:
        return HARMFUL, f"adds words the title block does not print: {' '.join(foreign)}"
    kept = set(_words(new))
    dropped = [w for w in _words(old) if w not in kept
               and _has(_words(printed.title) + _words(printed.subtitle) + _words(printed.series), w)]
    if dropped:
        return HARMFUL, f"drops printed words: {' '.join(dropped)}"
    case = _casing_verdict(old, new, printed.expected_title)
    if case is not None:
        return case
    target = normalize(printed.expected_title)
    before, after = fuzz.ratio(normalize(old), target), fuzz.ratio(normalize(new), target)
    if after > before:
        return RIGHT, f"closer to '{printed.expected_title}' ({before:.0f} -> {after:.0f})"
    return NEUTRAL, f"not closer to '{printed.expected_title}'"


def _casing_verdict(old: str, new: str, printed_text: str) -> tuple[str, str] | None:
    """Judge a change that only re-cases words, against the printed words' catalogue casing."""
    if normalize(old) != normalize(new) or old.split() == new.split():
        return None
    printed = {w.strip(".,:;!?'\"()").casefold(): w.strip(".,:;!?'\"()") for w in printed_text.split()}
    better = worse = 0
    for o, n in zip(old.split(), new.split(), strict=False):
        o, n = o.strip(".,:;!?'\"()"), n.strip(".,:;!?'\"()")
        want = printed.get(n.casefold())
        if want is None or o == n:
            continue
        if n == want:
            better += 1
        elif o == want or (want.isupper() and len(want) > 1):
            worse += 1
    if worse:
        return HARMFUL, "re-cases a printed word away from how the cover writes it (an acronym?)"
    if better:
        return RIGHT, "casing as printed"
    return NEUTRAL, "casing the annotation cannot judge"


def judge_author(old: str, new: str, printed: Printed) -> tuple[str, str]:
    if new != " ".join(new.split()):
        return HARMFUL, "doubled, leading or trailing spaces"
    if not printed.authors:
        return NEUTRAL, "the cover prints no author"
    best_old = max(fuzz.ratio(old, a) for a in printed.authors)
    best_new = max(fuzz.ratio(new, a) for a in printed.authors)
    if best_new > best_old:
        return RIGHT, "closer to the printed name"
    if best_new < best_old:
        return HARMFUL, "further from the printed name"
    return NEUTRAL, "as close as before"


@dataclass
class Tally:
    by_kind: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    unjudged: dict[str, int] = field(default_factory=Counter)


def judge_run(run: CheckRun, annotation: dict[str, Printed], *, min_confidence: float, legible_only: bool = True
              ) -> Tally:
    """Every change of a finding at ``min_confidence`` or more on an annotated cover, judged."""
    tally = Tally()
    for f in run.findings:
        if f.confidence < min_confidence or f.possible:
            continue
        for c in f.changes:
            kind = f"{f.kind}/{f.detail}"
            printed = annotation.get(c.image_id)
            if printed is None or (legible_only and not printed.legible):
                tally.unjudged[kind] += 1
                continue
            qtype = _qtype(c.question)
            if qtype == QuestionType.TITLE:
                verdict, why = judge_title(c.old, c.new, printed)
            elif qtype == QuestionType.AUTHOR:
                verdict, why = judge_author(c.old, c.new, printed)
            else:
                tally.unjudged[kind] += 1
                continue
            tally.by_kind[kind][verdict] += 1
            tally.examples[f"{kind}/{verdict}"].append(f"{c.image_id}: {c.old!r} -> {c.new!r} ({f.confidence}; {why})")
    return tally


def _qtype(question: str) -> QuestionType:
    return question_type(question)


def title_differences(label: str, printed: Printed) -> list[str]:
    """How a title label differs from the printed title block: the cases the title check should find."""
    _, subtitle, series = split_title(label)
    out = []
    if printed.subtitle and fuzz.ratio(normalize(subtitle), normalize(printed.subtitle)) < 80:
        out.append("printed_subtitle_missing")
    if subtitle and not printed.subtitle and not all(_has(printed.title_block, w) for w in _words(subtitle)):
        out.append("subtitle_not_printed")
    if series and not all(_has(printed.title_block, w) for w in _words(series) if not w.isdigit()):
        out.append("series_not_printed")
    return out


def recall(run: CheckRun, labels: dict[str, str], annotation: dict[str, Printed]) -> tuple[int, int, list[str]]:
    """(found, total, misses): covers whose title label differs from the printed title block, found with a
    right (not merely possible) suggestion."""
    right: set[str] = set()
    for f in run.findings:
        if f.possible:
            continue
        for c in f.changes:
            printed = annotation.get(c.image_id)
            if printed and _qtype(c.question) == QuestionType.TITLE and judge_title(c.old, c.new, printed)[0] == RIGHT:
                right.add(c.image_id)
    total, misses = 0, []
    for image_id, label in labels.items():
        printed = annotation.get(image_id)
        if printed is None or not printed.legible or not (diff := title_differences(label, printed)):
            continue
        total += 1
        if image_id not in right:
            misses.append(f"{image_id}: {label!r} vs printed {printed.expected_title!r} ({', '.join(diff)})")
    return total - len(misses), total, misses
