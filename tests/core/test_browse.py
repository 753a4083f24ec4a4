from pathlib import Path

import pytest

from tools.synthetic_ocrvqa import write_parquet
from vqa_desk.core.browse import CoverFilter, CoverIndex, build_search_index
from vqa_desk.core.importer import import_dataset
from vqa_desk.core.sampling import parse_sizes
from vqa_desk.core.workspace import Workspace


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    def calendars(row: dict) -> None:
        if row["image_id"].endswith("7"):
            row["questions"].append("What is the year printed on this calendar?")
            row["answers"].append("2014")

    write_parquet(tmp_path / "src" / "train.parquet", 40, mutate=calendars)
    write_parquet(tmp_path / "src" / "test.parquet", 20, start=100)
    path = tmp_path / "ws.vqadesk"
    import_dataset(str(tmp_path / "src"), path, sizes=parse_sizes("all,0,all"))
    return path


def test_rows_come_in_split_then_sample_order(ws_path: Path) -> None:
    with Workspace.open(ws_path) as ws:
        index = CoverIndex.load(ws)
        ranks = [ws.connection.execute("SELECT split, rank FROM images WHERE id = ?", (r.pk,)).fetchone()
                 for r in index.rows]
    assert [s for s, _ in ranks] == ["train"] * 40 + ["test"] * 20
    assert [r for _, r in ranks] == list(range(40)) + list(range(20))


def test_filters(ws_path: Path) -> None:
    with Workspace.open(ws_path) as ws:
        index = CoverIndex.load(ws)
        assert len(index.filter(CoverFilter())) == 60
        assert len(index.filter(CoverFilter(split="test"))) == 20
        # Before the search index exists, text search still covers titles and authors.
        assert [index.rows[i].image_id for i in index.filter(CoverFilter(text="Number 12"))] == [
            "B000000012", "B000000112"]
        index.search = build_search_index(ws_path, index.rows)
        assert len(index.filter(CoverFilter(qtype="year"))) == 4  # ids 7, 17, 27, 37
        assert len(index.filter(CoverFilter(qtype="year", split="test"))) == 0
        # Only the genre answers say "Travel" (questions are not searched): ids with i % 7 == 2.
        travel = {index.rows[i].image_id for i in index.filter(CoverFilter(text="TRAVEL"))}
        assert travel == {r.image_id for r in index.rows if int(r.image_id[1:]) % 7 == 2}
        # Several words must all match, each anywhere in the cover's texts.
        assert [index.rows[i].image_id for i in index.filter(CoverFilter(text="2014 number 17"))] == ["B000000017"]
        qa_id = ws.qa_for_image(index.rows[0].pk)[1].id
        ws.set_answer(qa_id, "Zebediah Quux")
        index.update_cover(ws, index.rows[0].pk)
        assert index.filter(CoverFilter(text="zebediah")) == [0]
        assert index.filter(CoverFilter(edited=True)) == [0]
        assert len(index.filter(CoverFilter(edited=False))) == 59
        ws.revert_answer(qa_id)
        index.update_cover(ws, index.rows[0].pk)
        assert index.filter(CoverFilter(edited=True)) == []
        assert index.filter(CoverFilter(invalid_only=True)) == []
