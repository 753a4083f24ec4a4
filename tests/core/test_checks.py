"""Each check on small hand-made workspaces, and the findings life cycle (store, re-run, apply, undo, dismiss)."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tools.synthetic_ocrvqa import SCHEMA, cover_jpeg
from vqa_desk.core import findings as store
from vqa_desk.core.checks import TitlePolicy, run_checks
from vqa_desk.core.importer import import_dataset
from vqa_desk.core.timeutil import utc_now
from vqa_desk.core.workspace import Workspace


def _row(image_id: str, title: str, author: str, genre: str, qa: list[tuple[str, str]], *,
         meta: dict | None = None) -> dict:
    meta = meta or {}
    # Cover-sized images (the OCR lines below are placed on a 300 x 450 cover): the title check asks whether
    # small print is big enough on the cover for its absence to mean something.
    return {"image": {"bytes": cover_jpeg(hash(image_id) % 50, (300, 450)), "path": f"{image_id}.jpg"},
            "image_id": image_id,
            "questions": [q for q, _ in qa], "answers": [a for _, a in qa], "ocr_tokens": [], "ocr_info": [],
            "title": meta.get("title", title), "authorName": meta.get("author", author),
            "genre": meta.get("genre", genre), "image_width": 300, "image_height": 450, "image_url": "",
            "set_name": "train"}


def _book(image_id: str, title: str, author: str, genre: str, meta: dict | None = None) -> dict:
    return _row(image_id, title, author, genre, [("What is the title of this book?", title),
                                                 ("Who wrote this book?", author),
                                                 ("What is the genre of this book?", genre)], meta=meta)


def _workspace(tmp_path: Path, rows: list[dict]) -> Path:
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), tmp_path / "train.parquet")
    path = tmp_path / "ws.vqadesk"
    import_dataset(str(tmp_path / "train.parquet"), path, sizes={"train": None})
    return path


def _ocr(ws: Workspace, image_id: str, *lines: tuple[str, float]) -> None:
    """Cover text as the OCR engine would store it: (text, line height) from top to bottom."""
    top, out = 10.0, []
    for text, height in lines:
        out.append({"text": text, "score": 0.99, "box": [[5, top], [90, top], [90, top + height], [5, top + height]]})
        top += height + 8
    with ws.transaction() as c:
        c.execute("INSERT INTO ocr_lines(image, engine, lines, error, created_at) VALUES (?, 'test', ?, NULL, ?)",
                  (ws.image_pk(image_id), json.dumps(out), utc_now()))


def _changes(run, kind: str) -> dict[tuple[str, str], str]:
    return {(c.image_id, c.question): c.new for f in run.findings if f.kind == kind and not f.possible
            for c in f.changes}


def test_formatting(tmp_path: Path) -> None:
    path = _workspace(tmp_path, [
        _row("A", "Moon", "Ann Lee", "Travel", [("Who wrote this book?", " Ann  Lee "),
                                                ("Is this a journey related book?", "yes."),
                                                ("What is the title of this book?", "CafÃ© Nights"),
                                                ("What is the genre of this book?", "")], meta={"genre": "Travel"}),
        _row("B", "Loud", "MARK MILLAR", "Comics & Graphic Novels", [("Who wrote this book?", "MARK MILLAR"),
                                                                     ("Is this a comics book?", "Maybe")]),
    ])
    with Workspace.open(path) as ws:
        run = run_checks(ws, use_ocr=False)
    fixes = _changes(run, "formatting")
    assert fixes[("A", "Who wrote this book?")] == "Ann Lee"
    assert fixes[("A", "Is this a journey related book?")] == "Yes"
    assert fixes[("A", "What is the title of this book?")] == "Café Nights"
    assert fixes[("A", "What is the genre of this book?")] == "Travel"  # empty, filled from the genre column
    assert fixes[("B", "Who wrote this book?")] == "Mark Millar"
    assert ("B", "Is this a comics book?") not in fixes  # "Maybe" is no yes/no we can map


def test_answer_vs_metadata_and_yes_no(tmp_path: Path) -> None:
    path = _workspace(tmp_path, [
        _book("A", "Teaching Writing", "Black, Elizabeth U.", "Education & Teaching",
              {"title": "Teaching Writing: Lessons That Stick", "author": "Elizabeth U. Black"}),
        _row("B", "Sand", "Ann Lee", "Travel", [("What is the genre of this book?", "Travel"),
                                                ("Is this book related to Travel?", "No"),
                                                ("Is this book related to Law?", "No"),
                                                ("Is this a romantic book?", "Yes")]),
    ])
    with Workspace.open(path) as ws:
        run = run_checks(ws, use_ocr=False)
    fixes = _changes(run, "answer_vs_metadata")
    assert fixes == {("A", "What is the title of this book?"): "Teaching Writing: Lessons That Stick",
                     ("A", "Who wrote this book?"): "Elizabeth U. Black",
                     ("B", "Is this book related to Travel?"): "Yes",
                     ("B", "Is this a romantic book?"): "No"}


def test_unknown_genre_and_same_title(tmp_path: Path) -> None:
    path = _workspace(tmp_path, [
        _book("A", "Soup Every Day", "Ann Lee", "Cooking"),
        _book("B", "Night Train", "Bo Li", "Mystery, Thriller & Suspense"),
        _book("C", "Night Train", "Bo Li", "Mystery, Thriller & Suspense"),
        _book("D", "Night Train: A Novel", "Bo Li", "Romance"),
    ])
    with Workspace.open(path) as ws:
        run = run_checks(ws, use_ocr=False)
    assert _changes(run, "genre")[("A", "What is the genre of this book?")] == "Cookbooks, Food & Wine"
    same = [f for f in run.findings if f.detail == "same_title_different_genre"]
    assert len(same) == 1 and [c.image_id for c in same[0].changes] == ["D"]
    assert same[0].changes[0].new == "Mystery, Thriller & Suspense" and same[0].possible


def test_author_variants_need_cover_evidence_to_merge(tmp_path: Path) -> None:
    rows = [_book(f"M{i}", f"Book {i}", "Marcia S. Brown", "Children's Books") for i in range(3)]
    rows.append(_book("M9", "Book 9", "Marcia Brown", "Children's Books"))
    rows += [_book(f"P{i}", f"Case {i}", "James Patterson", "Literature & Fiction") for i in range(2)]
    rows += [_book(f"T{i}", f"Age {i}", "James T. Patterson", "History") for i in range(2)]
    rows += [_book("D1", "Cells", "Dr. Jason Dunn", "Medical Books"),
             _book("D2", "Hearts", "Jason Dunn", "Medical Books"), _book("D3", "Lungs", "Jason Dunn", "Medical Books")]
    rows += [_book("R1", "War", "Richard J. Evans", "History"), _book("R2", "Gift", "Richard Paul Evans", "Romance")]
    path = _workspace(tmp_path, rows)
    with Workspace.open(path) as ws:
        text_only = run_checks(ws, use_ocr=False)
        for iid in ("M0", "M1", "M2", "M9"):
            _ocr(ws, iid, ("BOOK", 30), ("MARCIA S. BROWN", 14))
        for iid in ("P0", "P1"):
            _ocr(ws, iid, ("CASE", 30), ("JAMES PATTERSON", 14))
        for iid in ("T0", "T1"):
            _ocr(ws, iid, ("AGE", 30), ("James T. Patterson", 14))
        with_cover = run_checks(ws, use_ocr=True)
    who = "Who wrote this book?"
    # Without covers: the degree is removed (same person for sure), the initial only flagged as possible.
    assert _changes(text_only, "author_variant") == {("D1", who): "Jason Dunn"}
    possible = [f for f in text_only.findings if f.detail == "possible_same_person"]
    assert possible and all(not f.changes for f in possible)
    # With covers: Marcia Brown's cover prints the initial; the Pattersons' covers print their own names.
    assert _changes(with_cover, "author_variant") == {("D1", who): "Jason Dunn", ("M9", who): "Marcia S. Brown"}
    for f in with_cover.findings:
        for c in f.changes:
            assert {c.old, c.new} not in ({"James Patterson", "James T. Patterson"},
                                          {"Richard J. Evans", "Richard Paul Evans"})


def test_titles_follow_the_policy_and_the_cover(tmp_path: Path) -> None:
    path = _workspace(tmp_path, [
        _book("S", "Magnets: Pulling Together, Pushing Apart (Amazing Science)", "Ann Lee", "Science & Math"),
        _book("U", "Modern Embroidery: Creative Ideas for the Home", "Gabriel Bell", "Crafts, Hobbies & Home"),
        _book("M", "Silence of the Mind", "Bo Li", "Religion & Spirituality"),
        _book("K", "Lighthouse: A Novel", "Cy Fox", "Literature & Fiction"),
    ])
    with Workspace.open(path) as ws:
        _ocr(ws, "S", ("MAGNETS", 40), ("Pulling Together, Pushing Apart", 18), ("ANN LEE", 14))
        _ocr(ws, "U", ("MODERN", 30), ("EMBROIDERY", 30), ("GABRIEL BELL", 14))
        _ocr(ws, "M", ("Silence of", 40), ("the Mind", 40), ("A Buddhist Guide to Happiness", 18), ("Bo Li", 16))
        _ocr(ws, "K", ("Lighthouse", 40), ("A Novel", 18), ("Cy Fox", 14))
        printed = run_checks(ws, use_ocr=True, policy=TitlePolicy.AS_PRINTED)
        main_only = run_checks(ws, use_ocr=True, policy=TitlePolicy.MAIN_TITLE)
        catalogue = run_checks(ws, use_ocr=True, policy=TitlePolicy.CATALOGUE)
        blind = run_checks(ws, use_ocr=False, policy=TitlePolicy.AS_PRINTED)
    q = "What is the title of this book?"
    assert _changes(printed, "title_vs_cover") == {
        ("S", q): "Magnets: Pulling Together, Pushing Apart",
        ("U", q): "Modern Embroidery",
        ("M", q): "Silence of the Mind: A Buddhist Guide to Happiness",
    }
    assert _changes(main_only, "title_vs_cover") == {("S", q): "Magnets", ("U", q): "Modern Embroidery",
                                                     ("K", q): "Lighthouse"}
    assert _changes(catalogue, "title_vs_cover") == {}
    assert _changes(blind, "title_vs_cover") == {}  # no cover text, no grounds


def test_findings_life_cycle(tmp_path: Path) -> None:
    path = _workspace(tmp_path, [
        _row("A", "Moon", "Ann Lee", "Travel", [("Who wrote this book?", "Ann  Lee"), ("Is this a kids book?", "no"),
                                                ("What is the title of this book?", "Moon ")]),
    ])
    with Workspace.open(path) as ws:
        first = store.store_run(ws, run_checks(ws, use_ocr=False))
        assert first.new == 3 and first.open == 3
        by_q = {f.changes[0].question: f for f in store.load(ws)}
        store.dismiss(ws, [by_q["Is this a kids book?"].id], "the label is fine as it is")
        with pytest.raises(store.FindingError, match="Say why"):
            store.dismiss(ws, [by_q["Who wrote this book?"].id], " ")
        edits = store.apply(ws, [by_q["Who wrote this book?"].id])
        assert [(e.old, e.new, e.source) for e in edits] == [("Ann  Lee", "Ann Lee", "check:formatting")]
        again = store.store_run(ws, run_checks(ws, use_ocr=False))
        assert again.new == 0 and again.kept_dismissed == 1 and again.open == 1
        statuses = {f.changes[0].question: f.status for f in store.load(ws)}
        assert statuses == {"Who wrote this book?": "applied", "Is this a kids book?": "dismissed",
                            "What is the title of this book?": "open"}
        # undo of an apply: the answer and the finding go back together
        store.revert(ws, [by_q["Who wrote this book?"].id])
        assert ws.qa(by_q["Who wrote this book?"].changes[0].qa_id).answer == "Ann  Lee"
        assert store.load(ws, ids=[by_q["Who wrote this book?"].id])[0].status == "open"
        # a suggestion made for an answer that changed since is refused
        title = by_q["What is the title of this book?"]
        ws.set_answer(title.changes[0].qa_id, "Sun")
        with pytest.raises(store.FindingError, match="changed after the checks ran"):
            store.apply(ws, [title.id])
        # fixing the answer by hand resolves the open finding on the next run
        ws.set_answer(title.changes[0].qa_id, "Moon")
        final = store.store_run(ws, run_checks(ws, use_ocr=False))
        assert final.resolved == 1
        assert store.counts_by_image(ws) == {ws.image_pk("A"): 1}


def test_bulk_selection_skips_possible_and_low_confidence(tmp_path: Path) -> None:
    rows = [_book(f"M{i}", f"Book {i}", "Marcia S. Brown", "Children's Books") for i in range(3)]
    rows.append(_book("M9", "Book 9", "Marcia Brown", "Children's Books"))
    rows.append(_book("X", "LOUD BOOK", "Ann Lee", "Travel"))
    path = _workspace(tmp_path, rows)
    with Workspace.open(path) as ws:
        store.store_run(ws, run_checks(ws, use_ocr=False))
        picked = store.select_for_apply(ws, kind="all", min_confidence=0.0)
        assert picked and all(not f.possible and f.changes for f in picked)
        assert {f.detail for f in store.select_for_apply(ws, kind="all", min_confidence=0.9)} == set()
        assert {f.detail for f in picked} == {"all_caps"}


def test_ocr_failures_are_per_cover(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vqa_desk.core import ocr

    path = _workspace(tmp_path, [_book(f"B{i}", f"Book {i}", "Ann Lee", "Travel") for i in range(5)])
    calls = []

    def fake_read(data: bytes) -> list:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the engine crashed on this one")
        return [ocr.OcrLine("BOOK", 0.99, 10.0, 30.0, ((0, 10), (50, 10), (50, 40), (0, 40)))]

    monkeypatch.setattr(ocr, "read_cover", fake_read)
    run = ocr.run_ocr(path, workers=1)
    assert run.read == 4 and len(run.failed) == 1
    assert "the engine crashed" in next(iter(run.failed.values()))
    with Workspace.open(path) as ws:
        assert ws.connection.execute("SELECT count(*) FROM ocr_lines WHERE error IS NULL").fetchone()[0] == 4
        assert len(ocr.cover_lines(ws)) == 4
    again = ocr.run_ocr(path, workers=1)  # cached covers are not read twice; the failed one is retried
    assert again.skipped_cached == 4 and again.read == 1 and again.failed == {}


def test_real_ocr_reads_a_demo_cover(tmp_path: Path) -> None:
    from vqa_desk.core.ocr import read_cover

    path = tmp_path / "demo.vqadesk"
    import_dataset("demo", path)
    with Workspace.open(path) as ws:
        pk, title, author = ws.connection.execute(
            "SELECT id, title, author FROM images WHERE valid = 1 AND title NOT LIKE '%:%' LIMIT 1").fetchone()
        lines = read_cover(ws.image_bytes(pk))
    text = " ".join(line.text for line in lines).casefold()
    assert author.casefold() in text
    assert all(w.casefold() in text for w in title.split())


def test_non_latin_and_empty_authors(tmp_path: Path) -> None:
    path = _workspace(tmp_path, [
        _book("J1", "ノルウェイの森", "村上 春樹", "Literature & Fiction"),
        _book("J2", "海辺のカフカ", "村上  春樹", "Literature & Fiction"),
        _book("R1", "Война и мир", "Лев Толстой", "Literature & Fiction"),
        _book("R2", "Анна Каренина", "ЛЕВ ТОЛСТОЙ", "Literature & Fiction"),
        _row("E", "Nameless", "", "Travel", [("Who wrote this book?", "")]),
    ])
    with Workspace.open(path) as ws:
        run = run_checks(ws, use_ocr=False)
    fixes = {(c.image_id, c.question): c.new for f in run.findings for c in f.changes}
    assert fixes[("J2", "Who wrote this book?")] == "村上 春樹"
    assert fixes[("R2", "Who wrote this book?")] == "Лев Толстой"
    empty = [f for f in run.findings if f.detail == "empty"]
    assert len(empty) == 1 and not empty[0].changes  # nothing to fill it from: flagged, not guessed


def test_titles_on_real_cover_layouts(tmp_path: Path) -> None:
    """What real covers taught: series words inside the main title, blurbs beside the title, small covers and
    unreadable text that prove no absence."""
    small = dict(_book("TH", "Honor: The Breaking Point", "Jay Crownover", "Romance"))
    small["image"] = {"bytes": cover_jpeg(7, (180, 271)), "path": "TH.jpg"}
    small["image_width"], small["image_height"] = 180, 271
    path = _workspace(tmp_path, [
        _book("IS", "Islam Today (Religion Today)", "Ann Lee", "Religion & Spirituality"),
        _book("BL", "Merry Ever After", "Cy Fox", "Romance"),
        _book("QU", "Enigma", "Bo Li", "History"),
        small,
        _book("UN", "Club 42: A Choose-Your-Own Erotic Fantasy", "Jo Angel", "Romance"),
        _book("OK", "The Fire Years: Life in the Drought", "Sam Reed", "History"),
    ])
    with Workspace.open(path) as ws:
        _ocr(ws, "IS", ("ISLAM TODAY", 40), ("ANN LEE", 14))
        _ocr(ws, "BL", ("Merry Ever After", 40), ("New York Times Bestselling Author", 14), ("Cy Fox", 20))
        _ocr(ws, "QU", ("ENIGMA", 60), ("'Cracking stuff' THE SUNDAY TIMES", 14), ("BO LI", 20))
        _ocr(ws, "TH", ("JAY CROWNOVER", 20), ("HONOR", 36))
        _ocr(ws, "UN", ("CLUB 42", 60))
        with ws.transaction() as c:  # the line under the title was seen but not read
            unread = {"text": "A CANE--IY ERNC ELOTASY", "score": 0.61, "box": [[5, 78], [90, 78], [90, 94], [5, 94]]}
            c.execute("UPDATE ocr_lines SET lines = json_insert(lines, '$[#]', json(?)) WHERE image = ?",
                      (json.dumps(unread), ws.image_pk("UN")))
        _ocr(ws, "OK", ("THE FIRE YEARS", 40), ("SAM REED", 14))
        run = run_checks(ws, use_ocr=True, policy=TitlePolicy.AS_PRINTED)
    q = "What is the title of this book?"
    # "Religion Today" is not printed although "Today" is: the main title's own word does not count.
    # "Life in the Drought" is really absent on a cover large enough and read cleanly.
    assert _changes(run, "title_vs_cover") == {("IS", q): "Islam Today", ("OK", q): "The Fire Years"}
    by_image = {f.changes[0].image_id if f.changes else f.summary.split(":")[0]: f
                for f in run.findings if f.kind == "title_vs_cover"}
    # A thumbnail's small print and a line OCR could not read prove nothing: only "possible", with no change.
    for iid, why in (("TH", "too small"), ("UN", "could not read")):
        assert by_image[iid].possible and not by_image[iid].changes
        assert any(why in e for e in by_image[iid].evidence)
    # Sales lines and quotes beside the title are not subtitles.
    assert "BL" not in by_image and "QU" not in by_image


def test_formatting_keeps_acronyms_and_author_groups_have_clean_canonical_forms(tmp_path: Path) -> None:
    path = _workspace(tmp_path, [
        _row("G", "GCHQ", "RICHARD ALDRICH", "History", [("What is the title of this book?", "GCHQ: THE SECRET WAR"),
                                                         ("Who wrote this book?", "RICHARD ALDRICH")]),
        _row("R", "The RNLI Story", "Ann Lee", "History", [("What is the title of this book?", "The RNLI Story")]),
        _row("R2", "RNLI LIFEBOATS", "Ann Lee", "History", [("What is the title of this book?", "RNLI LIFEBOATS")]),
        *[_book(f"L{i}", f"Nursing {i}", "Lippincott  Williams & Wilkins", "Medical Books") for i in range(3)],
        _book("L9", "Nursing 9", "Lippincott Williams & Wilkins", "Medical Books"),
        _book("A1", "Diet", "Robert C. M.D. Atkins", "Health, Fitness & Dieting"),
        _book("A2", "Diet 2", "Robert C. Atkins", "Health, Fitness & Dieting"),
        _book("A3", "Diet 3", "Robert C. Atkins", "Health, Fitness & Dieting"),
    ])
    with Workspace.open(path) as ws:
        run = run_checks(ws, use_ocr=False)
    t, w = "What is the title of this book?", "Who wrote this book?"
    fmt = _changes(run, "formatting")
    assert fmt[("G", t)] == "GCHQ: The Secret War" and fmt[("G", w)] == "Richard Aldrich"
    assert fmt[("R2", t)] == "RNLI Lifeboats"  # RNLI has a vowel; the catalogue's own spelling keeps it
    authors = _changes(run, "author_variant")
    assert authors == {("A1", w): "Robert C. Atkins"}  # a degree in the middle is a degree
    for f in run.findings:  # no canonical form carries a doubled space
        for c in f.changes:
            assert "  " not in c.new, (f.kind, c.new)
