"""Checks of the demo dataset shipped in ``vqa_desk/resources/demo``.

The demo stands in for ``howard-hou/OCR-VQA`` during development and tests, and its planted
problems are the ground truth for the curation features, so a wrong schema or a planted problem
that is not really in the data would silently weaken every test built on it.
"""

from __future__ import annotations

import importlib.resources
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image, ImageOps, UnidentifiedImageError

SPLITS = {"train": 240, "validation": 80, "test": 120}
SET_NAMES = {"train": "train", "validation": "val", "test": "test"}
COLUMNS = [
    "image",
    "image_id",
    "questions",
    "answers",
    "ocr_tokens",
    "ocr_info",
    "title",
    "authorName",
    "genre",
    "image_width",
    "image_height",
    "image_url",
    "set_name",
]
GENRES = {
    "Arts & Photography",
    "Biographies & Memoirs",
    "Business & Money",
    "Calendars",
    "Children's Books",
    "Comics & Graphic Novels",
    "Computers & Technology",
    "Cookbooks, Food & Wine",
    "Crafts, Hobbies & Home",
    "Christian Books & Bibles",
    "Engineering & Transportation",
    "Health, Fitness & Dieting",
    "History",
    "Humor & Entertainment",
    "Law",
    "Literature & Fiction",
    "Medical Books",
    "Mystery, Thriller & Suspense",
    "Parenting & Relationships",
    "Politics & Social Sciences",
    "Reference",
    "Religion & Spirituality",
    "Romance",
    "Science & Math",
    "Science Fiction & Fantasy",
    "Self-Help",
    "Sports & Outdoors",
    "Teen & Young Adult",
    "Test Preparation",
    "Travel",
    "Gay & Lesbian",
    "Education & Teaching",
}
# OCR-VQA's paraphrased yes/no questions and the one genre that makes each a "Yes".
PARAPHRASES = {
    "Is this an art related book?": "Arts & Photography",
    "Is this a life story book?": "Biographies & Memoirs",
    "Is this a financial book?": "Business & Money",
    "Is this a kids book?": "Children's Books",
    "Is this a comics book?": "Comics & Graphic Novels",
    "Is this a digital technology book?": "Computers & Technology",
    "Is this a recipe book?": "Cookbooks, Food & Wine",
    "Is this a crafts or hobbies related book?": "Crafts, Hobbies & Home",
    "Is this christianity book?": "Christian Books & Bibles",
    "Is this a transportation engineering book?": "Engineering & Transportation",
    "Is this a fitness book?": "Health, Fitness & Dieting",
    "Is this a historical book?": "History",
    "Is this a comedy book?": "Humor & Entertainment",
    "Is this a games related book?": "Humor & Entertainment",
    "Is this a judicial book?": "Law",
    "Is this a pharmaceutical book?": "Medical Books",
    "Is this a child-care book?": "Parenting & Relationships",
    "Is this a sociopolitical book?": "Politics & Social Sciences",
    "Is this a reference book?": "Reference",
    "Is this a religious book?": "Religion & Spirituality",
    "Is this a romantic book?": "Romance",
    "Is this a sci-fi book?": "Science Fiction & Fantasy",
    "Is this a motivational book?": "Self-Help",
    "Is this a youngster related book?": "Teen & Young Adult",
    "Is this an exam preparation book?": "Test Preparation",
    "Is this a journey related book?": "Travel",
    "Is this a pedagogy book?": "Education & Teaching",
}
Q_TITLE = "What is the title of this book?"
Q_AUTHOR = {"Who wrote this book?", "Who is the author of this book?"}
Q_GENRE = {"What is the genre of this book?", "What type of book is this?"}
Q_EDITION = "What is the edition of this book?"
Q_YEAR = "What is the year printed on this calendar?"
RELATED = re.compile(r"^Is this book related to (.+)\?$")

AUTHOR_KINDS = {
    "author_initial_missing",
    "author_initial_added",
    "author_missing_period",
    "author_degree",
    "author_casing",
    "author_double_space",
}
LABEL_KINDS = AUTHOR_KINDS | {
    "title_subtitle_added",
    "title_subtitle_missing",
    "title_series_parenthetical",
    "wrong_genre",
    "genre_unknown",
    "mojibake",
    "answer_vs_metadata",
    "yes_no_contradiction",
    "empty_answer",
    "closed_not_yes_no",
    "whitespace",
}
IMAGE_KINDS = {
    "truncated_jpeg",
    "cmyk_jpeg",
    "palette_transparency",
    "placeholder_gif",
    "la_png",
    "i16_png",
    "exif_orientation",
    "not_an_image",
}
FIELD_COLUMN = {"title": "title", "author": "authorName", "genre": "genre"}

