"""Fixtures shared by the core tests that talk to a provider: a running sandbox and a client for it."""

from collections.abc import Iterator

import openai
import pytest

from vqa_desk.core.providers import ProviderKind, ProviderProfile
from vqa_desk.sandbox.server import SandboxServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """One sandbox per test module (jobs in seconds: step_delay 0)."""
    with SandboxServer(step_delay=0, state_dir=tmp_path_factory.mktemp("sbx")) as s:
        yield s


@pytest.fixture
def profile(server: SandboxServer) -> ProviderProfile:
    """A provider profile for the sandbox, with every fault and delay of an earlier test cleared."""
    server.faults.clear()
    server.settings.latency = 0
    server.settings.step_delay = 0
    return ProviderProfile("sbx", ProviderKind.SANDBOX, base_url=server.base_url, finetune_model="sandbox-ocr")


@pytest.fixture
def client(server: SandboxServer) -> Iterator[openai.OpenAI]:
    """The real openai client, its own retries off: the app's retry policy is what the tests exercise."""
    with openai.OpenAI(base_url=server.base_url, api_key=server.token, max_retries=0, timeout=30) as c:
        yield c
