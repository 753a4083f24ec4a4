"""Reading a cover's title block like a person: which OCR lines are the title, and whether the text beside it
is a subtitle — or a review quote, a tagline, a credit, a series line, a format descriptor or an OCR fragment.

A subtitle is part of the title block: adjacent to the title lines (below them, or right above), smaller than
they are, aligned with them, and not separated from them by an author line. It is never a quotation or an
attribution, never a credit, never a bare descriptor ("A Novel"), never a series line, never a fragment
(poorly recognised, too short, broken words), and a line cut off mid-phrase is not a whole subtitle.

``read_subtitle`` returns a ``Subtitle`` with a verdict: ``SUBTITLE`` (all of the above hold: a suggestion
may rest on it), ``UNSURE`` (it may be one; the evidence is mixed: shown as "possible", never applied), or
one of the rejections, so that the check can say what it saw. Pure functions over ``OcrLine``s; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz import fuzz

from vqa_desk.core.names import parse
from vqa_desk.core.ocr import OcrLine
from vqa_desk.core.textfix import fix_mojibake


class Kind(StrEnum):
    SUBTITLE = "subtitle"
    UNSURE = "unsure"
    QUOTE = "quote"
    TAGLINE = "tagline"
    CREDIT = "credit"
    SERIES = "series"
    DESCRIPTOR = "descriptor"
    FRAGMENT = "fragment"


@dataclass(frozen=True)
class Subtitle:
    text: str  # as printed, lines joined
    kind: Kind
    why: str  # one sentence for the evidence list
    above: bool = False  # printed above the title lines


MIN_SCORE = 0.85  # recognition score below which a line is not trusted as evidence
MAX_LINES = 5
NEAR = 1.0  # a first line further from the title than this many title heights is "printed apart" (unsure)

_QUOTE_MARKS = "\"'“”‘’«»„"
_PRAISE = re.compile(
    r"\b(best[- ]?sell(ing|er)s?|author of|praise|winner|award|shortlisted|longlisted|prize|medal|acclaimed"
    r"|million copies|now a (major )?(motion picture|film|tv|netflix)|times|guardian|observer|telegraph|review"
    r"|herald|tribune|post|magazine|independent|usa today|publishers weekly|kirkus|booklist|npr|bbc radio"
    r"|unputdownable|brilliant|stunning|gripping|masterpiece|riveting|compelling|dazzling|hilarious"
    r"|bonus|included|exclusive|special|free|film|movie|motion picture|tv series|soon to be|as heard|as seen"
    r"|radio \d|on radio|revealed|coming soon|pre-?order)\b",
    re.IGNORECASE)
_CREDIT = re.compile(
    r"(^|\b)(by|with|foreword|introduction|intro|afterword|preface|edited|editor|illustrated|illustrations|"
    r"translated|translation|translator|photographs|pictures|read by|adapted|compiled|selected|retold)\b",
    re.IGNORECASE)
_DESCRIPTORS = {
    "novel", "a novel", "the novel", "stories", "short stories", "a memoir", "memoir", "poems", "essays",
    "a thriller", "a romance", "a mystery", "a novella", "novella", "a graphic novel", "graphic novel", "a history",
    "fiction", "a story", "a love story", "a fairy tale", "a play", "a cookbook", "an anthology", "anthology",
    "a biography", "biography", "an autobiography", "autobiography", "a collection", "a novel in stories",
    "guidebook", "a guidebook", "a sequel",
}
_SERIES = re.compile(
    r"(\b(novel|romance|mystery|thriller|love story|saga|series|trilogy|quartet|duet|chronicles?|cycle|sequence)"
    r"\s*(\d+|#\s*\d+)?$)"
    r"|(\b(book|volume|vol\.?|part|episode)\s+(\d+|one|two|three|four|five|six|seven|eight|nine|ten|"
    r"i{1,3}|iv|v|vi{0,3})\b)"
    r"|(\bno\.?\s*\d+\b)|(#\s*\d+)|(\b(first|second|third|\d+(st|nd|rd|th))\s+in\b)|(\bin the\b.*\bseries\b)"
    r"|(\bbook of the\b)",
    re.IGNORECASE)
# OCR reads "Novel" as "Hovel" or "Nove1": the last word of a series line, matched loosely.
_SERIES_LAST = ("novel", "romance", "mystery", "series", "trilogy", "saga")
_IMPRINT = re.compile(r"\b(amazon\s*original|original stories|presents|classics?|penguin|vintage|picador|puffin"
                      r"|harper\w*|books|press|publishing|publishers|imprint)\b", re.IGNORECASE)
# Garbled praise still reads close to these words ("Bistselling Authior").
_PRAISE_WORDS = ("bestselling", "bestseller", "author", "authors", "million")
_CREDIT_SQUASHED = re.compile(r"withcontributions|contributionsfrom|foreword|editedby|illustratedby|translatedby"
                              r"|introductionby|withan|afterwordby")
_STATEMENT_VERB = {"is", "are", "was", "were", "will", "has", "have", "can", "must", "never"}
_WH_START = {"how", "why", "what", "when", "where", "who", "which", "the", "a", "an"}
# Lines that speak to the reader or tell a story are taglines; a subtitle names what the book is.
_TAGLINE_START = {"it's", "its", "it", "you", "you're", "youre", "i", "i'm", "im", "we", "she", "he", "they",
                  "sometimes", "when", "if", "every", "there", "this", "these", "nothing", "one"}
_QUESTION_START = {"is", "are", "do", "does", "did", "can", "could", "will", "would", "should", "have", "has",
                   "was", "were", "am", "shall", "may", "might"}
FUNCTION_WORDS = {"a", "about", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "of", "on", "or",
                   "the", "to", "with", "who", "that", "which", "how", "why", "when", "where", "what", "is", "are", "&"}
_EDITION = re.compile(r"\b(edition|calendar|anniversary)\b", re.IGNORECASE)


def _norm(text: str) -> str:
    text = fix_mojibake(text) or text
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def _squash(text: str) -> str:
    return re.sub(r"[^\w]", "", (fix_mojibake(text) or text).casefold())


def title_lines(lines: Sequence[OcrLine], main_title: str) -> list[int]:
    """Indices of the lines that print the main title. OCR often drops the spaces between words ("thePAW") or
    splits the title over several lines, so lines are matched without spaces, as pieces of the title."""
    target = _squash(main_title)
    if not target:
        return []
    out = []
    for i, line in enumerate(lines):
        piece = _squash(line.text)
        if len(piece) >= 2 and (piece in target or (len(piece) >= 5 and fuzz.partial_ratio(piece, target) >= 90
                                                    and len(piece) <= len(target) + 2)):
            out.append(i)
    if not out:
        return []
    covered = sum(len(_squash(lines[i].text)) for i in out)
    if covered < 0.8 * len(target):
        return []
    # Keep the group of title lines that hangs together: the tallest line and its neighbours.
    tallest = max(out, key=lambda i: lines[i].height)
    group = [tallest]
    for step in (-1, 1):
        j = out.index(tallest) + step
        while 0 <= j < len(out):
            cand, near = out[j], group[0] if step < 0 else group[-1]
            if abs(cand - near) > 2 or _gap(lines[min(cand, near)], lines[max(cand, near)]) > 1.5 * max(
                    lines[cand].height, lines[near].height):
                break
            group.insert(0, cand) if step < 0 else group.append(cand)
            j += step
    return sorted(group)


def _gap(upper: OcrLine, lower: OcrLine) -> float:
    return lower.top - (upper.top + upper.height)


def _x_range(line: OcrLine) -> tuple[float, float]:
    xs = [p[0] for p in line.box]
    return min(xs), max(xs)


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Share of the narrower range that the two ranges have in common."""
    inter = min(a[1], b[1]) - max(a[0], b[0])
    width = min(a[1] - a[0], b[1] - b[0])
    return inter / width if width > 0 else 0.0


