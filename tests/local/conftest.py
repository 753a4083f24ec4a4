"""Fixtures for local fine-tuning: a tiny random SmolVLM-architecture model and a small demo export.

These tests need the ``local`` extra (torch, transformers, trl, peft), which ``make test`` installs. Run
elsewhere without it they are skipped — except in CI, where a missing extra is an installation bug and fails.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from vqa_desk.local.environment import PACKAGES

_MISSING = [p for p in PACKAGES if importlib.util.find_spec(p) is None]
if _MISSING:
    if os.environ.get("CI"):
        raise RuntimeError(f"CI must install the local extra (make test does): missing {_MISSING}")
    collect_ignore_glob = ["test_*.py"]

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tools/

TRAIN_LINES = 10  # OpenAI's minimum, which the upload validation enforces
TEST_LINES = 6
# Enough for the tiny model to learn its one answer: loss falls from ~22 to ~0 (tests/local/test_training.py).
LEARNING = {"n_epochs": 10, "batch_size": 4, "learning_rate": 5e-3, "lora_r": 8, "lora_alpha": 32,
            "max_image_side": 128}
STEPS_PER_EPOCH = -(-TRAIN_LINES // LEARNING["batch_size"])


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tools.tiny_vlm import write_tiny_vlm

    return write_tiny_vlm(tmp_path_factory.mktemp("tiny-vlm") / "model")


@pytest.fixture(scope="session")
def small_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A zero-shot openai export of the demo cut to a few lines: 10 training lines all answered "No" (so a few
    LoRA steps can teach the tiny model one answer), 10 validation lines, 6 test lines with their lines.csv."""
    from vqa_desk.core.export import ExportOptions, export_workspace
    from vqa_desk.core.importer import import_dataset

    root = tmp_path_factory.mktemp("local-export")
    ws = root / "demo.vqadesk"
    import_dataset("demo", ws)
    full = root / "full"
    export_workspace(ws, full, options=ExportOptions(few_shot=0))
    out = root / "export"
    out.mkdir()
    train = [line for line in (full / "train.jsonl").read_text().splitlines()
             if json.loads(line)["messages"][-1]["content"] == "No"][:TRAIN_LINES]
    (out / "train.jsonl").write_text("\n".join(train) + "\n")
    (out / "validation.jsonl").write_text("\n".join((full / "validation.jsonl").read_text().splitlines()[:10]) + "\n")
    (out / "test.jsonl").write_text("\n".join((full / "test.jsonl").read_text().splitlines()[:TEST_LINES]) + "\n")
    with (full / "lines.csv").open(newline="") as fh, (out / "lines.csv").open("w", newline="") as dst:
        reader = csv.DictReader(fh)
        writer = csv.DictWriter(dst, reader.fieldnames or [])
        writer.writeheader()
        for row in reader:
            if row["split"] == "test" and int(row["line"]) <= TEST_LINES:
                writer.writerow(row)
    (out / "workspace").write_text(str(ws))
    return out


@pytest.fixture(scope="module")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from vqa_desk.sandbox.server import SandboxServer

    with SandboxServer(step_delay=0, state_dir=tmp_path_factory.mktemp("local-state"), local=True) as server:
        yield server


@pytest.fixture
def local_client(local_server: object) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=local_server.base_url, api_key=local_server.token,  # type: ignore[attr-defined]
                       max_retries=0, timeout=120) as client:
        yield client
