"""Fault injection: make the next N requests that match a path prefix fail the way real providers fail.

Off by default. Tests arm faults through ``SandboxServer.faults`` (Python) or the loopback-only control
endpoint ``/_sandbox/faults`` (JSON, same fields). Kinds:

- ``error``: answer ``status`` with an OpenAI-style error body (401, 403 ``training_not_available``, 404, 429
  with ``Retry-After``, 500, 503 ...), without running the request;
- ``slow``: wait ``delay`` seconds, then handle the request normally (a client timeout sees no answer);
- ``drop``: cut the connection mid-response. ``when="before"`` drops before the request runs (nothing
  happened); ``when="after"`` runs it first — a job is created, but the client never hears its id.

``count`` None means every matching request until the rule is removed (a fixed latency, for instance).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("error", "slow", "drop")

# OpenAI's wording and types for the statuses tests inject; 403 is what a blocked organisation gets since the
# fine-tuning wind-down (REFERENCE.md §3).
_DEFAULTS: dict[int, tuple[str, str, str | None]] = {
    400: ("invalid_request_error", "Injected fault: the request was refused.", None),
    401: ("invalid_request_error", "Incorrect API key provided. You can find your API key at "
                                   "https://platform.openai.com/account/api-keys.", "invalid_api_key"),
    403: ("invalid_request_error", "Fine-tuning is not available for your organization: OpenAI is winding down "
                                   "self-serve fine-tuning and no longer accepts new training jobs from this "
                                   "organization.", "training_not_available"),
    404: ("invalid_request_error", "The requested resource does not exist.", None),
    409: ("invalid_request_error", "The request conflicts with the current state of the resource.", None),
    429: ("requests", "Rate limit reached for requests. Please try again in 1s.", "rate_limit_exceeded"),
    500: ("server_error", "The server had an error while processing your request. Sorry about that!", None),
    502: ("server_error", "Bad gateway.", None),
    503: ("server_error", "The engine is currently overloaded, please try again later.", None),
}


@dataclass
class Fault:
    kind: str = "error"
    path: str = "/v1/"  # a path prefix, e.g. "/v1/chat/completions" or "/v1/fine_tuning/jobs"
    method: str | None = None  # None: any method
    count: int | None = 1  # requests left to affect; None: until removed
    status: int = 500
    message: str | None = None
    type: str | None = None
    code: str | None = None
    retry_after: float | None = None  # seconds, sent as Retry-After (429, 503)
    delay: float = 0.0  # slow: seconds to wait
    when: str = "before"  # drop: before | after the request runs
    id: int = 0
    hits: int = 0

    def check(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use {', '.join(KINDS)}")
        if not self.path.startswith("/"):
            raise ValueError("a fault's path is a URL path prefix starting with '/'")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1 (or null for every request)")
        if self.kind == "error" and not 400 <= self.status <= 599:
            raise ValueError("an error fault needs an HTTP status from 400 to 599")
        if self.when not in ("before", "after"):
            raise ValueError("when is 'before' or 'after'")
        if self.delay < 0 or (self.retry_after is not None and self.retry_after < 0):
            raise ValueError("delay and retry_after cannot be negative")

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path) and (self.method is None or self.method.upper() == method.upper())

    def error(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The body and headers of an ``error`` fault."""
        type_, message, code = _DEFAULTS.get(self.status, ("server_error" if self.status >= 500 else
                                                           "invalid_request_error", f"Injected HTTP {self.status}.",
                                                           None))
        headers = {}
        if self.retry_after is not None:
            headers["retry-after"] = f"{self.retry_after:g}"
        elif self.status == 429:
            headers["retry-after"] = "1"
        body = {"error": {"message": self.message or message, "type": self.type or type_, "param": None,
                          "code": self.code if self.code is not None else code}}
        return body, headers

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FaultInjector:
    """The armed faults, first match wins. Thread-safe: tests arm them from their own thread."""

    _faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def add(self, kind: str = "error", path: str = "/v1/", *, count: int | None = 1, status: int = 500,
            method: str | None = None, message: str | None = None, type: str | None = None,
            code: str | None = None, retry_after: float | None = None, delay: float = 0.0,
            when: str = "before") -> Fault:
        fault = Fault(kind=kind, path=path, method=method, count=count, status=status, message=message, type=type,
                      code=code, retry_after=retry_after, delay=delay, when=when)
        fault.check()
        with self._lock:
            fault.id = next(self._ids)
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, if any, counting it as used."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) < before

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)
