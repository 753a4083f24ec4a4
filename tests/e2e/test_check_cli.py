import json
import shutil
from pathlib import Path

import pytest

from vqa_desk.cli import main
from vqa_desk.core.workspace import Workspace


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    path = tmp_path / "demo.vqadesk"
    assert main(["new", str(path), "--from", "demo"]) == 0
    return path


def _json(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out)


def test_check_json_contract_and_headless_apply(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["check", str(demo), "--no-ocr", "--json"]) == 0
    out = _json(capsys)
    assert set(out["counts"]) == {"author_variant", "title_vs_cover", "answer_vs_metadata", "formatting", "genre"}
    assert out["cover_text"] is False and out["counts"]["formatting"] > 10
    f = out["findings"][0]
    assert {"id", "kind", "confidence", "status", "evidence", "changes"} <= set(f)
    assert {"qa_id", "image_id", "question", "old", "new"} <= set(out["findings"][0]["changes"][0])
    assert main(["check", str(demo), "--no-ocr", "--apply", "formatting", "--min-confidence", "0.95",
                 "--json"]) == 0
    applied = _json(capsys)
    assert applied["applied"]["findings"] > 0 and applied["applied"]["edits"] >= applied["applied"]["findings"]
    with Workspace.open(demo) as ws:
        sources = {s for (s,) in ws.connection.execute("SELECT DISTINCT source FROM edits")}
    assert sources == {"check:formatting"}
    assert main(["check", str(demo), "--no-ocr", "--json"]) == 0
    assert _json(capsys)["counts"]["formatting"] < out["counts"]["formatting"]


def test_check_with_cached_ocr_and_human_output(ocr_demo_template: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "demo.vqadesk"
    shutil.copy(ocr_demo_template, path)
    assert main(["check", str(path), "--ocr"]) == 0
    text = capsys.readouterr().out
    assert "cover evidence on" in text and "title_vs_cover" in text and "'Marcia Brown' -> 'Marcia S. Brown'" in text


def test_check_errors(demo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["check", str(demo), "--apply", "everything", "--no-ocr"]) == 2
    assert "--apply takes 'all' or one of" in capsys.readouterr().err
    assert main(["check", str(demo.with_name("missing.vqadesk"))]) == 2
    from vqa_desk.core import ocr

    monkeypatch.setattr(ocr, "engine_available", lambda: False)
    assert main(["check", str(demo), "--json"]) == 0
    captured = capsys.readouterr()
    assert "OCR engine is not installed" in captured.err and json.loads(captured.out)["cover_text"] is False
    assert main(["check", str(demo), "--ocr"]) == 2
    assert "OCR is not installed" in capsys.readouterr().err
