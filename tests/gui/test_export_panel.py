import json
from pathlib import Path

from pytestqt.qtbot import QtBot

from vqa_desk.core.prompts import effective_system_prompt


def test_estimate_and_preview_follow_the_options(window, qtbot: QtBot) -> None:
    panel = window.export_panel
    panel.refresh()  # computed on a worker
    qtbot.waitUntil(lambda: "Training:" in panel.estimate.text(), timeout=10_000)
    assert "$" in panel.estimate.text()
    text = panel.preview.toPlainText()
    assert text.count("user:") == 7 and text.count("assistant:") == 7  # 6 few-shot pairs + the question
    panel.few_shot.setValue(0)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.preview.toPlainText().count("user:") == 1, timeout=10_000)
    panel.format.setCurrentIndex(panel.format.findData("sharegpt"))
    panel.refresh()
    qtbot.waitUntil(lambda: "one record per cover" in panel.preview.toPlainText(), timeout=10_000)


def test_prompt_is_saved_in_the_workspace(window) -> None:
    panel = window.export_panel
    panel.prompt.setPlainText("Answer in one word.")
    panel.save_prompt()
    assert effective_system_prompt(window.session.ws) == "Answer in one word."


def test_export_runs_in_a_worker_and_reports_validation(window, qtbot: QtBot, tmp_path: Path) -> None:
    panel = window.export_panel
    panel.reencode.setChecked(True)
    panel.quality.setValue(50)
    panel.max_side.setValue(384)
    assert window.run_export(panel.options(), tmp_path / "out") is not None
    qtbot.waitUntil(lambda: window._export_worker is None, timeout=60_000)
    report = panel.report.toPlainText()
    assert "Exported openai" in report and "train: passes openai's rules" in report
    assert "left out" in report  # the demo's bad images and empty answers
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert (manifest["settings"]["quality"], manifest["settings"]["max_side"]) == (50, 384)
    assert (tmp_path / "out" / "train.jsonl").stat().st_size > 1000


def test_cancelled_export_leaves_nothing(window, qtbot: QtBot, tmp_path: Path) -> None:
    worker = window.run_export(window.export_panel.options(), tmp_path / "out")
    worker.cancel()
    qtbot.waitUntil(lambda: window._export_worker is None, timeout=60_000)
    out = tmp_path / "out"
    assert not out.exists() or not any(p for p in out.iterdir() if not p.name.startswith("."))
