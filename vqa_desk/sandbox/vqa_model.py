"""``sandbox-ocr``: a small, real, offline model that answers OCR-VQA questions from a cover's text.

It is an honest baseline for dry runs and tests, not a stand-in for GPT-4o. It reads the cover with the same
OCR engine the checks use (``core.ocr.read_cover``) and lays the lines out the way covers are printed: the
title is the tallest text, a smaller line right under it is a subtitle, the author is a line that looks like a
person's name (usually the first or last line), edition and year are found by pattern. Genre comes from the
words (a small built-in keyword table); yes/no genre questions follow from the genre (``core.genres``).

Fine-tuning (``Trainer``) really learns from the uploaded examples, and only from them:

- a naive Bayes genre classifier over the cover's words, its author and the keyword table's hints;
- the answer conventions the labels follow, as yes/no decisions counted from the examples whose label one of
  the candidate renderings reproduces: is the subtitle part of the title, does a calendar's title carry its
  year, are printed capitals written in title case, is an author written as the catalogue spells them
  elsewhere (middle initials, degrees) rather than as printed;
- the authors it has seen (their usual spelling, and a help to find their name on a cover);
- the usual answer of any other question it saw.

The loss it reports is the cross-entropy of its own answer distribution on the label: the genre posterior for
genre questions, P(asked genre) for yes/no questions, and for text answers the probability the learned
decisions give to the candidate renderings that reproduce the label (a floor when none does).
"""

from __future__ import annotations

import copy
import math
import random
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

from vqa_desk.core.genres import GENRES, genre_asked
from vqa_desk.core.names import Difference, compare, parse
from vqa_desk.core.ocr import OcrLine
from vqa_desk.core.questions import QuestionType, normalize_question, question_type
from vqa_desk.core.textfix import is_shouting, title_case

BASE_MODEL = "sandbox-ocr"
STATE_VERSION = 1
UNKNOWN = "Unknown"
_FLOOR = 0.01  # probability given to a label no candidate reproduces: caps one example's loss at ~4.6
_ALPHA = 0.1  # naive Bayes smoothing (word counts)
_FALLBACK_GENRE = "Literature & Fiction"

# ----- the built-in keyword table (the base model's only genre knowledge) ----------------------------------

