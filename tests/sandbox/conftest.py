"""Fixtures for the sandbox tests: OpenAI's schemas, a running sandbox, a client, the demo data exported.

The sandbox runs in-process on 127.0.0.1 with ``step_delay=0`` so jobs finish in seconds; the real ``openai``
client talks to it (``max_retries=0`` unless a test is about retries).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
from sandbox_openapi import OpenAISchemas

from vqa_desk.sandbox import SandboxServer


@pytest.fixture(scope="session")
def openapi() -> OpenAISchemas:
    return OpenAISchemas.load()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(step_delay=0, state_dir=tmp_path_factory.mktemp("sandbox-state")) as server:
        yield server


@pytest.fixture
def client(sandbox: SandboxServer) -> Iterator[openai.OpenAI]:
    sandbox.faults.clear()
    sandbox.settings.step_delay = 0
    with openai.OpenAI(base_url=sandbox.base_url, api_key=sandbox.token, max_retries=0, timeout=60) as c:
        yield c
    sandbox.faults.clear()


@dataclass
class DemoExport:
    folder: Path
    train: Path
    validation: Path
    test: Path
    test_answers: list[str]  # the label of each line of test.jsonl (the file itself has none)

    def lines(self, split: str) -> list[dict[str, Any]]:
        with (self.folder / f"{split}.jsonl").open("rb") as fh:
            return [json.loads(line) for line in fh]

    def head(self, split: str, n: int, out: Path) -> Path:
        """The first ``n`` lines of a split as a file of their own."""
        with (self.folder / f"{split}.jsonl").open("rb") as fh, out.open("wb") as dst:
            for i, line in enumerate(fh):
                if i >= n:
                    break
                dst.write(line)
        return out


@pytest.fixture(scope="session")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> DemoExport:
    """The bundled demo workspace exported in the cookbook's layout (two few-shot pairs per line: the layout
    is the same as with six, the files a third of the size)."""
    from vqa_desk.core.export import ExportOptions, export_workspace
    from vqa_desk.core.importer import import_dataset
    from vqa_desk.core.workspace import Workspace

    root = tmp_path_factory.mktemp("sandbox-demo")
    ws_path = root / "demo.vqadesk"
    import_dataset("demo", ws_path)
    result = export_workspace(ws_path, root / "export", options=ExportOptions(few_shot=2, estimate=False))
    assert result.ok, result.to_json()["validation"]
    with (root / "export" / "lines.csv").open(encoding="utf-8") as fh:
        qa_ids = [int(row["qa_id"]) for row in csv.DictReader(fh) if row["split"] == "test"]
    with Workspace.open(ws_path) as ws:
        answers = [ws.qa(qa_id).answer for qa_id in qa_ids]
    return DemoExport(root / "export", result.files["train"], result.files["validation"], result.files["test"],
                      answers)
