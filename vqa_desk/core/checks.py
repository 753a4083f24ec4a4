"""Label consistency checks: find labels that disagree with each other, the metadata or the cover.

Each check returns ``Finding``s: what is wrong, the evidence (sentences a curator can verify, quoting the
labels, the metadata and the cover text), the exact new value of every answer it would change, and a
confidence. Findings below ``POSSIBLE`` confidence are shown as "possible" and are never applied in bulk
by default. Storage, re-runs, applying and dismissing live in ``core/findings.py``.

Kinds: author_variant, title_vs_cover, answer_vs_metadata, formatting, genre.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from rapidfuzz import fuzz

from vqa_desk.core.genres import GENRES, closest_known, genre_asked
from vqa_desk.core.names import Difference, Name, compare, parse, spoken_form
from vqa_desk.core.ocr import OcrLine, cover_lines
from vqa_desk.core.questions import QuestionType
from vqa_desk.core.textfix import (
    capitals_in_use,
    fix_mojibake,
    fix_spaces,
    fix_yes_no,
    is_shouting,
    title_case,
)
from vqa_desk.core.title_block import FUNCTION_WORDS, MIN_SCORE, Kind, looks_like_series, read_subtitle, title_lines
from vqa_desk.core.workspace import QAPair, Workspace

KINDS = ("author_variant", "title_vs_cover", "answer_vs_metadata", "formatting", "genre")
POSSIBLE = 0.5  # below this a finding is only "possible": shown, never bulk-applied by default


class TitlePolicy(StrEnum):
    AS_PRINTED = "as_printed"  # title and subtitle as printed on the cover; series text only if printed
    # The same, and a printed format descriptor ("Lighthouse: A Novel") counts as the subtitle, as Amazon's
    # catalogue often writes it.
    AS_PRINTED_DESCRIPTORS = "as_printed_descriptors"
    MAIN_TITLE = "main_title"  # the main title only, without subtitle or series
    CATALOGUE = "catalogue"  # keep the catalogue title: no title-vs-cover suggestions


TITLE_POLICY_KEY = "title_policy"


@dataclass(frozen=True)
class Change:
    qa_id: int
    image_pk: int
    image_id: str
    question: str
    old: str
    new: str


@dataclass
class Finding:
    key: str
    kind: str
    detail: str
    confidence: float
    summary: str
    evidence: list[str]
    changes: list[Change]
    image_pks: list[int]
    status: str = "open"
    reason: str = ""
    id: int | None = None

    @property
    def possible(self) -> bool:
        return self.confidence < POSSIBLE


@dataclass
class Cover:
    pk: int
    image_id: str
    title: str  # metadata columns
    author: str
    genre: str
    qa: list[QAPair]
    lines: list[OcrLine] = field(default_factory=list)
    height: int = 0  # pixels; 0 when unknown

    @property
    def has_text(self) -> bool:
        return bool(self.lines)

    @property
    def text(self) -> str:
        return normalize(" ".join(line.text for line in self.lines))

    def of_type(self, qtype: QuestionType) -> list[QAPair]:
        return [q for q in self.qa if q.qtype == qtype]


@dataclass
class CheckRun:
    findings: list[Finding]
    cover_text: bool  # whether cover text (OCR) was used as evidence
    covers_with_text: int
    policy: TitlePolicy

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(f.kind for f in self.findings)
        return {k: c.get(k, 0) for k in KINDS}


def normalize(text: str) -> str:
    """Lower case, mojibake repaired, punctuation to spaces: the form in which labels meet cover text."""
    text = fix_mojibake(text) or text
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def shows(cover_text: str, phrase: str) -> bool:
    """Whether the normalised cover text contains the phrase as whole words."""
    p = normalize(phrase)
    return bool(p) and re.search(rf"(?<!\w){re.escape(p)}(?!\w)", cover_text) is not None


def load_covers(ws: Workspace, *, use_ocr: bool) -> dict[int, Cover]:
    covers: dict[int, Cover] = {}
    for pk, iid, title, author, genre, height in ws.connection.execute(
            "SELECT id, image_id, coalesce(title, ''), coalesce(author, ''), coalesce(genre, ''), "
            "coalesce(height, 0) FROM images"):
        covers[pk] = Cover(pk, iid, title, author, genre, [], height=height)
    for row in ws.connection.execute(
            "SELECT id, image, idx, split, question, qtype, original_answer, answer FROM qa ORDER BY image, idx"):
        covers[row[1]].qa.append(QAPair(*row))
    if use_ocr:
        for pk, lines in cover_lines(ws).items():
            if pk in covers:
                covers[pk].lines = lines
    return covers


def run_checks(ws: Workspace, *, use_ocr: bool = True, policy: TitlePolicy | None = None) -> CheckRun:
    """Run every check over the workspace's current answers (nothing is written)."""
    if policy is None:
        policy = TitlePolicy(ws.meta.get(TITLE_POLICY_KEY, TitlePolicy.AS_PRINTED.value))
    covers = load_covers(ws, use_ocr=use_ocr)
    checks: list[Callable[[dict[int, Cover]], list[Finding]]] = [
        check_formatting, check_answer_vs_metadata, check_genres, check_author_variants,
        lambda c: check_titles(c, policy),
    ]
    findings = [f for check in checks for f in check(covers)]
    return CheckRun(findings, use_ocr and any(c.has_text for c in covers.values()),
                    sum(1 for c in covers.values() if c.has_text), policy)