GENERATOR = Path(__file__).resolve().parents[2] / "tools" / "make_demo.py"

Row = dict[str, Any]


def parquet_name(split: str) -> str:
    return f"{split}-00000-of-00001.parquet"


def words(text: str) -> set[str]:
    return {w.strip(".,:;!?'\"()").lower() for w in text.split()} - {""}


def field_of(question: str) -> str | None:
    if question == Q_TITLE:
        return "title"
    if question in Q_AUTHOR:
        return "author"
    if question in Q_GENRE:
        return "genre"
    return None


def yes_no_expected(question: str, genre: str) -> str | None:
    m = RELATED.match(question)
    if m:
        return "Yes" if m.group(1) == genre else "No"
    if question in PARAPHRASES:
        return "Yes" if PARAPHRASES[question] == genre else "No"
    return None


@pytest.fixture(scope="module")
def demo_dir() -> Iterator[Path]:
    resource = importlib.resources.files("vqa_desk") / "resources" / "demo"
    with importlib.resources.as_file(resource) as path:
        yield Path(path)


@pytest.fixture(scope="module")
def tables(demo_dir: Path) -> dict[str, pa.Table]:
    return {split: pq.read_table(demo_dir / parquet_name(split)) for split in SPLITS}


@pytest.fixture(scope="module")
def rows(tables: dict[str, pa.Table]) -> dict[str, dict[str, Row]]:
    """split -> image_id -> row."""
    return {split: {r["image_id"]: r for r in t.to_pylist()} for split, t in tables.items()}


@pytest.fixture(scope="module")
def all_rows(rows: dict[str, dict[str, Row]]) -> dict[str, Row]:
    return {image_id: r for split_rows in rows.values() for image_id, r in split_rows.items()}


