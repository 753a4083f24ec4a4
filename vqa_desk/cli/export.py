"""export and validate: write the training files, and check a file against a provider's rules."""

from __future__ import annotations

import argparse
import sys

from vqa_desk.cli.common import EXIT_OK, EXIT_USER, ProgressBar, print_json


def cmd_export(args: argparse.Namespace) -> int:
    from vqa_desk.core.export import ExportOptions, export_workspace

    options = ExportOptions(format=args.format, few_shot=args.few_shot, quality=args.quality, max_side=args.max_side,
                            detail=args.detail, provider=args.provider,
                            **({"model": args.model} if args.model else {}), epochs=args.epochs)
    with ProgressBar("export", quiet=False) as bar:
        result = export_workspace(args.workspace, args.out, options=options, progress=bar.update, cancel=bar.cancel)
    for item in result.skipped[:20]:
        print(f"skipped {item.split} {item.image_id}: {item.reason}", file=sys.stderr)
    if len(result.skipped) > 20:
        print(f"... and {len(result.skipped) - 20} more skipped (see the manifest)", file=sys.stderr)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    problems = [(split, issue) for split, report in result.validation.items() for issue in report.errors]
    for split, issue in problems:
        print(f"vqa-desk: {split}: {issue.message}", file=sys.stderr)
    if args.json:
        print_json(result.to_json())
    else:
        print(f"Exported {args.format} to {result.out_dir} in {result.seconds:.1f} s")
        for split, path in result.files.items():
            print(f"  {split:<11} {result.examples.get(split, 0):>6} examples  {path}")
        print(f"  manifest    {result.manifest}")
        if result.estimate is not None:
            est = result.estimate.to_dict()
            for split, t in est.get("splits", {}).items():
                print(f"  tokens      {split:<11} {t['text_tokens']:>10,} text + {t['image_tokens']:>10,} image")
            print(f"  training    {est['training_tokens']:,} tokens x {est['epochs']} epochs = "
                  f"${est['training_cost_usd']:.2f} at ${est['training_price_per_1m_usd']}/1M (prices read "
                  f"{est['prices_read']})")
    return EXIT_OK if not problems else EXIT_USER


def cmd_validate(args: argparse.Namespace) -> int:
    from vqa_desk.core.validate import validate_file

    with ProgressBar("validate", quiet=False) as bar:
        report = validate_file(args.file, provider=args.provider, progress=bar.update, cancel=bar.cancel)
    if args.json:
        print_json(report.to_dict())
    else:
        verdict = "passes" if report.ok else "FAILS"
        print(f"{args.file} {verdict} {args.provider}'s rules: {report.stats.examples} examples, "
              f"{report.stats.images} images")
        for issue in report.errors:
            print(f"  error: {issue.message}")
        for issue in report.warnings:
            print(f"  warning: {issue.message}")
    return EXIT_OK if report.ok else EXIT_USER