def _change(cover: Cover, qa: QAPair, new: str) -> Change:
    return Change(qa.id, cover.pk, cover.image_id, qa.question, qa.answer, new)


# ----- formatting ------------------------------------------------------------------------------------

def check_formatting(covers: dict[int, Cover]) -> list[Finding]:
    out = []
    keep = _catalogue_capitals(covers)
    for cover in covers.values():
        for qa in cover.qa:
            value, details, evidence = qa.answer, [], []
            if not value.strip():
                suggestion = _fill_empty(cover, qa)
                evidence.append(f"The answer to '{qa.question}' is empty; export would refuse it.")
                if suggestion:
                    evidence.append(f"The metadata of this cover says '{suggestion}'.")
                out.append(Finding(f"formatting:{qa.id}", "formatting", "empty", 0.85 if suggestion else 0.3,
                                   f"{cover.image_id}: empty answer", evidence,
                                   [_change(cover, qa, suggestion)] if suggestion else [], [cover.pk]))
                continue
            if (fixed := fix_mojibake(value)) is not None:
                details.append("mojibake")
                evidence.append(f"'{value}' looks like mis-decoded text; decoded properly it reads '{fixed}'.")
                value = fixed
            if (fixed := fix_spaces(value)) is not None:
                details.append("spaces")
                evidence.append("The answer has leading, trailing or doubled spaces.")
                value = fixed
            if qa.qtype == QuestionType.YES_NO and (fixed := fix_yes_no(value)) is not None:
                details.append("not_yes_no")
                evidence.append(f"Binary questions are answered exactly 'Yes' or 'No', not '{value}'.")
                value = fixed
            if qa.qtype in (QuestionType.AUTHOR, QuestionType.TITLE) and is_shouting(value):
                details.append("all_caps")
                evidence.append(f"'{value}' is written in capitals; labels use normal casing.")
                value = title_case(value, keep)
            if details:
                confidence = 0.98 if details != ["all_caps"] else 0.7
                out.append(Finding(f"formatting:{qa.id}", "formatting", "+".join(details), confidence,
                                   f"{cover.image_id}: {', '.join(details)} in '{qa.question}'", evidence,
                                   [_change(cover, qa, value)], [cover.pk]))
    return out


def _catalogue_capitals(covers: dict[int, Cover]) -> set[str]:
    """Acronyms the catalogue itself writes in capitals inside normally cased labels: they survive re-casing."""
    return capitals_in_use(text for cover in covers.values() for text in (
        cover.title, cover.author, *(qa.answer for qa in cover.qa if qa.qtype in (QuestionType.AUTHOR,
                                                                                 QuestionType.TITLE))))


def _fill_empty(cover: Cover, qa: QAPair) -> str:
    if qa.qtype == QuestionType.AUTHOR:
        return cover.author.strip()
    if qa.qtype == QuestionType.TITLE:
        return cover.title.strip()
    if qa.qtype == QuestionType.GENRE:
        return cover.genre.strip()
    if qa.qtype == QuestionType.YES_NO:
        asked, genre = genre_asked(qa.question), _cover_genre(cover)
        if asked and genre:
            return "Yes" if asked == genre else "No"
    return ""


# ----- answer vs metadata ------------------------------------------------------------------------------

