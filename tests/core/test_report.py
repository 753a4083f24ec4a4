"""The report: a self-contained HTML file (the cookbook's table, SVG charts, flips, label suspects, human vs judge)
with every label escaped, and the CSVs."""

from __future__ import annotations

import csv
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.synthetic_ocrvqa import synthetic_workspace
from vqa_desk.core import evaluation, grading
from vqa_desk.core.evaluation import EvaluationError
from vqa_desk.core.report import bar_chart, build_report, stacked_bars
from vqa_desk.core.workspace import Workspace

TUNED = "ft:gpt-4o-2024-08-06:vqa-desk::r1"
BASE = "gpt-4o"
SCRIPT_LABEL = '<script>alert("label")</script> & Sons'
FORMULA_LABEL = "=HYPERLINK(\"http://example.invalid\")"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 test covers x 5 questions; the covers' dataset OCR words are their titles ("Book Number N")."""
    return synthetic_workspace(tmp_path_factory.mktemp("report") / "t.vqadesk", train=3, validation=1, test=8)


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Iterator[Workspace]:
    shutil.copy(template, tmp_path / "ws.vqadesk")
    with Workspace.open(tmp_path / "ws.vqadesk") as w:
        yield w


def questions(ws: Workspace) -> dict[tuple[str, str], int]:
    """(image id, question) -> qa id for the test split."""
    return {(iid, q): qa for qa, iid, q in ws.connection.execute(
        "SELECT q.id, i.image_id, q.question FROM qa q JOIN images i ON i.id = q.image WHERE i.split = 'test'")}


TITLE = "What is the title of this book?"
AUTHOR = "Who wrote this book?"
TRAVEL = "Is this a travel book?"


@pytest.fixture
def planted(ws: Workspace) -> dict[str, int]:
    """Base and fine-tuned runs over the test split with a planted label suspect, flips both ways (one on a label
    with a script tag) and a label a spreadsheet would run as a formula."""
    qa = questions(ws)
    suspect = qa[("B000000203", TITLE)]
    formula = qa[("B000000205", AUTHOR)]
    improved = qa[("B000000201", TITLE)]
    regressed = script = qa[("B000000202", AUTHOR)]  # the flips table shows this label
    # The catalogue label disagrees with the cover, which prints "Book Number 203"; both models read the cover.
    ws.set_answer(suspect, "The Collected Letters (Penguin Classics)")
    ws.set_answer(script, SCRIPT_LABEL)
    ws.set_answer(formula, FORMULA_LABEL)
    labels = dict(ws.connection.execute("SELECT id, answer FROM qa"))
    base, tuned = {}, {}
    for qa_id in qa.values():
        tuned[qa_id] = labels[qa_id]
        base[qa_id] = f"**Answer:** {labels[qa_id]}" if labels[qa_id] in ("Yes", "No") else labels[qa_id]
    base[suspect] = tuned[suspect] = "Book Number 203"
    base[improved] = "Zebra Crossing"
    tuned[regressed] = "Nobody In Particular"
    for model, answers in ((BASE, base), (TUNED, tuned)):
        run = evaluation.get_or_create_run(ws, provider="openai", model=model)
        evaluation.add_predictions(ws, run.id, [(q, a, None) for q, a in answers.items()])
    return {"suspect": suspect, "script": script, "formula": formula, "improved": improved, "regressed": regressed}


