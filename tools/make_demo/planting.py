"""Planted label problems: which covers get one, and how their labels and answers are damaged."""

from __future__ import annotations

import itertools
import random

from .books import Book
from .config import SPLITS
from .genres import GENRES
from .qa import unrelated_genres

RELATED_WRONG_GENRE = {
    "History": "Politics & Social Sciences",
    "Medical Books": "Health, Fitness & Dieting",
    "Computers & Technology": "Engineering & Transportation",
    "Children's Books": "Teen & Young Adult",
    "Religion & Spirituality": "Christian Books & Bibles",
    "Romance": "Mystery, Thriller & Suspense",
    "Cookbooks, Food & Wine": "Crafts, Hobbies & Home",
    "Biographies & Memoirs": "History",
    "Test Preparation": "Education & Teaching",
    "Self-Help": "Religion & Spirituality",
    "Science & Math": "Engineering & Transportation",
    "Sports & Outdoors": "Travel",
}

UNKNOWN_GENRE = {
    "Science Fiction & Fantasy": "Science Fiction",
    "Cookbooks, Food & Wine": "Cooking",
    "Self-Help": "Self Help",
    "Mystery, Thriller & Suspense": "Mystery & Thrillers",
    "Children's Books": "Kids",
    "Biographies & Memoirs": "Biography",
    "Health, Fitness & Dieting": "Diet & Fitness",
    "Computers & Technology": "Computers",
}

SERIES = {
    "Children's Books": ("Amazing Science", "Step into Reading"),
    "Science & Math": ("Very Short Introductions", "Science Made Simple"),
    "Literature & Fiction": ("Penguin Classics", "Vintage International"),
    "Mystery, Thriller & Suspense": ("A Detective Kate Morrow Mystery", "The Harbor Town Mysteries"),
    "Romance": ("Harbor Lights Series", "The Highland Brides Book 2"),
    "Science Fiction & Fantasy": ("The Ember Trilogy", "Starfall Saga Book 3"),
    "Travel": ("Pocket Travel Guide", "Rick's Walking Guides"),
    "Test Preparation": ("Test Prep Series", "College Test Preparation"),
    "Computers & Technology": ("Head First", "Pocket Reference"),
    "History": ("Pivotal Moments in American History", "Oxford History of the World"),
}

DEGREE_GENRES = {
    "Medical Books",
    "Health, Fitness & Dieting",
    "Self-Help",
    "Parenting & Relationships",
    "Science & Math",
    "Religion & Spirituality",
    "Education & Teaching",
    "Business & Money",
    "Christian Books & Bibles",
    "Law",
}

LABEL_PLANTS: dict[str, int] = {
    "author_initial_missing": 5,
    "author_initial_added": 4,
    "author_missing_period": 3,
    "author_degree": 5,
    "author_casing": 3,
    "author_double_space": 3,
    "title_subtitle_added": 5,
    "title_subtitle_missing": 5,
    "title_series_parenthetical": 4,
    "wrong_genre": 6,
    "genre_unknown": 4,
    "mojibake": 4,
    "answer_vs_metadata": 5,
    "yes_no_contradiction": 5,
    "empty_answer": 3,
    "closed_not_yes_no": 4,
    "whitespace": 4,
}

IMAGE_PLANTS = (
    "truncated_jpeg",
    "cmyk_jpeg",
    "palette_transparency",
    "placeholder_gif",
    "la_png",
    "i16_png",
    "exif_orientation",
    "not_an_image",
)

AUTHOR_KINDS = {
    "author_initial_missing",
    "author_initial_added",
    "author_missing_period",
    "author_degree",
    "author_casing",
    "author_double_space",
}

# The first instance of these kinds lands on a given author so the docs' examples are real.
PINNED = {
    "author_initial_missing": "Marcia S. Brown",
    "author_missing_period": "Paul N. Stam",
    "author_casing": "Mark Millar",
}

PINNED_GENRE = {"title_series_parenthetical": "Children's Books"}


