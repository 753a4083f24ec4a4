"""Test set-up shared by every test: offscreen Qt, and no touching the user's home, settings or network.

With VQA_DESK_BLOCK_QT=1 (one job of ``make test``), PySide6 cannot be imported at all: that run proves the
core works without Qt on the import path.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["QT_QPA_PLATFORM"] = "offscreen"
# Hugging Face libraries must never reach for the network or the user's cache from a test.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"


class _BlockQt(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname == "PySide6" or fullname.startswith("PySide6.") or fullname.startswith("shiboken6"):
            raise ImportError(f"{fullname} is blocked: core must not need Qt (VQA_DESK_BLOCK_QT=1)")
        return None


if os.environ.get("VQA_DESK_BLOCK_QT") == "1":
    sys.meta_path.insert(0, _BlockQt())


class MemoryKeyring:
    """A keyring backend that keeps secrets in a dict: tests never touch the user's real keyring."""

    priority = 1

    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    import keyring
    from keyring.backend import KeyringBackend

    backend = type("MemoryBackend", (MemoryKeyring, KeyringBackend), {})()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    for var in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "OPENAI_BASE_URL", "VQA_DESK_SANDBOX_KEY"):
        monkeypatch.delenv(var, raising=False)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own home, data, config and Hugging Face folders."""
    root = tmp_path_factory.mktemp("user")
    for var, sub in (("HOME", "home"), ("VQA_DESK_DATA_DIR", "data"), ("VQA_DESK_CONFIG_DIR", "config"),
                     ("HF_HOME", "hf"), ("HF_DATASETS_CACHE", "hf/datasets"), ("XDG_CONFIG_HOME", "xdg-config"),
                     ("XDG_DATA_HOME", "xdg-data"), ("XDG_CACHE_HOME", "xdg-cache")):
        (root / sub).mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(var, str(root / sub))
    return root


@pytest.fixture(scope="session")
def ocr_demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace with every cover read by the real OCR engine (~20 s once per test session)."""
    from vqa_desk.core.importer import import_dataset
    from vqa_desk.core.ocr import run_ocr

    path = tmp_path_factory.mktemp("ocr-demo") / "demo.vqadesk"
    import_dataset("demo", path)
    run_ocr(path)
    return path
