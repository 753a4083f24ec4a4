"""new and info: create a workspace from a dataset source, and say what a workspace holds."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from vqa_desk.cli.common import EXIT_OK, ProgressBar, print_json


def cmd_new(args: argparse.Namespace) -> int:
    from vqa_desk.core.importer import import_dataset
    from vqa_desk.core.paths import hf_cache_dir
    from vqa_desk.core.sampling import parse_sizes

    sizes = parse_sizes(args.sizes) if args.sizes else None
    with ProgressBar("import", quiet=False) as bar:
        result = import_dataset(args.source, args.workspace, sizes=sizes, seed=args.seed, split=args.split,
                                force=args.force, cache_dir=hf_cache_dir(), progress=bar.update,
                                cancel=bar.cancel)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    from vqa_desk.core.workspace import Workspace

    with Workspace.open(result.path) as ws:
        summary = ws.summary()
    if args.json:
        print_json(summary)
    else:
        print(f"Created {result.path}")
        _print_summary(summary)
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    from vqa_desk.core.workspace import Workspace

    with Workspace.open(args.workspace) as ws:
        summary = ws.summary()
    if args.json:
        print_json(summary)
    else:
        _print_summary(summary)
    return EXIT_OK


def _print_summary(s: dict[str, Any]) -> None:
    source = s.get("source") or {}
    sampling = s.get("sampling") or {}
    print(f"Workspace   {s['workspace']}")
    where = source.get("location", "?")
    origin = where if where == source.get("kind") else f"{source.get('kind', '?')}: {where}"
    print(f"Source      {origin}  (seed {sampling.get('seed')})")
    print(f"Created     {s.get('created')} with VQA Desk {s.get('tool_version')}")
    print("Split         covers  QA pairs")
    for split in s["images"]:
        print(f"  {split:<11} {s['images'][split]:>6}  {s['qa_pairs'].get(split, 0):>8}")
    print(f"  {'total':<11} {sum(s['images'].values()):>6}  {sum(s['qa_pairs'].values()):>8}")
    print("Question types  " + ", ".join(f"{k} {v}" for k, v in s["question_types"].items()))
    print(f"Invalid images  {s['invalid_images']}")
    print(f"Edits           {s['edits']} ({s['edited_qa_pairs']} QA pairs changed)")
    if s.get("import_issues"):
        print("Import notes    " + ", ".join(f"{k} {v}" for k, v in s["import_issues"].items()))