def _cover_genre(cover: Cover) -> str:
    for qa in cover.of_type(QuestionType.GENRE):
        if qa.answer in GENRES:
            return qa.answer
    return cover.genre if cover.genre in GENRES else ""


def check_answer_vs_metadata(covers: dict[int, Cover]) -> list[Finding]:
    """Answers that disagree with their own cover's metadata. Edited answers are curated: not second-guessed."""
    out = []
    columns = {QuestionType.TITLE: ("title", "title"), QuestionType.AUTHOR: ("author", "authorName"),
               QuestionType.GENRE: ("genre", "genre")}
    for cover in covers.values():
        for qa in cover.qa:
            if qa.edited or not qa.answer.strip():
                continue
            if qa.qtype in columns:
                attr, column = columns[qa.qtype]
                meta = getattr(cover, attr).strip()
                if not meta or " ".join(qa.answer.split()) == " ".join(meta.split()):
                    continue
                if normalize(qa.answer) == normalize(meta):
                    continue  # casing / punctuation only: the formatting check covers it
                confidence, evidence = 0.8, [f"The answer is '{qa.answer}' but the {column} column says '{meta}'."]
                if qa.qtype == QuestionType.AUTHOR:
                    a, m = parse(qa.answer), parse(meta)
                    if a and m and compare(a, m) == Difference.ORDER:
                        confidence = 0.95
                        evidence.append("Same name, written 'Last, First' in the answer.")
                if cover.has_text and qa.qtype != QuestionType.GENRE:
                    if shows(cover.text, meta) and not shows(cover.text, qa.answer):
                        confidence = max(confidence, 0.92)
                        evidence.append(f"The cover reads '{meta}'.")
                    elif shows(cover.text, qa.answer) and not shows(cover.text, meta):
                        confidence = 0.35
                        evidence.append(f"But the cover reads '{qa.answer}', as the answer does.")
                if qa.qtype == QuestionType.GENRE and meta not in GENRES:
                    continue  # the genre check reports unknown genres
                out.append(Finding(f"answer_vs_metadata:{qa.id}", "answer_vs_metadata", attr, confidence,
                                   f"{cover.image_id}: {attr} answer differs from the {column} column", evidence,
                                   [_change(cover, qa, meta)], [cover.pk]))
            elif qa.qtype == QuestionType.YES_NO:
                asked, genre = genre_asked(qa.question), _cover_genre(cover)
                answer = fix_yes_no(qa.answer) or qa.answer
                if not asked or not genre or answer not in ("Yes", "No"):
                    continue
                expected = "Yes" if asked == genre else "No"
                if answer != expected:
                    paraphrase = not qa.question.lower().startswith("is this book related to")
                    out.append(Finding(
                        f"answer_vs_metadata:{qa.id}", "answer_vs_metadata", "yes_no_vs_genre",
                        0.8 if paraphrase else 0.9, f"{cover.image_id}: '{qa.question}' contradicts the genre",
                        [f"The book's genre is '{genre}'; '{qa.question}' asks about '{asked}', so the answer "
                         f"should be '{expected}', not '{qa.answer}'."],
                        [_change(cover, qa, expected)], [cover.pk]))
    return out


# ----- genres ---------------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z][a-z']+")
_STOP = {"the", "a", "an", "of", "and", "to", "for", "in", "on", "with", "your", "how", "from", "at", "by", "is",
         "book", "guide", "complete", "new", "edition", "my", "that", "it", "its", "you"}


def _title_words(title: str) -> set[str]:
    return {w for w in _WORD.findall((fix_mojibake(title) or title).lower()) if w not in _STOP and len(w) > 2}


