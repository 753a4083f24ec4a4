"""Evaluation throughput: 500 questions against the sandbox with 200 ms added latency per request.

Prints wall time vs the ideal (questions / concurrency x latency; target within 1.3x) and checks that a
second run sends zero requests. Runs with the cookbook's 6-shot requests (~7 images, ~100 KB each) and with
0-shot requests (1 image), since the openai client's own per-request CPU cost grows with the body.

    .venv/bin/python bench/bench_eval.py [--questions 500] [--concurrency 16] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openai

from vqa_desk.core import inference
from vqa_desk.core.export import ExportOptions, export_workspace
from vqa_desk.core.importer import import_dataset
from vqa_desk.core.providers import ProviderKind, ProviderProfile
from vqa_desk.sandbox.server import SandboxServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ws = root / "demo.vqadesk"
        import_dataset("demo", ws)
        with SandboxServer(step_delay=0, state_dir=root / "sbx") as server:
            profile = ProviderProfile("sbx", ProviderKind.SANDBOX, base_url=server.base_url)
            client = openai.OpenAI(base_url=server.base_url, api_key=server.token, max_retries=0, timeout=60)
            # Warm the sandbox's OCR cache so the figures measure the request path, not cover reading.
            for k in (6, 0):
                export = root / f"export-k{k}"
                export_workspace(ws, export, options=ExportOptions(few_shot=k, estimate=False, validate=False))
                lines = (export / "test.jsonl").read_bytes().splitlines(keepends=True)
                needed = args.questions
                while len(lines) < needed:  # the demo's test split has 582 questions; enough for 500
                    lines += lines
                (export / "test.jsonl").write_bytes(b"".join(lines[:needed]))
                run_ws = root / f"run-k{k}.vqadesk"
                shutil.copy(ws, run_ws)
                server.settings.latency = 0
                inference.evaluate(run_ws, profile, client, "sandbox-ocr", export, concurrency=args.concurrency)
                fresh = root / f"fresh-k{k}.vqadesk"  # a new workspace: nothing cached
                shutil.copy(ws, fresh)
                server.settings.latency = args.latency
                t = time.perf_counter()
                first = inference.evaluate(fresh, profile, client, "sandbox-ocr", export,
                                           concurrency=args.concurrency)
                wall = time.perf_counter() - t
                t = time.perf_counter()
                second = inference.evaluate(fresh, profile, client, "sandbox-ocr", export,
                                            concurrency=args.concurrency)
                again = time.perf_counter() - t
                ideal = first.questions / args.concurrency * args.latency
                print(f"{k}-shot: {first.questions} questions, concurrency {args.concurrency}, latency "
                      f"{args.latency * 1000:.0f} ms: {wall:.2f} s vs ideal {ideal:.2f} s = {wall / ideal:.2f}x "
                      f"(target <= 1.3x); {first.requested} requests, {len(first.failed)} failed; second run "
                      f"{second.requested} requests in {again:.2f} s")
            client.close()


if __name__ == "__main__":
    main()
