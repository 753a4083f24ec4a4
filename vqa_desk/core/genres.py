"""The OCR-VQA genre vocabulary: Book32's 32 Amazon categories, common aliases, and the yes/no paraphrases.

The paraphrases are OCR-VQA's own wording for binary genre questions ("Is this a journey related book?" is
Travel), so a yes/no answer can be checked against the cover's genre.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz, process

GENRES: tuple[str, ...] = (
    "Arts & Photography", "Biographies & Memoirs", "Business & Money", "Calendars", "Children's Books",
    "Comics & Graphic Novels", "Computers & Technology", "Cookbooks, Food & Wine", "Crafts, Hobbies & Home",
    "Christian Books & Bibles", "Engineering & Transportation", "Health, Fitness & Dieting", "History",
    "Humor & Entertainment", "Law", "Literature & Fiction", "Medical Books", "Mystery, Thriller & Suspense",
    "Parenting & Relationships", "Politics & Social Sciences", "Reference", "Religion & Spirituality", "Romance",
    "Science & Math", "Science Fiction & Fantasy", "Self-Help", "Sports & Outdoors", "Teen & Young Adult",
    "Test Preparation", "Travel", "Gay & Lesbian", "Education & Teaching",
)

# Names curators and other catalogues use for the same categories.
ALIASES: dict[str, str] = {
    "cooking": "Cookbooks, Food & Wine", "cookbooks": "Cookbooks, Food & Wine", "food": "Cookbooks, Food & Wine",
    "diet & fitness": "Health, Fitness & Dieting", "fitness": "Health, Fitness & Dieting",
    "health": "Health, Fitness & Dieting", "science fiction": "Science Fiction & Fantasy",
    "fantasy": "Science Fiction & Fantasy", "sci-fi": "Science Fiction & Fantasy",
    "biography": "Biographies & Memoirs", "memoir": "Biographies & Memoirs", "business": "Business & Money",
    "children": "Children's Books", "kids": "Children's Books", "comics": "Comics & Graphic Novels",
    "graphic novels": "Comics & Graphic Novels", "computers": "Computers & Technology",
    "technology": "Computers & Technology", "crafts": "Crafts, Hobbies & Home",
    "christian": "Christian Books & Bibles", "bibles": "Christian Books & Bibles",
    "engineering": "Engineering & Transportation", "humor": "Humor & Entertainment",
    "fiction": "Literature & Fiction", "literature": "Literature & Fiction", "medical": "Medical Books",
    "medicine": "Medical Books", "mystery": "Mystery, Thriller & Suspense", "thriller": "Mystery, Thriller & Suspense",
    "parenting": "Parenting & Relationships", "politics": "Politics & Social Sciences",
    "religion": "Religion & Spirituality", "spirituality": "Religion & Spirituality", "science": "Science & Math",
    "math": "Science & Math", "self help": "Self-Help", "sports": "Sports & Outdoors", "outdoors": "Sports & Outdoors",
    "teen": "Teen & Young Adult", "young adult": "Teen & Young Adult", "test prep": "Test Preparation",
    "education": "Education & Teaching", "teaching": "Education & Teaching", "art": "Arts & Photography",
    "photography": "Arts & Photography",
}

PARAPHRASES: dict[str, str] = {
    "art related": "Arts & Photography", "life story": "Biographies & Memoirs", "financial": "Business & Money",
    "kids": "Children's Books", "comics": "Comics & Graphic Novels", "digital technology": "Computers & Technology",
    "recipe": "Cookbooks, Food & Wine", "crafts or hobbies related": "Crafts, Hobbies & Home",
    "christianity": "Christian Books & Bibles", "transportation engineering": "Engineering & Transportation",
    "fitness": "Health, Fitness & Dieting", "historical": "History", "comedy": "Humor & Entertainment",
    "games related": "Humor & Entertainment", "judicial": "Law", "pharmaceutical": "Medical Books",
    "child-care": "Parenting & Relationships", "sociopolitical": "Politics & Social Sciences",
    "reference": "Reference", "religious": "Religion & Spirituality", "romantic": "Romance",
    "sci-fi": "Science Fiction & Fantasy", "motivational": "Self-Help", "youngster related": "Teen & Young Adult",
    "exam preparation": "Test Preparation", "journey related": "Travel", "pedagogy": "Education & Teaching",
}

_RELATED = re.compile(r"^is this (?:book|calendar) related to (.+?)\??$", re.IGNORECASE)
_PARAPHRASE = re.compile(r"^is this (?:an? )?(.+?) (?:book|calendar)\??$", re.IGNORECASE)
_KNOWN = {g.casefold(): g for g in GENRES}


def is_known(genre: str) -> bool:
    return genre in GENRES


def genre_asked(question: str) -> str | None:
    """The genre a yes/no question asks about, if it is one of OCR-VQA's genre templates."""
    text = " ".join(question.split())
    m = _RELATED.match(text)
    if m:
        return _KNOWN.get(m.group(1).strip().casefold())
    m = _PARAPHRASE.match(text)
    if m:
        return PARAPHRASES.get(m.group(1).strip().casefold())
    return None


def closest_known(label: str) -> tuple[str, float]:
    """The known genre a label most likely means, with a 0..1 score (aliases first, then fuzzy matching)."""
    key = " ".join(label.replace("&", " & ").split()).casefold()
    if key in _KNOWN:
        return _KNOWN[key], 1.0
    if key in ALIASES:
        return ALIASES[key], 0.95
    for alias, genre in ALIASES.items():
        if re.search(rf"\b{re.escape(alias)}\b", key):
            return genre, 0.85
    match = process.extractOne(label, GENRES, scorer=fuzz.token_set_ratio)
    if match is None:
        return GENRES[0], 0.0
    return match[0], match[1] / 100.0
