"""finetune: launch a job on a provider (or re-attach to a running one) and follow it."""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time
from typing import Any

from vqa_desk.cli.common import EXIT_OK, EXIT_USER, ProgressBar, print_json
from vqa_desk.cli.provider import export_folder, provider_client


def cmd_finetune(args: argparse.Namespace) -> int:
    from vqa_desk.core import finetune
    from vqa_desk.core.providers import ProviderKind
    from vqa_desk.core.workspace import Workspace

    Workspace.open(args.workspace).close()
    with contextlib.ExitStack() as stack:
        profile, client, in_process = provider_client(args.provider, stack)
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
            folder = export_folder(args.workspace, args.export)
            request = finetune.LaunchRequest(
                train_path=folder / "train.jsonl",
                validation_path=folder / "validation.jsonl" if (folder / "validation.jsonl").exists() else None,
                model=args.model or profile.finetune_model, epochs=args.epochs, batch_size=args.batch_size,
                learning_rate_multiplier=args.learning_rate_multiplier, suffix=args.suffix, seed=args.seed,
                manifest=folder / "manifest.json" if (folder / "manifest.json").exists() else None,
                extra_hyperparameters=_local_hyperparameters(args))
            with ProgressBar("upload", quiet=False) as bar:
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
        print_json({k: v for k, v in record.__dict__.items()})
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