def _middle_initial_index(name: str) -> int | None:
    parts = name.split(" ")
    for i, p in enumerate(parts[1:-1], start=1):
        if len(p) == 2 and p[0].isupper() and p[1] == ".":
            return i
    return None


def mojibake(text: str, rng: random.Random) -> str:
    # Both real-world flavours: UTF-8 read as cp1252 ("Ã©") and as Shift-JIS ("ﾃｩ").
    raw = text.encode("utf-8")
    codecs = ["cp932", "cp1252"]
    rng.shuffle(codecs)
    for codec in codecs:
        try:
            out = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        if out != text:
            return out
    raise ValueError(f"cannot mojibake {text!r}")


def _eligible(kind: str, book: Book, touched: set[str]) -> bool:
    a = book.author
    cal = book.genre == "Calendars"
    if (kind in AUTHOR_KINDS or kind == "mojibake_author") and (a.kind != "person" or a.books < 2 or a.name in touched):
        return False
    if kind in ("author_initial_missing", "author_missing_period"):
        return _middle_initial_index(a.name) is not None
    if kind == "author_initial_added":
        return len(a.name.split()) == 2 and a.name.isascii()
    if kind == "author_degree":
        return book.genre in DEGREE_GENRES
    if kind in ("author_casing", "author_double_space"):
        return True
    if kind == "mojibake_author":
        return not a.name.isascii()
    if kind == "mojibake_title":
        return not book.title.isascii() and not cal
    if kind == "title_subtitle_added":
        return not cal and book.subtitle is None and len(book.title) < 40
    if kind in ("title_subtitle_missing", "answer_vs_metadata_title"):
        return not cal and book.subtitle is not None
    if kind == "title_series_parenthetical":
        return book.genre in SERIES
    if kind == "wrong_genre_related":
        return book.genre in RELATED_WRONG_GENRE
    if kind == "genre_unknown":
        return book.genre in UNKNOWN_GENRE
    if kind == "answer_vs_metadata_author":
        return a.kind == "person" and a.name not in touched and len(a.name.split()) >= 2
    return True


def assign_problems(books: list[Book], rng: random.Random) -> list[dict[str, object]]:
    """Pick covers for the planted problems: one problem per cover, spread over the splits."""
    instances: list[str] = [k for k, n in LABEL_PLANTS.items() for _ in range(n)]
    instances.extend(IMAGE_PLANTS)
    rng.shuffle(instances)
    # Pinned kinds first so their author is still free.
    instances.sort(key=lambda k: k not in PINNED)
    total = sum(SPLITS.values())
    split_seq: list[str] = []
    for split, n in SPLITS.items():
        split_seq.extend([split] * round(len(instances) * n / total))
    while len(split_seq) < len(instances):
        split_seq.append("train")
    rng.shuffle(split_seq)

    touched: set[str] = set()
    counts: dict[str, int] = {}
    used: set[str] = set()
    mojibake_targets = ["mojibake_author", "mojibake_title", "mojibake_author", "mojibake_title"]
    avm_variants = ["title", "author", "genre", "title", "author"]
    problems: list[dict[str, object]] = []
    image_splits = itertools.cycle(SPLITS)
    for kind, seq_split in zip(instances, split_seq[: len(instances)], strict=True):
        # Every split gets some broken images, so loaders are exercised on each of them.
        split = next(image_splits) if kind in IMAGE_PLANTS else seq_split
        sub = kind
        variant: str | None = None
        if kind == "mojibake":
            sub = mojibake_targets[counts.get(kind, 0) % len(mojibake_targets)]
            variant = sub.split("_")[1]
        elif kind == "answer_vs_metadata":
            variant = avm_variants[counts.get(kind, 0) % len(avm_variants)]
            sub = f"answer_vs_metadata_{variant}"
        elif kind == "wrong_genre":
            # Every third one is plainly wrong rather than a neighbouring genre.
            variant = "unrelated" if counts.get(kind, 0) % 3 == 2 else "related"
            sub = f"wrong_genre_{variant}"
        elif kind in ("empty_answer", "whitespace"):
            variant = rng.choice(("title", "author", "genre") if kind == "empty_answer" else ("title", "author"))
            sub = f"{kind}_{variant}"

        def ok(b: Book, sub: str = sub) -> bool:
            if b.image_id in used or b.author.kind == "decoy":
                return False
            if sub.endswith("_author") and (b.author.kind != "person" or b.author.name in touched):
                return False
            return _eligible(sub, b, touched)

        first = counts.get(kind, 0) == 0
        if first and kind in PINNED:
            pool = [b for b in books if b.author.name == PINNED[kind] and ok(b)]
        elif first and kind in PINNED_GENRE:
            pool = [b for b in books if b.genre == PINNED_GENRE[kind] and ok(b)]
        else:
            pool = [b for b in books if b.split == split and ok(b)] or [b for b in books if ok(b)]
        if not pool:
            raise RuntimeError(f"no cover left for {sub}")
        book = rng.choice(pool)
        used.add(book.image_id)
        if kind in AUTHOR_KINDS or sub.endswith("_author"):
            touched.add(book.author.name)
        counts[kind] = counts.get(kind, 0) + 1
        prob: dict[str, object] = {"kind": kind, "split": book.split, "image_id": book.image_id}
        if variant:
            prob["variant"] = variant
        book.problem = prob
        problems.append(prob)
    return problems