def _is_author_line(text: str, authors: Sequence[str]) -> bool:
    name = parse(text)
    for author in authors:
        if not author.strip():
            continue
        other = parse(author)
        if name is not None and other is not None and name.person_key == other.person_key:
            return True
        if fuzz.token_set_ratio(_norm(text), _norm(author)) >= 85:
            return True
        if name is not None and other is not None and name.first == other.first \
                and fuzz.ratio(name.last, other.last) >= 70:
            return True  # the author's name, misread: "LEISA RATTEN" for Leisa Rayven
        if fuzz.partial_ratio(_norm(author), _norm(text)) >= 90 and len(_norm(author)) >= 6:
            return True  # "By Jane Doe", "Jane Doe, bestselling author of ..."
    return False


def _collect(lines: Sequence[OcrLine], title: list[int], step: int, authors: Sequence[str]
             ) -> tuple[list[OcrLine], str]:
    """The run of lines next to the title (below for step 1, above for -1) that could be one block of text,
    and why it ended ('' when it ended cleanly: a size change, a gap, an author line or the edge)."""
    title_height = max(lines[i].height for i in title)
    span = (min(_x_range(lines[i])[0] for i in title), max(_x_range(lines[i])[1] for i in title))
    edge = title[-1] if step > 0 else title[0]
    block: list[OcrLine] = []
    far = ""
    j = edge + step
    while 0 <= j < len(lines) and len(block) <= MAX_LINES:
        line = lines[j]
        prev = block[-1] if block else lines[edge]
        gap = _gap(prev, line) if step > 0 else _gap(line, prev)
        if not _norm(line.text):
            j += step
            continue
        if not block:
            if line.height > 0.9 * title_height:
                return [], ""  # as large as the title: more title, or another element
            if gap > 4 * title_height:
                return [], ""
            if gap > max(1.5 * line.height + 4, NEAR * title_height):
                far = "it is printed apart from the title"
        else:
            first = block[0]
            if not 0.7 <= line.height / first.height <= 1.4 or gap > 1.0 * first.height + 4:
                return block, far
        if _overlap(_x_range(line), span) < 0.5:
            return block, far
        if _is_author_line(line.text, authors) or _EDITION.search(line.text):
            return block, far
        if block and _looks_like_a_name(line.text) and (
                re.search(r"\b[A-Z]\.", line.text) or not line.text.isupper()):
            return block, far  # a credit under the subtitle: "T. C. Oakes-Monçer"
        if line.score < MIN_SCORE:
            return block, far or "poorly recognised text follows it"
        block.append(line)
        j += step
    if len(block) > MAX_LINES:
        return block, "a long run of text (a blurb?)"
    return block, far