# Word stems a bookseller would file under each genre. Deliberately small and generic: the base model should
# be a reasonable guess, and what a fine-tune learns from the data is everything beyond it.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "Arts & Photography": ("art", "painting", "photograph", "drawing", "sketch", "design", "museum", "artist"),
    "Biographies & Memoirs": ("memoir", "biograph", "life of", "my life", "autobiograph", "letters"),
    "Business & Money": ("business", "money", "invest", "finance", "market", "startup", "leader", "wealth",
                         "economy", "manage", "sales"),
    "Calendars": ("calendar",),
    "Children's Books": ("bunny", "puppy", "kitten", "bedtime", "abc", "little", "owl", "bear", "fairy"),
    "Comics & Graphic Novels": ("comic", "graphic novel", "vol.", "volume", "manga", "hero"),
    "Computers & Technology": ("computer", "program", "software", "python", "java", "data", "network", "code",
                               "linux", "web", "digital"),
    "Cookbooks, Food & Wine": ("cook", "recipe", "kitchen", "food", "wine", "bak", "soup", "grill", "dinner",
                               "pasta", "dessert", "vegan", "chef", "meal"),
    "Crafts, Hobbies & Home": ("craft", "knit", "quilt", "sew", "garden", "home", "woodwork", "crochet", "diy"),
    "Christian Books & Bibles": ("bible", "christ", "jesus", "gospel", "prayer", "church", "faith", "god"),
    "Engineering & Transportation": ("engineer", "mechanic", "automotive", "aircraft", "railroad", "circuit",
                                     "structural", "car"),
    "Health, Fitness & Dieting": ("health", "fitness", "diet", "weight", "workout", "yoga", "nutrition",
                                  "heal"),
    "History": ("history", "war", "empire", "ancient", "century", "revolution", "civil"),
    "Humor & Entertainment": ("humor", "funny", "joke", "puzzle", "trivia", "laugh", "comedy", "games"),
    "Law": ("law", "legal", "court", "contract", "evidence", "procedure", "constitution"),
    "Literature & Fiction": ("novel", "stories", "poems", "poetry", "fiction", "tales"),
    "Medical Books": ("medical", "medicine", "anatomy", "clinical", "patholog", "nursing", "pharmac",
                      "surgery", "physiology"),
    "Mystery, Thriller & Suspense": ("murder", "mystery", "detective", "thriller", "death", "killer", "crime",
                                     "dead"),
    "Parenting & Relationships": ("parent", "marriage", "baby", "raising", "family", "child", "mother"),
    "Politics & Social Sciences": ("politic", "society", "social", "democracy", "government", "policy",
                                   "philosoph"),
    "Reference": ("dictionary", "encyclopedia", "handbook", "atlas", "almanac", "thesaurus", "grammar"),
    "Religion & Spirituality": ("spirit", "buddh", "meditat", "soul", "zen", "religio", "sacred", "tao"),
    "Romance": ("love", "romance", "heart", "kiss", "bride", "wedding", "passion"),
    "Science & Math": ("science", "math", "physics", "chemistry", "biology", "genetic", "calculus", "algebra",
                       "universe"),
    "Science Fiction & Fantasy": ("star", "dragon", "galaxy", "space", "alien", "magic", "wizard", "planet"),
    "Self-Help": ("habit", "success", "happiness", "mindset", "confidence", "self", "focus", "motivation"),
    "Sports & Outdoors": ("golf", "football", "baseball", "soccer", "hiking", "fishing", "running", "sport",
                          "climbing", "tennis"),
    "Teen & Young Adult": ("teen", "academy", "school", "young adult"),
    "Test Preparation": ("test", "exam", "sat", "gre", "gmat", "lsat", "mcat", "prep"),
    "Travel": ("travel", "guide to", "journey", "trip", "week in", "tour", "road"),
    "Gay & Lesbian": ("gay", "lesbian", "queer", "lgbt", "pride"),
    "Education & Teaching": ("teach", "classroom", "education", "learning", "student", "curriculum"),
}


def keyword_genres(text: str) -> dict[str, int]:
    """Keyword hits per genre in lower-cased cover text (a stem matches at the start of a word)."""
    hits: dict[str, int] = {}
    for genre, stems in KEYWORDS.items():
        n = sum(1 for stem in stems if re.search(rf"(?<![a-z]){re.escape(stem)}", text))
        if n:
            hits[genre] = n
    return hits


def keyword_genre(text: str) -> str:
    hits = keyword_genres(text)
    if not hits:
        return _FALLBACK_GENRE
    return max(hits, key=lambda g: (hits[g], -GENRES.index(g) if g in GENRES else 0))


# ----- cover layout -------------------------------------------------------------------------------------

_EDITION = re.compile(
    r"\b(?:\d+(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|revised|updated|"
    r"expanded|anniversary|new|international|special|collector'?s|deluxe|illustrated|annotated|complete)\b.*"
    r"\bedition\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_YEAR_LINE = re.compile(r"^\s*(?:1[89]\d\d|20\d\d)\s*$")
_CALENDAR = re.compile(r"\bcalendar\b", re.IGNORECASE)
_PUBLISHER = re.compile(r"\b(?:publishing|publishers?|press|publications|books|inc|llc|ltd)\b\.?$", re.IGNORECASE)
_NAME_STOP = {
    "the", "of", "and", "a", "an", "in", "to", "for", "with", "on", "at", "by", "from", "your", "my", "how",
    "what", "why", "guide", "book", "books", "stories", "story", "edition", "volume", "vol", "calendar",
    "recipes", "review", "one", "two", "three", "our", "their", "its", "is", "are", "all", "about", "into",
}
_NAME_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "ph.d.", "ph.d", "m.d.", "m.d", "m.a.", "dr."}
_WORD = re.compile(r"[^\W\d_][^\W\d_'’]+", re.UNICODE)
_GENRE_STOP = {
    "the", "and", "for", "with", "from", "your", "how", "that", "this", "its", "into", "over", "all", "our",
    "are", "you", "not", "book", "edition", "new", "one", "two",
}
_QUESTION_PREFIX = re.compile(r"^\s*question\s*(?:\[\s*\d+\s*\]|\d+)?\s*:\s*", re.IGNORECASE)


