"""The headless loop and the grading / report commands, as a script runs them."""

import json
from pathlib import Path

import pytest

from vqa_desk.cli import main
from vqa_desk.core import evaluation
from vqa_desk.core.importer import import_dataset
from vqa_desk.core.sampling import parse_sizes
from vqa_desk.core.workspace import Workspace

pytestmark = pytest.mark.slow


def test_demo_runs_the_whole_loop(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # A first run on a fresh account: no data folder yet (`make run` without a display runs exactly this).
    monkeypatch.setenv("VQA_DESK_DATA_DIR", str(tmp_path / "fresh" / "share" / "vqa-desk"))
    out = tmp_path / "fresh" / "share" / "vqa-desk" / "demo-run"
    assert main(["demo", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    metrics = result["metrics"]
    base = next(v for k, v in metrics.items() if ":ft:" not in k)
    tuned = next(v for k, v in metrics.items() if ":ft:" in k)
    for m in (base, tuned):
        assert {"closed_strict", "closed_lenient", "open_strict", "open_lenient", "by_type", "ratings"} <= set(m)
    # the offline fine-tune really learns: it beats its base on covers it never saw
    assert tuned["open_strict"] > base["open_strict"] + 10
    assert result["applied"] > 30 and Path(result["report"]).exists()
    html = Path(result["report"]).read_text(encoding="utf-8")
    assert "<svg" in html and "Label suspects" in html
    assert (out / "csv" / "metrics.csv").exists() and Path(result["workspace"]).parent == out


def test_grade_imports_cookbook_predictions_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "w.vqadesk"
    import_dataset("demo", ws, sizes=parse_sizes("0,0,5"))
    assert main(["export", str(ws), "--out", str(tmp_path / "exp"), "--quality", "40", "--max-side", "200"]) == 0
    lines = (tmp_path / "exp" / "lines.csv").read_text().splitlines()[1:]
    test_lines = [row.split(",") for row in lines if row.startswith("test,")]
    with Workspace.open(ws) as opened:
        answers = {qa.id: qa.answer for pk, in opened.connection.execute("SELECT id FROM images")
                   for qa in opened.qa_for_image(pk)}
    preds = tmp_path / "results.jsonl"
    with preds.open("w") as fh:
        for i, (_, line, qa_id, *_) in enumerate(test_lines):
            truth = answers[int(qa_id)]
            predicted = truth if i % 2 == 0 else f"**Answer:** {truth}. **Reasoning:** it is on the cover."
            fh.write(json.dumps({"example_id": int(line) - 1, "predicted_answer": predicted,
                                 "actual_answer": truth}) + "\n")
    capsys.readouterr()
    assert main(["grade", str(ws), "--predictions", str(preds), "--lines", str(tmp_path / "exp" / "lines.csv"),
                 "--model", "gpt-4o", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    (name, m), = metrics.items()
    assert "gpt-4o" in name
    assert m["closed_lenient"] == 100.0 and m["open_lenient"] == 100.0  # verbose answers are lenient-correct
    assert m["open_strict"] < 100.0
    with Workspace.open(ws) as opened:
        assert len(evaluation.prediction_rows(opened)) == len(test_lines)
    assert main(["report", str(ws), "--out", str(tmp_path / "r.html"), "--csv", str(tmp_path / "csv")]) == 0
    assert (tmp_path / "r.html").stat().st_size > 2000