def check_genres(covers: dict[int, Cover]) -> list[Finding]:
    out: list[Finding] = []
    model = _GenreModel(covers)
    by_title: dict[str, list[tuple[Cover, QAPair]]] = defaultdict(list)
    for cover in covers.values():
        for qa in cover.of_type(QuestionType.GENRE):
            label = qa.answer.strip()
            if not label:
                continue
            title = _title_of(cover)
            if title:
                by_title[_main_title(title).casefold()].append((cover, qa))
            if label not in GENRES:
                guess, score = closest_known(label)
                predicted, p = model.predict(cover, exclude=None)
                if predicted and predicted != guess and p > 0.9 and score < 0.9:
                    guess, score = predicted, p * 0.9
                confident = score >= 0.8
                out.append(Finding(
                    f"genre:{qa.id}", "genre", "unknown_genre", round(0.9 * score, 3) if confident else 0.3,
                    f"{cover.image_id}: '{label}' is not one of the 32 genres",
                    [f"'{label}' is not in the OCR-VQA genre list; the closest genre is '{guess}'."],
                    [_change(cover, qa, guess)] if confident else [], [cover.pk]))
                continue
            predicted, p = model.predict(cover, exclude=label)
            if (predicted and predicted != label and p >= 0.8 and model.probability(cover, label) < 0.01
                    and model.trustworthy(predicted)):
                words = sorted(model.evidence_words(cover, predicted))[:4]
                out.append(Finding(
                    f"genre:{qa.id}", "genre", "genre_vs_title", round(0.5 + 0.45 * p, 3),
                    f"{cover.image_id}: genre '{label}' does not fit the title",
                    [f"The title '{_title_of(cover)}' and its author read as '{predicted}' ({', '.join(words)}); "
                     f"in this workspace such books are labelled '{predicted}', not '{label}'."],
                    [_change(cover, qa, predicted)], [cover.pk]))
    for items in by_title.values():
        genres = Counter(qa.answer for _, qa in items)
        if len(genres) < 2:
            continue
        top, n = genres.most_common(1)[0]
        majority = n > len(items) / 2
        changes = [_change(c, qa, top) for c, qa in items if qa.answer != top] if majority else []
        out.append(Finding(
            "genre:same_title:" + ",".join(str(qa.id) for _, qa in sorted(items, key=lambda x: x[1].id)), "genre",
            "same_title_different_genre", 0.45,
            f"'{_main_title(_title_of(items[0][0]))}' appears with {len(genres)} genres",
            [f"{c.image_id} is labelled '{qa.answer}'" for c, qa in items], changes, [c.pk for c, _ in items]))
    return out


class _GenreModel:
    """Naive Bayes over title words and the author, trained on this workspace's own genre labels.

    Each cover is scored leaving itself out, so its own (maybe wrong) label is no evidence for itself. The
    author is one more "word": people mostly write in one genre, so their other books speak for this one.
    """

    def __init__(self, covers: dict[int, Cover]) -> None:
        self.word_counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.docs: Counter[str] = Counter()
        self.vocab: set[str] = set()
        self._words: dict[int, set[str]] = {}
        for cover in covers.values():
            label = _cover_genre(cover)
            words = _title_words(_title_of(cover))
            name = parse(_author_of(cover))
            if name is not None:
                words.add(f"@{name.first} {name.last}")
            self._words[cover.pk] = words
            if label:
                self.docs[label] += 1
                self.word_counts[label].update(words)
                self.vocab |= words

    def _log_posteriors(self, cover: Cover, exclude: str | None) -> dict[str, float]:
        words = self._words.get(cover.pk, set())
        own = _cover_genre(cover)
        total = sum(self.docs.values())
        scores = {}
        for genre, docs in self.docs.items():
            counts = self.word_counts[genre]
            n_docs = docs - (1 if genre == own else 0)  # leave this cover out of its own evidence
            if n_docs <= 0:
                continue
            score = math.log(n_docs / total)
            for w in words:
                c = counts[w] - (1 if genre == own else 0)
                score += math.log((c + 0.1) / (n_docs + 0.2))
            scores[genre] = score
        return scores

    def _posterior(self, cover: Cover) -> dict[str, float]:
        scores = self._log_posteriors(cover, None)
        if not scores or not self._words.get(cover.pk):
            return {}
        top = max(scores.values())
        exp = {g: math.exp(s - top) for g, s in scores.items()}
        z = sum(exp.values())
        return {g: v / z for g, v in exp.items()}

    def predict(self, cover: Cover, exclude: str | None) -> tuple[str | None, float]:
        post = self._posterior(cover)
        if not post:
            return None, 0.0
        genre = max(post, key=lambda g: post[g])
        return genre, post[genre]

    def trustworthy(self, genre: str) -> bool:
        """Enough labelled covers to learn from: a handful of books would make any word look decisive."""
        return sum(self.docs.values()) >= 100 and self.docs[genre] >= 5

    def probability(self, cover: Cover, genre: str) -> float:
        return self._posterior(cover).get(genre, 0.0)

    def evidence_words(self, cover: Cover, genre: str) -> set[str]:
        """Title words and the author that point at ``genre``, for the finding's evidence sentence."""
        return {w.lstrip("@") for w in self._words.get(cover.pk, set()) if self.word_counts[genre][w] >= 1}


