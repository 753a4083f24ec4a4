"""The argument parser: every command, option, default and help text of the CLI contract, and nothing else."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from vqa_desk import __version__
from vqa_desk.cli import checks, demo, evaluate, export, finetune, gui, local, sandbox, workspace_cmds


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "command", None) == "screenshot" and not any(e.startswith("-") for e in extra):
        args.target += extra  # the contract puts WS after --out, which argparse will not interleave
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vqa-desk", description="Curate, export, fine-tune and review VQA data.")
    p.add_argument("--version", action="version", version=f"vqa-desk {__version__}")
    p.add_argument("--smoke", action="store_true",
                   help="open the window offscreen on the demo workspace, show every panel once, and exit")
    p.set_defaults(func=gui.cmd_default)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    o = sub.add_parser("open", help="open a workspace in the app")
    o.add_argument("workspace", type=Path)
    o.set_defaults(func=gui.cmd_open)

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
    n.set_defaults(func=workspace_cmds.cmd_new)

    i = sub.add_parser("info", help="counts of covers, QA pairs, question types and edits")
    i.add_argument("workspace", type=Path)
    i.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    i.set_defaults(func=workspace_cmds.cmd_info)

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
    c.set_defaults(func=checks.cmd_check)

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
    e.set_defaults(func=export.cmd_export)

    v = sub.add_parser("validate", help="check a chat-format JSONL file against a provider's rules")
    v.add_argument("file", type=Path)
    v.add_argument("--provider", choices=["openai", "azure", "compatible"], default="openai")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=export.cmd_validate)

    sb = sub.add_parser("sandbox", help="serve the offline OpenAI-compatible sandbox until stopped")
    sb.add_argument("--host", default="127.0.0.1")
    sb.add_argument("--port", type=int, default=0, help="0 picks a free port")
    sb.add_argument("--allow-remote", action="store_true", help="allow a host other than loopback (a warning is "
                                                                "printed: anyone who can reach it may use it)")
    sb.add_argument("--state-dir", type=Path, help="where jobs, files and models are kept (default: user data)")
    sb.add_argument("--step-delay", type=float, help="seconds per training step (default 0.05)")
    sb.add_argument("--local", action="store_true", help="also fine-tune and serve open vision-language models "
                                                         "(needs vqa-desk[local]; state in <user data>/local)")
    sb.set_defaults(func=sandbox.cmd_sandbox)

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
    ft.set_defaults(func=finetune.cmd_finetune)

    ev = sub.add_parser("evaluate", help="answer the test questions with one or more models")
    ev.add_argument("workspace", type=Path)
    ev.add_argument("--provider", required=True)
    ev.add_argument("--model", action="append", required=True,
                    help="a model name; 'finetuned' means this workspace's latest fine-tuned model (repeatable)")
    ev.add_argument("--concurrency", type=int, default=8)
    ev.add_argument("--batch", action="store_true", help="use the Batch API (half price, for large test sets)")
    ev.add_argument("--export", type=Path, help="export folder with test.jsonl (default: <workspace>-export)")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=evaluate.cmd_evaluate)

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
    g.set_defaults(func=evaluate.cmd_grade)

    r = sub.add_parser("report", help="write the HTML report (and CSVs)")
    r.add_argument("workspace", type=Path)
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--csv", type=Path, help="folder for CSV files")
    r.add_argument("--judge", default="heuristic")
    r.set_defaults(func=evaluate.cmd_report)

    lc = sub.add_parser("local", help="local fine-tuning: device and memory check, merge an adapter, vLLM command")
    lsub = lc.add_subparsers(dest="local_command", required=True, metavar="{info,merge,vllm}")
    li = lsub.add_parser("info", help="is the local extra installed, which device, how much memory a model needs")
    li.add_argument("--model", help="base model folder or hub id (default: the local profile's)")
    li.add_argument("--batch-size", type=int, default=4)
    li.add_argument("--qlora", action="store_true")
    li.add_argument("--json", action="store_true")
    li.set_defaults(func=local.cmd_info)
    lm = lsub.add_parser("merge", help="write base model + adapter as one standalone model folder")
    lm.add_argument("model", help="a local fine-tuned model name (or checkpoint), or an adapter folder")
    lm.add_argument("--out", type=Path, required=True, help="a new folder for the merged model")
    lm.set_defaults(func=local.cmd_merge)
    lv = lsub.add_parser("vllm", help="print (or start) the vLLM command serving local fine-tunes OpenAI-style")
    lv.add_argument("model", nargs="+", help="local fine-tuned model names or adapter folders")
    lv.add_argument("--port", type=int, default=8000)
    lv.add_argument("--start", action="store_true", help="start vLLM (it must be installed) instead of printing")
    lv.set_defaults(func=local.cmd_vllm)

    d = sub.add_parser("demo", help="the whole loop headless on the demo data with the sandbox")
    d.add_argument("--out", type=Path, help="folder for everything the demo makes (default: <user data>/demo-run)")
    d.add_argument("--json", action="store_true")
    d.set_defaults(func=demo.cmd_demo)

    s = sub.add_parser("screenshot", help="render a panel offscreen to a PNG",
                       usage="vqa-desk screenshot PANEL --out PNG [WS]")
    # One list so the workspace may follow --out (argparse cannot interleave two optional positionals).
    s.add_argument("target", nargs="+", metavar="PANEL [WS]",
                   help="panel: main, browser, checks, export, finetune or review; WS default: the demo workspace")
    s.add_argument("--out", type=Path, required=True)
    s.set_defaults(func=gui.cmd_screenshot)

    return p
