"""The local provider's own overhead, on the CPU with the tiny random SmolVLM-architecture model.

Real models cannot run here (no GPU, no weights), so this measures what VQA Desk adds around TRL and
transformers: launch to first step (process start, model load, the covers' table), training steps per second
and the relay's delay, the training process's peak memory, and answers per second through the OpenAI-style
endpoint (HTTP, image decoding, generation). Needs the local extra.

    .venv/bin/python bench/bench_local.py [--lines 200] [--epochs 2] [--questions 100]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openai
import psutil

from tools.tiny_vlm import write_tiny_vlm
from vqa_desk.core import finetune, inference
from vqa_desk.core.export import ExportOptions, export_workspace
from vqa_desk.core.importer import import_dataset
from vqa_desk.core.providers import ProviderKind, ProviderProfile
from vqa_desk.local import protocol
from vqa_desk.sandbox.server import SandboxServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=200, help="training lines (questions) to train on")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--questions", type=int, default=100, help="test questions to answer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ws = root / "demo.vqadesk"
        import_dataset("demo", ws)
        full = root / "full"
        export_workspace(ws, full, options=ExportOptions(few_shot=6))  # the cookbook's layout, as users export
        export = root / "export"
        export.mkdir()
        (export / "train.jsonl").write_text("".join((full / "train.jsonl").open().readlines()[:args.lines]))
        (export / "test.jsonl").write_text("".join((full / "test.jsonl").open().readlines()[:args.questions]))
        (export / "lines.csv").write_text((full / "lines.csv").read_text())
        model = write_tiny_vlm(root / "tiny")
        with SandboxServer(step_delay=0, state_dir=root / "state", local=True) as server, \
                openai.OpenAI(base_url=server.base_url, api_key=server.token, max_retries=0, timeout=600) as client:
            profile = ProviderProfile("local", ProviderKind.LOCAL, base_url=server.base_url)
            request = finetune.LaunchRequest(train_path=export / "train.jsonl", validation_path=None,
                                             model=str(model), epochs=args.epochs, batch_size=4,
                                             extra_hyperparameters={"lora_r": 8})
            started = time.monotonic()
            record = finetune.launch(ws, profile, request, client)
            job_dir = server.state_dir / "local-jobs" / record.job_id
            peak = [0]

            def watch() -> None:
                while protocol.read_state(job_dir).get("status") not in protocol.TERMINAL:
                    pid = protocol.read_state(job_dir).get("pid")
                    try:
                        if pid:
                            peak[0] = max(peak[0], psutil.Process(pid).memory_info().rss)
                    except psutil.Error:
                        pass
                    time.sleep(0.1)

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            first: list[float] = []
            seen: list[tuple[float, int]] = []

            def on_update(_record: object, events: list[finetune.JobEvent]) -> None:
                now = time.monotonic()
                for e in events:
                    if e.type == "metrics" and e.data and "train_loss" in e.data:
                        if not first:
                            first.append(now - started)
                        seen.append((now, int(e.data["step"])))

            done = finetune.follow(ws, record.id, profile, client, poll_seconds=0.2, on_update=on_update)
            total = time.monotonic() - started
            watcher.join(timeout=5)
            assert done.status == "succeeded", done.error
            steps = seen[-1][1] if seen else 0
            train_s = seen[-1][0] - seen[0][0] if len(seen) > 1 else float("nan")
            print(f"training: {args.lines} lines x {args.epochs} epochs = {steps} steps at batch 4")
            print(f"  launch to first step {first[0]:.1f} s (process start, model load, covers' table)")
            print(f"  {(steps - 1) / train_s:.1f} steps/s as relayed; whole job {total:.1f} s")
            print(f"  training process peak RSS {peak[0] / 2**20:.0f} MiB")
            t0 = time.monotonic()
            summary = inference.evaluate(ws, profile, client, done.fine_tuned_model, export, concurrency=4)
            answer_s = time.monotonic() - t0
            print(f"serving: {summary.questions} questions in {answer_s:.1f} s = {summary.questions / answer_s:.1f} "
                  f"answers/s (first request loads the model), {len(summary.failed)} failed")


if __name__ == "__main__":
    main()