# ----- titles vs cover ---------------------------------------------------------------------------------

_PAREN = re.compile(r"^(.*?)\s*\(([^()]+)\)\s*$")
# Text shorter than this is often not even detected, so its absence proves nothing. Subtitles are printed at
# about 3.5 % of the cover's height, series lines ("A Hidden Legacy Novel") at about 2 %.
SMALL_PRINT_PX = 10


def _title_of(cover: Cover) -> str:
    for qa in cover.of_type(QuestionType.TITLE):
        if qa.answer.strip():
            return qa.answer
    return cover.title


def split_title(title: str) -> tuple[str, str, str]:
    """(main, subtitle, series) of a catalogue title like 'Main: Subtitle (Series)'."""
    series = ""
    m = _PAREN.match(title)
    if m:
        title, series = m.group(1), m.group(2)
    main, _, subtitle = title.partition(": ")
    return main.strip(), subtitle.strip(), series.strip()


def _main_title(title: str) -> str:
    return split_title(title)[0]


def _printed(cover: Cover, phrase: str, besides: str = "") -> float:
    """0..1: the share of the phrase's words that the cover text has (each matched tolerant of OCR slips).

    Words of ``besides`` (the main title) use up their own printed occurrence first: "Religion Today" is not
    printed on a cover that only reads "Islam Today".
    """
    words = normalize(phrase).split()
    if not words:
        return 0.0
    cover_words = cover.text.split()
    squashed = re.sub(r"[^\w]", "", cover.text)
    for w in normalize(besides).split():
        hit = next((i for i, c in enumerate(cover_words) if fuzz.ratio(w, c) >= 85), None)
        if hit is not None:
            del cover_words[hit]
    found = 0
    for w in words:
        hit = next((i for i, c in enumerate(cover_words) if fuzz.ratio(w, c) >= 85), None)
        if hit is not None:
            found += 1
            del cover_words[hit]  # one printed word supports one word of the phrase
        elif not besides and len(w) >= 3 and w in squashed:
            found += 1  # OCR ran it together with its neighbour: "thePAW"
    return found / len(words)


def _absent(cover: Cover, phrase: str, besides: str = "") -> bool:
    """Whether the cover text lacks every content word of the phrase, even read leniently (OCR drops spaces:
    'SANGELSWEEPING' holds 'angels' and 'weeping'). Absence is a claim that needs more than a fuzzy miss.
    Words of ``besides`` (the title printed beside it) say nothing about the phrase and are left out."""
    own = normalize(besides).split()
    words = [w for w in normalize(phrase).split() if w not in FUNCTION_WORDS and (len(w) >= 3 or w.isdigit())
             and not any(fuzz.ratio(w, o) >= 85 for o in own)]
    if not words:
        return False  # nothing the phrase says on its own: no grounds either way
    cover_words = cover.text.split()
    squashed = re.sub(r"[^\w]", "", cover.text)
    return not any(any(fuzz.ratio(w, c) >= 85 for c in cover_words) or (len(w) >= 4 and w in squashed)
                   for w in words)


def _absence_is_evidence(cover: Cover, title_idx: list[int], *, small_share: float = 0.035) -> str:
    """'' when the cover was read well enough that missing text is really missing; else why not.

    OCR misses small print (a series line in script, a subtitle in thin capitals on a thumbnail) without a
    trace, and text it saw but could not read may be the very words: both leave absence proving nothing.
    """
    if not title_idx:
        return "the title lines were not found on the cover"
    if cover.height and small_share * cover.height < SMALL_PRINT_PX:
        return f"the cover is too small ({cover.height} px tall) for its small print to be read"
    title_height = max(cover.lines[i].height for i in title_idx)
    unread = [line for line in cover.lines if line.score < MIN_SCORE and line.height <= 1.2 * title_height
              and sum(c.isalnum() for c in line.text) >= 3]
    if unread:
        return f"the cover has text the OCR could not read ('{unread[0].text}')"
    return ""


