"""Import from parquet in the OCR-VQA layout: sampling, explode, metadata, and every kind of bad input."""

import io
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from tools.synthetic_ocrvqa import SCHEMA, cover_jpeg, make_row, write_parquet
from vqa_desk.core.errors import Cancelled, SamplingError, SourceError, WorkspaceError
from vqa_desk.core.importer import import_dataset, partial_path
from vqa_desk.core.sampling import parse_sizes
from vqa_desk.core.workspace import Workspace


@pytest.fixture
def ocrvqa_dir(tmp_path: Path) -> Path:
    """A hub-like folder: data/train-0000{0,1}-of-00002-*.parquet, one validation and one test shard."""
    root = tmp_path / "ocrvqa"
    write_parquet(root / "data" / "train-00000-of-00002-aaa.parquet", 130, start=0, row_group_size=40)
    write_parquet(root / "data" / "train-00001-of-00002-bbb.parquet", 70, start=130, row_group_size=25)
    write_parquet(root / "data" / "validation-00000-of-00001-ccc.parquet", 60, start=1000, row_group_size=50)
    write_parquet(root / "data" / "test-00000-of-00001-ddd.parquet", 80, start=2000, row_group_size=30)
    return root


def _ids_by_rank(ws: Workspace, split: str) -> list[str]:
    return [r[0] for r in ws.connection.execute("SELECT image_id FROM images WHERE split = ? ORDER BY rank", (split,))]


def test_parquet_folder_is_sampled_and_exploded(ocrvqa_dir: Path, tmp_path: Path) -> None:
    result = import_dataset(str(ocrvqa_dir), tmp_path / "w.vqadesk", sizes=parse_sizes("50,20,30"), seed=42)
    assert result.images == {"train": 50, "validation": 20, "test": 30}
    assert result.qa_pairs == {"train": 250, "validation": 100, "test": 150}
    with Workspace.open(tmp_path / "w.vqadesk") as ws:
        s = ws.summary()
        assert s["question_types"] == {"yes_no": 200, "title": 100, "author": 100, "genre": 100}
        assert s["sampling"]["seed"] == 42 and s["source"]["kind"] == "parquet"
        assert s["source"]["split_rows"] == {"train": 200, "validation": 60, "test": 80}
        pk = ws.image_pk(_ids_by_rank(ws, "train")[0])
        row = ws.connection.execute("SELECT title, author, genre, source_ref, valid, format FROM images WHERE id = ?",
                                    (pk,)).fetchone()
        assert row[0].startswith("Book Number ") and row[1].startswith("Author ") and row[2]
        assert row[3].startswith("data/train-0000") and "#" in row[3]
        assert row[4] == 1 and row[5] == "JPEG"
        tokens, info = ws.image_ocr(pk)
        assert tokens[:2] == ["Book", "Number"] and info[0]["bounding_box"]["top_left_y"] == 0.1
        qa = ws.qa_for_image(pk)
        assert [q.qtype for q in qa] == ["title", "author", "genre", "yes_no", "yes_no"]
        assert qa[0].answer == qa[0].original_answer == row[0]
        assert len(ws.image_bytes(pk)) > 100


def test_sample_matches_datasets_shuffle_select(ocrvqa_dir: Path, tmp_path: Path) -> None:
    """The cookbook's sample is ds.shuffle(seed=42).select(range(n)); ours must pick the same rows in order."""
    import datasets

    files = {s: sorted(str(p) for p in (ocrvqa_dir / "data").glob(f"{s}-*.parquet"))
             for s in ("train", "validation", "test")}
    loaded = datasets.load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "hf"))
    import_dataset(str(ocrvqa_dir), tmp_path / "w.vqadesk", sizes=parse_sizes("50,20,30"), seed=7)
    with Workspace.open(tmp_path / "w.vqadesk") as ws:
        for split, n in (("train", 50), ("validation", 20), ("test", 30)):
            expected = loaded[split].shuffle(seed=7).select(range(n))["image_id"]
            assert _ids_by_rank(ws, split) == expected