def strip_question(text: str) -> str:
    """The question itself, without the exported ``Question [7]:`` numbering."""
    return _QUESTION_PREFIX.sub("", " ".join(text.split()))


def looks_like_name(text: str) -> bool:
    """A line that reads like a person's name: 2-5 capitalised words, no title words."""
    tokens = [t.rstrip(",") for t in text.split()]
    if not 2 <= len(tokens) <= 5:
        return False
    if any(t.lower() in _NAME_STOP for t in tokens):
        return False
    if not all(_name_token(t) for t in tokens):
        return False
    full_words = [t for t in tokens if len(t.rstrip(".")) > 1 and not t.endswith(".")]
    return len(full_words) >= 1 and len(tokens) - len(full_words) <= 3


def _name_token(token: str) -> bool:
    """'Søren', "O'Neil", 'Jean-Luc', 'T.', 'DIXON', 'Jr.'; not 'and', 'skills' or '12'."""
    if token.lower() in _NAME_SUFFIXES:
        return True
    if len(token) == 2 and token[0].isupper() and token[1] == ".":
        return True
    core = token.replace("-", "").replace("'", "").replace("’", "")
    return len(core) >= 2 and core.isalpha() and token[0].isupper()


def _letters(text: str) -> int:
    return sum(1 for c in text if c.isalpha())


def _smart_title(text: str) -> str:
    return title_case(text) if is_shouting(text) else text


@dataclass(frozen=True)
class Layout:
    """What a cover's text lines say, as printed."""

    title: str = ""
    subtitle: str = ""
    author: str = ""
    edition: str = ""
    year: str = ""
    calendar_kind: str = ""
    words: tuple[str, ...] = ()  # lower-case words for the genre model (the author's excluded)
    text: str = ""  # all lines, lower case

    @property
    def title_caps(self) -> bool:
        return is_shouting(self.title)

    @property
    def author_caps(self) -> bool:
        return is_shouting(self.author)


