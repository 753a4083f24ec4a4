"""Fine-tuning jobs through the real openai client against the sandbox: launch, follow, faults, restarts."""

import json
from pathlib import Path

import openai
import pytest

from vqa_desk.core import finetune
from vqa_desk.core.export import ExportOptions, export_workspace
from vqa_desk.core.importer import import_dataset
from vqa_desk.core.sampling import parse_sizes
from vqa_desk.core.workspace import Workspace

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("ft")
    ws = root / "small.vqadesk"
    import_dataset("demo", ws, sizes=parse_sizes("14,6,4"))
    out = root / "export"
    export_workspace(ws, out, options=ExportOptions(few_shot=2, quality=60, max_side=320, estimate=False))
    return ws, out


@pytest.fixture
def ws(small_export: tuple[Path, Path], tmp_path: Path) -> Path:
    import shutil

    path = tmp_path / "ws.vqadesk"
    shutil.copy(small_export[0], path)
    return path


def _request(small_export: tuple[Path, Path], **kw: object) -> finetune.LaunchRequest:
    out = small_export[1]
    return finetune.LaunchRequest(train_path=out / "train.jsonl", validation_path=out / "validation.jsonl",
                                  model="sandbox-ocr", manifest=out / "manifest.json", **kw)  # type: ignore[arg-type]


def test_launch_and_follow_to_a_fine_tuned_model(ws, profile, client, small_export) -> None:
    record = finetune.launch(ws, profile, _request(small_export, epochs=2, suffix="t1", seed=7), client)
    assert record.job_id and record.training_file and record.validation_file
    seen: list[str] = []
    done = finetune.follow(ws, record.id, profile, client, poll_seconds=0.05, timeout=120,
                           on_update=lambda r, events: seen.append(r.status))
    assert done.status == "succeeded" and done.fine_tuned_model.startswith("ft:sandbox-ocr:sandbox:t1:")
    assert seen[-1] == "succeeded"
    with Workspace.open(ws) as opened:
        events = finetune.events(opened, record.id)
        points = finetune.metrics(opened, record.id)
        assert [e.created_at for e in events] == sorted(e.created_at for e in events)
        assert len({e.event_id for e in events}) == len(events)  # polled many times, stored once each
        assert points and points[0][0] >= 1 and all(t is not None for _, t, _ in points)
        assert finetune.unfinished(opened) == []
        assert json.loads(json.dumps(finetune.job(opened, record.id).hyperparameters)) == {"n_epochs": 2}


def test_a_file_the_provider_would_reject_is_never_uploaded(ws, profile, client, tmp_path, server) -> None:
    bad = tmp_path / "train.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n' * 3)
    before = len(client.files.list().data)
    with pytest.raises(finetune.FineTuneError, match="nothing was uploaded"):
        finetune.launch(ws, profile, finetune.LaunchRequest(bad, None, "sandbox-ocr"), client)
    assert len(client.files.list().data) == before
    with Workspace.open(ws) as opened:
        assert finetune.jobs(opened)[0].status == "failed_local"


def test_a_lost_create_reply_finds_the_job_instead_of_creating_another(ws, profile, client, small_export,
                                                                        server) -> None:
    before = {j.id for j in client.fine_tuning.jobs.list(limit=100).data}
    server.faults.add("drop", "/v1/fine_tuning/jobs", method="POST", when="after")
    record = finetune.launch(ws, profile, _request(small_export, suffix="dropped"), client)
    created = [j for j in client.fine_tuning.jobs.list(limit=100).data if j.id not in before]
    assert [j.id for j in created] == [record.job_id]


def test_rate_limits_and_server_errors_are_retried(ws, profile, client, small_export, server) -> None:
    server.faults.add("error", "/v1/files", method="POST", status=500)
    server.faults.add("error", "/v1/fine_tuning/jobs/", method="GET", status=429, retry_after=0.2, count=2)
    record = finetune.launch(ws, profile, _request(small_export), client)
    done = finetune.follow(ws, record.id, profile, client, poll_seconds=0.05, timeout=120)
    assert done.status == "succeeded"


