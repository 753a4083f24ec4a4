"""The HTTP face of the sandbox: a Starlette app speaking OpenAI's API paths, shapes and errors.

Every request first meets ``Gate`` (plain ASGI): the loopback-only control endpoints (``/_sandbox/...``),
armed faults, the bearer token and the configured latency — then the routes, which call ``Engine``.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import ipaddress
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import fields
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vqa_desk.sandbox import chat
from vqa_desk.sandbox.engine import Engine, SandboxSettings
from vqa_desk.sandbox.errors import APIError, bad_request, error_body
from vqa_desk.sandbox.faults import Fault, FaultInjector
from vqa_desk.sandbox.reader import image_key

log = logging.getLogger("vqa_desk.sandbox")

CONTROL_PREFIX = "/_sandbox"
Handler = Callable[[Request], Awaitable[Response]]


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def api(handler: Handler) -> Handler:
    """Errors in OpenAI's shape: ``APIError`` as itself, anything else as a 500 (logged)."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except APIError as exc:
            return _json(exc.status, exc.body(), exc.headers)
        except Exception:
            log.exception("sandbox request %s %s failed", request.method, request.url.path)
            return _json(500, error_body("The server had an error while processing your request. Sorry about that!",
                                         type="server_error"))

    return wrapped


async def json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("We could not parse the JSON body of your request. (HINT: This likely means you aren't "
                          "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
                          "sent was not valid JSON.)") from None


def _limit(request: Request, default: int = 20, most: int = 100) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= most:
        raise bad_request(f"Invalid 'limit': an integer from 1 to {most}.", param="limit", code="invalid_value")
    return value


class Gate:
    """Control endpoints, faults, authentication and latency, in front of the routes."""

    def __init__(self, app: ASGIApp, *, token: str, faults: FaultInjector, settings: SandboxSettings) -> None:
        self.app = app
        self.token = token
        self.faults = faults
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(CONTROL_PREFIX):
            client = scope.get("client")
            if not is_loopback(client[0] if client else None):
                await _send_json(send, 403, error_body("The sandbox's control endpoints answer loopback clients only.",
                                                       code="control_not_allowed"))
                return
            if not await self._authorised(scope, send):
                return
            await self.app(scope, receive, send)
            return
        fault = self.faults.take(scope["method"], path)
        if fault is not None:
            if fault.kind == "error":
                body, headers = fault.error()
                await _send_json(send, fault.status, body, headers)
                return
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
            elif fault.kind == "drop" and fault.when == "before":
                await _drop(send)
                return
        if not await self._authorised(scope, send):
            return
        if self.settings.latency > 0:
            await asyncio.sleep(self.settings.latency)
        if fault is not None and fault.kind == "drop":  # after: the request runs, its answer is lost
            await self.app(scope, receive, _Truncating(send))
            return
        await self.app(scope, receive, send)

    async def _authorised(self, scope: Scope, send: Send) -> bool:
        headers = dict(scope["headers"])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, key = auth.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            await _send_json(send, 401, error_body(
                "You didn't provide an API key. You need to provide your API key in an Authorization header using "
                "Bearer auth (i.e. Authorization: Bearer YOUR_KEY). The sandbox printed its key as OPENAI_API_KEY "
                "when it started."))
            return False
        if not hmac.compare_digest(key.strip().encode(), self.token.encode()):
            await _send_json(send, 401, error_body(
                f"Incorrect API key provided: {_mask(key.strip())}. Use the key the sandbox printed as "
                "OPENAI_API_KEY when it started.", code="invalid_api_key"))
            return False
        return True


def _mask(key: str) -> str:
    return key[:3] + "*" * 8 + key[-4:] if len(key) > 10 else "*" * len(key)