def test_all_takes_every_row_in_shuffled_order(ocrvqa_dir: Path, tmp_path: Path) -> None:
    result = import_dataset(str(ocrvqa_dir), tmp_path / "w.vqadesk", sizes=parse_sizes("all,0,all"))
    assert result.images == {"train": 200, "test": 80}
    with Workspace.open(tmp_path / "w.vqadesk") as ws:
        ids = _ids_by_rank(ws, "train")
        assert sorted(ids) == sorted(f"B{i:09d}" for i in range(200)) and ids != sorted(ids)


def test_a_size_larger_than_the_split_is_a_clear_error(ocrvqa_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(SamplingError, match=r"test split has 80 covers but 100 were asked for.*'all'"):
        import_dataset(str(ocrvqa_dir), tmp_path / "w.vqadesk")  # the cookbook default 150,50,100
    assert not (tmp_path / "w.vqadesk").exists()


@pytest.mark.parametrize("text", ["150,50", "a,b,c", "1,-2,3", "1,,3"])
def test_bad_sizes_are_explained(text: str) -> None:
    with pytest.raises(SamplingError, match="--sizes"):
        parse_sizes(text)


def test_missing_columns_lists_found_and_needed(tmp_path: Path) -> None:
    table = pa.table({"image_id": ["1"], "question": ["Who wrote this book?"], "answer": ["X"]})
    pq.write_table(table, tmp_path / "train.parquet")
    with pytest.raises(SourceError) as err:
        import_dataset(str(tmp_path / "train.parquet"), tmp_path / "w.vqadesk")
    msg = str(err.value)
    assert "missing column(s) image, questions, answers" in msg
    assert "It has: image_id, question, answer" in msg
    assert "Needed: image, image_id, questions, answers" in msg


def _png(img: Image.Image, **kw: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **kw)
    return buf.getvalue()


def test_bad_rows_are_kept_and_explained(tmp_path: Path) -> None:
    noisy = io.BytesIO()
    Image.effect_noise((200, 300), 90).convert("RGB").save(noisy, "JPEG", quality=90)
    truncated = noisy.getvalue()[:3000]
    rows = [make_row(i, cover_jpeg(i)) for i in range(8)]
    rows[0]["image"]["bytes"] = truncated
    rows[1]["image"]["bytes"] = _png(Image.new("P", (120, 180)), transparency=0)
    rows[2]["image"]["bytes"] = b"definitely not an image"
    rows[3]["image_id"] = rows[4]["image_id"]  # duplicate id
    rows[3]["image"]["bytes"] = _png(Image.new("CMYK", (120, 180)).convert("RGB"))
    rows[4]["image"]["bytes"] = rows[3]["image"]["bytes"]
    rows[5]["questions"] = rows[5]["questions"][:3]  # 3 questions, 5 answers
    rows[6]["answers"] = rows[6]["answers"][:4]  # 5 questions, 4 answers
    rows[7]["questions"][1] = "   "  # empty question
    rows[7]["answers"][0] = ""  # empty answer
    rows[7]["answers"][2] = "HervÃ© Tullet"  # mojibake kept as is
    rows[7]["image"]["bytes"] = None
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), tmp_path / "train-00000.parquet")

    result = import_dataset(str(tmp_path / "train-00000.parquet"), tmp_path / "w.vqadesk", sizes=parse_sizes("all,0,0"))
    assert result.images == {"train": 8}
    assert result.issues["invalid_image"] == 3  # truncated, not an image, no bytes
    with Workspace.open(tmp_path / "w.vqadesk") as ws:
        by_id = {r[0]: r[1:] for r in ws.connection.execute(
            "SELECT image_id, valid, invalid_reason, mode FROM images")}
        assert by_id["B000000000"][0] == 0 and "damaged" in by_id["B000000000"][1]
        assert by_id["B000000001"][0] == 1 and by_id["B000000001"][2] == "P"
        assert by_id["B000000002"][0] == 0 and "not a readable image" in by_id["B000000002"][1]
        assert by_id["B000000007"][0] == 0 and by_id["B000000007"][1] == "no image bytes"
        assert "B000000004" in by_id and "B000000004#2" in by_id  # both copies kept
        issues = {k: m for k, m in ws.connection.execute("SELECT kind, message FROM import_issues")}
        assert "appears more than once" in issues["duplicate_image_id"]
        assert len(ws.qa_for_image(ws.image_pk("B000000005"))) == 3
        q6 = ws.qa_for_image(ws.image_pk("B000000006"))
        assert len(q6) == 5 and q6[-1].answer == ""
        assert "answers without a question were dropped" in next(
            m for k, m in ws.connection.execute("SELECT kind, message FROM import_issues WHERE image = ?",
                                                (ws.image_pk("B000000005"),)) if k == "length_mismatch")
        q7 = ws.qa_for_image(ws.image_pk("B000000007"))
        assert [q.idx for q in q7] == [0, 1, 2, 3]  # the empty question was skipped
        assert q7[0].answer == "" and "HervÃ© Tullet" in [q.answer for q in q7]
        assert "empty_question" in result.issues


