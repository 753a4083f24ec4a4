"""The other sources: save_to_disk folders, the hub (offline), and OpenAI chat-format JSONL files."""

import base64
import json
from pathlib import Path

import pytest

from tools.synthetic_ocrvqa import cover_jpeg, write_parquet
from vqa_desk.core.dataset import split_from_name
from vqa_desk.core.errors import SourceError
from vqa_desk.core.importer import import_dataset
from vqa_desk.core.sampling import parse_sizes
from vqa_desk.core.workspace import Workspace


def test_save_to_disk_folder_with_image_feature(tmp_path: Path) -> None:
    import datasets

    write_parquet(tmp_path / "src" / "train.parquet", 30, row_group_size=10)
    write_parquet(tmp_path / "src" / "test.parquet", 12, start=500)
    loaded = datasets.load_dataset("parquet", data_files={"train": str(tmp_path / "src" / "train.parquet"),
                                                          "test": str(tmp_path / "src" / "test.parquet")},
                                   cache_dir=str(tmp_path / "hf"))
    loaded = loaded.cast_column("image", datasets.Image())  # as the hub dataset declares it
    loaded.save_to_disk(str(tmp_path / "saved"))

    result = import_dataset(str(tmp_path / "saved"), tmp_path / "w.vqadesk", sizes=parse_sizes("10,0,all"), seed=42)
    assert result.images == {"train": 10, "test": 12}
    with Workspace.open(tmp_path / "w.vqadesk") as ws:
        ids = [r[0] for r in ws.connection.execute("SELECT image_id FROM images WHERE split='train' ORDER BY rank")]
        assert ids == loaded["train"].shuffle(seed=42).select(range(10))["image_id"]
        pk = ws.image_pk(ids[0])
        assert ws.image_bytes(pk)[:3] == b"\xff\xd8\xff"  # the original JPEG bytes, not a re-encoding
        assert ws.connection.execute("SELECT source_ref FROM images WHERE id = ?", (pk,)).fetchone()[0].startswith(
            str(tmp_path / "saved") + ":train#")


def test_hub_offline_gives_an_actionable_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SourceError) as err:
        import_dataset("hf:howard-hou/OCR-VQA", tmp_path / "w.vqadesk", cache_dir=tmp_path / "hf-cache")
    assert "HF_HUB_OFFLINE" in str(err.value) and "--from <folder>" in str(err.value)
    assert not (tmp_path / "w.vqadesk").exists()
    with pytest.raises(SourceError, match="needs a dataset id"):
        import_dataset("hf:", tmp_path / "w.vqadesk")


