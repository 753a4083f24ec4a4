"""Run the sandbox: in-process on a background thread (GUI, tests) or in the foreground (``vqa-desk sandbox``).

``SandboxServer`` binds 127.0.0.1 on a free port by default, with a random bearer token; binding any other
address needs ``allow_remote=True``. All state goes under ``state_dir`` (a temporary folder, removed on stop,
when none is given).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import filelock

from vqa_desk.sandbox.app import build_app, is_loopback
from vqa_desk.sandbox.engine import Engine, SandboxSettings
from vqa_desk.sandbox.errors import SandboxError
from vqa_desk.sandbox.faults import FaultInjector

log = logging.getLogger("vqa_desk.sandbox")

DEFAULT_HOST = "127.0.0.1"
_START_TIMEOUT_S = 15.0


class _DropNoise(logging.Filter):
    """An injected dropped connection is not a server error: keep uvicorn from logging it as one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


_NOISE = _DropNoise()


class SandboxServer:
    """The OpenAI-compatible sandbox on a background thread.

    >>> with SandboxServer(step_delay=0) as server:
    ...     client = openai.OpenAI(base_url=server.base_url, api_key=server.token)
    """

    def __init__(self, host: str = DEFAULT_HOST, port: int = 0, token: str | None = None,
                 state_dir: str | Path | None = None, *, allow_remote: bool = False,
                 settings: SandboxSettings | None = None, step_delay: float | None = None,
                 latency: float | None = None, local: bool = False) -> None:
        if not is_loopback(host) and not allow_remote:
            raise SandboxError(f"Refusing to serve the sandbox on {host}: anyone who can reach that address could use "
                               "it. Bind 127.0.0.1 (the default), or pass allow_remote=True (--allow-remote) if you "
                               "mean it.")
        if not 0 <= port <= 65535:
            raise SandboxError(f"Port {port} is not a TCP port (0 picks a free one).")
        self.host = host
        self.port = port
        self.token = token or "sk-sandbox-" + secrets.token_urlsafe(24)
        self.settings = settings or SandboxSettings()
        if step_delay is not None:
            self.settings.step_delay = step_delay
        if latency is not None:
            self.settings.latency = latency
        if local:
            self.settings.local = True  # also fine-tune and serve open VLMs (vqa_desk.local)
        self.faults = FaultInjector()
        self._state_dir = Path(state_dir) if state_dir is not None else None
        self._owns_state_dir = state_dir is None
        self.engine: Engine | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.base_url = ""

    # ----- life cycle ------------------------------------------------------------------------------------
    @property
    def state_dir(self) -> Path:
        if self._state_dir is None:
            raise SandboxError("The sandbox has not started.")
        return self._state_dir

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def address(self) -> tuple[str, int]:
        """The host and port actually bound."""
        if self._socket is None:
            raise SandboxError("The sandbox has not started.")
        host, port = self._socket.getsockname()[:2]
        return host, port

    def start(self) -> tuple[str, str]:
        """Start serving; returns (base URL ending in /v1, bearer token)."""
        import uvicorn

        if self.running:
            return self.base_url, self.token
        if self._state_dir is None:
            self._state_dir = Path(tempfile.mkdtemp(prefix="vqa-desk-sandbox-"))
        self._state_dir.mkdir(parents=True, exist_ok=True)
        # One engine per state folder: a second one would resume (and train) the same unfinished jobs again.
        self._lock = filelock.FileLock(str(self._state_dir / ".engine.lock"), timeout=0)
        try:
            self._lock.acquire()
        except filelock.Timeout:
            self._lock = None
            raise SandboxError(
                f"The sandbox state in {self._state_dir} is in use by another VQA Desk process (the app, or "
                "'vqa-desk sandbox'). Use that sandbox, stop it first, or give this one another --state-dir."
            ) from None
        sock = _bind(self.host, self.port)
        try:
            self.engine = Engine(self._state_dir, self.settings)
            app = build_app(self.engine, token=self.token, faults=self.faults)
            config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False, lifespan="off",
                                    http="h11", ws="none", timeout_graceful_shutdown=2)
            self._server = uvicorn.Server(config)
            logging.getLogger("uvicorn.error").addFilter(_NOISE)
            self._socket = sock
            self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                            name="sandbox-http", daemon=True)
            self._thread.start()
            deadline = time.monotonic() + _START_TIMEOUT_S
            while not self._server.started:
                if not self._thread.is_alive() or time.monotonic() > deadline:
                    raise SandboxError("The sandbox server did not start (see the log for why).")
                time.sleep(0.01)
        except BaseException:
            self.stop()
            raise
        host, port = self.address
        self.base_url = f"http://{_url_host(self.host, host)}:{port}/v1"
        log.info("sandbox serving on %s (state in %s)", self.base_url, self._state_dir)
        return self.base_url, self.token

    def stop(self) -> None:
        """Stop serving, finish the background workers and release the port (idempotent)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout=5)
        self._thread = None
        self._server = None
        if self.engine is not None:
            self.engine.close()
            self.engine = None
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
            self._socket = None
        logging.getLogger("uvicorn.error").removeFilter(_NOISE)
        if getattr(self, "_lock", None) is not None:
            self._lock.release()
            self._lock = None
        if self._owns_state_dir and self._state_dir is not None:
            shutil.rmtree(self._state_dir, ignore_errors=True)
            self._state_dir = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def client_env(self) -> dict[str, str]:
        """What a shell or another process needs to use this server with the openai client."""
        return {"OPENAI_BASE_URL": self.base_url, "OPENAI_API_KEY": self.token}


def _bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise SandboxError(f"Cannot resolve {host!r} ({exc}).") from exc
    family, kind, proto, _, addr = infos[0]
    # The protocol number matters: asyncio sets TCP_NODELAY only on sockets that say IPPROTO_TCP, and without it
    # every response (headers, then body) waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
    except OSError as exc:
        sock.close()
        raise SandboxError(f"Cannot listen on {host}:{port} ({exc.strerror or exc}); choose another port, or 0 for "
                           "a free one.") from exc
    return sock


def _url_host(asked: str, bound: str) -> str:
    host = asked
    with contextlib.suppress(ValueError):
        ip = ipaddress.ip_address(bound)
        if ip.is_unspecified:  # 0.0.0.0 / :: — clients on this machine use loopback
            host = "127.0.0.1" if ip.version == 4 else "::1"
    return f"[{host}]" if ":" in host else host


# ----- the CLI's entry point --------------------------------------------------------------------------------

def serve(host: str = DEFAULT_HOST, port: int = 0, *, allow_remote: bool = False,
          state_dir: str | Path | None = None, token: str | None = None, step_delay: float | None = None,
          out: TextIO | None = None, err: TextIO | None = None, stop: threading.Event | None = None,
          local: bool = False) -> int:
    """``vqa-desk sandbox``: print ``OPENAI_BASE_URL=...`` and ``OPENAI_API_KEY=...`` as the first two lines of
    ``out``, then serve until Ctrl+C / SIGTERM (or ``stop`` is set). Notes go to ``err``. State persists in
    ``state_dir`` (default: ``<user data>/sandbox``), so a restarted sandbox still knows its jobs and models.
    Raises ``SandboxError`` (exit 2 in the CLI) for a non-loopback host without ``allow_remote`` or a busy port."""
    from vqa_desk.core.paths import data_dir

    out = out or sys.stdout
    err = err or sys.stderr
    if state_dir is None:
        state_dir = data_dir() / ("local" if local else "sandbox")
    server = SandboxServer(host, port, token, state_dir, allow_remote=allow_remote, step_delay=step_delay,
                           local=local)
    if not is_loopback(host):
        print(f"Warning: the sandbox listens on {host}, not only on this machine; anyone who can reach it and has the "
              "key can use it.", file=err, flush=True)
    stop = stop or threading.Event()
    base_url, key = server.start()
    previous: dict[int, Any] = {}
    try:
        print(f"OPENAI_BASE_URL={base_url}", file=out, flush=True)
        print(f"OPENAI_API_KEY={key}", file=out, flush=True)
        models = "sandbox-ocr" + (", local vision-language models (a folder or hub id) and their fine-tunes"
                                  if local else "")
        print(f"VQA Desk sandbox (offline OpenAI-compatible API, models: {models}); state in {server.state_dir}. "
              "Press Ctrl+C to stop.", file=err, flush=True)
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, lambda *_: stop.set())
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()
        print("Sandbox stopped.", file=err, flush=True)
    return 0
