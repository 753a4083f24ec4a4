"""Local fine-tuning jobs through the real openai client and the app's own job code: the same statuses and
events as a sandbox job, checkpoints, cancel, re-attach after the server restarts, serving and grading."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import openai
import pytest

from tests.local.conftest import LEARNING, STEPS_PER_EPOCH, TEST_LINES
from vqa_desk.core import finetune, grading, inference
from vqa_desk.core.providers import ProviderKind, ProviderProfile
from vqa_desk.core.workspace import Workspace
from vqa_desk.local import protocol
from vqa_desk.sandbox.server import SandboxServer

pytestmark = [pytest.mark.local, pytest.mark.slow]

# The messages that mark a job's phases (the sandbox writes the same ones, as OpenAI does).
PHASES = ("Created fine-tuning job", "Files validated, moving job to queued state", "Fine-tuning job started",
          "Checkpoint created at step", "New fine-tuned model created", "The job has successfully completed")


def _phases(events: list[finetune.JobEvent]) -> list[str]:
    out: list[str] = []
    for e in events:
        phase = next((p for p in PHASES if e.message.startswith(p)), None)
        if phase and (not out or out[-1] != phase):
            out.append(phase)
    return out


def _request(export: Path, model: str, **hp: object) -> finetune.LaunchRequest:
    values = {**LEARNING, **hp}
    epochs, batch = values.pop("n_epochs"), values.pop("batch_size")
    return finetune.LaunchRequest(train_path=export / "train.jsonl", validation_path=None, model=model,
                                  epochs=int(epochs), batch_size=int(batch), suffix="t", seed=1,
                                  extra_hyperparameters=values)


@pytest.fixture
def ws(small_export: Path, tmp_path: Path) -> Path:
    import shutil

    path = tmp_path / "ws.vqadesk"
    shutil.copy(Path((small_export / "workspace").read_text()), path)
    return path


def _profile(server: SandboxServer, kind: ProviderKind = ProviderKind.LOCAL) -> ProviderProfile:
    return ProviderProfile("local", kind, base_url=server.base_url, judge_model="sandbox-ocr")


def _wait_for(predicate, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_a_local_job_goes_through_the_same_statuses_and_events_as_a_sandbox_job(
        ws: Path, small_export: Path, tiny_model: Path, local_server: SandboxServer,
        local_client: openai.OpenAI) -> None:
    profile = _profile(local_server)
    statuses: list[str] = []
    record = finetune.launch(ws, profile, _request(small_export, str(tiny_model)), local_client)
    done = finetune.follow(ws, record.id, profile, local_client, poll_seconds=0.1, timeout=240,
                           on_update=lambda r, _e: statuses.append(r.status))
    assert done.status == "succeeded", done.error
    assert done.fine_tuned_model == f"ft:{tiny_model.name}:local:t:{done.job_id.removeprefix('ftjob-')}"
    assert statuses[-1] == "succeeded" and set(statuses) <= {"validating_files", "queued", "running", "succeeded"}
    # The same job in the sandbox, for comparison.
    sandbox_profile = _profile(local_server, ProviderKind.SANDBOX)
    twin = finetune.launch(ws, sandbox_profile, _request(small_export, "sandbox-ocr", learning_rate=None,
                                                         lora_r=None, lora_alpha=None, max_image_side=None),
                           local_client)
    twin = finetune.follow(ws, twin.id, sandbox_profile, local_client, poll_seconds=0.1, timeout=120)
    with Workspace.open(ws) as opened:
        local_events, sandbox_events = finetune.events(opened, record.id), finetune.events(opened, twin.id)
        assert _phases(local_events) == _phases(sandbox_events) == list(PHASES)
        points = finetune.metrics(opened, record.id)
        assert [p[0] for p in points] == list(range(1, len(points) + 1))  # the loss chart: one point per step
        assert points[-1][1] < points[0][1]
        assert finetune.unfinished(opened) == []
    checkpoints = finetune.checkpoints(done, profile, local_client)
    # The last three epochs, as OpenAI keeps them; each one still on disk and servable.
    assert [c.step for c in checkpoints] == [STEPS_PER_EPOCH * (i + 1) for i in range(LEARNING["n_epochs"])][-3:]
    assert all(c.model.startswith(done.fine_tuned_model + ":ckpt-step-") for c in checkpoints)
    assert all((protocol.find_adapter(c.model, local_server.state_dir) / "adapter_config.json").exists()
               for c in checkpoints)
    rows = finetune.result_metrics(done, profile, local_client)
    assert len(rows) == len(points) and rows[-1]["train_loss"] < rows[0]["train_loss"]
    job = local_client.fine_tuning.jobs.retrieve(done.job_id)
    assert job.hyperparameters.n_epochs == LEARNING["n_epochs"]


def test_the_fine_tuned_model_is_served_and_graded_by_the_evaluation_code(
        ws: Path, small_export: Path, tiny_model: Path, local_server: SandboxServer,
        local_client: openai.OpenAI) -> None:
    profile = _profile(local_server)
    record = finetune.launch(ws, profile, _request(small_export, str(tiny_model)), local_client)
    done = finetune.follow(ws, record.id, profile, local_client, poll_seconds=0.1, timeout=240)
    assert done.status == "succeeded", done.error
    for model in (done.fine_tuned_model, str(tiny_model)):
        summary = inference.evaluate(ws, profile, local_client, model, small_export, concurrency=2)
        assert summary.questions == TEST_LINES and not summary.failed
    # Graded as any provider's answers are: strict / lenient / normalized and the profile's (offline) LLM judge.
    grading.grade_workspace(ws, judge=profile.judge_model, profile=profile, client=local_client)
    with Workspace.open(ws) as opened:
        rows = grading.graded_rows(opened, judge=profile.judge_model)
        tuned = [r for r in rows if r.prediction.model == done.fine_tuned_model]
        assert len(tuned) == TEST_LINES
        assert all(r.prediction.answer == "No" for r in tuned)  # what the adapter learned, over HTTP
        assert all(r.judge_rating in grading.RATINGS for r in tuned)
        assert [r.strict for r in tuned] == [r.prediction.truth == "No" for r in tuned]
    # The OpenAI shape, straight from the client: usage counts the real prompt tokens (image tokens included).
    line = (small_export / "test.jsonl").read_text().splitlines()[0]
    import json

    reply = local_client.chat.completions.create(model=done.fine_tuned_model, max_tokens=8,
                                                 messages=json.loads(line)["messages"])
    assert reply.choices[0].message.content == "No" and reply.usage.prompt_tokens > 100


def test_cancel_stops_the_training_process(ws: Path, small_export: Path, tiny_model: Path,
                                           local_server: SandboxServer, local_client: openai.OpenAI) -> None:
    profile = _profile(local_server)
    record = finetune.launch(ws, profile, _request(small_export, str(tiny_model), n_epochs=50), local_client)
    job_dir = local_server.state_dir / "local-jobs" / record.job_id
    _wait_for(lambda: any(e["type"] == "metrics" for e in protocol.read_events(job_dir)[0]))
    pid = protocol.read_state(job_dir)["pid"]
    cancelled = finetune.cancel_job(ws, record.id, profile, local_client)
    assert cancelled.status == "cancelled"
    _wait_for(lambda: not protocol.process_alive(pid, job_dir), timeout=60)
    assert protocol.read_state(job_dir)["status"] == "cancelled"
    assert not (job_dir / protocol.ADAPTER).exists()
    _wait_for(lambda: any(e.message == "Fine-tuning job cancelled" for e in local_client.fine_tuning.jobs
                          .list_events(record.job_id, limit=5).data), timeout=30)
    assert local_client.fine_tuning.jobs.retrieve(record.job_id).fine_tuned_model is None


def test_training_outlives_the_server_and_a_new_server_reattaches(
        ws: Path, small_export: Path, tiny_model: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    with SandboxServer(step_delay=0, state_dir=state, local=True) as first, \
            openai.OpenAI(base_url=first.base_url, api_key=first.token, max_retries=0) as client:
        profile = _profile(first)
        record = finetune.launch(ws, profile, _request(small_export, str(tiny_model), n_epochs=12), client)
        job_dir = state / "local-jobs" / record.job_id
        _wait_for(lambda: any(e["type"] == "metrics" for e in protocol.read_events(job_dir)[0]))
        pid = protocol.read_state(job_dir)["pid"]
    assert protocol.process_alive(pid, job_dir)  # the app closed; training goes on
    with SandboxServer(step_delay=0, state_dir=state, local=True) as second, \
            openai.OpenAI(base_url=second.base_url, api_key=second.token, max_retries=0) as client:
        profile = _profile(second)
        with Workspace.open(ws) as opened:
            assert [j.id for j in finetune.unfinished(opened)] == [record.id]
        done = finetune.follow(ws, record.id, profile, client, poll_seconds=0.2, timeout=300)
        assert done.status == "succeeded", done.error
    with Workspace.open(ws) as opened:
        messages = [e.message for e in finetune.events(opened, record.id)]
    assert any(m.startswith("Re-attached to the training process") for m in messages)
    steps = [m.split(":")[0] for m in messages if m.startswith("Step ") and "training loss" in m]
    assert len(steps) == len(set(steps)) == 12 * STEPS_PER_EPOCH  # each step reported once, across both servers


def test_a_lost_training_process_restarts_from_its_newest_checkpoint(
        ws: Path, small_export: Path, tiny_model: Path, tmp_path: Path) -> None:
    import os
    import signal

    state = tmp_path / "state"
    with SandboxServer(step_delay=0, state_dir=state, local=True) as first, \
            openai.OpenAI(base_url=first.base_url, api_key=first.token, max_retries=0) as client:
        record = finetune.launch(ws, _profile(first), _request(small_export, str(tiny_model), n_epochs=12), client)
        job_dir = state / "local-jobs" / record.job_id
        _wait_for(lambda: protocol.newest_checkpoint(job_dir) is not None)
        pid = protocol.read_state(job_dir)["pid"]
    os.killpg(os.getpgid(pid), signal.SIGKILL)  # the machine rebooted, say
    _wait_for(lambda: not protocol.process_alive(pid, job_dir), timeout=30)
    newest = protocol.newest_checkpoint(job_dir)
    assert newest is not None
    cut_short = newest.with_name(f"checkpoint-{int(newest.name.split('-')[1]) + 1}")  # killed while saving
    cut_short.mkdir()
    shutil.copy(newest / "adapter_config.json", cut_short)
    with SandboxServer(step_delay=0, state_dir=state, local=True) as second, \
            openai.OpenAI(base_url=second.base_url, api_key=second.token, max_retries=0) as client:
        done = finetune.follow(ws, record.id, _profile(second), client, poll_seconds=0.2, timeout=300)
    with Workspace.open(ws) as opened:
        messages = [e.message for e in finetune.events(opened, record.id)]
    assert done.status == "succeeded", done.error
    assert any(m.startswith("The training process had stopped; starting it again from checkpoint-") for m in messages)
    assert f"Resuming from {newest.name}" in messages
    steps = [m.split(":")[0] for m in messages if m.startswith("Step ") and "training loss" in m]
    assert len(steps) == len(set(steps)) == 12 * STEPS_PER_EPOCH  # the steps trained again are not reported twice


def test_a_base_model_that_is_not_here_is_refused_with_what_to_do(ws: Path, small_export: Path,
                                                                  local_server: SandboxServer,
                                                                  local_client: openai.OpenAI) -> None:
    with pytest.raises(finetune.FineTuneError, match=r"not on this machine.*hf download"):
        finetune.launch(ws, _profile(local_server), _request(small_export, "SomeOrg/absent-vlm"), local_client)
    uploaded = local_client.files.create(file=(small_export / "train.jsonl").open("rb"), purpose="fine-tune")
    with pytest.raises(openai.BadRequestError, match="lora_r"):  # LoRA settings are for local models only
        local_client.fine_tuning.jobs.create(model="sandbox-ocr", training_file=uploaded.id, method={
            "type": "supervised", "supervised": {"hyperparameters": {"lora_r": 8}}})


def test_cancel_while_the_model_loads_stops_before_training(ws: Path, small_export: Path, tiny_model: Path,
                                                            local_server: SandboxServer,
                                                            local_client: openai.OpenAI) -> None:
    profile = _profile(local_server)
    record = finetune.launch(ws, profile, _request(small_export, str(tiny_model)), local_client)
    job_dir = local_server.state_dir / "local-jobs" / record.job_id
    _wait_for(lambda: protocol.read_state(job_dir).get("status") == "running", timeout=60)
    assert finetune.cancel_job(ws, record.id, profile, local_client).status == "cancelled"
    _wait_for(lambda: protocol.read_state(job_dir).get("status") == "cancelled", timeout=60)
    events, _ = protocol.read_events(job_dir)
    assert not [e for e in events if e["type"] in ("metrics", "checkpoint")], events
    assert protocol.newest_checkpoint(job_dir) is None and not (job_dir / "cache").exists()


def test_what_a_local_job_cannot_do_is_refused_when_it_is_created(
        small_export: Path, tiny_model: Path, local_server: SandboxServer, local_client: openai.OpenAI) -> None:
    import json

    uploaded = local_client.files.create(file=(small_export / "train.jsonl").open("rb"), purpose="fine-tune")

    def create(model: str, **hp: object) -> object:
        return local_client.fine_tuning.jobs.create(model=model, training_file=uploaded.id, method={
            "type": "supervised", "supervised": {"hyperparameters": hp}})

    from vqa_desk.local.environment import detect_device

    if detect_device().kind != "cuda":
        with pytest.raises(openai.BadRequestError, match=r"QLoRA .*needs an NVIDIA GPU"):
            create(str(tiny_model), qlora=True)
    with pytest.raises(openai.BadRequestError, match="lora_dropout"):
        create(str(tiny_model), lora_dropout=2.0)
    job = create(str(tiny_model), n_epochs=1)
    done = local_client.fine_tuning.jobs.retrieve(job.id)  # type: ignore[attr-defined]
    _wait_for(lambda: local_client.fine_tuning.jobs.retrieve(done.id).status == "succeeded", timeout=180)
    tuned = local_client.fine_tuning.jobs.retrieve(done.id).fine_tuned_model
    with pytest.raises(openai.BadRequestError, match="cannot be fine-tuned again"):
        create(tuned)
    line = json.loads((small_export / "test.jsonl").read_text().splitlines()[0])
    with pytest.raises(openai.BadRequestError, match="plain text"):  # no fabricated judge ratings
        local_client.chat.completions.create(model=tuned, messages=line["messages"],
                                             response_format={"type": "json_object"})