def _data_url(data: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


def _example(question: str, answer: str | None, image: bytes, few_shot: bytes) -> dict:
    messages = [
        {"role": "system", "content": "Answer questions about book covers."},
        {"role": "user", "content": [{"type": "text", "text": "Question [0]: Who wrote this book?"},
                                     {"type": "image_url", "image_url": {"url": _data_url(few_shot)}}]},
        {"role": "assistant", "content": "Someone Else"},
        {"role": "user", "content": [{"type": "text", "text": f"Question [7]: {question}"},
                                     {"type": "image_url", "image_url": {"url": _data_url(image)}}]},
    ]
    if answer is not None:
        messages.append({"role": "assistant", "content": answer})
    return {"messages": messages}


def test_openai_chat_jsonl_groups_lines_by_image(tmp_path: Path) -> None:
    a, b, shot = cover_jpeg(1), cover_jpeg(2), cover_jpeg(3)
    lines = [
        json.dumps(_example("What is the title of this book?", "Moon Tides", a, shot)),
        json.dumps(_example("Who wrote this book?", "Marcia Brown", a, shot)),
        "{this line is broken",
        json.dumps(_example("Is this a travel book?", "No", b, shot)),
        "",
        json.dumps({"messages": [{"role": "user", "content": "What type of book is this?"},
                                 {"role": "assistant", "content": [{"type": "text", "text": "Travel"}]}]}),
    ]
    path = tmp_path / "ocrvqa_validation.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = import_dataset(str(path), tmp_path / "w.vqadesk")
    assert result.images == {"validation": 3}  # split from the file name, everything imported
    assert result.qa_pairs == {"validation": 4}
    with Workspace.open(tmp_path / "w.vqadesk") as ws:
        covers = list(ws.connection.execute("SELECT id, image_id, valid, invalid_reason FROM images ORDER BY id"))
        by_questions = {tuple(q.question for q in ws.qa_for_image(pk)): (pk, valid, reason)
                        for pk, _, valid, reason in covers}
        pk_a, valid_a, _ = by_questions[("What is the title of this book?", "Who wrote this book?")]
        assert valid_a == 1 and ws.image_bytes(pk_a) == a
        assert [q.answer for q in ws.qa_for_image(pk_a)] == ["Moon Tides", "Marcia Brown"]
        assert [q.qtype for q in ws.qa_for_image(pk_a)] == ["title", "author"]
        _, valid_text, reason = by_questions[("What type of book is this?",)]
        assert valid_text == 0 and reason == "no image bytes"
        issues = [m for (m,) in ws.connection.execute("SELECT message FROM import_issues WHERE kind='bad_line'")]
        assert issues == ["ocrvqa_validation.jsonl line 3: not valid JSON (Expecting property name enclosed in "
                          "double quotes); the line was skipped"]


def test_jsonl_test_file_without_answers_and_explicit_split(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps(_example("Who wrote this book?", None, cover_jpeg(5), cover_jpeg(6))) + "\n")
    result = import_dataset(str(path), tmp_path / "w.vqadesk", split="test")
    assert result.qa_pairs == {"test": 1}
    with Workspace.open(tmp_path / "w.vqadesk") as ws:
        assert ws.qa(1).answer == ""


def test_jsonl_with_nothing_usable(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text('{"messages": []}\nnot json\n')
    with pytest.raises(SourceError, match=r"holds no usable chat examples. Line 1: no 'messages' list"):
        import_dataset(str(path), tmp_path / "w.vqadesk")


@pytest.mark.parametrize(("name", "split"), [
    ("train-00000-of-00016-53a0.parquet", "train"), ("validation-00000-of-00002.parquet", "validation"),
    ("ocrvqa_val.jsonl", "validation"), ("test.jsonl", "test"), ("books.parquet", None), ("contest.jsonl", None),
])
def test_split_from_file_name(name: str, split: str | None) -> None:
    assert split_from_name(name) == split


def test_jsonl_line_with_invalid_utf8_is_kept_and_noted(tmp_path: Path) -> None:
    line = json.dumps(_example("Who wrote this book?", "Herv\u00e9 Tullet", cover_jpeg(8), cover_jpeg(9)),
                      ensure_ascii=False)
    raw = line.encode("utf-8").replace("Herv\u00e9".encode(), b"Herv\xe9")  # a latin-1 byte inside UTF-8 text
    path = tmp_path / "train.jsonl"
    path.write_bytes(raw + b"\n")
    import_dataset(str(path), tmp_path / "w.vqadesk")
    with Workspace.open(tmp_path / "w.vqadesk") as ws:
        assert ws.qa(1).answer == "Herv\ufffd Tullet"
        kinds = [k for (k,) in ws.connection.execute("SELECT kind FROM import_issues")]
        assert kinds == ["not_utf8"]


def test_demo_import_ignores_a_folder_named_demo_in_the_current_directory(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "demo").mkdir()
    monkeypatch.chdir(tmp_path)
    result = import_dataset("demo", tmp_path / "w.vqadesk", sizes=parse_sizes("3,1,1"))
    assert result.images == {"train": 3, "validation": 1, "test": 1}
    with Workspace.open(tmp_path / "w.vqadesk") as ws:
        refs = [r for (r,) in ws.connection.execute("SELECT source_ref FROM images")]
    assert all(r.startswith(("train-", "validation-", "test-")) for r in refs)
