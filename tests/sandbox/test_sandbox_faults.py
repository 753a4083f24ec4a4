"""Injected faults, each seen through the real ``openai`` client as the exception a real outage gives; the
control endpoint's guards; the loopback-only default; ``vqa-desk sandbox``'s first two lines."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time

import openai
import pytest
from sandbox_helpers import cover, http, question, wait_for

from vqa_desk.sandbox import SandboxError, SandboxServer, serve
from vqa_desk.sandbox.app import build_app

MESSAGES = [{"role": "user", "content": "Who wrote this book?"}]


def _chat(client: openai.OpenAI) -> str:
    return client.chat.completions.create(model="sandbox-ocr", messages=MESSAGES).choices[0].message.content or ""


@pytest.mark.parametrize(("status", "error"), [
    (401, openai.AuthenticationError),
    (404, openai.NotFoundError),
    (500, openai.InternalServerError),
    (503, openai.InternalServerError),
])
def test_error_faults(client, sandbox, openapi, status, error):
    sandbox.faults.add("error", "/v1/chat/completions", status=status)
    with pytest.raises(error) as info:
        _chat(client)
    assert info.value.status_code == status
    openapi.validate("ErrorResponse", info.value.response.json())
    assert _chat(client) == "Unknown"  # count=1: the next request is served (no cover, no answer)


def test_403_training_not_available(client, sandbox, openapi):
    sandbox.faults.add("error", "/v1/fine_tuning/jobs", method="POST", status=403)
    with pytest.raises(openai.PermissionDeniedError) as info:
        client.fine_tuning.jobs.create(model="sandbox-ocr", training_file="file-x")
    openapi.validate("ErrorResponse", info.value.response.json())
    assert info.value.code == "training_not_available"
    assert "fine-tuning" in info.value.message.lower()
    client.fine_tuning.jobs.list()  # other paths and methods are untouched


def test_429_has_retry_after_and_the_client_retries(client, sandbox):
    sandbox.faults.add("error", "/v1/models", status=429, retry_after=0.05, count=2)
    with pytest.raises(openai.RateLimitError) as info:
        client.models.list()
    assert info.value.response.headers["retry-after"] == "0.05"
    assert info.value.code == "rate_limit_exceeded"
    # One fault left: a client that retries (honouring Retry-After) gets through.
    started = time.monotonic()
    assert client.with_options(max_retries=2).models.list().data
    assert time.monotonic() - started < 5


def test_slow_responses_time_out(client, sandbox):
    sandbox.faults.add("slow", "/v1/models", delay=1.0)
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.3).models.list()
    sandbox.faults.add("slow", "/v1/models", delay=0.2)
    started = time.monotonic()
    client.models.list()
    assert time.monotonic() - started >= 0.2


def test_dropped_connection_before_the_request_runs(client, sandbox):
    sandbox.faults.add("drop", "/v1/files", method="GET")
    with pytest.raises(openai.APIConnectionError):
        client.files.list()
    client.files.list()


def test_dropped_answer_after_a_job_was_created_loses_no_job(client, sandbox, demo_export, tmp_path):
    """The worst case for a client: the job exists but its id never arrived. It can be found again by the
    metadata the client sent."""
    train = client.files.create(file=demo_export.head("train", 12, tmp_path / "t.jsonl").open("rb"),
                                purpose="fine-tune")
    sandbox.faults.add("drop", "/v1/fine_tuning/jobs", method="POST", when="after")
    with pytest.raises(openai.APIConnectionError):
        client.fine_tuning.jobs.create(model="sandbox-ocr", training_file=train.id,
                                       metadata={"vqa_desk_launch": "launch-42"})
    found = client.fine_tuning.jobs.list(metadata={"vqa_desk_launch": "launch-42"}).data
    assert len(found) == 1
    assert wait_for(lambda: client.fine_tuning.jobs.retrieve(found[0].id).status == "succeeded")


def test_fault_count_none_affects_every_request_until_removed(client, sandbox):
    fault = sandbox.faults.add("error", "/v1/models", status=500, count=None)
    for _ in range(3):
        with pytest.raises(openai.InternalServerError):
            client.models.list()
    assert sandbox.faults.remove(fault.id)
    client.models.list()


def test_control_endpoint_over_http(client, sandbox):
    auth = {"Authorization": f"Bearer {sandbox.token}", "Content-Type": "application/json"}
    root = sandbox.base_url.removesuffix("/v1")
    status, _, body = http("POST", f"{root}/_sandbox/faults", headers=auth,
                           body=json.dumps({"kind": "error", "path": "/v1/models", "status": 429,
                                            "retry_after": 2}).encode())
    assert status == 200 and body["status"] == 429
    with pytest.raises(openai.RateLimitError) as info:
        client.models.list()
    assert info.value.response.headers["retry-after"] == "2"
    status, _, _ = http("POST", f"{root}/_sandbox/faults", body=b"{}")
    assert status == 401  # the control endpoint needs the token too
    status, _, body = http("POST", f"{root}/_sandbox/faults", headers=auth, body=b'{"kind": "explode"}')
    assert status == 400 and "unknown fault kind" in body["error"]["message"]
    status, _, body = http("PATCH", f"{root}/_sandbox/settings", headers=auth, body=b'{"latency": 0.05}')
    assert status == 200 and body["latency"] == 0.05
    started = time.monotonic()
    client.models.list()
    assert time.monotonic() - started >= 0.05
    http("PATCH", f"{root}/_sandbox/settings", headers=auth, body=b'{"latency": 0}')
    status, _, body = http("DELETE", f"{root}/_sandbox/faults", headers=auth)
    assert status == 200 and sandbox.faults.list() == []


def test_control_endpoint_refuses_remote_clients(sandbox):
    """Called as a remote client would reach it (an ASGI call with a non-loopback peer; nothing leaves the
    machine)."""
    app = build_app(sandbox.engine, token=sandbox.token, faults=sandbox.faults)
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b'{"kind": "error"}', "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/_sandbox/faults", "raw_path": b"/_sandbox/faults",
             "query_string": b"", "headers": [(b"authorization", f"Bearer {sandbox.token}".encode())],
             "client": ("192.0.2.10", 50000), "server": ("127.0.0.1", 1), "scheme": "http", "http_version": "1.1",
             "root_path": ""}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 403
    assert sandbox.faults.list() == []


def test_refuses_non_loopback_hosts_without_consent():
    with pytest.raises(SandboxError, match="allow_remote"):
        SandboxServer(host="0.0.0.0")
    with pytest.raises(SandboxError, match="allow_remote"):
        SandboxServer(host="192.0.2.10")


def test_serve_prints_the_client_settings_first(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    stop = threading.Event()
    thread = threading.Thread(target=serve, kwargs={"state_dir": tmp_path / "state", "out": out, "err": err,
                                                    "stop": stop, "step_delay": 0})
    thread.start()
    try:
        lines = wait_for(lambda: len(out.getvalue().splitlines()) >= 2 and out.getvalue().splitlines(), timeout=30)
        assert lines[0].startswith("OPENAI_BASE_URL=http://127.0.0.1:") and lines[0].endswith("/v1")
        assert lines[1].startswith("OPENAI_API_KEY=sk-sandbox-")
        base_url, key = lines[0].split("=", 1)[1], lines[1].split("=", 1)[1]
        with openai.OpenAI(base_url=base_url, api_key=key, max_retries=0) as client:
            image = cover("Quiet\nWaters", "Jane K. Doe")
            reply = client.chat.completions.create(model="sandbox-ocr",
                                                   messages=[question("Who wrote this book?", image)])
            assert reply.choices[0].message.content == "Jane K. Doe"
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    assert "Ctrl+C" in err.getvalue() and "Sandbox stopped." in err.getvalue()
    assert (tmp_path / "state" / "sandbox.sqlite").is_file()  # state where it was asked to be, nowhere else


def test_a_busy_port_is_a_clear_error(sandbox):
    with pytest.raises(SandboxError, match=r"Cannot listen on 127\.0\.0\.1"):
        SandboxServer(port=sandbox.address[1]).start()


def test_without_a_state_dir_the_server_cleans_up_after_itself():
    server = SandboxServer(step_delay=0)
    server.start()
    state = server.state_dir
    assert (state / "sandbox.sqlite").is_file()
    server.stop()
    assert not state.exists()
    server.stop()  # idempotent