def test_report_html_and_csvs(ws: Workspace, planted: dict[str, int], tmp_path: Path) -> None:
    grading.grade_workspace(ws)
    pred = {(r.prediction.model, r.qa_id): r.id for r in grading.graded_rows(ws)}
    for model in (BASE, TUNED):  # a human sides with the cover for both models: no flip from that
        grading.override(ws, pred[(model, planted["suspect"])], "Very Similar", "ana", "the cover is right")
    grading.override(ws, pred[(TUNED, planted["regressed"])], "Incorrect", "ana")
    result = build_report(ws, tmp_path / "out" / "report.html", csv_dir=tmp_path / "csv")
    page = result.html.read_text(encoding="utf-8")
    assert (result.base, result.tuned) == (f"openai:{BASE}", f"openai:{TUNED}")
    # The cookbook's table, per model.
    assert 'class="cookbook"' in page and "Closed, strict" in page and "Open, lenient" in page
    m = result.metrics
    assert f"{m[result.tuned]['closed_strict']:.2f}%" in page and f"{m[result.base]['open_lenient']:.2f}%" in page
    # Charts are inline SVG: accuracy, per type, rating distribution.
    assert page.count("<svg") == 3 and "Accuracy by question type" in page and "Rating distribution" in page
    # Self-contained: no scripts, no linked or fetched assets.
    assert "<script" not in page.lower() and "<link" not in page and "src=" not in page and "url(" not in page
    assert not re.search(r'href="(?!#)', page)
    # Labels are escaped, including inside the charts' tooltips and tables.
    assert "&lt;script&gt;alert(&quot;label&quot;)&lt;/script&gt; &amp; Sons" in page
    # The planted label suspect is listed with the cover's text as evidence.
    assert result.suspects == 1
    suspects_html = page.split('id="suspects"')[1].split("<h2")[0]
    assert "The Collected Letters (Penguin Classics)" in suspects_html and "Book Number 203" in suspects_html
    # Flips both ways.
    assert (result.improved, result.regressed) == (1, 1)
    flips_html = page.split('id="flips"')[1].split("<h2")[0]
    assert "Zebra Crossing" in flips_html and "Nobody In Particular" in flips_html
    # Humans vs the judge: the confusion matrix and kappa appear once overrides exist.
    assert result.overrides == 3 and 'class="confusion"' in page and "Cohen" in page
    # The CSVs.
    names = sorted(p.name for p in result.csv_files)
    assert names == ["agreement.csv", "flips.csv", "label_suspects.csv", "metrics.csv", "predictions.csv"]
    predictions = read_csv(tmp_path / "csv" / "predictions.csv")
    assert len(predictions) == 2 * 40
    formula_rows = [r for r in predictions if r["qa_id"] == str(planted["formula"])]
    assert formula_rows and all(r["label"] == "'" + FORMULA_LABEL for r in formula_rows)
    overridden = [r for r in predictions if r["override_rating"]]
    assert len(overridden) == 3
    assert {(r["override_who"], r["rating"]) for r in overridden} == {("ana", "Very Similar"), ("ana", "Incorrect")}
    metrics_csv = {r["run"]: r for r in read_csv(tmp_path / "csv" / "metrics.csv")}
    assert float(metrics_csv[result.tuned]["closed_strict"]) == m[result.tuned]["closed_strict"]
    assert "type:Title" in metrics_csv[result.tuned]
    flips = read_csv(tmp_path / "csv" / "flips.csv")
    assert {(r["direction"], r["qa_id"]) for r in flips} == {("improved", str(planted["improved"])),
                                                               ("regressed", str(planted["regressed"]))}
    suspects = read_csv(tmp_path / "csv" / "label_suspects.csv")
    assert [(r["qa_id"], r["models_answer"]) for r in suspects] == [(str(planted["suspect"]), "Book Number 203")]
    assert grading.flips(ws).qa_ids == {planted["improved"], planted["regressed"]}
    assert {s.qa_id for s in grading.label_suspects(ws)} == {planted["suspect"]}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_suspects_need_agreeing_models_and_the_cover(ws: Workspace, planted: dict[str, int]) -> None:
    assert [s.qa_id for s in grading.label_suspects(ws)] == [planted["suspect"]]
    # One model alone is not enough evidence.
    tuned_only = [r for r in evaluation.prediction_rows(ws) if r.model == TUNED]
    assert grading.label_suspects(ws, tuned_only) == []
    # Models that agree on something the cover does not show are not suspects either.
    qa = questions(ws)
    other = qa[("B000000206", TITLE)]
    for run in evaluation.runs(ws):
        evaluation.add_predictions(ws, run.id, [(other, "A Title Not On The Cover", None)])
    assert other not in {s.qa_id for s in grading.label_suspects(ws)}


def test_report_with_one_run_and_no_overrides(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(EvaluationError, match="no predictions"):
        build_report(ws, tmp_path / "empty.html")
    qa = questions(ws)
    run = evaluation.get_or_create_run(ws, provider="sandbox", model="sandbox-ocr")
    evaluation.add_predictions(ws, run.id, [(q, "Yes", None) for q in qa.values()])
    result = build_report(ws.path, tmp_path / "one.html")  # ungraded: ratings come from the heuristic judge
    page = result.html.read_text(encoding="utf-8")
    assert result.base is None and "fewer than two runs" in page.lower()
    assert "No human overrides yet" in page and result.csv_files == []
    # An LLM judge that has not graded yet: its ratings show as ungraded, with what to do about it.
    result = build_report(ws.path, tmp_path / "llm.html", judge="gpt-4o-mini")
    assert result.metrics[run.name]["ratings"]["Ungraded"] == len(qa)
    assert "vqa-desk grade --judge gpt-4o-mini" in result.html.read_text(encoding="utf-8")


def test_charts_escape_and_scale() -> None:
    svg = bar_chart(["<b>Title</b>", "Genre"], [("run<1>", [50.0, None]), ("run2", [100.0, 0.0])], title="T & U")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<b>" not in svg and "&lt;b&gt;Title&lt;/b&gt;" in svg and "run&lt;1&gt;" in svg and "T &amp; U" in svg
    assert svg.count("<rect") == 3 + 2  # three bars (None leaves a gap) and two legend swatches
    stacked = stacked_bars([("r", [("Very Similar", 3), ("Incorrect", 1)])], ["Very Similar", "Incorrect"])
    assert "75.0%" in stacked and "25.0%" in stacked