def check_titles(covers: dict[int, Cover], policy: TitlePolicy) -> list[Finding]:
    out: list[Finding] = []
    if policy == TitlePolicy.CATALOGUE:
        return out
    keep = _catalogue_capitals(covers)
    for cover in covers.values():
        for qa in cover.of_type(QuestionType.TITLE):
            label = " ".join(qa.answer.split())
            if not label:
                continue
            main, subtitle, series = split_title(label)
            if policy == TitlePolicy.MAIN_TITLE:
                if main != label:
                    out.append(Finding(f"title_vs_cover:{qa.id}", "title_vs_cover", "policy_main_title", 0.9,
                                       f"{cover.image_id}: main title only", [
                                           "The workspace's title policy is 'main title only'."],
                                       [_change(cover, qa, main)], [cover.pk]))
                continue
            if not cover.has_text or _printed(cover, main) < 0.9:
                continue  # no readable cover text for this title: nothing to ground a suggestion on
            finding = _title_finding(cover, qa, label, main, subtitle, series, keep, policy)
            if finding is not None:
                out.append(finding)
    return out


def _title_finding(cover: Cover, qa: QAPair, label: str, main: str, subtitle: str, series: str,
                   keep: set[str], policy: TitlePolicy) -> Finding | None:
    title_idx = title_lines(cover.lines, main)
    new, evidence, confidence, detail = label, [], 1.0, ""
    doubt = ""
    if series and _absent(cover, series, besides=f"{main} {subtitle}"):
        new = f"{main}: {subtitle}" if subtitle else main
        evidence.append(f"The series text '({series})' is not printed on the cover.")
        confidence, detail = 0.92, "series_not_printed"
        doubt = _absence_is_evidence(cover, title_idx, small_share=0.035)
    if subtitle and _absent(cover, subtitle, besides=main):
        new = main
        evidence.append(f"The cover shows '{main}' but not the subtitle '{subtitle}'.")
        confidence, detail = min(confidence, 0.88), "subtitle_not_printed"
        doubt = doubt or _absence_is_evidence(cover, title_idx,
                                              small_share=0.02 if looks_like_series(subtitle) else 0.035)
    elif not subtitle:
        printed = read_subtitle(cover.lines, main, [_author_of(cover), cover.author],
                                keep_descriptors=policy == TitlePolicy.AS_PRINTED_DESCRIPTORS)
        if printed is not None and printed.kind in (Kind.SUBTITLE, Kind.UNSURE) \
                and normalize(printed.text) not in normalize(label):
            text = _as_label(printed.text, keep)
            where = "above" if printed.above else "under"
            new, detail = f"{main}: {text}", "subtitle_missing"
            evidence.append(f"The cover prints '{printed.text}' {where} the title, smaller and aligned with it; "
                            "the label lacks it.")
            confidence = min(confidence, 0.85)
            if printed.kind == Kind.UNSURE:
                doubt = printed.why
    if new == label:
        return None
    key = f"title_vs_cover:{qa.id}"
    if doubt:
        # Mixed evidence: show what was seen and suggest nothing, as for author merges without cover evidence.
        return Finding(key, "title_vs_cover", f"possible_{detail}", 0.3,
                       f"{cover.image_id}: '{label}' — maybe '{new}'",
                       [*evidence, f"Not suggested: {doubt}. Check the cover."], [], [cover.pk])
    return Finding(key, "title_vs_cover", detail, confidence, f"{cover.image_id}: '{label}' → '{new}'", evidence,
                   [_change(cover, qa, new)], [cover.pk])


def _as_label(printed: str, keep: set[str]) -> str:
    """Printed text in a label's casing: covers set subtitles in capitals or small caps, labels do not."""
    words = [w for w in printed.split() if sum(c.isalpha() for c in w) >= 2]
    if words and sum(w.isupper() for w in words) >= 0.6 * len(words):
        return title_case(printed, keep)
    return printed[:1].upper() + printed[1:]


def _author_of(cover: Cover) -> str:
    for qa in cover.of_type(QuestionType.AUTHOR):
        if qa.answer.strip():
            return qa.answer
    return cover.author


# ----- authors across the dataset ----------------------------------------------------------------------

def _form_penalty(raw: str, name: Name) -> float:
    penalty = 0.0
    if is_shouting(raw):
        penalty += 2
    if name.degree:
        penalty += 2
    if name.reordered:
        penalty += 2
    if fix_spaces(raw) is not None:
        penalty += 2
    if fix_mojibake(raw) is not None:
        penalty += 3
    if re.search(r"(?<![\w.])[A-Z](?=\s)", raw):  # a bare initial without its period
        penalty += 1
    return penalty