def classify(text: str, lines: Sequence[OcrLine], ended: str, *, keep_descriptors: bool = False
             ) -> tuple[Kind, str]:
    """What kind of text a block beside the title is. ``keep_descriptors``: the title policy counts a printed
    "A Novel" as the subtitle."""
    norm = _norm(text)
    words = norm.split()
    stripped = text.strip()
    if not words:
        return Kind.FRAGMENT, "no words"
    if any(c in _QUOTE_MARKS for c in stripped[:1] + stripped[-1:]):
        return Kind.QUOTE, "it is a quotation"
    if _PRAISE.search(text) or any(fuzz.ratio(w, p) >= 80 for w in words for p in _PRAISE_WORDS if len(w) >= 5):
        return Kind.QUOTE, "it reads like praise or a sales line"
    if _CREDIT_SQUASHED.search(re.sub(r"[^a-z]", "", norm)):
        return Kind.CREDIT, "it is a credit line"
    for line in lines:  # one line of the block may be a descriptor or series line run together with the next
        one = _norm(line.text)
        if len(lines) > 1 and (one in _DESCRIPTORS or _SERIES.search(one)):
            return Kind.DESCRIPTOR if one in _DESCRIPTORS else Kind.SERIES, f"it holds '{line.text.strip()}'"
    if _CREDIT.match(norm) or re.search(
            r"\b(foreword|introduction|edited|illustrated|translated|translator|afterword|preface)\b", norm):
        return Kind.CREDIT, "it is a credit line"
    if _IMPRINT.search(norm):
        return Kind.CREDIT, "it names an imprint or publisher"
    if norm in _DESCRIPTORS:
        if keep_descriptors and not ended and min(line.score for line in lines) >= MIN_SCORE:
            return Kind.SUBTITLE, ""
        return Kind.DESCRIPTOR, "it is a format descriptor, not a subtitle"
    if looks_like_series(text):
        return Kind.SERIES, "it reads like a series line"
    if stripped.endswith(("?", "!", "...", "…")) or len(words) > 22:
        return Kind.TAGLINE, "it reads like a tagline"
    if stripped.endswith(".") and not re.search(r"\b\w\.$", stripped):
        return Kind.TAGLINE, "it is set as a sentence (a tagline)"
    if words[0] in _TAGLINE_START or words[0] in _QUESTION_START:
        return Kind.TAGLINE, "it speaks to the reader (a tagline)"
    if min(line.score for line in lines) < MIN_SCORE:
        return Kind.FRAGMENT, "part of it is poorly recognised"
    letters = sum(c.isalpha() for c in text)
    if len(words) < 2 or letters < 6:
        return Kind.FRAGMENT, "too short to be a subtitle"
    if any(len(w) >= 5 and not re.search(r"[aeiouy]", w) for w in words if w.isalpha()) \
            or any(len(w) >= 15 for w in words):
        return Kind.FRAGMENT, "it has words OCR broke or ran together"
    if ended:
        return Kind.UNSURE, ended if ended.startswith("it ") else f"where it ends is unclear ({ended})"
    if words[-1] in FUNCTION_WORDS or stripped.endswith((",", "-", "–", ":", ";", "'s", "’s")):
        return Kind.UNSURE, "it looks cut off"
    if stripped[:1].islower() and words[0] in FUNCTION_WORDS:
        return Kind.UNSURE, "it looks like the end of a longer line"
    if _looks_like_a_name(text):
        return Kind.UNSURE, "it may be a person's name (a credit)"
    if stripped[:1] in "-—–~•*":
        return Kind.UNSURE, "it is set between ornaments, as series lines and names are"
    if _sentence_case(text):
        return Kind.UNSURE, "it is set as a sentence, as taglines are"
    if words[0] not in _WH_START and any(w in _STATEMENT_VERB for w in words[1:4]):
        return Kind.UNSURE, "it reads as a statement, as taglines do"
    if len(lines) > 1 and len(_norm(lines[0].text).split()) == 1 and len(_norm(lines[0].text)) <= 4:
        return Kind.UNSURE, "its first line may be a logo"
    return Kind.SUBTITLE, ""