async def _send_json(send: Send, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
    payload = json.dumps(body).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


async def _drop(send: Send) -> None:
    """Start an answer and never finish it: the server closes the connection mid-body."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"256")]})
    await send({"type": "http.response.body", "body": b'{"id": "', "more_body": True})


class _Truncating:
    """Passes the response start through and cuts the body in half (the request itself ran)."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._start: Message | None = None
        self._body = b""

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._start = message
        elif message["type"] == "http.response.body":
            self._body += message.get("body", b"")
            if not message.get("more_body") and self._start is not None:
                headers = [(k, v) for k, v in self._start["headers"] if k.lower() != b"content-length"]
                headers.append((b"content-length", str(max(len(self._body), 2)).encode()))
                await self._send({**self._start, "headers": headers})
                await self._send({"type": "http.response.body", "body": self._body[:len(self._body) // 2],
                                  "more_body": True})


# ----- routes ------------------------------------------------------------------------------------------------

def build_app(engine: Engine, *, token: str, faults: FaultInjector) -> ASGIApp:
    settings = engine.settings

    @api
    async def list_models(request: Request) -> Response:
        return _json(200, engine.list_models())

    @api
    async def get_model(request: Request) -> Response:
        return _json(200, engine.model_object(request.path_params["model"]))

    @api
    async def delete_model(request: Request) -> Response:
        return _json(200, engine.delete_model(request.path_params["model"]))

    @api
    async def create_file(request: Request) -> Response:
        return _json(200, await _upload(request, engine))

    @api
    async def list_files(request: Request) -> Response:
        q = request.query_params
        order = q.get("order", "desc")
        if order not in ("asc", "desc"):
            raise bad_request("Invalid 'order': asc or desc.", param="order", code="invalid_value")
        return _json(200, engine.list_files(purpose=q.get("purpose"), after=q.get("after"),
                                            limit=_limit(request, 10_000, 10_000), order=order))

    @api
    async def get_file(request: Request) -> Response:
        return _json(200, engine.file_object(request.path_params["file_id"]))

    @api
    async def delete_file(request: Request) -> Response:
        return _json(200, engine.delete_file(request.path_params["file_id"]))

    @api
    async def file_content(request: Request) -> Response:
        file_id = request.path_params["file_id"]
        path = engine.file_path(file_id)
        obj = engine.file_object(file_id)
        media = "text/csv" if obj["filename"].endswith(".csv") else "application/octet-stream"
        return FileResponse(path, media_type=media)

    @api
    async def create_job(request: Request) -> Response:
        return _json(200, engine.create_job(await json_body(request)))

    @api
    async def list_jobs(request: Request) -> Response:
        q = request.query_params
        metadata = {k[len("metadata["):-1]: v for k, v in q.multi_items()
                    if k.startswith("metadata[") and k.endswith("]")}
        return _json(200, engine.list_jobs(after=q.get("after"), limit=_limit(request), metadata=metadata))

    @api
    async def get_job(request: Request) -> Response:
        return _json(200, engine.job(request.path_params["job_id"]))

    @api
    async def cancel_job(request: Request) -> Response:
        return _json(200, engine.cancel_job(request.path_params["job_id"]))

    @api
    async def list_events(request: Request) -> Response:
        return _json(200, engine.list_events(request.path_params["job_id"], after=request.query_params.get("after"),
                                             limit=_limit(request)))

    @api
    async def list_checkpoints(request: Request) -> Response:
        return _json(200, engine.list_checkpoints(request.path_params["job_id"],
                                                  after=request.query_params.get("after"),
                                                  limit=_limit(request, 10)))

    @api
    async def chat_completions(request: Request) -> Response:
        body = await json_body(request)
        if isinstance(body, dict) and engine.is_local_model(body.get("model")):
            result = await run_in_threadpool(engine.local_chat, body)  # a model forward pass: off the loop
            req = chat.parse_chat_request(body)
        else:
            req, model = engine.chat_request(body)
            lines = None
            if req.image is not None:
                key = image_key(req.image)
                lines = engine.reader.cached(key)
                if lines is None:
                    lines = await asyncio.wrap_future(engine.reader.submit(req.image, key))
            result = engine.chat_response(req, model, lines)
        if req.stream:
            return StreamingResponse(_sse(chat.stream_chunks(result, req.include_usage)),
                                     media_type="text/event-stream")
        return _json(200, result)

    @api
    async def create_batch(request: Request) -> Response:
        return _json(200, engine.batches.create(await json_body(request)))

    @api
    async def list_batches(request: Request) -> Response:
        return _json(200, engine.batches.list(after=request.query_params.get("after"), limit=_limit(request)))

    @api
    async def get_batch(request: Request) -> Response:
        return _json(200, engine.batches.get(request.path_params["batch_id"]))

    @api
    async def cancel_batch(request: Request) -> Response:
        return _json(200, engine.batches.cancel(request.path_params["batch_id"]))

    # ----- control (loopback only, token required) -----
    @api
    async def get_faults(request: Request) -> Response:
        return _json(200, {"faults": [f.to_dict() for f in faults.list()]})

    @api
    async def add_fault(request: Request) -> Response:
        body = await json_body(request)
        allowed = {f.name for f in fields(Fault)} - {"id", "hits"}
        if not isinstance(body, dict) or set(body) - allowed:
            raise bad_request(f"A fault is an object with some of: {', '.join(sorted(allowed))}.")
        try:
            fault = faults.add(**body)
        except (TypeError, ValueError) as exc:
            raise bad_request(f"Invalid fault: {exc}") from exc
        return _json(200, fault.to_dict())

    @api
    async def clear_faults(request: Request) -> Response:
        faults.clear()
        return _json(200, {"faults": []})

    @api
    async def remove_fault(request: Request) -> Response:
        try:
            removed = faults.remove(int(request.path_params["fault_id"]))
        except ValueError:
            removed = False
        if not removed:
            raise APIError(404, "No such fault.")
        return _json(200, {"deleted": True})

    @api
    async def get_settings(request: Request) -> Response:
        return _json(200, _settings(settings))

    @api
    async def patch_settings(request: Request) -> Response:
        body = await json_body(request)
        tunable = {"step_delay", "latency", "batch_delay"}
        if not isinstance(body, dict) or set(body) - tunable:
            raise bad_request(f"Settings that can change while running: {', '.join(sorted(tunable))}.")
        for key, value in body.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise bad_request(f"Invalid '{key}': a number of seconds, 0 or more.", param=key)
            setattr(settings, key, float(value))
        return _json(200, _settings(settings))

    @api
    async def health(request: Request) -> Response:
        return _json(200, {"ok": True, "ocr_engine": engine.reader.available,
                           "models": [m["id"] for m in engine.list_models()["data"]]})

    routes = [
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/models/{model:path}", get_model, methods=["GET"]),
        Route("/v1/models/{model:path}", delete_model, methods=["DELETE"]),
        Route("/v1/files", create_file, methods=["POST"]),
        Route("/v1/files", list_files, methods=["GET"]),
        Route("/v1/files/{file_id}", get_file, methods=["GET"]),
        Route("/v1/files/{file_id}", delete_file, methods=["DELETE"]),
        Route("/v1/files/{file_id}/content", file_content, methods=["GET"]),
        Route("/v1/fine_tuning/jobs", create_job, methods=["POST"]),
        Route("/v1/fine_tuning/jobs", list_jobs, methods=["GET"]),
        Route("/v1/fine_tuning/jobs/{job_id}", get_job, methods=["GET"]),
        Route("/v1/fine_tuning/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
        Route("/v1/fine_tuning/jobs/{job_id}/events", list_events, methods=["GET"]),
        Route("/v1/fine_tuning/jobs/{job_id}/checkpoints", list_checkpoints, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/batches", create_batch, methods=["POST"]),
        Route("/v1/batches", list_batches, methods=["GET"]),
        Route("/v1/batches/{batch_id}", get_batch, methods=["GET"]),
        Route("/v1/batches/{batch_id}/cancel", cancel_batch, methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/faults", get_faults, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/faults", add_fault, methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/faults", clear_faults, methods=["DELETE"]),
        Route(f"{CONTROL_PREFIX}/faults/{{fault_id}}", remove_fault, methods=["DELETE"]),
        Route(f"{CONTROL_PREFIX}/settings", get_settings, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/settings", patch_settings, methods=["PATCH"]),
        Route(f"{CONTROL_PREFIX}/health", health, methods=["GET"]),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status in (404, 405):
            return _json(status, error_body(f"Invalid URL ({request.method} {request.url.path})"))
        return _json(status, error_body(str(getattr(exc, "detail", "")) or "Request failed."))

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    return Gate(app, token=token, faults=faults, settings=settings)


def _settings(settings: SandboxSettings) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in fields(settings)}


async def _sse(chunks: list[dict[str, Any]]) -> Any:
    for chunk in chunks:
        yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()
    yield b"data: [DONE]\n\n"


# ----- uploads ------------------------------------------------------------------------------------------------

async def _upload(request: Request, engine: Engine) -> dict[str, Any]:
    """A multipart upload streamed straight into the state folder (a 500 MB file never sits in memory)."""
    from python_multipart.multipart import MultipartParser, parse_options_header

    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise bad_request("Upload files as multipart/form-data with the fields 'file' and 'purpose'.", param="file")
    tmp = engine.store.files_dir / f".upload-{secrets.token_hex(8)}.partial"
    limit = engine.settings.max_upload_bytes
    state: dict[str, Any] = {"headers": {}, "field": None, "value": bytearray(), "filename": None, "fh": None,
                             "size": 0, "header_name": b"", "header_value": b""}
    fields_: dict[str, str] = {}

    def on_part_begin() -> None:
        state.update(headers={}, field=None, value=bytearray(), header_name=b"", header_value=b"")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header_name"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["header_value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["header_name"].lower()] = state["header_value"]
        state.update(header_name=b"", header_value=b"")

    def on_headers_finished() -> None:
        _, options = parse_options_header(state["headers"].get(b"content-disposition", b""))
        state["field"] = options.get(b"name", b"").decode("utf-8", "replace")
        if state["field"] == "file":
            state["filename"] = options.get(b"filename", b"upload").decode("utf-8", "replace")
            state["fh"] = tmp.open("wb")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["field"] == "file" and state["fh"] is not None:
            state["size"] += end - start
            if state["size"] > limit:
                raise APIError(413, f"The file is larger than {limit // (1024 * 1024)} MB, the most the Files API "
                               "accepts.", param="file", code="file_too_large")
            state["fh"].write(data[start:end])
        elif len(state["value"]) < 4096:
            state["value"] += data[start:end]

    def on_part_end() -> None:
        if state["field"] == "file" and state["fh"] is not None:
            state["fh"].close()
        elif state["field"]:
            fields_[state["field"]] = state["value"].decode("utf-8", "replace")

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    })
    try:
        try:
            async for chunk in request.stream():
                parser.write(chunk)
            parser.finalize()
        except APIError:
            raise
        except Exception as exc:
            raise bad_request(f"The multipart body could not be read ({exc}).", param="file") from exc
        finally:
            if state["fh"] is not None and not state["fh"].closed:
                state["fh"].close()
        if state["filename"] is None:
            raise bad_request("Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
        purpose = fields_.get("purpose")
        if not purpose:
            raise bad_request("Missing required parameter: 'purpose'.", param="purpose",
                              code="missing_required_parameter")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(engine.add_file, tmp, state["filename"], purpose)