def check_author_variants(covers: dict[int, Cover]) -> list[Finding]:
    """Group author answers by person; suggest one spelling where the evidence says it is one person."""
    groups: dict[tuple[str, str], list[tuple[Cover, QAPair, Name]]] = defaultdict(list)
    for cover in covers.values():
        for qa in cover.of_type(QuestionType.AUTHOR):
            name = parse(qa.answer) if qa.answer.strip() else None
            if name is not None:
                groups[name.person_key].append((cover, qa, name))
    out: list[Finding] = []
    for members in groups.values():
        remaining = list(members)
        while remaining:
            canonical = _canonical(remaining)
            canon_name = parse(canonical)
            assert canon_name is not None
            person = [m for m in remaining if compare(m[2], canon_name) != Difference.DIFFERENT]
            remaining = [m for m in remaining if compare(m[2], canon_name) == Difference.DIFFERENT]
            out.extend(_variant_findings(person, canonical, canon_name))
    return out


def _canonical(members: list[tuple[Cover, QAPair, Name]]) -> str:
    forms: Counter[str] = Counter(qa.answer for _, qa, _ in members)
    confirmed: Counter[str] = Counter()
    for cover, qa, name in members:
        if cover.has_text and shows(cover.text, spoken_form(name)):
            confirmed[qa.answer] += 1
    parsed = {form: parse(form) for form in forms}

    def score(form: str) -> tuple[float, int]:
        name = parsed[form]
        assert name is not None
        return (forms[form] + 2 * confirmed[form] - _form_penalty(form, name), len(form))

    # The chosen spelling is written out with single spaces: a canonical form must not carry a label's defect.
    return " ".join(max(forms, key=score).split())


def _variant_findings(person: list[tuple[Cover, QAPair, Name]], canonical: str, canon: Name) -> list[Finding]:
    sure: list[tuple[Change, str]] = []
    maybe: list[tuple[Change, str]] = []
    n_canonical = sum(1 for _, qa, _ in person if " ".join(qa.answer.split()) == canonical)
    for cover, qa, name in person:
        if " ".join(qa.answer.split()) == canonical:
            continue  # same up to spacing: the formatting check fixes that, one finding per problem
        diff = compare(name, canon)
        change = _change(cover, qa, canonical)
        cover_says = next((line.text for line in cover.lines if normalize(line.text) and (
            normalize(line.text) in (spoken_form(name), spoken_form(canon)))), None)
        if diff in (Difference.SAME, Difference.COSMETIC, Difference.DEGREE, Difference.ORDER):
            why = {Difference.DEGREE: "a degree or title the others do not carry",
                   Difference.ORDER: "'Last, First' order"}.get(diff, "different casing, spacing or punctuation")
            sure.append((change, f"{cover.image_id}: '{qa.answer}' — {why}"))
            continue
        own_shown = cover.has_text and shows(cover.text, spoken_form(name))
        canon_shown = cover.has_text and shows(cover.text, spoken_form(canon))
        if own_shown and not canon_shown:
            continue  # this cover prints the label's own spelling: maybe a different person; leave it
        if canon_shown and not own_shown:
            sure.append((change, f"{cover.image_id}: labelled '{qa.answer}', but the cover reads '{cover_says}'"))
        else:
            maybe.append((change, f"{cover.image_id}: labelled '{qa.answer}'"
                                  + ("" if cover.has_text else " (no cover text to compare)")))
    findings = []
    intro = f"{n_canonical} cover(s) label this author '{canonical}'."
    for items, confidence, detail in ((sure, 0.92, "same_person"), (maybe, 0.3, "possible_same_person")):
        if not items:
            continue
        if detail == "same_person" and any("cover reads" in why for _, why in items):
            confidence = 0.95
        changes = [c for c, _ in items]
        key = f"author_variant:{detail}:{canonical}:" + ",".join(str(c.qa_id) for c in changes)
        if detail == "same_person":
            findings.append(Finding(key, "author_variant", detail, confidence,
                                    f"'{canonical}': {len(changes)} label(s) spelled differently",
                                    [intro, *[why for _, why in items]], changes,
                                    sorted({c.image_pk for c in changes})))
        else:
            # Without cover evidence a merge could join two different people: show it, suggest nothing.
            findings.append(Finding(key, "author_variant", detail, confidence,
                                    f"possibly the same person as '{canonical}'",
                                    [intro, *[why for _, why in items],
                                     f"If the covers show one person, set these answers to '{canonical}'."],
                                    [], sorted({c.image_pk for c in changes})))
    return findings