def looks_like_series(text: str) -> bool:
    """'A Hidden Legacy Novel', 'Book 2 of the Wayward Children', 'Monkey Business Trio, Book 1'."""
    words = _norm(text).split()
    return bool(_SERIES.search(_norm(text))) or (
        len(words) >= 2 and any(fuzz.ratio(words[-1], w) >= 80 for w in _SERIES_LAST))


def _looks_like_a_name(text: str) -> bool:
    """Two or three capitalised words with no small words ("Leisa Rayven", "T. C. Oakes"): a person, likely."""
    words = [w for w in re.split(r"[\s&]+", text.strip()) if w]
    if not 2 <= len(words) <= 4 or any(w.casefold() in FUNCTION_WORDS for w in words):
        return False
    return all(w[:1].isupper() and (w[1:].islower() or w.isupper() or w.endswith(".") or "-" in w)
               for w in words) and parse(text) is not None


def _sentence_case(text: str) -> bool:
    """Six or more words with the content words in lower case: set like a sentence, not like a title."""
    words = [w for w in text.split() if w[:1].isalpha()]
    content = [w for w in words[1:] if w.casefold() not in FUNCTION_WORDS]
    return len(words) >= 6 and bool(content) and sum(w[:1].islower() for w in content) >= 0.7 * len(content)


def _join(block: Sequence[OcrLine]) -> str:
    text = " ".join(line.text.strip() for line in block)
    # OCR reads the dots and dashes some covers set between words as part of them: THE-BATTLE·FOR-THE·CODE
    if " " not in text and len(re.findall(r"[-·•]", text)) >= 2:
        text = re.sub(r"[-·•]+", " ", text)
    return " ".join(text.replace("·", " ").replace("•", " ").split())


def read_subtitle(lines: Sequence[OcrLine], main_title: str, authors: Sequence[str], *,
                  keep_descriptors: bool = False) -> Subtitle | None:
    """The text printed as the title's subtitle, judged; None where nothing beside the title could be one."""
    title = title_lines(lines, main_title)
    if not title:
        return None
    found: list[Subtitle] = []
    for step in (1, -1):
        block, ended = _collect(lines, title, step, authors)
        if not block:
            continue
        text = _join(block if step > 0 else block[::-1])
        kind, why = classify(text, block, ended, keep_descriptors=keep_descriptors)
        found.append(Subtitle(text, kind, why, above=step < 0))
        if kind == Kind.SUBTITLE and step > 0:
            break  # a clean subtitle under the title: what is above is something else
    good = [s for s in found if s.kind == Kind.SUBTITLE]
    if len(good) == 1:
        return good[0]
    if good:  # text above and below both look like subtitles: the cover does not say which
        return Subtitle(good[0].text, Kind.UNSURE, "text above and below the title both look like a subtitle")
    unsure = [s for s in found if s.kind == Kind.UNSURE]
    return unsure[0] if unsure else (found[0] if found else None)