def test_wind_down_403_is_explained_and_recorded(ws, profile, client, small_export, server) -> None:
    server.faults.add("error", "/v1/fine_tuning/jobs", method="POST", status=403)
    with pytest.raises(finetune.FineTuneError) as err:
        finetune.launch(ws, profile, _request(small_export), client)
    assert err.value.status == 403 and "2027-01-06" in str(err.value) and "Azure" in str(err.value)
    with Workspace.open(ws) as opened:
        record = finetune.jobs(opened)[0]
    assert record.status == "failed_local" and "training_not_available" in (record.error or "")
    assert record.training_file  # what was done is kept: the uploaded file's id is not lost


def test_a_restarted_client_reattaches(ws, profile, small_export, server) -> None:
    server.settings.step_delay = 0.02
    with openai.OpenAI(base_url=server.base_url, api_key=server.token, max_retries=0) as first:
        record = finetune.launch(ws, profile, _request(small_export, suffix="restart"), first)
    # ... the app was closed here. A new process, a new client:
    with Workspace.open(ws) as opened:
        pending = finetune.unfinished(opened)
    assert [p.id for p in pending] == [record.id]
    with openai.OpenAI(base_url=server.base_url, api_key=server.token, max_retries=0) as second:
        done = finetune.follow(ws, record.id, profile, second, poll_seconds=0.05, timeout=120)
    server.settings.step_delay = 0
    assert done.status == "succeeded" and done.job_id == record.job_id


def test_cancel(ws, profile, client, small_export, server) -> None:
    server.settings.step_delay = 0.2
    record = finetune.launch(ws, profile, _request(small_export, suffix="cancel"), client)
    cancelled = finetune.cancel_job(ws, record.id, profile, client)
    server.settings.step_delay = 0
    assert cancelled.status in ("cancelled", "cancelling") or cancelled.finished
    done = finetune.follow(ws, record.id, profile, client, poll_seconds=0.05, timeout=60)
    assert done.status == "cancelled"


def test_an_interrupted_launch_is_closed_honestly(ws, profile, client) -> None:
    with Workspace.open(ws) as opened, opened.transaction() as c:
        c.execute("INSERT INTO finetune_jobs(launch_id, provider, status, base_model, hyperparameters, training_file, "
                  "created_at, updated_at) VALUES ('never-sent', 'sbx', 'creating', 'sandbox-ocr', '{}', 'file-x', "
                  "'t', 't')")
        record_id = c.execute("SELECT max(id) FROM finetune_jobs").fetchone()[0]
    done = finetune.follow(ws, record_id, profile, client, poll_seconds=0.05)
    assert done.status == "failed_local" and "never created" in (done.error or "")


def test_connection_checkpoints_and_result_file(ws, profile, client, small_export, server) -> None:
    from vqa_desk.core.providers import test_connection

    assert "sandbox-ocr" in test_connection(profile, key=server.token)
    record = finetune.launch(ws, profile, _request(small_export, epochs=3, suffix="res"), client)
    done = finetune.follow(ws, record.id, profile, client, poll_seconds=0.05, timeout=120)
    points = finetune.checkpoints(done, profile, client)
    assert points and points[-1].model.startswith(done.fine_tuned_model)
    rows = finetune.result_metrics(done, profile, client)
    assert rows and {"step", "train_loss"} <= set(rows[0])
    assert rows[-1]["step"] >= rows[0]["step"]


def test_a_launch_stuck_while_uploading_is_closed_not_reattached(ws, profile, client) -> None:
    with Workspace.open(ws) as opened, opened.transaction() as c:
        c.execute("INSERT INTO finetune_jobs(launch_id, provider, status, base_model, hyperparameters, training_file, "
                  "created_at, updated_at) "
                  "VALUES ('stuck', 'sbx', 'uploading', 'sandbox-ocr', '{}', 'file-x', 't', 't')")
        record_id = c.execute("SELECT max(id) FROM finetune_jobs").fetchone()[0]
    with Workspace.open(ws) as opened:
        assert record_id not in [j.id for j in finetune.unfinished(opened)]
    done = finetune.follow(ws, record_id, profile, client, poll_seconds=0.05)
    assert done.status == "failed_local" and "before the job was created" in (done.error or "")