def apply_label_problem(book: Book, rng: random.Random, example_left: bool) -> bool:
    """Label-level problems change the labels before the QA pairs are written.

    ``example_left`` says whether the OCR-VQA "Magnets" example is still to be placed; the
    updated flag is returned.
    """
    p = book.problem
    if p is None:
        return example_left
    kind = p["kind"]
    name = book.author.name
    if kind in AUTHOR_KINDS or (kind == "mojibake" and p["variant"] == "author"):
        book.upper_author = False  # the cover must show the true spelling and casing
        if kind == "author_initial_missing":
            parts = name.split(" ")
            del parts[_middle_initial_index(name) or 0]
            label, note = " ".join(parts), "label drops the middle initial printed on the cover"
        elif kind == "author_initial_added":
            first, last = name.split(" ")
            label = f"{first} {rng.choice('ABCDEFGHJKLMNPRSTW')}. {last}"
            note = "label adds a middle initial the cover does not print"
        elif kind == "author_missing_period":
            parts = name.split(" ")
            i = _middle_initial_index(name) or 0
            parts[i] = parts[i].rstrip(".")
            label, note = " ".join(parts), "initial without its period"
        elif kind == "author_degree":
            label = rng.choice(
                (f"Dr. {name}", f"{name} M.D.", f"{name}, M.D.", f"{name} PhD", f"{name}, Ph.D.", f"{name} M.A.")
            )
            note = "label carries an academic degree the cover does not print"
        elif kind == "author_casing":
            label, note = name.upper(), "label in capitals"
        elif kind == "author_double_space":
            label, note = name.replace(" ", "  ", 1), "double space inside the name"
        else:
            label, note = mojibake(name, rng), "UTF-8 name decoded with the wrong codec"
        book.author_label = book.author_col = label
        p.update(field="author", label=label, truth=name, note=f"{note}; other books say {name!r}")
    elif kind == "mojibake":
        truth = book.full_title
        label = mojibake(truth, rng)
        book.title_label = book.title_col = label
        p.update(field="title", label=label, truth=truth, note="UTF-8 title decoded with the wrong codec")
    elif kind == "title_subtitle_added":
        truth = book.full_title
        extra = rng.choice([s for s in GENRES[book.genre].subtitles if s != "A Novel"] or ["A Novel"])
        label = f"{truth}: {extra}"
        book.title_label = book.title_col = label
        p.update(field="title", label=label, truth=truth, note=f"subtitle {extra!r} is not on the cover")
    elif kind == "title_subtitle_missing":
        truth = book.full_title
        book.title_label = book.title_col = book.title
        p.update(
            field="title",
            label=book.title,
            truth=truth,
            note=f"cover prints the subtitle {book.subtitle!r}, the label lacks it",
        )
    elif kind == "title_series_parenthetical":
        if book.genre == "Children's Books" and example_left:
            # The example from the OCR-VQA data itself.
            book.title, book.subtitle = "Magnets", "Pulling Together, Pushing Apart"
            series = "Amazing Science"
            example_left = False
        else:
            series = rng.choice(SERIES[book.genre])
        truth = book.full_title
        label = f"{truth} ({series})"
        book.title_label = book.title_col = label
        p.update(field="title", label=label, truth=truth, note=f"series {series!r} is not printed on the cover")
    elif kind == "wrong_genre":
        wrong = (
            RELATED_WRONG_GENRE[book.genre] if p["variant"] == "related" else rng.choice(unrelated_genres(book.genre))
        )
        book.genre_label = book.genre_col = wrong
        p.update(
            field="genre",
            label=wrong,
            truth=book.genre,
            note="genre label and metadata name a wrong genre; the cover is clearly " + book.genre,
        )
    elif kind == "genre_unknown":
        label = UNKNOWN_GENRE[book.genre]
        book.genre_label = book.genre_col = label
        p.update(field="genre", label=label, truth=book.genre, note="genre outside the 32 Book32 categories")
    elif kind == "answer_vs_metadata":
        variant = p["variant"]
        if variant == "title":
            book.title_label = book.title
            p.update(
                field="title",
                label=book.title,
                truth=book.title_col,
                note="title answer lacks the subtitle that the title column and the cover have",
            )
        elif variant == "author":
            parts = name.split(" ")
            label = f"{parts[-1]}, {' '.join(parts[:-1])}"
            book.author_label = label
            p.update(
                field="author",
                label=label,
                truth=name,
                note="author answer is 'Last, First' while the authorName column is " + repr(name),
            )
        else:
            label = RELATED_WRONG_GENRE.get(book.genre) or rng.choice(unrelated_genres(book.genre))
            book.genre_label = label
            p.update(field="genre", label=label, truth=book.genre, note="genre answer differs from the genre column")
    return example_left


