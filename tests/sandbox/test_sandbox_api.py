"""The sandbox through the real ``openai`` client: every response parsed by the SDK and checked against OpenAI's
own schemas; files, fine-tuning jobs, events, checkpoints, chat completions, structured output, batches."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

import openai
import pytest
from pydantic import BaseModel
from sandbox_helpers import cover, http, question, wait_for

from vqa_desk.sandbox import SandboxServer

TERMINAL = ("succeeded", "failed", "cancelled")


def _raw(response: object) -> object:
    """The JSON body behind an SDK ``with_raw_response`` call."""
    return response.http_response.json()  # type: ignore[attr-defined]


def _finished(client: openai.OpenAI, job_id: str) -> openai.types.fine_tuning.FineTuningJob:
    return wait_for(lambda: (j := client.fine_tuning.jobs.retrieve(job_id)).status in TERMINAL and j, timeout=120)


@pytest.fixture(scope="module")
def small_train(demo_export, tmp_path_factory) -> Path:
    return demo_export.head("train", 14, tmp_path_factory.mktemp("small") / "small-train.jsonl")


@pytest.fixture(scope="module")
def small_valid(demo_export, tmp_path_factory) -> Path:
    return demo_export.head("validation", 10, tmp_path_factory.mktemp("small") / "small-valid.jsonl")


# ----- models, auth, errors ---------------------------------------------------------------------------------

def test_models_list_and_retrieve(client, openapi):
    raw = client.models.with_raw_response.list()
    openapi.validate("ListModelsResponse", _raw(raw))
    assert "sandbox-ocr" in [m.id for m in raw.parse()]
    one = client.models.with_raw_response.retrieve("sandbox-ocr")
    openapi.validate("Model", _raw(one))
    assert one.parse().owned_by == "sandbox"


def test_unknown_model_is_404_model_not_found(client, openapi):
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4o-nope", messages=[{"role": "user", "content": "Hi"}])
    openapi.validate("ErrorResponse", info.value.response.json())
    assert info.value.code == "model_not_found"
    assert "gpt-4o-nope" in info.value.message


def test_requests_without_the_token_are_refused(sandbox, openapi):
    status, _, body = http("GET", f"{sandbox.base_url}/models")
    assert status == 401
    openapi.validate("ErrorResponse", body)
    assert "API key" in body["error"]["message"]
    with openai.OpenAI(base_url=sandbox.base_url, api_key="sk-wrong-key-123456", max_retries=0) as wrong, \
            pytest.raises(openai.AuthenticationError) as info:
        wrong.models.list()
    assert info.value.code == "invalid_api_key"
    assert "sk-wrong-key-123456" not in info.value.message  # a key is never echoed whole


def test_bad_json_is_400(sandbox, openapi):
    status, _, body = http("POST", f"{sandbox.base_url}/chat/completions", body=b"{not json",
                           headers={"Authorization": f"Bearer {sandbox.token}", "Content-Type": "application/json"})
    assert status == 400
    openapi.validate("ErrorResponse", body)
    assert "parse the JSON body" in body["error"]["message"]


def test_unknown_ids_are_404(client, openapi):
    for call in (lambda: client.files.retrieve("file-doesnotexist"),
                 lambda: client.fine_tuning.jobs.retrieve("ftjob-doesnotexist"),
                 lambda: client.fine_tuning.jobs.list_events("ftjob-doesnotexist"),
                 lambda: client.batches.retrieve("batch_doesnotexist"),
                 lambda: client.models.retrieve("ft:sandbox-ocr:sandbox::nope")):
        with pytest.raises(openai.NotFoundError) as info:
            call()
        openapi.validate("ErrorResponse", info.value.response.json())
    status, _, body = http("GET", f"{client.base_url}no/such/path",
                           headers={"Authorization": f"Bearer {client.api_key}"})
    assert status == 404 and body["error"]["message"].startswith("Invalid URL")


def test_binds_loopback_by_default(sandbox):
    assert sandbox.address[0] == "127.0.0.1"
    assert sandbox.base_url.startswith("http://127.0.0.1:")
    assert re.fullmatch(r"sk-sandbox-[\w-]{20,}", sandbox.token)


# ----- files ------------------------------------------------------------------------------------------------

def test_files_create_retrieve_content_list_delete(client, openapi, small_train):
    raw = client.files.with_raw_response.create(file=small_train.open("rb"), purpose="fine-tune")
    openapi.validate("OpenAIFile", _raw(raw))
    uploaded = raw.parse()
    assert uploaded.bytes == small_train.stat().st_size
    assert uploaded.filename == "small-train.jsonl" and uploaded.purpose == "fine-tune"
    again = client.files.with_raw_response.retrieve(uploaded.id)
    openapi.validate("OpenAIFile", _raw(again))
    assert client.files.content(uploaded.id).read() == small_train.read_bytes()
    listing = client.files.with_raw_response.list(purpose="fine-tune")
    openapi.validate("ListFilesResponse", _raw(listing))
    assert uploaded.id in [f.id for f in listing.parse()]
    batch_file = client.files.create(file=("requests.jsonl", b'{"custom_id": "a"}\n'), purpose="batch")
    deleted = client.files.with_raw_response.delete(batch_file.id)
    openapi.validate("DeleteFileResponse", _raw(deleted))
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(batch_file.id)


def test_upload_rejects_a_bad_training_file_with_line_numbers(client, sandbox, demo_export):
    good = demo_export.lines("train")[:12]
    too_many_images = json.loads(json.dumps(good[4]))
    user = too_many_images["messages"][-2]
    user["content"] += [user["content"][-1]] * 8  # 3 + 8 = 11 images: OpenAI takes 10
    lines = [json.dumps(x) for x in good]
    lines[1] = '{"messages": [{"role": "user", "content": "cut off'
    lines[4] = json.dumps(too_many_images)
    before = {f.id for f in client.files.list()}
    with pytest.raises(openai.BadRequestError) as info:
        client.files.create(file=("bad.jsonl", ("\n".join(lines) + "\n").encode()), purpose="fine-tune")
    message = info.value.message
    assert info.value.code == "invalid_training_file"
    assert "Line 2: not valid JSON" in message
    assert "Line 5: 11 images in one example; OpenAI accepts at most 10" in message
    assert {f.id for f in client.files.list()} == before  # nothing kept
    assert not list(sandbox.state_dir.glob("files/.upload-*"))  # no half-written upload left behind


def test_upload_refuses_unknown_purposes(client):
    with pytest.raises(openai.BadRequestError) as info:
        client.files.create(file=("x.jsonl", b"{}\n"), purpose="assistants")
    assert info.value.param == "purpose"


# ----- fine-tuning jobs -------------------------------------------------------------------------------------

def test_fine_tuning_job_end_to_end(client, openapi, small_train, small_valid, demo_export):
    train = client.files.create(file=small_train.open("rb"), purpose="fine-tune")
    valid = client.files.create(file=small_valid.open("rb"), purpose="fine-tune")
    raw = client.fine_tuning.jobs.with_raw_response.create(
        model="sandbox-ocr", training_file=train.id, validation_file=valid.id, suffix="demo-run", seed=7,
        metadata={"workspace": "demo", "export": "e1"},
        method={"type": "supervised", "supervised": {"hyperparameters": {
            "n_epochs": 3, "batch_size": 4, "learning_rate_multiplier": 1.5}}})
    openapi.validate("FineTuningJob", _raw(raw))
    created = raw.parse()
    assert created.status == "validating_files" and created.seed == 7
    assert created.metadata == {"workspace": "demo", "export": "e1"}

    job = _finished(client, created.id)
    final = client.fine_tuning.jobs.with_raw_response.retrieve(job.id)
    openapi.validate("FineTuningJob", _raw(final))
    assert job.status == "succeeded", job.error
    short_id = created.id.removeprefix("ftjob-")
    assert job.fine_tuned_model == f"ft:sandbox-ocr:sandbox:demo-run:{short_id}"
    assert job.hyperparameters.n_epochs == 3 and job.hyperparameters.batch_size == 4
    assert job.hyperparameters.learning_rate_multiplier == 1.5
    assert job.trained_tokens and job.trained_tokens > 0 and job.finished_at is not None

    # Events: newest first, paginated with after/limit, messages and metrics.
    raw_events = client.fine_tuning.jobs.with_raw_response.list_events(job.id, limit=5)
    openapi.validate("ListFineTuningJobEventsResponse", _raw(raw_events))
    page = raw_events.parse()
    assert len(page.data) == 5 and page.has_more
    assert page.data[0].message == "The job has successfully completed"
    everything = list(client.fine_tuning.jobs.list_events(job.id, limit=7))  # auto-pagination follows `after`
    assert [e.id for e in everything[:5]] == [e.id for e in page.data]
    assert len({e.id for e in everything}) == len(everything)
    times = [e.created_at for e in everything]
    assert times == sorted(times, reverse=True)
    statuses = [e.message for e in reversed(everything) if e.type == "message"]
    assert statuses[0].startswith("Created fine-tuning job")
    assert "Files validated, moving job to queued state" in statuses
    assert "Fine-tuning job started" in statuses
    metrics = [e for e in reversed(everything) if e.type == "metrics"]
    assert metrics, "no metrics events"
    first, last = metrics[0].data, metrics[-1].data
    assert first["step"] == 1 and last["step"] == last["total_steps"] == len(metrics)
    for key in ("train_loss", "train_mean_token_accuracy", "valid_loss", "valid_mean_token_accuracy"):
        assert isinstance(last[key], float)
    assert "full_valid_loss" in last and "full_valid_mean_token_accuracy" in last

    # The result file: one CSV row per step, the same figures as the events.
    assert len(job.result_files) == 1
    meta = client.files.with_raw_response.retrieve(job.result_files[0])
    openapi.validate("OpenAIFile", _raw(meta))
    assert meta.parse().purpose == "fine-tune-results"
    rows = client.files.content(job.result_files[0]).text.splitlines()
    assert rows[0] == "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"
    assert len(rows) == 1 + len(metrics)
    step1 = rows[1].split(",")
    assert float(step1[1]) == pytest.approx(first["train_loss"], abs=1e-5)

    # Checkpoints: the last three epochs, newest first, each a usable model.
    raw_ckpts = client.fine_tuning.jobs.checkpoints.with_raw_response.list(job.id)
    openapi.validate("ListFineTuningJobCheckpointsResponse", _raw(raw_ckpts))
    ckpts = raw_ckpts.parse().data
    assert len(ckpts) == 3
    assert [c.step_number for c in ckpts] == sorted((c.step_number for c in ckpts), reverse=True)
    assert ckpts[0].step_number == last["step"]
    assert all(c.fine_tuned_model_checkpoint.startswith(job.fine_tuned_model + ":ckpt-step-") for c in ckpts)

    # The models: listed, and they answer.
    assert job.fine_tuned_model in [m.id for m in client.models.list()]
    example = demo_export.lines("test")[0]["messages"]
    for name in (job.fine_tuned_model, ckpts[-1].fine_tuned_model_checkpoint):
        reply = client.chat.completions.create(model=name, messages=example)
        assert reply.choices[0].message.content

    # Listing jobs: newest first, after/limit, metadata filter.
    raw_list = client.fine_tuning.jobs.with_raw_response.list(limit=1)
    openapi.validate("ListPaginatedFineTuningJobsResponse", _raw(raw_list))
    assert raw_list.parse().data[0].id == job.id
    found = client.fine_tuning.jobs.list(metadata={"export": "e1"})
    assert [j.id for j in found.data] == [job.id]
    assert client.fine_tuning.jobs.list(metadata={"export": "other"}).data == []


def test_deprecated_top_level_hyperparameters(client, small_train):
    train = client.files.create(file=small_train.open("rb"), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="sandbox-ocr", training_file=train.id,
                                         hyperparameters={"n_epochs": 1})
    job = _finished(client, job.id)
    assert job.status == "succeeded"
    assert job.hyperparameters.n_epochs == 1
    assert job.fine_tuned_model.startswith("ft:sandbox-ocr:sandbox::")  # no suffix: empty, as OpenAI names it
    assert len(client.fine_tuning.jobs.checkpoints.list(job.id).data) == 1  # one epoch, one checkpoint
    # A fine-tuned model can be fine-tuned further; the new name keeps the base model's.
    again = _finished(client, client.fine_tuning.jobs.create(model=job.fine_tuned_model, training_file=train.id,
                                                             suffix="more", hyperparameters={"n_epochs": 1}).id)
    assert again.status == "succeeded" and again.model == job.fine_tuned_model
    assert again.fine_tuned_model.startswith("ft:sandbox-ocr:sandbox:more:")


@pytest.mark.parametrize(("kwargs", "param"), [
    ({"suffix": "x" * 65}, "suffix"),
    ({"method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 0}}}},
     "method.supervised.hyperparameters.n_epochs"),
    ({"method": {"type": "supervised", "supervised": {"hyperparameters": {"learning_rate_multiplier": -1}}}},
     "method.supervised.hyperparameters.learning_rate_multiplier"),
    ({"method": {"type": "dpo"}}, "method.type"),
    ({"model": "gpt-4o-2024-08-06"}, "model"),
    ({"training_file": "file-doesnotexist"}, "training_file"),
    ({"validation_file": "file-doesnotexist"}, "validation_file"),
])
def test_invalid_job_requests_are_400(client, openapi, small_train, kwargs, param):
    train = client.files.create(file=small_train.open("rb"), purpose="fine-tune")
    args = {"model": "sandbox-ocr", "training_file": train.id, **kwargs}
    with pytest.raises(openai.BadRequestError) as info:
        client.fine_tuning.jobs.create(**args)
    openapi.validate("ErrorResponse", info.value.response.json())
    assert info.value.param == param


def test_cancel_a_running_job(client, sandbox, small_train):
    sandbox.settings.step_delay = 0.2
    train = client.files.create(file=small_train.open("rb"), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="sandbox-ocr", training_file=train.id)
    wait_for(lambda: client.fine_tuning.jobs.retrieve(job.id).status == "running", timeout=30)
    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled"
    sandbox.settings.step_delay = 0
    events = wait_for(lambda: [e for e in client.fine_tuning.jobs.list_events(job.id, limit=100)
                               if e.message == "Fine-tuning job cancelled"], timeout=30)
    assert events
    after = client.fine_tuning.jobs.retrieve(job.id)
    assert after.status == "cancelled" and after.fine_tuned_model is None
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.cancel(job.id)


# ----- chat ---------------------------------------------------------------------------------------------------

def test_chat_completion_reads_the_cover(client, openapi):
    image = cover("Quiet\nWaters", "Jane K. Doe", subtitle="A Novel of the Sea")
    raw = client.chat.completions.with_raw_response.create(
        model="sandbox-ocr", messages=[{"role": "system", "content": "Answer briefly."},
                                       question("Question [1]: What is the title of this book?", image)])
    openapi.validate("CreateChatCompletionResponse", _raw(raw))
    reply = raw.parse()
    assert reply.choices[0].message.content == "Quiet Waters"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens > 85 and reply.usage.completion_tokens >= 1
    author = client.chat.completions.create(model="sandbox-ocr", messages=[question("Who wrote this book?", image)])
    assert author.choices[0].message.content == "Jane K. Doe"
    yes_no = client.chat.completions.create(model="sandbox-ocr",
                                            messages=[question("Is this book related to Travel?", image)])
    assert yes_no.choices[0].message.content in ("Yes", "No")


def test_chat_rejects_remote_image_urls(client):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="sandbox-ocr", messages=[{"role": "user", "content": [
            {"type": "text", "text": "Who wrote this book?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cover.jpg"}}]}])
    assert "data URL" in info.value.message


def test_chat_stream(client, openapi):
    image = cover("Quiet\nWaters", "Jane K. Doe")
    chunks = list(client.chat.completions.create(model="sandbox-ocr", stream=True,
                                                 stream_options={"include_usage": True},
                                                 messages=[question("What is the title of this book?", image)]))
    for chunk in chunks:
        openapi.validate("CreateChatCompletionStreamResponse", chunk.model_dump(mode="json", exclude_unset=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Quiet Waters"
    assert chunks[-1].usage is not None


class CoverAnswer(BaseModel):
    answer: str
    confidence: float


class Grade(BaseModel):
    rating: Literal["Very Similar", "Mostly Similar", "Somewhat Similar", "Incorrect"]
    reason: str


def test_parse_with_a_pydantic_response_format(client, openapi):
    image = cover("Quiet\nWaters", "Jane K. Doe")
    raw = client.chat.completions.with_raw_response.parse(
        model="sandbox-ocr", messages=[question("Who wrote this book?", image)], response_format=CoverAnswer)
    openapi.validate("CreateChatCompletionResponse", _raw(raw))
    parsed = raw.parse().choices[0].message.parsed
    assert isinstance(parsed, CoverAnswer) and parsed.answer == "Jane K. Doe"


@pytest.mark.parametrize(("truth", "prediction", "rating"), [
    ("Cookshack, Inc.", "Cookshack, Inc.", "Very Similar"),
    ("Cookshack, Inc.", "Cookshack", "Mostly Similar"),
    ("No", "**Answer:** No. The cover shows a cookbook.", "Very Similar"),
    ("Yes", "No", "Incorrect"),
    ("The Rustic Kitchen: Over 100 Easy Recipes", "Mediterranean Diet", "Incorrect"),
])
def test_judge_requests_get_a_rating(client, truth, prediction, rating):
    prompt = (f"Grade the answer to a question about a book cover.\nQuestion: What is the title?\n"
              f"Ground truth: {truth}\nPrediction: {prediction}\n")
    reply = client.chat.completions.parse(model="sandbox-ocr", temperature=0, response_format=Grade,
                                          messages=[{"role": "system", "content": "You are a strict grader."},
                                                    {"role": "user", "content": prompt}])
    grade = reply.choices[0].message.parsed
    assert grade.rating == rating and grade.reason


# ----- batches ------------------------------------------------------------------------------------------------

def test_batch_of_chat_completions(client, openapi):
    image = cover("Quiet\nWaters", "Jane K. Doe")
    lines = [
        {"custom_id": "title", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "sandbox-ocr", "messages": [question("What is the title of this book?", image)]}},
        {"custom_id": "author", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "sandbox-ocr", "messages": [question("Who wrote this book?", image)]}},
        {"custom_id": "bad-model", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "no-such-model", "messages": [{"role": "user", "content": "Hi"}]}},
    ]
    source = client.files.create(file=("batch.jsonl", "\n".join(json.dumps(x) for x in lines).encode()),
                                 purpose="batch")
    raw = client.batches.with_raw_response.create(input_file_id=source.id, endpoint="/v1/chat/completions",
                                                  completion_window="24h", metadata={"run": "r1"})
    openapi.validate("Batch", _raw(raw))
    batch = wait_for(lambda: (b := client.batches.retrieve(raw.parse().id)).status == "completed" and b)
    openapi.validate("Batch", _raw(client.batches.with_raw_response.retrieve(batch.id)))
    assert batch.request_counts.total == 3 and batch.request_counts.completed == 2
    assert batch.request_counts.failed == 1
    out = [json.loads(x) for x in client.files.content(batch.output_file_id).text.splitlines()]
    answers = {x["custom_id"]: x["response"]["body"]["choices"][0]["message"]["content"] for x in out}
    assert answers == {"title": "Quiet Waters", "author": "Jane K. Doe"}
    for x in out:
        openapi.validate("CreateChatCompletionResponse", x["response"]["body"])
    errors = [json.loads(x) for x in client.files.content(batch.error_file_id).text.splitlines()]
    assert errors[0]["custom_id"] == "bad-model" and errors[0]["response"]["status_code"] == 404
    openapi.validate("ErrorResponse", errors[0]["response"]["body"])
    listing = client.batches.with_raw_response.list(limit=5)
    openapi.validate("ListBatchesResponse", _raw(listing))
    with pytest.raises(openai.ConflictError):
        client.batches.cancel(batch.id)


def test_batch_with_a_broken_input_fails_with_line_numbers(client):
    source = client.files.create(file=("batch.jsonl", b'{"custom_id": "a", "method": "POST", '
                                       b'"url": "/v1/chat/completions", "body": {}}\nnot json\n'), purpose="batch")
    batch = client.batches.create(input_file_id=source.id, endpoint="/v1/chat/completions", completion_window="24h")
    failed = wait_for(lambda: (b := client.batches.retrieve(batch.id)).status == "failed" and b)
    assert [(e.code, e.line) for e in failed.errors.data] == [("invalid_json_line", 2)]


# ----- restarts -------------------------------------------------------------------------------------------------

def test_a_restarted_sandbox_keeps_files_jobs_and_models(tmp_path, small_train):
    state = tmp_path / "state"
    with SandboxServer(step_delay=0.5, state_dir=state) as first, \
            openai.OpenAI(base_url=first.base_url, api_key=first.token, max_retries=0) as client:
        train = client.files.create(file=small_train.open("rb"), purpose="fine-tune")
        job = client.fine_tuning.jobs.create(model="sandbox-ocr", training_file=train.id, suffix="again")
        done = client.fine_tuning.jobs.create(model="sandbox-ocr", training_file=train.id)
    # The second server on the same folder: new port, new token, same objects; the unfinished job runs again.
    with SandboxServer(step_delay=0, state_dir=state) as second, \
            openai.OpenAI(base_url=second.base_url, api_key=second.token, max_retries=0) as client:
        assert client.files.retrieve(train.id).bytes == small_train.stat().st_size
        finished = _finished(client, job.id)
        assert finished.status == "succeeded"
        assert finished.fine_tuned_model.startswith("ft:sandbox-ocr:sandbox:again:")
        assert any("restarted" in e.message for e in client.fine_tuning.jobs.list_events(job.id, limit=100))
        assert _finished(client, done.id).status == "succeeded"
        model = finished.fine_tuned_model
    with SandboxServer(step_delay=0, state_dir=state) as third, \
            openai.OpenAI(base_url=third.base_url, api_key=third.token, max_retries=0) as client:
        assert model in [m.id for m in client.models.list()]
