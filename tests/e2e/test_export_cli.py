import json
from pathlib import Path

import pytest

from vqa_desk.cli import main


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    path = tmp_path / "demo.vqadesk"
    assert main(["new", str(path), "--from", "demo"]) == 0
    return path


def test_export_json_contract_then_validate(demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    out = tmp_path / "out"
    assert main(["export", str(demo), "--out", str(out), "--quality", "50", "--max-side", "384", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["files"]) == {"train", "validation", "test"}
    assert Path(result["manifest"]).exists()
    assert result["examples"]["train"] > 1000 and result["estimate"]["training_cost_usd"] > 0
    assert main(["validate", result["files"]["train"], "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["errors"] == []


def test_validate_reports_line_numbers_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    good = {"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]}
    lines = [json.dumps(good)] * 12
    lines[3] = json.dumps({"messages": [{"role": "robot", "content": "Q"}, {"role": "assistant", "content": "A"}]})
    lines[7] = "{not json"
    bad.write_text("\n".join(lines) + "\n")
    assert main(["validate", str(bad), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert {e["line"] for e in report["errors"]} >= {4, 8}
    assert main(["validate", str(bad)]) == 2
    assert "FAILS" in capsys.readouterr().out
    assert main(["validate", str(tmp_path / "missing.jsonl")]) == 2


def test_export_refuses_a_missing_parent(demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(demo), "--out", str(tmp_path / "no" / "such" / "dir")]) == 2
    assert "Traceback" not in capsys.readouterr().err
