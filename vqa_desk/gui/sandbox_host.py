"""The offline sandbox, started in-process the first time the sandbox provider is used by the app."""

from __future__ import annotations

from dataclasses import replace

from vqa_desk.core.paths import data_dir
from vqa_desk.core.providers import ProviderKind, ProviderProfile


class SandboxHost:
    def __init__(self, *, step_delay: float | None = None) -> None:
        self._server: object | None = None
        self._step_delay = step_delay  # None: the sandbox's own pace; tests use 0

    def resolve(self, profile: ProviderProfile) -> tuple[ProviderProfile, str | None]:
        """(profile with a base URL, key to use) — for the sandbox, a local server started on demand."""
        if profile.kind != ProviderKind.SANDBOX or profile.base_url:
            return profile, None
        from vqa_desk.sandbox.server import SandboxServer

        if self._server is None:
            server = SandboxServer(state_dir=data_dir() / "sandbox", step_delay=self._step_delay)
            server.start()
            self._server = server
        return replace(profile, base_url=self._server.base_url), self._server.token  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()  # type: ignore[attr-defined]
            self._server = None