def apply_answer_problem(book: Book, rng: random.Random) -> None:
    """Answer-level problems damage one written answer; the metadata columns stay right."""
    p = book.problem
    if p is None:
        return
    kind = p["kind"]
    yes_no = [i for i, a in enumerate(book.answers) if a in ("Yes", "No")]
    if kind in ("yes_no_contradiction", "closed_not_yes_no"):
        i = rng.choice(yes_no)
        truth = book.answers[i]
        if kind == "yes_no_contradiction":
            label = "No" if truth == "Yes" else "Yes"
            note = f"contradicts the genre {book.genre!r}"
        else:
            label = rng.choice(("yes", "Yes.", "YES") if truth == "Yes" else ("no", "No.", "NO"))
            note = "closed question not answered with exactly Yes/No"
        book.answers[i] = label
        p.update(field="answer", question=book.questions[i], label=label, truth=truth, note=note)
    elif kind in ("empty_answer", "whitespace"):
        i = {"author": 0, "title": 1, "genre": 2}[str(p["variant"])]
        truth = book.answers[i]
        if kind == "empty_answer":
            label, note = "", "empty answer string"
        else:
            label = rng.choice((f" {truth}", f"{truth} ", f"  {truth} "))
            note = "leading/trailing whitespace in the answer"
        book.answers[i] = label
        p.update(field="answer", question=book.questions[i], label=label, truth=truth, note=note)
    elif kind in AUTHOR_KINDS or kind in (
        "mojibake",
        "title_subtitle_added",
        "title_subtitle_missing",
        "title_series_parenthetical",
        "wrong_genre",
        "genre_unknown",
        "answer_vs_metadata",
    ):
        i = {"author": 0, "title": 1, "genre": 2}[str(p["field"])]
        p["question"] = book.questions[i]
        assert book.answers[i] == p["label"], (book.answers[i], p)
