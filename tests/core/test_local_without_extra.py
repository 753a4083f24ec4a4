"""Without the local extra (no torch), everything but local training still imports and says what to install."""

from __future__ import annotations

import subprocess
import sys

# A fresh interpreter in which torch and the rest of the local extra cannot be imported.
_BLOCK = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("torch", "transformers", "trl", "peft", "accelerate", "bitsandbytes"):
            raise ImportError(f"{name} is blocked")
        return None
sys.meta_path.insert(0, Block())
"""


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _BLOCK + code], capture_output=True, text=True, timeout=120)


def test_the_server_the_cli_and_the_local_helpers_import_without_torch() -> None:
    done = _run("""
import json, sys
import vqa_desk.sandbox.engine, vqa_desk.sandbox.local_jobs, vqa_desk.local.protocol, vqa_desk.local.messages
import vqa_desk.local.vllm
from vqa_desk.local import environment
assert environment.missing_packages() == list(environment.PACKAGES), environment.missing_packages()
from vqa_desk.cli import main
assert main(["sandbox", "--local"]) == 2
assert "torch" not in sys.modules
""")
    assert done.returncode == 0, done.stderr
    assert "pip install 'vqa-desk[local]'" in done.stderr
