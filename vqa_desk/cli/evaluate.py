"""evaluate, grade and report: answer the test questions, grade the answers, write the report."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from vqa_desk.cli.common import EXIT_OK, EXIT_USER, ProgressBar, print_json
from vqa_desk.cli.provider import export_folder, provider_client
from vqa_desk.core.errors import VQADeskError


def _resolve_model(workspace: Path, provider: str, name: str) -> str:
    if name != "finetuned":
        return name
    from vqa_desk.core import finetune
    from vqa_desk.core.workspace import Workspace

    with Workspace.open(workspace) as ws:
        done = [j for j in finetune.jobs(ws) if j.provider == provider and j.fine_tuned_model]
    if not done:
        raise VQADeskError(f"No fine-tuned model from provider {provider!r} in this workspace yet: run "
                           f"'vqa-desk finetune {workspace} --provider {provider} --wait' first.")
    return str(done[0].fine_tuned_model)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from vqa_desk.core import inference
    from vqa_desk.core.workspace import Workspace

    Workspace.open(args.workspace).close()
    folder = export_folder(args.workspace, args.export)
    summaries = []
    with contextlib.ExitStack() as stack:
        profile, client, _ = provider_client(args.provider, stack)
        for name in args.model:
            model = _resolve_model(args.workspace, profile.name, name)
            with ProgressBar(model[:30], quiet=False) as bar:
                summary = inference.evaluate(args.workspace, profile, client, model, folder,
                                             concurrency=args.concurrency, use_batch=args.batch,
                                             progress=bar.update, cancel=bar.cancel)
            summaries.append(summary)
            print(f"{model}: {summary.questions} questions, {summary.requested} requests sent, {summary.cached} "
                  f"from the cache, {len(summary.failed)} failed", file=sys.stderr)
    if args.json:
        print_json({"runs": [s.to_dict() for s in summaries]})
    return EXIT_OK if not any(s.failed for s in summaries) else EXIT_USER


def cmd_grade(args: argparse.Namespace) -> int:
    from vqa_desk.core import grading
    from vqa_desk.core.workspace import Workspace

    with Workspace.open(args.workspace) as ws:
        if args.predictions:
            run = grading.import_predictions(ws, args.predictions, model=args.model, lines_csv=args.lines)
            problems = run.settings.get("import", {}).get("problems") or []
            for item in problems[:10]:
                print(f"note: {args.predictions.name}: {item}", file=sys.stderr)
    with contextlib.ExitStack() as stack:
        profile = client = None
        if args.judge != "heuristic":
            profile, client, _ = provider_client(args.provider or "sandbox", stack)
        with ProgressBar("grade", quiet=False) as bar:
            summary = grading.grade_workspace(args.workspace, judge=args.judge, profile=profile, client=client,
                                              progress=bar.update, cancel=bar.cancel)
    if args.json:
        print_json(summary.to_dict())
    else:
        print_metrics(summary.metrics)
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from vqa_desk.core.report import build_report

    result = build_report(args.workspace, args.out, csv_dir=args.csv, judge=args.judge)
    print(f"wrote {result.html}" + (f" and {len(result.csv_files)} CSV files" if result.csv_files else ""),
          file=sys.stderr)
    return EXIT_OK


def print_metrics(metrics: dict[str, Any]) -> None:
    def pct(value: Any) -> str:
        return "   -  " if value is None else f"{value:6.2f}"

    print(f"{'model':<44} {'closed strict':>13} {'closed lenient':>14} {'open strict':>11} {'open lenient':>12}")
    for name, m in metrics.items():
        print(f"{name[-44:]:<44} {pct(m['closed_strict']):>13} {pct(m['closed_lenient']):>14} "
              f"{pct(m['open_strict']):>11} {pct(m['open_lenient']):>12}")
    for name, m in metrics.items():
        types = ", ".join(f"{t} {pct(v).strip()}" for t, v in m["by_type"].items())
        ratings = ", ".join(f"{r} {n}" for r, n in m["ratings"].items())
        print(f"  {name[-40:]}: by type {types}; ratings {ratings}")