@pytest.fixture(scope="module")
def planted(demo_dir: Path) -> dict[str, Any]:
    return json.loads((demo_dir / "planted.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def problem_of(planted: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["image_id"]: p for p in planted["problems"]}


def true_genre(row: Row, problem: dict[str, Any] | None) -> str:
    if problem and problem["field"] == "genre":
        return problem["truth"]
    return row["genre"]


# --- layout and schema ---------------------------------------------------------------------------


def test_folder_holds_the_expected_files(demo_dir: Path) -> None:
    names = {p.name for p in demo_dir.iterdir() if not p.name.startswith(".")}
    assert names == {parquet_name(s) for s in SPLITS} | {"planted.json", "README.md"}


def test_folder_is_small(demo_dir: Path) -> None:
    total = sum(p.stat().st_size for p in demo_dir.rglob("*") if p.is_file())
    assert total < 6_000_000


def test_schema_matches_ocr_vqa(tables: dict[str, pa.Table]) -> None:
    from datasets import Features, Sequence, Value
    from datasets import Image as HFImage

    bbox = pa.struct([(k, pa.float64()) for k in ("width", "height", "top_left_x", "top_left_y")])
    arrow_types = {
        "image": pa.struct([("bytes", pa.binary()), ("path", pa.string())]),
        "image_id": pa.string(),
        "questions": pa.list_(pa.string()),
        "answers": pa.list_(pa.string()),
        "ocr_tokens": pa.list_(pa.string()),
        "ocr_info": pa.list_(pa.struct([("word", pa.string()), ("bounding_box", bbox)])),
        "title": pa.string(),
        "authorName": pa.string(),
        "genre": pa.string(),
        "image_width": pa.int64(),
        "image_height": pa.int64(),
        "image_url": pa.string(),
        "set_name": pa.string(),
    }
    hf_bbox = {k: Value("float64") for k in ("width", "height", "top_left_x", "top_left_y")}
    expected = Features(
        {
            "image": HFImage(),
            "image_id": Value("string"),
            "questions": Sequence(Value("string")),
            "answers": Sequence(Value("string")),
            "ocr_tokens": Sequence(Value("string")),
            "ocr_info": [{"word": Value("string"), "bounding_box": hf_bbox}],
            "title": Value("string"),
            "authorName": Value("string"),
            "genre": Value("string"),
            "image_width": Value("int64"),
            "image_height": Value("int64"),
            "image_url": Value("string"),
            "set_name": Value("string"),
        }
    )
    for split, table in tables.items():
        assert table.column_names == COLUMNS, split
        for name, typ in arrow_types.items():
            assert table.schema.field(name).type == typ, (split, name)
        assert b"huggingface" in (table.schema.metadata or {}), split
        assert Features.from_arrow_schema(table.schema) == expected, split


def test_split_sizes_and_set_names(tables: dict[str, pa.Table]) -> None:
    for split, n in SPLITS.items():
        assert tables[split].num_rows == n
        assert set(tables[split].column("set_name").to_pylist()) == {SET_NAMES[split]}


def test_image_ids_are_unique_asin_like_and_consistent(rows: dict[str, dict[str, Row]]) -> None:
    ids = [image_id for split_rows in rows.values() for image_id in split_rows]
    assert len(ids) == len(set(ids)) == sum(SPLITS.values())
    for split_rows in rows.values():
        for image_id, r in split_rows.items():
            assert re.fullmatch(r"\d{10}", image_id)
            assert re.fullmatch(rf"{image_id}\.(jpg|png|gif)", r["image"]["path"])
            assert r["image_url"] == f"http://ecx.images-amazon.com/images/I/{image_id}.jpg"


def test_questions_follow_the_templates(all_rows: dict[str, Row]) -> None:
    for image_id, r in all_rows.items():
        qs, ans = r["questions"], r["answers"]
        assert len(qs) == len(ans), image_id
        assert 4 <= len(qs) <= 6, image_id
        assert len(set(qs)) == len(qs), image_id
        assert qs.count(Q_TITLE) == 1
        assert sum(q in Q_AUTHOR for q in qs) == 1
        assert sum(q in Q_GENRE for q in qs) == 1
        closed = [q for q in qs if yes_no_expected(q, "") is not None]
        assert 1 <= len(closed) <= 2, image_id
        for q in qs:
            m = RELATED.match(q)
            assert m is None or m.group(1) in GENRES, q
            assert field_of(q) or m or q in PARAPHRASES or q in (Q_EDITION, Q_YEAR), q
        if Q_YEAR in qs:
            year = ans[qs.index(Q_YEAR)]
            assert re.fullmatch(r"20\d\d", year) and year in r["ocr_tokens"]
        if Q_EDITION in qs:
            assert words(ans[qs.index(Q_EDITION)]) <= words(" ".join(r["ocr_tokens"]))


def test_unplanted_answers_are_clean(all_rows: dict[str, Row], problem_of: dict[str, dict[str, Any]]) -> None:
    """Outside the planted problems, labels equal the metadata and yes/no answers are right."""
    checked = 0
    for image_id, r in all_rows.items():
        problem = problem_of.get(image_id)
        genre = true_genre(r, problem)
        assert genre in GENRES
        for q, a in zip(r["questions"], r["answers"], strict=True):
            if problem and problem.get("question") == q:
                continue
            assert a == a.strip() and a, (image_id, q, a)
            field = field_of(q)
            if field is not None:
                assert a == r[FIELD_COLUMN[field]], (image_id, q)
                checked += 1
            expected = yes_no_expected(q, genre)
            if expected is not None:
                assert a == expected, (image_id, q, a, genre)
                checked += 1
    assert checked > 1500


# --- planted problems ------------------------------------------------------------------------------


def test_planted_header(planted: dict[str, Any]) -> None:
    assert planted["generator"] == "tools/make_demo.py"
    assert isinstance(planted["seed"], int)
    assert planted["splits"] == SPLITS
    problems = planted["problems"]
    assert [p["id"] for p in problems] == [f"P{i:03d}" for i in range(1, len(problems) + 1)]
    assert {p["kind"] for p in problems} == LABEL_KINDS | IMAGE_KINDS
    # one problem per cover, so a finding maps to exactly one planted kind
    assert len({p["image_id"] for p in problems}) == len(problems)
    total = sum(SPLITS.values())
    assert 0.15 * total <= len(problems) <= 0.2 * total
    for split, n in SPLITS.items():
        in_split = [p for p in problems if p["split"] == split]
        assert 0.1 * n <= len(in_split) <= 0.25 * n, split
        assert any(p["kind"] in IMAGE_KINDS for p in in_split), split


def test_planted_rows_exist_in_their_split(planted: dict[str, Any], rows: dict[str, dict[str, Row]]) -> None:
    for p in planted["problems"]:
        assert p["image_id"] in rows[p["split"]], p["id"]


def test_planted_labels_are_in_the_answers(planted: dict[str, Any], rows: dict[str, dict[str, Row]]) -> None:
    for p in planted["problems"]:
        if p["kind"] in IMAGE_KINDS:
            continue
        r = rows[p["split"]][p["image_id"]]
        assert p["field"] in {"title", "author", "genre", "answer"}, p["id"]
        assert p["question"] in r["questions"], p["id"]
        assert p["label"] in r["answers"], p["id"]
        assert r["answers"][r["questions"].index(p["question"])] == p["label"], p["id"]
        assert p["label"] != p["truth"], p["id"]


def _redecode(label: str, truth: str) -> bool:
    for codec in ("cp1252", "cp932"):
        try:
            if label.encode(codec).decode("utf-8") == truth:
                return True
        except UnicodeError:
            continue
    return False


def test_planted_kinds_look_like_their_names(planted: dict[str, Any], rows: dict[str, dict[str, Row]]) -> None:
    for p in planted["problems"]:
        kind, label, truth = p["kind"], p["label"], p["truth"]
        if kind in IMAGE_KINDS:
            continue
        r = rows[p["split"]][p["image_id"]]
        if kind == "author_initial_missing":
            assert len(truth.split()) == len(label.split()) + 1
            assert re.search(r" [A-Z]\. ", truth) and not re.search(r" [A-Z]\.? ", label)
        elif kind == "author_initial_added":
            assert len(label.split()) == len(truth.split()) + 1 and re.search(r" [A-Z]\. ", label)
        elif kind == "author_missing_period":
            assert re.sub(r" ([A-Z]) ", r" \1. ", label) == truth
        elif kind == "author_degree":
            assert truth in label and re.search(r"Dr\.|M\.D\.|Ph\.?D\.?|M\.A\.", label)
        elif kind == "author_casing":
            assert label == truth.upper() != truth
        elif kind == "author_double_space":
            assert "  " in label and " ".join(label.split()) == truth
        elif kind == "mojibake":
            assert _redecode(label, truth), p["id"]
        elif kind == "title_subtitle_added":
            assert label.startswith(f"{truth}: ")
        elif kind == "title_subtitle_missing":
            assert truth.startswith(f"{label}: ")
        elif kind == "title_series_parenthetical":
            assert re.fullmatch(re.escape(truth) + r" \([^()]+\)", label)
        elif kind == "wrong_genre":
            assert label in GENRES and truth in GENRES and r["genre"] == label
        elif kind == "genre_unknown":
            assert label not in GENRES and truth in GENRES and r["genre"] == label
        elif kind == "answer_vs_metadata":
            assert r[FIELD_COLUMN[p["field"]]] == truth != label
        elif kind == "yes_no_contradiction":
            assert {label, truth} == {"Yes", "No"}
        elif kind == "empty_answer":
            assert label == "" and truth
        elif kind == "closed_not_yes_no":
            assert truth in ("Yes", "No") and label.rstrip(".").lower() == truth.lower()
        elif kind == "whitespace":
            assert label != label.strip() and label.strip() == truth
        if p["field"] in FIELD_COLUMN and kind != "answer_vs_metadata":
            # the metadata column carries the same bad value, as in the real data
            assert r[FIELD_COLUMN[p["field"]]] == label, p["id"]


def test_covers_show_the_truth(planted: dict[str, Any], rows: dict[str, dict[str, Row]]) -> None:
    """The drawn words (OCR tokens) support the truth, not the planted label."""
    for p in planted["problems"]:
        if p["field"] not in ("author", "title"):
            continue
        r = rows[p["split"]][p["image_id"]]
        shown = words(" ".join(r["ocr_tokens"]))
        assert words(p["truth"]) <= shown, p["id"]
        if p["kind"] in ("title_subtitle_added", "title_series_parenthetical"):
            extra = p["label"][len(p["truth"]) :]
            assert not words(extra) <= shown, p["id"]
        if p["kind"] == "author_initial_added":
            assert not words(p["label"]) <= shown, p["id"]


def test_author_problems_are_checkable_across_books(
    planted: dict[str, Any], all_rows: dict[str, Row], problem_of: dict[str, dict[str, Any]]
) -> None:
    groups: dict[str, list[str]] = planted["author_groups"]
    for p in planted["problems"]:
        if p["kind"] not in AUTHOR_KINDS and not (p["kind"] == "mojibake" and p["field"] == "author"):
            continue
        group = groups[p["truth"]]
        assert p["image_id"] in group
        others = [i for i in group if i != p["image_id"]]
        assert others, p["id"]
        for other in others:
            assert all_rows[other]["authorName"] == p["truth"], (p["id"], other)
            assert other not in problem_of or problem_of[other]["field"] != "author", (p["id"], other)


def test_author_groups_cover_every_row(planted: dict[str, Any], all_rows: dict[str, Row]) -> None:
    groups: dict[str, list[str]] = planted["author_groups"]
    members = [i for ids in groups.values() for i in ids]
    assert sorted(members) == sorted(all_rows)
    assert 120 <= len(groups) <= 190
    multi = [g for g, ids in groups.items() if 2 <= len(ids) <= 5]
    assert len(multi) >= 80
    assert max(len(ids) for ids in groups.values()) <= 5


def test_decoys_are_distinct_consistent_authors(
    planted: dict[str, Any], all_rows: dict[str, Row], problem_of: dict[str, dict[str, Any]]
) -> None:
    pairs = [tuple(d["names"]) for d in planted["decoys"]]
    for pair in [
        ("Richard J. Evans", "Richard Paul Evans"),
        ("Mary Monroe", "Mary Alice Monroe"),
        ("Linda C. Anderson", "Linda Ackerman Anderson"),
    ]:
        assert pair in pairs
    for d in planted["decoys"]:
        names = d["names"]
        assert len(set(names)) == len(names) >= 2
        for name in names:
            ids = planted["author_groups"][name]
            assert len(ids) >= 2, name
            assert set(ids) <= set(d["image_ids"])
            for i in ids:
                r = all_rows[i]
                assert i not in problem_of
                assert r["authorName"] == name
                assert name in r["answers"]
                assert words(name) <= words(" ".join(r["ocr_tokens"]))
        assert {all_rows[i]["authorName"] for i in d["image_ids"]} == set(names)
        # decoys differ in genre too, as the real people do
        genres = {name: {all_rows[i]["genre"] for i in planted["author_groups"][name]} for name in names}
        assert len({frozenset(g) for g in genres.values()}) == len(names)


# --- images ----------------------------------------------------------------------------------------


def test_odd_images_are_really_odd(planted: dict[str, Any], rows: dict[str, dict[str, Row]]) -> None:
    seen = set()
    for p in planted["problems"]:
        kind = p["kind"]
        if kind not in IMAGE_KINDS:
            continue
        assert p["field"] == "image"
        seen.add(kind)
        r = rows[p["split"]][p["image_id"]]
        data, path = r["image"]["bytes"], r["image"]["path"]
        w, h = r["image_width"], r["image_height"]
        assert len(r["questions"]) == len(r["answers"]) >= 4
        if kind == "not_an_image":
            with pytest.raises(UnidentifiedImageError):
                Image.open(io.BytesIO(data))
            assert (w, h) == (0, 0)
            continue
        im = Image.open(io.BytesIO(data))
        ext = {"JPEG": "jpg", "PNG": "png", "GIF": "gif"}[im.format]
        assert path.endswith(f".{ext}"), path
        if kind == "truncated_jpeg":
            assert im.format == "JPEG" and im.size == (w, h)
            with pytest.raises(OSError):
                im.load()
            continue
        if kind == "cmyk_jpeg":
            assert (im.format, im.mode, im.size) == ("JPEG", "CMYK", (w, h))
        elif kind == "palette_transparency":
            assert (im.format, im.mode, im.size) == ("PNG", "P", (w, h))
            assert "transparency" in im.info
        elif kind == "placeholder_gif":
            assert im.format == "GIF" and im.size == (w, h) and w * h <= 60 * 40
        elif kind == "la_png":
            assert (im.format, im.mode, im.size) == ("PNG", "LA", (w, h))
        elif kind == "i16_png":
            assert im.format == "PNG" and im.mode.startswith("I;16") and im.size == (w, h)
        elif kind == "exif_orientation":
            assert im.format == "JPEG" and im.getexif().get(0x0112) == 6
            assert im.size == (h, w)
            assert ImageOps.exif_transpose(im).size == (w, h)
        im.load()
    assert seen == IMAGE_KINDS


def test_ordinary_covers_decode_and_ocr_boxes_fit(
    all_rows: dict[str, Row], problem_of: dict[str, dict[str, Any]]
) -> None:
    for image_id, r in all_rows.items():
        p = problem_of.get(image_id)
        if p and p["kind"] in IMAGE_KINDS:
            continue
        im = Image.open(io.BytesIO(r["image"]["bytes"]))
        im.load()
        assert (im.format, im.mode) == ("JPEG", "RGB"), image_id
        w, h = im.size
        assert (w, h) == (r["image_width"], r["image_height"])
        assert 180 <= w <= 340 and 220 <= h <= 500 and h >= w, image_id
        assert r["ocr_tokens"] == [i["word"] for i in r["ocr_info"]]
        assert len(r["ocr_tokens"]) >= 2
        for info in r["ocr_info"]:
            box = info["bounding_box"]
            assert box["top_left_x"] >= 0 and box["top_left_x"] + box["width"] <= 1.0001
            assert box["top_left_y"] >= 0 and box["top_left_y"] + box["height"] <= 1.0001
            assert box["width"] > 0 and box["height"] > 0
        # the title and the author are drawn on every ordinary cover
        truth_title = r["title"] if not (p and p["field"] == "title") else p["truth"]
        if r["genre"] != "Calendars" and not (p and p["kind"] == "title_subtitle_added"):
            assert words(truth_title) <= words(" ".join(r["ocr_tokens"])), image_id


def test_load_dataset_decodes_images(
    demo_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rows: dict[str, dict[str, Row]],
    problem_of: dict[str, dict[str, Any]],
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
    import datasets

    data_files = {split: str(demo_dir / parquet_name(split)) for split in SPLITS}
    ds = datasets.load_dataset("parquet", data_files=data_files, cache_dir=str(tmp_path / "cache"))
    assert {split: ds[split].num_rows for split in SPLITS} == SPLITS
    assert isinstance(ds["train"].features["image"], datasets.Image)
    for split in SPLITS:
        ids = ds[split]["image_id"]
        ordinary = [i for i, image_id in enumerate(ids) if image_id not in problem_of][:3]
        for i in ordinary:
            item = ds[split][i]
            assert isinstance(item["image"], Image.Image)
            row = rows[split][item["image_id"]]
            assert item["image"].size == (row["image_width"], row["image_height"])
            assert item["questions"] == row["questions"]


@pytest.mark.slow
def test_generator_is_deterministic(demo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out)], check=True, timeout=600, capture_output=True)
    shipped = json.loads((demo_dir / "planted.json").read_text(encoding="utf-8"))
    fresh = json.loads((out / "planted.json").read_text(encoding="utf-8"))
    assert fresh == shipped
    assert (out / "README.md").read_text(encoding="utf-8") == (demo_dir / "README.md").read_text(encoding="utf-8")
    for split in SPLITS:
        a = pq.read_table(demo_dir / parquet_name(split))
        b = pq.read_table(out / parquet_name(split))
        # Box coordinates depend on the FreeType inside Pillow's wheel: words must match, boxes nearly.
        assert a.drop_columns(["image", "ocr_info"]).equals(b.drop_columns(["image", "ocr_info"])), split
        for info_a, info_b in zip(a.column("ocr_info").to_pylist(), b.column("ocr_info").to_pylist(), strict=True):
            assert [i["word"] for i in info_a] == [i["word"] for i in info_b]
            for box_a, box_b in zip(info_a, info_b, strict=True):
                assert box_a["bounding_box"] == pytest.approx(box_b["bounding_box"], abs=0.02)
        paths = [a.column("image").combine_chunks().field("path"), b.column("image").combine_chunks().field("path")]
        assert paths[0].equals(paths[1]), split