def test_existing_target_is_refused_unless_forced_and_a_failed_force_keeps_it(ocrvqa_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "w.vqadesk"
    import_dataset(str(ocrvqa_dir), target, sizes=parse_sizes("5,5,5"))
    with Workspace.open(target) as ws:
        ws.set_answer(1, "my careful fix")
    with pytest.raises(WorkspaceError, match=r"already exists.*--force"):
        import_dataset(str(ocrvqa_dir), target, sizes=parse_sizes("5,5,5"))
    cancel = threading.Event()

    def stop_soon(done: int, total: int, message: str) -> None:
        cancel.set()

    with pytest.raises(Cancelled):
        import_dataset(str(ocrvqa_dir), target, sizes=parse_sizes("all,all,all"), force=True,
                       progress=stop_soon, cancel=cancel)
    assert not partial_path(target).exists()
    with Workspace.open(target) as ws:  # the old workspace, edit included, is untouched
        assert ws.qa(1).answer == "my careful fix"
    import_dataset(str(ocrvqa_dir), target, sizes=parse_sizes("6,6,6"), force=True)
    with Workspace.open(target) as ws:
        assert ws.summary()["images"] == {"train": 6, "validation": 6, "test": 6} and ws.summary()["edits"] == 0


def test_unknown_source_and_folder_without_data(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        import_dataset(str(tmp_path / "nothing"), tmp_path / "w.vqadesk")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match=r"no \.parquet files"):
        import_dataset(str(tmp_path / "empty"), tmp_path / "w.vqadesk")
    (tmp_path / "x.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(SourceError, match=r"not a readable parquet"):
        import_dataset(str(tmp_path / "x.parquet"), tmp_path / "w.vqadesk")


def test_unwritable_target_folder(ocrvqa_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(WorkspaceError, match="does not exist"):
        import_dataset(str(ocrvqa_dir), blocker / "w.vqadesk", sizes=parse_sizes("1,1,1"))
    with pytest.raises(WorkspaceError, match=r"the folder .*mistyped does not exist"):
        import_dataset(str(ocrvqa_dir), tmp_path / "mistyped" / "w.vqadesk", sizes=parse_sizes("1,1,1"))
    assert not (tmp_path / "mistyped").exists()


def test_all_sizes_zero_is_refused(ocrvqa_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(SamplingError, match="Nothing to import"):
        import_dataset(str(ocrvqa_dir), tmp_path / "w.vqadesk", sizes=parse_sizes("0,0,0"))


def test_split_option_is_noted_when_the_source_names_its_splits(ocrvqa_dir: Path, tmp_path: Path) -> None:
    result = import_dataset(str(ocrvqa_dir), tmp_path / "w.vqadesk", sizes=parse_sizes("1,1,1"), split="test")
    assert any("--split test was ignored" in n for n in result.notes)
