"""Command line: argument parsing and output only; the work happens in core (and gui for the window).

``--json`` prints exactly one JSON object on stdout; progress and notes go to stderr. Exit codes: 0 success,
2 a user error (with a message saying what to do), 1 a bug.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vqa_desk import __version__
from vqa_desk.core.errors import Cancelled, VQADeskError

EXIT_OK, EXIT_BUG, EXIT_USER = 0, 1, 2



def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "command", None) == "screenshot" and not any(e.startswith("-") for e in extra):
        args.target += extra  # the contract puts WS after --out, which argparse will not interleave
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.func(args) or 0)
    except Cancelled as exc:
        print(f"vqa-desk: {exc}", file=sys.stderr)
        return 130
    except VQADeskError as exc:
        print(f"vqa-desk: {exc}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("vqa-desk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`vqa-desk info --json | head`): not an error of ours, and nothing left to say.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
        return EXIT_OK
    except Exception:
        traceback.print_exc()
        print("vqa-desk: this is a bug in VQA Desk; please report it with the text above.", file=sys.stderr)
        return EXIT_BUG


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vqa-desk", description="Curate, export, fine-tune and review VQA data.")
    p.add_argument("--version", action="version", version=f"vqa-desk {__version__}")
    p.add_argument("--smoke", action="store_true",
                   help="open the window offscreen on the demo workspace, show every panel once, and exit")
    p.set_defaults(func=_cmd_default)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    o = sub.add_parser("open", help="open a workspace in the app")
    o.add_argument("workspace", type=Path)
    o.set_defaults(func=_cmd_open)

    n = sub.add_parser("new", help="create a workspace from a dataset source")
    n.add_argument("workspace", type=Path)
    n.add_argument("--from", dest="source", required=True,
                   help="demo | hf:<dataset id> | parquet file or folder | save_to_disk folder | file.jsonl")
    n.add_argument("--sizes", help="train,validation,test cover counts, e.g. 150,50,100 or all,all,all "
                                   "(default: 150,50,100; the demo and JSONL files are imported whole)")
    n.add_argument("--seed", type=int, default=42, help="shuffle seed (default 42, as in the cookbook)")
    n.add_argument("--split", choices=["train", "validation", "test"],
                   help="split for a source with a single unnamed split (a .jsonl or a single parquet file)")
    n.add_argument("--force", action="store_true", help="replace an existing workspace file")
    n.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    n.set_defaults(func=_cmd_new)

    i = sub.add_parser("info", help="counts of covers, QA pairs, question types and edits")
    i.add_argument("workspace", type=Path)
    i.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    i.set_defaults(func=_cmd_info)

    c = sub.add_parser("check", help="find inconsistent labels and suggest fixes")
    c.add_argument("workspace", type=Path)
    c.add_argument("--ocr", action=argparse.BooleanOptionalAction, default=None,
                   help="read the covers with OCR for evidence (default: on when the OCR engine is installed)")
    c.add_argument("--policy", choices=["as_printed", "main_title", "catalogue"],
                   help="title policy, saved in the workspace (default: the workspace's, else as_printed)")
    c.add_argument("--apply", metavar="KIND|all", help="apply the suggestions of this kind (or all) headless")
    c.add_argument("--min-confidence", type=float, default=0.9, help="with --apply: only findings this sure "
                                                                     "(default 0.9; 'possible' ones never)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_cmd_check)

    e = sub.add_parser("export", help="write training / validation / test files (and a manifest)")
    e.add_argument("workspace", type=Path)
    e.add_argument("--out", type=Path, required=True, help="folder for the files (its parent must exist)")
    e.add_argument("--format", choices=["openai", "sharegpt", "hf"], default="openai")
    e.add_argument("--quality", type=int, help="JPEG quality 1-100 (re-encodes every image; default: keep bytes)")
    e.add_argument("--max-side", type=int, help="shrink images whose longest side is larger")
    e.add_argument("--few-shot", type=int, default=6, help="few-shot example pairs per line (default 6)")
    e.add_argument("--detail", choices=["low", "high", "auto"], help="image detail written into each image part")
    e.add_argument("--provider", choices=["openai", "azure", "compatible"], default="openai",
                   help="whose rules the files are validated against (default openai)")
    e.add_argument("--model", help="model for the token and cost estimate (default gpt-4o-2024-08-06)")
    e.add_argument("--epochs", type=int, help="epochs for the cost estimate (default: what 'auto' picks)")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=_cmd_export)

    v = sub.add_parser("validate", help="check a chat-format JSONL file against a provider's rules")
    v.add_argument("file", type=Path)
    v.add_argument("--provider", choices=["openai", "azure", "compatible"], default="openai")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=_cmd_validate)

    sb = sub.add_parser("sandbox", help="serve the offline OpenAI-compatible sandbox until stopped")
    sb.add_argument("--host", default="127.0.0.1")
    sb.add_argument("--port", type=int, default=0, help="0 picks a free port")
    sb.add_argument("--allow-remote", action="store_true", help="allow a host other than loopback (a warning is "
                                                                "printed: anyone who can reach it may use it)")
    sb.add_argument("--state-dir", type=Path, help="where jobs, files and models are kept (default: user data)")
    sb.add_argument("--step-delay", type=float, help="seconds per training step (default 0.05)")
    sb.add_argument("--local", action="store_true", help="also fine-tune and serve open vision-language models "
                                                         "(needs vqa-desk[local]; state in <user data>/local)")
    sb.set_defaults(func=_cmd_sandbox)

    ft = sub.add_parser("finetune", help="launch (or re-attach to) a fine-tuning job")
    ft.add_argument("workspace", type=Path)
    ft.add_argument("--provider", required=True, help="a provider profile: openai, azure, sandbox, ...")
    ft.add_argument("--model", help="base model (default: the profile's)")
    ft.add_argument("--epochs", type=int)
    ft.add_argument("--batch-size", type=int)
    ft.add_argument("--learning-rate-multiplier", type=float)
    ft.add_argument("--suffix")
    ft.add_argument("--seed", type=int)
    lo = ft.add_argument_group("local provider (LoRA on an open vision-language model)")
    lo.add_argument("--learning-rate", type=float, help="learning rate (default 2e-4 x the multiplier)")
    lo.add_argument("--lora-r", type=int, help="LoRA rank (default 16)")
    lo.add_argument("--lora-alpha", type=int, help="LoRA alpha (default 32)")
    lo.add_argument("--lora-dropout", type=float, help="LoRA dropout (default 0.05)")
    lo.add_argument("--max-image-side", type=int, help="shrink covers to this longest side before training")
    lo.add_argument("--grad-accum", type=int, help="gradient accumulation steps (default 1)")
    lo.add_argument("--qlora", action="store_true", help="4-bit base weights (NVIDIA GPUs with bitsandbytes)")
    ft.add_argument("--export", type=Path, help="export folder to train on (default: <workspace>-export beside "
                                                "the workspace; exported now if it holds no train.jsonl)")
    ft.add_argument("--new", action="store_true", help="launch a new job even if one is still running")
    ft.add_argument("--wait", action="store_true", help="follow the job until it ends")
    ft.add_argument("--poll", type=float, default=5.0, help="seconds between status checks (default 5)")
    ft.add_argument("--json", action="store_true")
    ft.set_defaults(func=_cmd_finetune)

    ev = sub.add_parser("evaluate", help="answer the test questions with one or more models")
    ev.add_argument("workspace", type=Path)
    ev.add_argument("--provider", required=True)
    ev.add_argument("--model", action="append", required=True,
                    help="a model name; 'finetuned' means this workspace's latest fine-tuned model (repeatable)")
    ev.add_argument("--concurrency", type=int, default=8)
    ev.add_argument("--batch", action="store_true", help="use the Batch API (half price, for large test sets)")
    ev.add_argument("--export", type=Path, help="export folder with test.jsonl (default: <workspace>-export)")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=_cmd_evaluate)

    g = sub.add_parser("grade", help="grade the predictions (exact, lenient, normalized, a judge)")
    g.add_argument("workspace", type=Path)
    g.add_argument("--judge", default="heuristic", help="'heuristic' (offline) or a model name for an LLM judge")
    g.add_argument("--provider", help="provider of the LLM judge (default sandbox)")
    g.add_argument("--predictions", type=Path, help="import predictions first: the cookbook's result lines "
                                                    "{example_id, predicted_answer, actual_answer} or ours "
                                                    "{qa_id, answer, model}")
    g.add_argument("--lines", type=Path, help="the export's lines.csv, to map the cookbook's example ids")
    g.add_argument("--model", help="model name for imported predictions")
    g.add_argument("--json", action="store_true")
    g.set_defaults(func=_cmd_grade)

    r = sub.add_parser("report", help="write the HTML report (and CSVs)")
    r.add_argument("workspace", type=Path)
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--csv", type=Path, help="folder for CSV files")
    r.add_argument("--judge", default="heuristic")
    r.set_defaults(func=_cmd_report)

    lc = sub.add_parser("local", help="local fine-tuning: device and memory check, merge an adapter, vLLM command")
    lsub = lc.add_subparsers(dest="local_command", required=True, metavar="{info,merge,vllm}")
    li = lsub.add_parser("info", help="is the local extra installed, which device, how much memory a model needs")
    li.add_argument("--model", help="base model folder or hub id (default: the local profile's)")
    li.add_argument("--batch-size", type=int, default=4)
    li.add_argument("--qlora", action="store_true")
    li.add_argument("--json", action="store_true")
    li.set_defaults(func=_cmd_local_info)
    lm = lsub.add_parser("merge", help="write base model + adapter as one standalone model folder")
    lm.add_argument("model", help="a local fine-tuned model name (or checkpoint), or an adapter folder")
    lm.add_argument("--out", type=Path, required=True, help="a new folder for the merged model")
    lm.set_defaults(func=_cmd_local_merge)
    lv = lsub.add_parser("vllm", help="print (or start) the vLLM command serving local fine-tunes OpenAI-style")
    lv.add_argument("model", nargs="+", help="local fine-tuned model names or adapter folders")
    lv.add_argument("--port", type=int, default=8000)
    lv.add_argument("--start", action="store_true", help="start vLLM (it must be installed) instead of printing")
    lv.set_defaults(func=_cmd_local_vllm)

    d = sub.add_parser("demo", help="the whole loop headless on the demo data with the sandbox")
    d.add_argument("--out", type=Path, help="folder for everything the demo makes (default: <user data>/demo-run)")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=_cmd_demo)

    s = sub.add_parser("screenshot", help="render a panel offscreen to a PNG",
                       usage="vqa-desk screenshot PANEL --out PNG [WS]")
    # One list so the workspace may follow --out (argparse cannot interleave two optional positionals).
    s.add_argument("target", nargs="+", metavar="PANEL [WS]",
                   help="panel: main, browser, checks, export, finetune or review; WS default: the demo workspace")
    s.add_argument("--out", type=Path, required=True)
    s.set_defaults(func=_cmd_screenshot)

    return p


# ----- commands ---------------------------------------------------------------------------------------

def _cmd_new(args: argparse.Namespace) -> int:
    from vqa_desk.core.importer import import_dataset
    from vqa_desk.core.paths import hf_cache_dir
    from vqa_desk.core.sampling import parse_sizes

    sizes = parse_sizes(args.sizes) if args.sizes else None
    with _ProgressBar("import", quiet=False) as bar:
        result = import_dataset(args.source, args.workspace, sizes=sizes, seed=args.seed, split=args.split,
                                force=args.force, cache_dir=hf_cache_dir(), progress=bar.update,
                                cancel=bar.cancel)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    from vqa_desk.core.workspace import Workspace

    with Workspace.open(result.path) as ws:
        summary = ws.summary()
    if args.json:
        _print_json(summary)
    else:
        print(f"Created {result.path}")
        _print_summary(summary)
    return EXIT_OK


def _cmd_info(args: argparse.Namespace) -> int:
    from vqa_desk.core.workspace import Workspace

    with Workspace.open(args.workspace) as ws:
        summary = ws.summary()
    if args.json:
        _print_json(summary)
    else:
        _print_summary(summary)
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    from vqa_desk.core import findings as store
    from vqa_desk.core.checks import KINDS
    from vqa_desk.core.ocr import engine_available
    from vqa_desk.core.workspace import Workspace

    if args.apply and args.apply != "all" and args.apply not in KINDS:
        raise VQADeskError(f"--apply takes 'all' or one of: {', '.join(KINDS)}.")
    Workspace.open(args.workspace).close()  # a clear error before any OCR starts
    use_ocr = engine_available() if args.ocr is None else args.ocr
    if not use_ocr and args.ocr is None:
        print("note: the OCR engine is not installed; checks run on text evidence only (cover evidence off).",
              file=sys.stderr)
    with _ProgressBar("ocr", quiet=False) as bar:
        report = store.check_and_store(args.workspace, use_ocr=use_ocr, policy=args.policy, progress=bar.update,
                                       cancel=bar.cancel)
    for image_id, why in list(report.ocr_failed.items())[:10]:
        print(f"note: OCR of {image_id} failed: {why}", file=sys.stderr)
    applied: list[int] = []
    edits = 0
    with Workspace.open(args.workspace) as ws:
        if args.apply:
            chosen = store.select_for_apply(ws, kind=args.apply, min_confidence=args.min_confidence)
            applied = [f.id for f in chosen if f.id is not None]
            edits = len(store.apply(ws, applied, source="check")) if applied else 0
        findings = store.load(ws)
    counts = {k: sum(1 for f in findings if f.kind == k and f.status == "open") for k in KINDS}
    if args.json:
        _print_json({
            "counts": counts,
            "policy": report.policy,
            "cover_text": report.cover_text,
            "ocr": {"read": report.ocr_read, "cached": report.ocr_cached, "failed": report.ocr_failed}
            if use_ocr else None,
            "stored": report.stored.__dict__,
            "applied": {"findings": len(applied), "edits": edits},
            "findings": [_finding_json(f) for f in findings],
        })
        return EXIT_OK
    print(f"Checks on {args.workspace} (title policy {report.policy}; cover evidence "
          f"{'on, ' + str(report.covers_with_text) + ' covers with text' if report.cover_text else 'off'})")
    for kind in KINDS:
        print(f"  {kind:<20} {counts[kind]:>5} open")
    if args.apply:
        print(f"Applied {len(applied)} findings ({edits} answers changed, source 'check').")
    for f in findings:
        if f.status != "open":
            continue
        flag = " (possible)" if f.possible else ""
        print(f"[{f.id}] {f.kind}/{f.detail} {f.confidence:.2f}{flag}: {f.summary}")
        for ch in f.changes[:6]:
            print(f"      {ch.image_id} {ch.question!r}: {ch.old!r} -> {ch.new!r}")
        if len(f.changes) > 6:
            print(f"      ... and {len(f.changes) - 6} more")
    return EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    from vqa_desk.core.export import ExportOptions, export_workspace

    options = ExportOptions(format=args.format, few_shot=args.few_shot, quality=args.quality, max_side=args.max_side,
                            detail=args.detail, provider=args.provider,
                            **({"model": args.model} if args.model else {}), epochs=args.epochs)
    with _ProgressBar("export", quiet=False) as bar:
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
        _print_json(result.to_json())
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


def _cmd_validate(args: argparse.Namespace) -> int:
    from vqa_desk.core.validate import validate_file

    with _ProgressBar("validate", quiet=False) as bar:
        report = validate_file(args.file, provider=args.provider, progress=bar.update, cancel=bar.cancel)
    if args.json:
        _print_json(report.to_dict())
    else:
        verdict = "passes" if report.ok else "FAILS"
        print(f"{args.file} {verdict} {args.provider}'s rules: {report.stats.examples} examples, "
              f"{report.stats.images} images")
        for issue in report.errors:
            print(f"  error: {issue.message}")
        for issue in report.warnings:
            print(f"  warning: {issue.message}")
    return EXIT_OK if report.ok else EXIT_USER


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from vqa_desk.sandbox.server import serve

    if args.local:
        from vqa_desk.local.environment import require

        require()
    return serve(args.host, args.port, allow_remote=args.allow_remote, state_dir=args.state_dir,
                 step_delay=args.step_delay, local=args.local)


def _provider_client(name: str, stack: Any) -> tuple[Any, Any, bool]:
    """The profile, an openai client, and whether the provider is a sandbox living only in this command."""
    from dataclasses import replace

    from vqa_desk.core.paths import data_dir
    from vqa_desk.core.providers import ProviderKind, get_profile, make_client

    profile = get_profile(name)
    key = None
    in_process = profile.kind in (ProviderKind.SANDBOX, ProviderKind.LOCAL) and not profile.base_url
    if in_process:
        from vqa_desk.sandbox.server import SandboxServer

        local = profile.kind == ProviderKind.LOCAL
        if local:
            from vqa_desk.local.environment import require

            require()
        server = stack.enter_context(SandboxServer(state_dir=data_dir() / ("local" if local else "sandbox"),
                                                   local=local))
        profile, key = replace(profile, base_url=server.base_url), server.token
    client = make_client(profile, key=key)
    stack.callback(client.close)
    return profile, client, in_process


def _cmd_finetune(args: argparse.Namespace) -> int:

    from vqa_desk.core import finetune
    from vqa_desk.core.providers import ProviderKind
    from vqa_desk.core.workspace import Workspace

    Workspace.open(args.workspace).close()
    with contextlib.ExitStack() as stack:
        profile, client, in_process = _provider_client(args.provider, stack)
        local = profile.kind == ProviderKind.LOCAL
        if in_process and not args.wait and not local:
            print("note: the sandbox runs inside this command and stops with it, so --wait is implied (run "
                  "'vqa-desk sandbox' separately to launch and leave).", file=sys.stderr)
            args.wait = True
        with Workspace.open(args.workspace) as ws:
            running = [j for j in finetune.unfinished(ws) if j.provider == profile.name]
        if running and not args.new:
            record = running[0]
            print(f"Re-attaching to job {record.job_id or record.id} ({record.status}) instead of launching "
                  "another; --new launches one anyway.", file=sys.stderr)
        else:
            folder = _export_folder(args.workspace, args.export)
            request = finetune.LaunchRequest(
                train_path=folder / "train.jsonl",
                validation_path=folder / "validation.jsonl" if (folder / "validation.jsonl").exists() else None,
                model=args.model or profile.finetune_model, epochs=args.epochs, batch_size=args.batch_size,
                learning_rate_multiplier=args.learning_rate_multiplier, suffix=args.suffix, seed=args.seed,
                manifest=folder / "manifest.json" if (folder / "manifest.json").exists() else None,
                extra_hyperparameters=_local_hyperparameters(args))
            with _ProgressBar("upload", quiet=False) as bar:
                record = finetune.launch(args.workspace, profile, request, client, progress=bar.update,
                                         cancel=bar.cancel)
            print(f"Job {record.job_id}: {record.status}", file=sys.stderr)
        if local and in_process and not args.wait:
            # Training runs in its own process, which outlives this command once started; the next finetune,
            # evaluate or app session re-attaches to it and collects its events.
            while not record.finished and record.status not in ("running", "queued"):
                time.sleep(0.5)
                record = finetune.follow(args.workspace, record.id, profile, client, timeout=0)
            if record.status == "queued":
                print(f"Job {record.job_id}: queued behind another local job; it starts when that one ends, while "
                      "VQA Desk runs (the app, or this command with --wait).", file=sys.stderr)
            elif not record.finished:
                print(f"Job {record.job_id}: {record.status}; training goes on in the background (run this "
                      "command again with --wait to follow it).", file=sys.stderr)
        if args.wait:
            last = {"status": record.status}

            def on_update(rec: Any, events: list[Any]) -> None:
                for e in events:
                    print(f"  [{e.level}] {e.message}", file=sys.stderr)
                if rec.status != last["status"]:
                    print(f"Job {rec.job_id}: {rec.status}", file=sys.stderr)
                    last["status"] = rec.status

            cancel = threading.Event()
            try:
                record = finetune.follow(args.workspace, record.id, profile, client, on_update=on_update,
                                         cancel=cancel, poll_seconds=args.poll)
            except KeyboardInterrupt:
                cancel.set()
                print("Stopped following; the job keeps running and is re-attached next time.", file=sys.stderr)
                return 130
    if args.json:
        _print_json({k: v for k, v in record.__dict__.items()})
    else:
        print(record.fine_tuned_model or f"{record.job_id or record.id}: {record.status}")
    if args.wait and record.status != "succeeded":
        print(f"vqa-desk: the job ended {record.status}: {record.error or 'no reason given'}", file=sys.stderr)
        return EXIT_USER
    return EXIT_OK


def _local_hyperparameters(args: argparse.Namespace) -> dict[str, Any] | None:
    values = {"learning_rate": args.learning_rate, "lora_r": args.lora_r, "lora_alpha": args.lora_alpha,
              "lora_dropout": args.lora_dropout, "max_image_side": args.max_image_side,
              "gradient_accumulation_steps": args.grad_accum, "qlora": True if args.qlora else None}
    given = {k: v for k, v in values.items() if v is not None}
    return given or None


def _cmd_local_info(args: argparse.Namespace) -> int:
    from vqa_desk.core.providers import get_profile
    from vqa_desk.local import environment

    out: dict[str, Any] = {"missing_packages": environment.missing_packages()}
    if out["missing_packages"]:
        out["install"] = environment.INSTALL_HINT
    else:
        device = environment.detect_device()
        out["device"] = {"kind": device.kind, "name": device.name, "memory_gb": device.memory_gb,
                         "warning": device.warning}
    model = args.model or get_profile("local").finetune_model
    out["model"] = model
    try:
        folder = environment.resolve_base_model(model)
        params = environment.parameter_count(folder)
        out.update(model_path=str(folder), parameters=params, estimated_memory_gb=environment.estimate_memory_gb(
            params, qlora=args.qlora, batch_size=args.batch_size))
    except environment.LocalUnavailable as exc:
        out["model_problem"] = str(exc)
    out["licence"] = environment.KNOWN_MODELS.get(model)
    if args.json:
        _print_json(out)
        return EXIT_OK
    print("Local fine-tuning: " + ("ready" if not out["missing_packages"] else
                                   f"not installed ({', '.join(out['missing_packages'])}): {out['install']}"))
    if "device" in out:
        d = out["device"]
        print(f"Device: {d['kind'].upper()} {d['name']}" + (f", {d['memory_gb']:.0f} GB" if d["memory_gb"] else ""))
        if d["warning"]:
            print(f"Warning: {d['warning']}")
    print(f"Base model: {model}" + (f" ({out['licence']})" if out["licence"] else ""))
    if "model_problem" in out:
        print(f"  {out['model_problem']}")
    else:
        print(f"  {out['parameters'] / 1e6:,.0f}M parameters in {out['model_path']}; LoRA training needs about "
              f"{out['estimated_memory_gb']} GB (batch {args.batch_size}{', QLoRA' if args.qlora else ''})")
    return EXIT_OK


def _local_adapter(name: str) -> Path:
    from vqa_desk.core.paths import data_dir
    from vqa_desk.local.environment import LocalUnavailable
    from vqa_desk.local.protocol import find_adapter

    try:
        return find_adapter(name, data_dir() / "local")
    except FileNotFoundError as exc:
        raise LocalUnavailable(str(exc)) from None


def _cmd_local_merge(args: argparse.Namespace) -> int:
    from vqa_desk.local.inference import merge_adapter

    adapter = _local_adapter(args.model)
    print(f"Merging {adapter} into its base model ...", file=sys.stderr)
    print(merge_adapter(adapter, args.out))
    return EXIT_OK


def _cmd_local_vllm(args: argparse.Namespace) -> int:
    import shlex

    from vqa_desk.local import vllm
    from vqa_desk.local.inference import adapter_manifest

    adapters = {name: _local_adapter(name) for name in args.model}
    bases = {str(adapter_manifest(p).get("base_model_path") or adapter_manifest(p).get("base_model"))
             for p in adapters.values()}
    if len(bases) != 1:
        print(f"vqa-desk: one vLLM server serves adapters of one base model; these have {sorted(bases)}.",
              file=sys.stderr)
        return EXIT_USER
    cmd = vllm.serve_command(bases.pop(), adapters, port=args.port)
    if not args.start:
        print(shlex.join(cmd))
        return EXIT_OK
    from vqa_desk.core.paths import data_dir

    proc = vllm.start(cmd, data_dir() / "local" / "vllm.log")
    print(f"vLLM started (pid {proc.pid}); OPENAI_BASE_URL=http://127.0.0.1:{args.port}/v1 — add it as a "
          "'compatible' provider profile. Log: " + str(data_dir() / "local" / "vllm.log"), file=sys.stderr)
    return EXIT_OK


def _export_folder(workspace: Path, given: Path | None) -> Path:
    """The export to use: the given folder, or <workspace>-export beside it, exported now if it is missing."""
    from vqa_desk.core.export import export_workspace

    folder = given or workspace.with_name(f"{workspace.stem}-export")
    if not (folder / "train.jsonl").exists():
        print(f"Exporting to {folder} first ...", file=sys.stderr)
        with _ProgressBar("export", quiet=False) as bar:
            export_workspace(workspace, folder, progress=bar.update, cancel=bar.cancel)
    return folder


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


def _cmd_evaluate(args: argparse.Namespace) -> int:

    from vqa_desk.core import inference
    from vqa_desk.core.workspace import Workspace

    Workspace.open(args.workspace).close()
    folder = _export_folder(args.workspace, args.export)
    summaries = []
    with contextlib.ExitStack() as stack:
        profile, client, _ = _provider_client(args.provider, stack)
        for name in args.model:
            model = _resolve_model(args.workspace, profile.name, name)
            with _ProgressBar(model[:30], quiet=False) as bar:
                summary = inference.evaluate(args.workspace, profile, client, model, folder,
                                             concurrency=args.concurrency, use_batch=args.batch,
                                             progress=bar.update, cancel=bar.cancel)
            summaries.append(summary)
            print(f"{model}: {summary.questions} questions, {summary.requested} requests sent, {summary.cached} "
                  f"from the cache, {len(summary.failed)} failed", file=sys.stderr)
    if args.json:
        _print_json({"runs": [s.to_dict() for s in summaries]})
    return EXIT_OK if not any(s.failed for s in summaries) else EXIT_USER


def _finding_json(f: Any) -> dict[str, Any]:
    return {"id": f.id, "kind": f.kind, "detail": f.detail, "confidence": f.confidence, "status": f.status,
            "reason": f.reason, "summary": f.summary, "evidence": f.evidence,
            "changes": [{"qa_id": c.qa_id, "image_id": c.image_id, "question": c.question, "old": c.old,
                         "new": c.new} for c in f.changes]}


def _cmd_grade(args: argparse.Namespace) -> int:

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
            profile, client, _ = _provider_client(args.provider or "sandbox", stack)
        with _ProgressBar("grade", quiet=False) as bar:
            summary = grading.grade_workspace(args.workspace, judge=args.judge, profile=profile, client=client,
                                              progress=bar.update, cancel=bar.cancel)
    if args.json:
        _print_json(summary.to_dict())
    else:
        _print_metrics(summary.metrics)
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from vqa_desk.core.report import build_report

    result = build_report(args.workspace, args.out, csv_dir=args.csv, judge=args.judge)
    print(f"wrote {result.html}" + (f" and {len(result.csv_files)} CSV files" if result.csv_files else ""),
          file=sys.stderr)
    return EXIT_OK


def _print_metrics(metrics: dict[str, Any]) -> None:
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


def _cmd_demo(args: argparse.Namespace) -> int:
    """The whole loop on the demo data, offline: checks, fixes, export, fine-tune, evaluate, grade, report."""
    from vqa_desk.core import findings, finetune, grading, inference
    from vqa_desk.core.export import ExportOptions, export_workspace
    from vqa_desk.core.importer import import_dataset
    from vqa_desk.core.ocr import engine_available
    from vqa_desk.core.paths import data_dir
    from vqa_desk.core.providers import ProviderKind, ProviderProfile, make_client
    from vqa_desk.core.report import build_report
    from vqa_desk.core.workspace import Workspace
    from vqa_desk.sandbox.server import SandboxServer

    if args.out is None:  # our own folder: on a fresh account even its parents may not exist yet
        out = data_dir() / "demo-run"
        out.mkdir(parents=True, exist_ok=True)
    else:  # a folder the user named: a mistyped parent is refused, not created
        out = args.out
        if not out.parent.is_dir():
            raise VQADeskError(f"The folder {out.parent} does not exist; create it or choose another --out.")
        out.mkdir(exist_ok=True)
    ws = out / "demo.vqadesk"

    def step(text: str) -> None:
        print(f"demo: {text}", file=sys.stderr, flush=True)

    step(f"1/7 new workspace {ws}")
    import_dataset("demo", ws, force=True)
    use_ocr = engine_available()
    step(f"2/7 label checks (cover evidence {'on' if use_ocr else 'off: OCR engine not installed'})")
    with _ProgressBar("checks", quiet=False) as bar:
        report = findings.check_and_store(ws, use_ocr=use_ocr, progress=bar.update, cancel=bar.cancel)
    with Workspace.open(ws) as opened:
        chosen = findings.select_for_apply(opened, kind="all", min_confidence=0.9)
        edits = findings.apply(opened, [f.id for f in chosen if f.id is not None]) if chosen else []
    step(f"   {sum(report.counts.values())} findings; applied {len(chosen)} confident ones ({len(edits)} answers)")
    step("3/7 export")
    export_dir = out / "export"
    with _ProgressBar("export", quiet=False) as bar:
        exported = export_workspace(ws, export_dir, options=ExportOptions(quality=75, max_side=512),
                                    progress=bar.update, cancel=bar.cancel)
    with SandboxServer(state_dir=out / "sandbox", step_delay=0) as server:
        profile = ProviderProfile("sandbox", ProviderKind.SANDBOX, base_url=server.base_url)
        client = make_client(profile, key=server.token)
        step("4/7 fine-tune sandbox-ocr on the export (the offline sandbox: a baseline, not GPT-4o)")
        request = finetune.LaunchRequest(export_dir / "train.jsonl", export_dir / "validation.jsonl", "sandbox-ocr",
                                         suffix="demo", manifest=exported.manifest)
        with _ProgressBar("upload", quiet=False) as bar:
            record = finetune.launch(ws, profile, request, client, progress=bar.update, cancel=bar.cancel)
        record = finetune.follow(ws, record.id, profile, client, poll_seconds=0.5)
        if record.status != "succeeded":
            raise VQADeskError(f"The demo's fine-tuning job ended {record.status}: {record.error}")
        step(f"   {record.fine_tuned_model}")
        step("5/7 evaluate the base and the fine-tuned model on the test split")
        for model in ("sandbox-ocr", str(record.fine_tuned_model)):
            with _ProgressBar(model[:30], quiet=False) as bar:
                inference.evaluate(ws, profile, client, model, export_dir, concurrency=8, progress=bar.update,
                                   cancel=bar.cancel)
        client.close()
    step("6/7 grade")
    summary = grading.grade_workspace(ws)
    step("7/7 report")
    built = build_report(ws, out / "report.html", csv_dir=out / "csv")
    if args.json:
        _print_json({"workspace": str(ws), "metrics": summary.metrics, "report": str(built.html),
                     "findings": report.counts, "applied": len(chosen), "fine_tuned_model": record.fine_tuned_model,
                     "export": {k: str(v) for k, v in exported.files.items()}})
    else:
        _print_metrics(summary.metrics)
        print(f"Report: {built.html}")
    return EXIT_OK


def _cmd_default(args: argparse.Namespace) -> int:
    from vqa_desk.core.settings import load_settings

    if getattr(args, "smoke", False):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from vqa_desk.gui.app import smoke

        return smoke(ensure_demo_workspace())

    if not has_display():
        print("vqa-desk: no display found (DISPLAY / WAYLAND_DISPLAY unset), so the window cannot open; running "
              "the headless demo instead (vqa-desk demo). Start it from a desktop session to get the app.",
              file=sys.stderr)
        return _cmd_demo(argparse.Namespace(out=None, json=False))
    settings = load_settings()
    last = Path(settings.last_workspace) if settings.last_workspace else None
    path = last if last is not None and last.exists() else ensure_demo_workspace()
    return _open_gui(path)


def _cmd_open(args: argparse.Namespace) -> int:
    from vqa_desk.core.workspace import Workspace

    Workspace.open(args.workspace).close()  # fail here, with the CLI's message, before any window exists
    if not has_display():
        print("vqa-desk: no display found (DISPLAY / WAYLAND_DISPLAY unset); cannot open a window.", file=sys.stderr)
        return EXIT_USER
    return _open_gui(args.workspace)


def _open_gui(path: Path) -> int:
    from vqa_desk.gui.app import run_app

    return run_app(path)


def _cmd_screenshot(args: argparse.Namespace) -> int:
    from vqa_desk.gui.app import screenshot

    if len(args.target) > 2:
        raise VQADeskError("screenshot takes a panel name and at most one workspace.")
    panel = args.target[0]
    path = Path(args.target[1]) if len(args.target) == 2 else ensure_demo_workspace()
    out = screenshot(panel, path, args.out)
    print(f"wrote {out}", file=sys.stderr)
    return EXIT_OK


# ----- helpers ----------------------------------------------------------------------------------------

def ensure_demo_workspace(path: Path | None = None) -> Path:
    """The demo workspace, created from the bundled data the first time it is needed."""
    from vqa_desk.core.importer import import_dataset
    from vqa_desk.core.paths import demo_workspace_path
    from vqa_desk.core.workspace import Workspace

    path = path or demo_workspace_path()
    if path.exists():
        try:
            Workspace.open(path).close()
            return path
        except VQADeskError as exc:
            print(f"vqa-desk: the demo workspace could not be opened ({exc}); rebuilding it.", file=sys.stderr)
    print(f"vqa-desk: creating the demo workspace at {path}", file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _ProgressBar("demo", quiet=False) as bar:
        import_dataset("demo", path, force=True, progress=bar.update, cancel=bar.cancel)
    return path


def has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal")):
        return False
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class _ProgressBar:
    """tqdm on stderr for a core progress callback; Ctrl+C sets the cancel token."""

    def __init__(self, desc: str, *, quiet: bool) -> None:
        self._desc = desc
        self._quiet = quiet
        self._bar: Any = None
        self.cancel = threading.Event()

    def __enter__(self) -> _ProgressBar:
        import signal

        self._previous = None
        if threading.current_thread() is threading.main_thread():
            def on_sigint(signum: int, frame: object) -> None:
                if self.cancel.is_set():
                    raise KeyboardInterrupt  # a second Ctrl+C: stop now
                print("\nvqa-desk: stopping (Ctrl+C again to force) ...", file=sys.stderr)
                self.cancel.set()

            self._previous = signal.signal(signal.SIGINT, on_sigint)
        return self

    def update(self, done: int, total: int, message: str) -> None:
        if self._quiet:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=self._desc, unit="cover", file=sys.stderr, leave=False,
                             disable=None)  # None: no bar when stderr is not a terminal
        self._bar.set_postfix_str(message, refresh=False)
        self._bar.update(done - self._bar.n)

    def __exit__(self, *exc: object) -> None:
        import signal

        if self._bar is not None:
            self._bar.close()
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _print_json(obj: dict[str, Any]) -> None:
    json.dump(obj, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


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


if __name__ == "__main__":
    sys.exit(main())
