"""Importing predictions made elsewhere: the cookbook's results files and our ``{qa_id, answer, model}`` lines."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

from vqa_desk.core import evaluation
from vqa_desk.core.evaluation import EvalRun, EvaluationError
from vqa_desk.core.workspace import Workspace

_MAX_PROBLEMS_KEPT = 50


def _lines_csv(path: Path) -> dict[int, tuple[int, str]]:
    """lines.csv of an export: test line number (1-based) -> (qa id, image id)."""
    out: dict[int, tuple[int, str]] = {}
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                if row.get("split") == "test":
                    out[int(row["line"])] = (int(row["qa_id"]), row.get("image_id", ""))
    except (OSError, KeyError, ValueError, csv.Error) as exc:
        raise EvaluationError(f"{path} cannot be read as an export's lines.csv ({exc}).") from exc
    return out


def _export_order(ws: Workspace) -> list[tuple[int, str]]:
    """The test split's QA pairs in the order the export writes test.jsonl: valid covers by rank, then idx."""
    return [(q, iid) for q, iid in ws.connection.execute(
        "SELECT q.id, i.image_id FROM qa q JOIN images i ON i.id = q.image WHERE i.split = 'test' AND i.valid = 1 "
        "ORDER BY i.rank, q.idx")]


class _Mapped(NamedTuple):
    line: int  # in the predictions file
    example_id: int
    predicted: str
    actual: str | None
    qa: int | None  # None: the example id is not a line of the test file


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def import_predictions(ws: Workspace, path: str | Path, *, model: str | None = None,
                       lines_csv: str | Path | None = None) -> EvalRun:
    """Import predictions made elsewhere as a run named ``import:<file name>:<model>``.

    Two line formats (JSONL, one object a line):

    - the cookbook's results: ``{"example_id": 0, "predicted_answer": "...", "actual_answer": "..."}`` where
      example_id is the line's index in the exported test.jsonl (0-based as the cookbook's enumerate; 1-based
      files are recognised by their actual answers). Lines are mapped through the export's ``lines.csv`` (given,
      or found next to the file); without it, by position in the export order, accepted only when every
      actual_answer matches its QA pair's label (original or current).
    - ours: ``{"qa_id": 123, "answer": "...", "model": "gpt-4o"}`` (``model`` optional; ``model=`` overrides it;
      one model per file).

    Bad lines are skipped and recorded with their line numbers in ``run.settings["import"]["problems"]``.
    Nothing usable at all raises EvaluationError with the first problems.
    """
    path = Path(path)
    try:
        raw_lines = path.read_bytes().decode("utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvaluationError(f"{path} cannot be read ({exc}).") from exc
    problems: list[tuple[int, str]] = []
    parsed: list[tuple[int, dict[str, Any]]] = []
    for number, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append((number, f"not JSON ({exc.msg})"))
            continue
        if not isinstance(obj, dict):
            problems.append((number, "not a JSON object"))
            continue
        parsed.append((number, obj))
    kinds = Counter("cookbook" if "example_id" in o else "vqa-desk" if "qa_id" in o else "unknown" for _, o in parsed)
    known = [k for k in ("cookbook", "vqa-desk") if kinds[k]]
    if not known:
        raise EvaluationError(
            f"{path} has no prediction lines: expected the cookbook's {{\"example_id\", \"predicted_answer\", "
            "\"actual_answer\"}} or {\"qa_id\", \"answer\", \"model\"} objects, one per line."
            + _first_problems(problems))
    fmt = max(known, key=lambda k: kinds[k])
    items: dict[int, tuple[int, str]] = {}  # qa id -> (line number, answer)
    settings: dict[str, Any] = {"file": str(path), "format": fmt}
    if fmt == "cookbook":
        run_model = model or path.stem
        _map_cookbook(ws, path, parsed, lines_csv, items, problems, settings)
    else:
        run_model = _map_ours(ws, parsed, model, items, problems)
        settings["mapped_by"] = "qa_id"
    if not items:
        raise EvaluationError(f"Nothing in {path} could be imported." + _first_problems(problems))
    problems.sort()
    settings.update(lines=sum(1 for raw in raw_lines if raw.strip()), imported=len(items), problems_total=len(problems),
                    problems=[{"line": n, "problem": why} for n, why in problems[:_MAX_PROBLEMS_KEPT]])
    run = evaluation.get_or_create_run(ws, provider="import", model=run_model, source="import",
                                       name=f"import:{path.name}:{run_model}", test_file=str(path),
                                       settings={"import": settings})
    evaluation.add_predictions(ws, run.id, [(qa, answer, None) for qa, (_, answer) in items.items()])
    evaluation.set_run_status(ws, run.id, "complete")
    return next(r for r in evaluation.runs(ws) if r.id == run.id)


def _first_problems(problems: list[tuple[int, str]]) -> str:
    if not problems:
        return ""
    shown = "; ".join(f"line {n}: {why}" for n, why in sorted(problems)[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return f" Problems: {shown}{more}."


def _map_ours(ws: Workspace, parsed: list[tuple[int, dict[str, Any]]], model: str | None,
              items: dict[int, tuple[int, str]], problems: list[tuple[int, str]]) -> str:
    known = {q for (q,) in ws.connection.execute("SELECT id FROM qa")}
    models: Counter[str] = Counter()
    for number, obj in parsed:
        if "example_id" in obj:
            problems.append((number, "a cookbook-format line in a file of qa_id lines"))
            continue
        if "qa_id" not in obj:
            problems.append((number, "neither qa_id nor example_id"))
            continue
        qa, answer = obj.get("qa_id"), _as_text(obj.get("answer"))
        if isinstance(qa, str) and qa.strip().isdigit():
            qa = int(qa)
        if not isinstance(qa, int) or isinstance(qa, bool):
            problems.append((number, f"qa_id must be an integer, not {qa!r}"))
            continue
        if answer is None:
            problems.append((number, "no 'answer' text"))
            continue
        if qa not in known:
            problems.append((number, f"no QA pair {qa} in this workspace"))
            continue
        if qa in items:
            problems.append((number, f"answers QA pair {qa} again (line {items[qa][0]}); the later line is kept"))
        items[qa] = (number, answer.strip())
        if isinstance(obj.get("model"), str) and obj["model"].strip():
            models[obj["model"].strip()] += 1
    if model:
        return model
    if len(models) > 1:
        raise EvaluationError(f"The file has predictions of {len(models)} models ({', '.join(sorted(models))}); "
                              "import one model per file, or pass --model to import them as one run.")
    if not models:
        raise EvaluationError("The lines do not say which model answered: pass --model NAME.")
    return next(iter(models))


def _map_cookbook(ws: Workspace, path: Path, parsed: list[tuple[int, dict[str, Any]]],
                  lines_csv: str | Path | None, items: dict[int, tuple[int, str]],
                  problems: list[tuple[int, str]], settings: dict[str, Any]) -> None:
    entries: list[tuple[int, int, str, str | None]] = []  # (file line, example id, predicted, actual)
    for number, obj in parsed:
        if "example_id" not in obj:
            problems.append((number, "a qa_id line in a file of cookbook-format lines" if "qa_id" in obj
                             else "no example_id"))
            continue
        eid, predicted = obj.get("example_id"), _as_text(obj.get("predicted_answer"))
        if isinstance(eid, str) and eid.strip().isdigit():
            eid = int(eid)
        if not isinstance(eid, int) or isinstance(eid, bool) or eid < 0:
            problems.append((number, f"example_id must be a line index (an integer from 0), not {eid!r}"))
            continue
        if predicted is None:
            problems.append((number, "no 'predicted_answer' text"))
            continue
        entries.append((number, eid, predicted, _as_text(obj.get("actual_answer"))))
    csv_path = Path(lines_csv) if lines_csv is not None else path.parent / "lines.csv"
    labels = {q: (orig, cur) for q, orig, cur in ws.connection.execute("SELECT id, original_answer, answer FROM qa")}
    if csv_path.exists():
        by_line = _lines_csv(csv_path)
        image_of = dict(ws.connection.execute("SELECT q.id, i.image_id FROM qa q JOIN images i ON i.id = q.image"))
        bad_ids = [q for q, iid in by_line.values() if q not in image_of or (iid and image_of[q] != iid)]
        if bad_ids:
            raise EvaluationError(f"{csv_path} does not belong to this workspace (QA pair {bad_ids[0]} is missing or "
                                  "shows another cover). Give the lines.csv of an export of this workspace.")
        settings["mapped_by"] = f"lines.csv ({csv_path})"
        strict_check = False
    elif lines_csv is not None:
        raise EvaluationError(f"{csv_path} does not exist.")
    else:
        order = _export_order(ws)
        by_line = {i + 1: item for i, item in enumerate(order)}
        settings["mapped_by"] = "position in the export order, checked against actual_answer"
        strict_check = True
    if not entries:
        return

    def agrees(actual: str, qa: int) -> bool:
        original, current = labels[qa]
        return actual.strip() in (original.strip(), current.strip())

    def mapping(base: int) -> list[_Mapped]:
        out = []
        for number, eid, predicted, actual in entries:
            target = by_line.get(eid + 1 - base)  # lines.csv counts lines from 1
            out.append(_Mapped(number, eid, predicted, actual, target[0] if target else None))
        return out

    def score(mapped: list[_Mapped]) -> tuple[int, int]:
        verified = sum(1 for m in mapped if m.qa is not None and m.actual is not None and agrees(m.actual, m.qa))
        return verified, sum(1 for m in mapped if m.qa is not None)

    # 0-based (the cookbook's enumerate) unless the actual answers line up better 1-based.
    candidates = {b: mapping(b) for b in (0, 1)}
    base = max((0, 1), key=lambda b: (*score(candidates[b]), -b))
    mapped = candidates[base]
    settings["example_id_base"] = base
    checked = [(m, m.actual, m.qa) for m in mapped if m.actual is not None and m.qa is not None]
    mismatched = [(m, actual, qa) for m, actual, qa in checked if not agrees(actual, qa)]
    if strict_check:
        if not checked:
            raise EvaluationError(
                f"No lines.csv next to {path.name} and no actual_answer in its lines: the example ids cannot be "
                "matched to QA pairs safely. Give the lines.csv written by the export that made the test file "
                "(put it next to the predictions, or pass --lines), or use the {qa_id, answer, model} format.")
        if mismatched:
            shown = "; ".join(f"line {m.line} (example {m.example_id}): actual_answer {actual!r} but the QA pair's "
                              f"label is {labels[qa][1]!r}" for m, actual, qa in mismatched[:3])
            raise EvaluationError(
                f"No lines.csv next to {path.name}, and matching example ids to the export order by position fails "
                f"for {len(mismatched)} of {len(checked)} lines ({shown}). The file was probably made from another "
                "export or sample: give that export's lines.csv (put it next to the predictions, or pass --lines).")
    elif checked and len(mismatched) > max(2, len(checked) // 10):
        raise EvaluationError(
            f"{len(mismatched)} of {len(checked)} lines of {path.name} have an actual_answer that differs from the "
            f"label of the QA pair {csv_path.name} maps them to: they are from another export. Give the lines.csv of "
            "the export that made the test file.")
    for m in mapped:
        if m.qa is None:
            problems.append((m.line, f"example_id {m.example_id} is not a line of the exported test file"))
            continue
        if m.actual is not None and not agrees(m.actual, m.qa):
            problems.append((m.line, f"actual_answer {m.actual!r} differs from the label {labels[m.qa][1]!r} "
                                     "(imported anyway: lines.csv maps it)"))
        if m.qa in items:
            problems.append((m.line, f"answers the same question as line {items[m.qa][0]}; the later line is kept"))
        items[m.qa] = (m.line, m.predicted.strip())
