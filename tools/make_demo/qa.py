"""OCR-VQA question templates, and writing the question/answer pairs of a cover."""

from __future__ import annotations

import random

from .books import Book
from .genres import GENRE_NAMES, GENRES

Q_TITLE = "What is the title of this book?"

Q_AUTHOR = ("Who wrote this book?", "Who is the author of this book?")

Q_GENRE = ("What is the genre of this book?", "What type of book is this?")

Q_EDITION = "What is the edition of this book?"

Q_YEAR = "What is the year printed on this calendar?"


def related_question(genre: str) -> str:
    return f"Is this book related to {genre}?"


# The paraphrased yes/no templates that OCR-VQA uses for a genre (its exact wording, including
# the article-less "Is this christianity book?").
PARAPHRASES: dict[str, tuple[str, ...]] = {
    "Arts & Photography": ("Is this an art related book?",),
    "Biographies & Memoirs": ("Is this a life story book?",),
    "Business & Money": ("Is this a financial book?",),
    "Children's Books": ("Is this a kids book?",),
    "Comics & Graphic Novels": ("Is this a comics book?",),
    "Computers & Technology": ("Is this a digital technology book?",),
    "Cookbooks, Food & Wine": ("Is this a recipe book?",),
    "Crafts, Hobbies & Home": ("Is this a crafts or hobbies related book?",),
    "Christian Books & Bibles": ("Is this christianity book?",),
    "Engineering & Transportation": ("Is this a transportation engineering book?",),
    "Health, Fitness & Dieting": ("Is this a fitness book?",),
    "History": ("Is this a historical book?",),
    "Humor & Entertainment": ("Is this a comedy book?", "Is this a games related book?"),
    "Law": ("Is this a judicial book?",),
    "Medical Books": ("Is this a pharmaceutical book?",),
    "Parenting & Relationships": ("Is this a child-care book?",),
    "Politics & Social Sciences": ("Is this a sociopolitical book?",),
    "Reference": ("Is this a reference book?",),
    "Religion & Spirituality": ("Is this a religious book?",),
    "Romance": ("Is this a romantic book?",),
    "Science Fiction & Fantasy": ("Is this a sci-fi book?",),
    "Self-Help": ("Is this a motivational book?",),
    "Teen & Young Adult": ("Is this a youngster related book?",),
    "Test Preparation": ("Is this an exam preparation book?",),
    "Travel": ("Is this a journey related book?",),
    "Education & Teaching": ("Is this a pedagogy book?",),
}


def unrelated_genres(*genres: str) -> list[str]:
    fams: set[str] = set()
    for g in genres:
        if g in GENRES:
            fams |= GENRES[g].families
    return [g for g in GENRE_NAMES if g not in genres and not (GENRES[g].families & fams)]


def build_qa(book: Book, rng: random.Random) -> None:
    truth = book.genre
    qa: list[tuple[str, str]] = [
        (rng.choice(Q_AUTHOR), book.author_label),
        (Q_TITLE, book.title_label),
        (rng.choice(Q_GENRE), book.genre_label),
    ]
    p = book.problem or {}
    # With a planted genre label, a "Yes" question would either repeat the wrong label or
    # contradict it; only clean "No" questions keep this cover to a single problem.
    genre_planted = p.get("kind") in ("wrong_genre", "genre_unknown") or (
        p.get("kind") == "answer_vs_metadata" and p.get("variant") == "genre"
    )
    unrelated = unrelated_genres(truth, book.genre_label)
    options: list[tuple[str, str]] = []
    if not genre_planted:
        options.append((related_question(truth), "Yes"))
        if truth in PARAPHRASES:
            options.append((rng.choice(PARAPHRASES[truth]), "Yes"))
    other = rng.choice(unrelated)
    options.append((related_question(other), "No"))
    para_no = [g for g in unrelated if g in PARAPHRASES and g != other]
    if para_no:
        options.append((rng.choice(PARAPHRASES[rng.choice(para_no)]), "No"))
    rng.shuffle(options)
    qa.extend(options[: rng.choice((1, 2, 2))])
    if book.year:
        qa.append((Q_YEAR, book.year))
    elif book.edition and rng.random() < 0.8:
        qa.append((Q_EDITION, book.edition))
    book.questions = [q for q, _ in qa]
    book.answers = [a for _, a in qa]
