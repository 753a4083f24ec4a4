"""The invented books and authors, and how they are drawn from the catalogue and split."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

from .catalogue import (
    CALENDAR_KINDS,
    DECOYS,
    EDITION_GENRES,
    EDITIONS,
    FIRST_NAMES,
    LAST_NAMES,
    MIDDLE_NAMES,
    NAMED_AUTHORS,
    PUBLISHERS,
    RESERVED_LAST,
)
from .config import SPLITS
from .genres import GENRE_NAMES, GENRES, GenreSpec


@dataclass
class Author:
    name: str
    genre: str
    books: int
    kind: str = "person"  # "person" | "publisher" | "decoy"


@dataclass
class Book:
    image_id: str
    author: Author
    genre: str
    title: str  # as printed on the cover (without subtitle)
    subtitle: str | None  # printed under the title
    edition: str | None = None
    year: str | None = None
    calendar_kind: str | None = None
    split: str = ""
    # labels that go into answers and (normally) the metadata columns
    title_label: str = ""
    author_label: str = ""
    genre_label: str = ""
    title_col: str = ""
    author_col: str = ""
    genre_col: str = ""
    questions: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    problem: dict[str, object] | None = None
    upper_title: bool = False
    upper_author: bool = False

    @property
    def full_title(self) -> str:
        if self.year:
            return f"{self.title} {self.year} {self.calendar_kind}"
        return f"{self.title}: {self.subtitle}" if self.subtitle else self.title


def asin(rng: random.Random, taken: set[str]) -> str:
    # ISBN-10 shaped, like the book ASINs in OCR-VQA; an "X" check digit is skipped so the id
    # stays all digits.
    while True:
        digits = [rng.choice((0, 0, 0, 1, 1, 3, 4, 8))] + [rng.randrange(10) for _ in range(8)]
        check = (11 - sum((10 - i) * d for i, d in enumerate(digits)) % 11) % 11
        if check == 10:
            continue
        value = "".join(map(str, digits)) + str(check)
        if value not in taken:
            taken.add(value)
            return value


def make_authors(rng: random.Random, total_books: int) -> list[Author]:
    authors: list[Author] = [Author(n, g, c) for n, g, c in NAMED_AUTHORS]
    for pair in DECOYS:
        authors.extend(Author(n, g, c, kind="decoy") for n, g, c in pair)
    authors.extend(Author(n, "Calendars", c, kind="publisher") for n, c in PUBLISHERS)
    used = sum(a.books for a in authors)
    last_pool = [n for n in LAST_NAMES if n not in RESERVED_LAST]
    rng.shuffle(last_pool)
    genres = [g for g in GENRE_NAMES if g != "Calendars"]
    order: list[str] = []
    while used < total_books:
        if not order:
            order = genres[:]
            rng.shuffle(order)
        books = min(rng.choices((1, 2, 3, 4, 5), (15, 30, 25, 18, 12))[0], total_books - used)
        first = rng.choice(FIRST_NAMES)
        roll = rng.random()
        if roll < 0.36:
            name = f"{first} {rng.choice(string.ascii_uppercase.replace('X', ''))}. {last_pool.pop()}"
        elif roll < 0.41:
            name = f"{first} {rng.choice(MIDDLE_NAMES)} {last_pool.pop()}"
        else:
            name = f"{first} {last_pool.pop()}"
        authors.append(Author(name, order.pop(), books))
        used += books
    return authors


def make_title(spec: GenreSpec, rng: random.Random) -> str:
    pattern = rng.choice(spec.patterns)
    return (
        pattern.format(
            a=rng.choice(spec.a) if spec.a[0] else "",
            n=rng.choice(spec.n),
            m=rng.choice(spec.n),
            k=rng.choice((3, 5, 7, 10, 12, 21, 30, 50, 101)),
        )
        .replace("  ", " ")
        .strip()
    )


def _content_words(text: str) -> set[str]:
    return {w.strip(",.:").lower() for w in text.split() if len(w) > 3}


def make_books(rng: random.Random) -> list[Book]:
    total = sum(SPLITS.values())
    authors = make_authors(rng, total)
    taken_ids: set[str] = set()
    titles: set[str] = set()
    books: list[Book] = []
    for author in authors:
        for _ in range(author.books):
            genre = author.genre
            spec = GENRES[genre]
            for _try in range(200):
                title = make_title(spec, rng)
                content = [w for w in title.lower().split() if len(w) > 3]
                # "Reading and Reading" reads like a generator bug, not like a book.
                if title.lower() not in titles and len(content) == len(set(content)):
                    break
            else:
                raise RuntimeError(f"ran out of titles for {genre}")
            titles.add(title.lower())
            book = Book(image_id=asin(rng, taken_ids), author=author, genre=genre, title=title, subtitle=None)
            if genre == "Calendars":
                book.year = str(rng.choice((2013, 2014, 2014, 2015, 2015, 2016)))
                book.calendar_kind = rng.choice(CALENDAR_KINDS)
            elif rng.random() < spec.subtitle_rate:
                title_words = _content_words(title)
                fitting = [t for t in spec.subtitles if not _content_words(t) & title_words]
                book.subtitle = rng.choice(fitting) if fitting else None
            if genre != "Calendars" and rng.random() < (0.3 if genre in EDITION_GENRES else 0.04):
                book.edition = rng.choice(EDITIONS)
            book.upper_title = rng.random() < 0.25
            book.upper_author = rng.random() < 0.18
            books.append(book)
    rng.shuffle(books)
    start = 0
    for split, n in SPLITS.items():
        for b in books[start : start + n]:
            b.split = split
        start += n
    for b in books:
        b.title_label = b.title_col = b.full_title
        b.author_label = b.author_col = b.author.name
        b.genre_label = b.genre_col = b.genre
    return books