def clean_lines(lines: Sequence[OcrLine]) -> list[OcrLine]:
    """Text lines without OCR noise from cover art: strays, glyph soup, giant one-word shapes."""
    kept = [ln for ln in lines if ln.text.strip() and ln.score >= 0.5]
    heights = sorted(ln.height for ln in kept) or [0.0]
    median = heights[len(heights) // 2]
    out = []
    for ln in kept:
        text = ln.text.strip()
        if _YEAR_LINE.match(text):
            out.append(ln)
            continue
        if _letters(text) < 2:
            continue
        if median and len(text) <= 4 and (ln.height > 3 * median or (ln.height > 2.2 * median and ln.score < 0.9)):
            continue  # a picture read as letters ("IOI" drawn across half the cover)
        out.append(ln)
    return out


def read_layout(lines: Sequence[OcrLine], known_author: Any = None) -> Layout:
    """Lay out a cover's lines (top to bottom). ``known_author(text) -> bool`` may recognise author lines the
    name pattern misses (a fine-tuned model knows the authors it has seen)."""
    lines = clean_lines(lines)
    if not lines:
        return Layout()
    texts = [" ".join(ln.text.split()) for ln in lines]
    kind = [""] * len(lines)
    edition = year = calendar_kind = ""
    for i, text in enumerate(texts):
        if _EDITION.search(text) and len(text.split()) <= 5:
            kind[i], edition = "edition", edition or text
        elif _YEAR_LINE.match(text):
            kind[i], year = "year", year or text.strip()
        elif _CALENDAR.search(text):
            kind[i], calendar_kind = "calendar", calendar_kind or text
        elif _PUBLISHER.search(text):
            kind[i] = "publisher"
    author_idx = _find_author(lines, texts, kind, known_author)
    free = [i for i in range(len(lines)) if not kind[i]]
    for i in author_idx:
        kind[i] = "author"
    rest = [i for i in free if i not in author_idx]
    title_idx: list[int] = []
    sub_idx: list[int] = []
    if rest:
        # The title is the biggest print. Box heights vary with ascenders and descenders ("Circuits" / "Design"
        # in one font differ by a third), so size is judged by the width per character as well.
        top = max(rest, key=lambda i: lines[i].height * _char_width(lines[i]))
        def same_size(j: int) -> bool:
            return (not kind[j] and lines[j].height >= 0.6 * lines[top].height
                    and _char_width(lines[j]) >= 0.6 * _char_width(lines[top]))
        title_idx = [top]
        for step in (-1, 1):
            j = top + step
            while 0 <= j < len(lines) and same_size(j):
                title_idx.append(j)
                j += step
        title_idx.sort()
        j = title_idx[-1] + 1
        # The subtitle: smaller print right under the title; a short wrapped word ("Home") may look wide.
        while (j < len(lines) and not kind[j] and len(sub_idx) < 3
               and (not same_size(j) if not sub_idx else lines[j].height <= 1.4 * lines[sub_idx[0]].height)):
            sub_idx.append(j)
            j += 1
    if not author_idx and len(rest) > len(title_idx) + len(sub_idx):
        # No name-like line: the line farthest from the title is the best guess (covers print the author at
        # the top or the bottom).
        others = [i for i in rest if i not in title_idx and i not in sub_idx]
        author_idx = [others[-1] if others[-1] > title_idx[-1] else others[0]]
    author = " ".join(texts[i] for i in author_idx)
    author_words = {w.lower() for w in _WORD.findall(author)}
    words = tuple(w for i, t in enumerate(texts) if i not in author_idx
                  for w in (m.lower() for m in _WORD.findall(t)) if w not in _GENRE_STOP and w not in author_words)
    return Layout(
        title=" ".join(texts[i] for i in title_idx), subtitle=" ".join(texts[i] for i in sub_idx), author=author,
        edition=edition, year=year, calendar_kind=calendar_kind, words=words,
        text=" ".join(texts).lower(),
    )


def _find_author(lines: Sequence[OcrLine], texts: list[str], kind: list[str], known_author: Any) -> list[int]:
    """Indexes of the author's line(s). A name-like window of one or two lines (a long name wraps) among the
    first and the last free lines, smaller than the title; a known author anywhere; else the publisher (the
    "author" of a calendar)."""
    free = [i for i in range(len(lines)) if not kind[i]]
    if free:
        windows: list[list[int]] = []
        for i in free:
            windows.append([i])
            if i + 1 in free and _similar_height(lines[i], lines[i + 1]):
                windows.append([i, i + 1])
        if known_author is not None:
            for w in sorted(windows, key=len, reverse=True):
                if known_author(" ".join(texts[i] for i in w)):
                    return w
        tallest = max(lines[i].height for i in free)
        found = []
        for end in dict.fromkeys((free[-1], free[0])):
            for w in sorted((w for w in windows if end in w), key=len):
                joined = " ".join(texts[i] for i in w)
                height = max(lines[i].height for i in w)
                if (looks_like_name(joined) and not (len(w) == 1 and _partial_name(texts, w, free))
                        and (height < tallest or len(w) == len(free))):
                    found.append((height, w))
                    break
        if found:
            # Both ends look like names (a name-like title or subtitle): the smaller print is the author.
            window = min(found)[1]
            nxt = window[-1] + 1  # "WILLOW CREEK" / "PRESS": a publisher, the "author" of calendars
            if nxt < len(lines) and kind[nxt] == "publisher" and _similar_height(lines[window[-1]], lines[nxt]):
                window = [*window, nxt]
            return window
    publisher = [i for i in range(len(lines)) if kind[i] == "publisher"]
    if publisher:
        first = publisher[0]
        prev = first - 1  # "WILLOW CREEK" / "PRESS": a publisher's name wrapped onto two lines
        if (free and prev == free[-1] and _similar_height(lines[prev], lines[first])
                and is_shouting(texts[prev]) == is_shouting(texts[first])):
            return [prev, first]
        return [first]
    return []


def _char_width(line: OcrLine) -> float:
    xs = [p[0] for p in line.box]
    return (max(xs) - min(xs)) / max(1, len(line.text.strip())) if xs else 0.0


def _similar_height(a: OcrLine, b: OcrLine) -> bool:
    return 0.75 <= b.height / max(a.height, 1.0) <= 1.33


def _partial_name(texts: list[str], window: list[int], free: list[int]) -> bool:
    """A one-line window like 'JACQUELINE T.' whose surname wrapped onto the next line."""
    i = window[0]
    return texts[i].rstrip().endswith(".") and i + 1 in free and len(texts[i + 1].split()) == 1


# ----- the model ----------------------------------------------------------------------------------------

DECISIONS = ("title_subtitle", "title_calendar", "title_case", "author_case", "author_catalogue")


def _new_state(base: str = BASE_MODEL) -> dict[str, Any]:
    return {
        "version": STATE_VERSION, "base": base, "trained": False, "examples_seen": 0.0,
        "genre_docs": {}, "genre_words": {},
        "decisions": {d: [0.0, 0.0] for d in DECISIONS},  # [yes, no] evidence
        "yes_no": [0.0, 0.0],  # answers to yes/no questions whose genre the model cannot tell
        "authors": {},  # "first last" -> {label form: weight}
        "answers": {},  # normalised question -> {answer: weight} (questions of no known type)
    }


@dataclass(frozen=True)
class Example:
    """One question about one cover, with its label when it is training data."""

    question: str
    image_key: str  # sha256 of the image bytes; "" when the question came without an image
    answer: str | None = None


@dataclass
class Prediction:
    answer: str
    probabilities: dict[str, float] = field(default_factory=dict)  # candidate answer -> probability


class OcrVqaModel:
    """The base model (no state) or a fine-tuned one (the state a ``Trainer`` produced)."""

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        self.state = state if state is not None else _new_state()

    @property
    def trained(self) -> bool:
        return bool(self.state.get("trained"))

    def to_json(self) -> dict[str, Any]:
        return copy.deepcopy(self.state)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OcrVqaModel:
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported sandbox model state version {data.get('version')!r}")
        return cls(copy.deepcopy(data))

    # ----- reading the cover --------------------------------------------------------------------------
    def layout(self, lines: Sequence[OcrLine]) -> Layout:
        return read_layout(lines, self._known_author if self.state["authors"] else None)

    def _known_author(self, text: str) -> bool:
        name = parse(text)
        return name is not None and f"{name.first} {name.last}" in self.state["authors"]

    # ----- decisions ----------------------------------------------------------------------------------
    def p_yes(self, decision: str) -> float:
        """P(decision applies), Beta(1, 1)-smoothed; the base model's defaults when nothing was learnt."""
        yes, no = self.state["decisions"][decision]
        if yes + no == 0:
            return 0.0  # nothing learnt: as printed, main title only, as the base model answers
        return (yes + 1.0) / (yes + no + 2.0)

    # ----- answering ----------------------------------------------------------------------------------
    def answer(self, question: str, lines: Sequence[OcrLine] | None) -> str:
        return self.predict(question, lines).answer

    def predict(self, question: str, lines: Sequence[OcrLine] | None) -> Prediction:
        """The answer, and the probability of every answer the model considers. ``lines`` None: no cover."""
        q = strip_question(question)
        qtype = question_type(q)
        layout = self.layout(lines) if lines else Layout()
        if qtype == QuestionType.YES_NO:
            return self._yes_no(q, layout, lines is not None)
        if qtype == QuestionType.GENRE:
            post = self.genre_posterior(layout)
            return Prediction(max(post, key=lambda g: post[g]), post)
        if qtype == QuestionType.TITLE:
            return self._rendered(self.title_candidates(layout))
        if qtype == QuestionType.AUTHOR:
            return self._rendered(self.author_candidates(layout))
        if qtype == QuestionType.EDITION:
            return Prediction(layout.edition or UNKNOWN, {layout.edition or UNKNOWN: 1.0})
        if qtype == QuestionType.YEAR:
            year = layout.year or next(iter(_YEAR.findall(layout.text)), "")
            return Prediction(year or UNKNOWN, {year or UNKNOWN: 1.0})
        seen = self.state["answers"].get(normalize_question(q))
        if seen:
            total = sum(seen.values())
            return Prediction(max(seen, key=lambda a: seen[a]), {a: w / total for a, w in seen.items()})
        return Prediction(UNKNOWN, {UNKNOWN: 1.0})

    def _rendered(self, candidates: dict[str, float]) -> Prediction:
        if not candidates:
            return Prediction(UNKNOWN, {UNKNOWN: 1.0})
        return Prediction(max(candidates, key=lambda a: candidates[a]), candidates)

    def _yes_no(self, question: str, layout: Layout, has_cover: bool) -> Prediction:
        asked = genre_asked(question)
        if asked is None or not has_cover:
            yes, no = self.state["yes_no"]
            p = (yes + 1.0) / (yes + no + 2.0) if yes + no else 0.0
        else:
            post = self.genre_posterior(layout)
            best = max(post, key=lambda g: post[g])
            p = 1.0 if best == asked else post.get(asked, 0.0)
            p = min(max(p, 0.02), 0.98) if self.trained else p
        answer = "Yes" if p >= 0.5 else "No"
        return Prediction(answer, {"Yes": p, "No": 1.0 - p})

    # ----- genre --------------------------------------------------------------------------------------
    def genre_features(self, layout: Layout) -> list[str]:
        feats = list(dict.fromkeys(layout.words))
        feats += [f"kw:{g}" for g in keyword_genres(layout.text)]
        name = parse(layout.author) if layout.author else None
        if name is not None:
            feats.append(f"@{name.first} {name.last}")
        return feats

    def genre_posterior(self, layout: Layout) -> dict[str, float]:
        docs: dict[str, float] = self.state["genre_docs"]
        if not docs:
            guess = keyword_genre(layout.text) if layout.text else _FALLBACK_GENRE
            return {guess: 1.0}
        words: dict[str, dict[str, float]] = self.state["genre_words"]
        total = sum(docs.values())
        feats = self.genre_features(layout)
        scores = {}
        for genre, n in docs.items():
            counts = words.get(genre, {})
            score = math.log(n / total)
            for f in feats:
                score += math.log((counts.get(f, 0.0) + _ALPHA) / (n + 2 * _ALPHA))
            scores[genre] = score
        top = max(scores.values())
        exp = {g: math.exp(s - top) for g, s in scores.items()}
        z = sum(exp.values())
        return {g: v / z for g, v in exp.items()}

    # ----- text answers -------------------------------------------------------------------------------
    def _combos(self, options: Sequence[str]) -> Iterator[tuple[dict[str, bool], float]]:
        """Every yes/no assignment of the applicable decisions, with its probability."""
        for values in product((True, False), repeat=len(options)):
            p = 1.0
            for d, v in zip(options, values, strict=True):
                py = self.p_yes(d)
                p *= py if v else 1.0 - py
            yield dict(zip(options, values, strict=True)), p

    def title_options(self, layout: Layout) -> list[str]:
        opts = []
        if layout.subtitle:
            opts.append("title_subtitle")
        if layout.year and layout.calendar_kind:
            opts.append("title_calendar")
        if layout.title_caps or is_shouting(layout.subtitle):
            opts.append("title_case")
        return opts

    @staticmethod
    def render_title(layout: Layout, d: dict[str, bool]) -> str:
        title, sub = layout.title, layout.subtitle
        if d.get("title_case"):
            title, sub = _smart_title(title), _smart_title(sub)
        if d.get("title_subtitle"):
            title = f"{title}: {sub}"
        if d.get("title_calendar"):
            title = f"{title} {layout.year} {layout.calendar_kind}"
        return title

    def title_candidates(self, layout: Layout) -> dict[str, float]:
        if not layout.title:
            return {}
        out: dict[str, float] = {}
        for d, p in self._combos(self.title_options(layout)):
            text = self.render_title(layout, d)
            out[text] = out.get(text, 0.0) + p
        return out

    def catalogue_form(self, printed: str) -> str | None:
        """How the training labels spell the person printed here, when it is the same person."""
        name = parse(printed)
        forms = self.state["authors"].get(f"{name.first} {name.last}") if name is not None else None
        if not forms:
            return None
        best = max(forms, key=lambda f: forms[f])
        other = parse(best)
        if other is None or compare(name, other) not in (Difference.SAME, Difference.COSMETIC, Difference.DEGREE,
                                                         Difference.INITIAL):
            return None
        return best

    def author_options(self, layout: Layout) -> list[str]:
        opts = []
        if layout.author_caps:
            opts.append("author_case")
        if self.catalogue_form(layout.author) is not None:
            opts.append("author_catalogue")
        return opts

    def render_author(self, layout: Layout, d: dict[str, bool]) -> str:
        if d.get("author_catalogue"):
            form = self.catalogue_form(layout.author)
            if form is not None:
                return form
        return _smart_title(layout.author) if d.get("author_case") else layout.author

    def author_candidates(self, layout: Layout) -> dict[str, float]:
        if not layout.author:
            return {}
        out: dict[str, float] = {}
        for d, p in self._combos(self.author_options(layout)):
            text = self.render_author(layout, d)
            out[text] = out.get(text, 0.0) + p
        return out


# ----- training -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StepMetrics:
    step: int
    total_steps: int
    epoch: int
    train_loss: float
    train_accuracy: float
    valid_loss: float | None = None
    valid_accuracy: float | None = None
    full_valid_loss: float | None = None
    full_valid_accuracy: float | None = None
    epoch_end: bool = False


@dataclass
class TrainingData:
    """Examples plus each cover's OCR lines (keyed by image sha256)."""

    examples: list[Example]
    lines: dict[str, list[OcrLine]]


def auto_batch_size(n: int) -> int:
    """About 32 steps an epoch, within OpenAI's 1..256."""
    return max(1, min(256, math.ceil(n / 32)))


class Trainer:
    """Supervised fine-tuning of ``OcrVqaModel``: each step learns one batch and reports the batch's loss as
    it was before the update (so the first epoch's loss is honest held-out loss), and the loss on a batch of
    the validation examples. ``learning_rate_multiplier`` scales the weight of each example's evidence."""

    def __init__(self, train: TrainingData, valid: TrainingData | None, *, n_epochs: int, batch_size: int,
                 learning_rate_multiplier: float, seed: int, init: OcrVqaModel | None = None) -> None:
        self.model = OcrVqaModel(copy.deepcopy(init.state) if init is not None else None)
        self.model.state["trained"] = True
        self.train = train
        self.valid = valid
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.lr = learning_rate_multiplier
        self.rng = random.Random(seed)
        self.steps_per_epoch = max(1, math.ceil(len(train.examples) / batch_size))
        self.total_steps = self.steps_per_epoch * n_epochs

    def steps(self) -> Iterator[StepMetrics]:
        step = 0
        valid = list(self.valid.examples) if self.valid is not None else []
        for epoch in range(1, self.n_epochs + 1):
            order = list(self.train.examples)
            self.rng.shuffle(order)
            for b in range(self.steps_per_epoch):
                batch = order[b * self.batch_size:(b + 1) * self.batch_size]
                step += 1
                loss, acc = self.evaluate(batch, self.train)
                for ex in batch:
                    self.learn(ex)
                v_loss = v_acc = None
                if valid:
                    v_batch = self.rng.sample(valid, min(len(valid), self.batch_size))
                    v_loss, v_acc = self.evaluate(v_batch, self.valid)  # type: ignore[arg-type]
                end = b == self.steps_per_epoch - 1
                full_loss = full_acc = None
                if end and valid:
                    full_loss, full_acc = self.evaluate(valid, self.valid)  # type: ignore[arg-type]
                yield StepMetrics(step, self.total_steps, epoch, loss, acc, v_loss, v_acc, full_loss, full_acc, end)

    # ----- one example --------------------------------------------------------------------------------
    def _layout(self, ex: Example, data: TrainingData) -> Layout:
        lines = data.lines.get(ex.image_key)
        return self.model.layout(lines) if lines else Layout()

    def evaluate(self, batch: Iterable[Example], data: TrainingData) -> tuple[float, float]:
        """(mean cross-entropy, exact-match accuracy) of the current model on labelled examples."""
        losses, right, n = 0.0, 0, 0
        for ex in batch:
            if ex.answer is None:
                continue
            lines = data.lines.get(ex.image_key) if ex.image_key else None
            pred = self.model.predict(ex.question, lines)
            p = pred.probabilities.get(ex.answer, 0.0)
            losses += -math.log(max(p, _FLOOR))
            right += pred.answer == ex.answer
            n += 1
        return (losses / n, right / n) if n else (0.0, 0.0)

    def learn(self, ex: Example) -> None:
        if ex.answer is None:
            return
        state, w = self.model.state, self.lr
        state["examples_seen"] += w
        q = strip_question(ex.question)
        qtype = question_type(q)
        layout = self._layout(ex, self.train)
        if qtype == QuestionType.GENRE:
            self._learn_genre(layout, ex.answer, w)
        elif qtype == QuestionType.YES_NO:
            asked = genre_asked(q)
            if asked is not None and ex.answer == "Yes" and layout.text:
                self._learn_genre(layout, asked, w)
            elif asked is None:
                state["yes_no"][0 if ex.answer == "Yes" else 1] += w
        elif qtype == QuestionType.TITLE:
            self._learn_decisions(layout, ex.answer, self.model.title_options(layout),
                                  lambda d: self.model.render_title(layout, d), w)
        elif qtype == QuestionType.AUTHOR:
            if layout.author:
                self._learn_decisions(layout, ex.answer, self.model.author_options(layout),
                                      lambda d: self.model.render_author(layout, d), w)
            name = parse(ex.answer)
            if name is not None:
                forms = state["authors"].setdefault(f"{name.first} {name.last}", {})
                forms[ex.answer] = forms.get(ex.answer, 0.0) + w
        elif qtype not in (QuestionType.EDITION, QuestionType.YEAR):
            answers = state["answers"].setdefault(normalize_question(q), {})
            answers[ex.answer] = answers.get(ex.answer, 0.0) + w

    def _learn_genre(self, layout: Layout, genre: str, w: float) -> None:
        if not layout.text:
            return
        state = self.model.state
        state["genre_docs"][genre] = state["genre_docs"].get(genre, 0.0) + w
        counts = state["genre_words"].setdefault(genre, {})
        for f in self.model.genre_features(layout):
            counts[f] = counts.get(f, 0.0) + w

    def _learn_decisions(self, layout: Layout, label: str, options: list[str], render: Any, w: float) -> None:
        """Count a decision when every rendering that reproduces the label agrees on it."""
        if not options:
            return
        matching = [d for d, _ in self.model._combos(options) if _same(render(d), label)]
        if not matching:
            return  # the label is not what any rendering of this cover gives: no evidence either way
        for option in options:
            values = {d[option] for d in matching}
            if len(values) == 1:
                self.model.state["decisions"][option][0 if values.pop() else 1] += w


def _same(a: str, b: str) -> bool:
    return unicodedata.normalize("NFC", a) == unicodedata.normalize("NFC", b)
