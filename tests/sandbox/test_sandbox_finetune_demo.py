"""The point of the sandbox's fine-tuning: a model fine-tuned on the demo's training split answers the test
split's questions — covers it never saw — better than its base, by exact match, through the real client."""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
from sandbox_helpers import wait_for

from vqa_desk.core.questions import is_closed_answer
from vqa_desk.sandbox import SandboxServer


@pytest.mark.slow
def test_fine_tuned_model_beats_its_base_on_held_out_covers(demo_export, tmp_path):
    with SandboxServer(step_delay=0, state_dir=tmp_path / "state") as server, \
            openai.OpenAI(base_url=server.base_url, api_key=server.token, max_retries=0, timeout=120) as client:
        started = time.monotonic()
        train = client.files.create(file=demo_export.train.open("rb"), purpose="fine-tune")
        valid = client.files.create(file=demo_export.validation.open("rb"), purpose="fine-tune")
        uploaded = time.monotonic()
        job = client.fine_tuning.jobs.create(model="sandbox-ocr", training_file=train.id, validation_file=valid.id,
                                             suffix="demo", seed=42)
        job = wait_for(lambda: (j := client.fine_tuning.jobs.retrieve(job.id)).status in
                       ("succeeded", "failed", "cancelled") and j, timeout=300, interval=0.2)
        trained = time.monotonic()
        assert job.status == "succeeded", job.error
        events = list(client.fine_tuning.jobs.list_events(job.id, limit=100))[::-1]  # oldest first
        metrics = [e.data for e in events if e.type == "metrics"]
        full = [m for m in metrics if "full_valid_loss" in m]
        assert len(full) == job.hyperparameters.n_epochs

        tests = demo_export.lines("test")
        truth = demo_export.test_answers
        assert len(tests) == len(truth) > 500

        def answer(model: str, example: dict) -> str:
            reply = client.chat.completions.create(model=model, messages=example["messages"], temperature=0)
            return reply.choices[0].message.content or ""

        scores = {}
        with ThreadPoolExecutor(max_workers=4) as pool:
            for model in ("sandbox-ocr", job.fine_tuned_model):
                answers = list(pool.map(lambda ex, m=model: answer(m, ex), tests))
                right = [a == t for a, t in zip(answers, truth, strict=True)]
                closed = [r for r, t in zip(right, truth, strict=True) if is_closed_answer(t)]
                open_ = [r for r, t in zip(right, truth, strict=True) if not is_closed_answer(t)]
                scores[model] = (sum(right) / len(right), sum(closed) / len(closed), sum(open_) / len(open_))
        evaluated = time.monotonic()
    base, tuned = scores["sandbox-ocr"], scores[job.fine_tuned_model]
    print(f"\nsandbox-ocr on the demo test split ({len(truth)} questions, exact match): base {base[0]:.1%} "
          f"(closed {base[1]:.1%}, open {base[2]:.1%}); fine-tuned {tuned[0]:.1%} (closed {tuned[1]:.1%}, "
          f"open {tuned[2]:.1%}). Upload {uploaded - started:.1f} s, job {trained - uploaded:.1f} s "
          f"({job.hyperparameters.n_epochs} epochs, final full_valid_loss {full[-1]['full_valid_loss']:.3f}), "
          f"evaluation {evaluated - trained:.1f} s", file=sys.stderr)
    assert tuned[0] >= base[0] + 0.15
    assert tuned[2] > base[2] and tuned[1] >= base[1]
    assert full[-1]["full_valid_loss"] < full[0]["full_valid_loss"]  # it learnt, on data it did not train on
