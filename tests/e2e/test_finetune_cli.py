"""vqa-desk sandbox and vqa-desk finetune, as a shell script would use them."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from vqa_desk.cli import main

pytestmark = pytest.mark.slow


def test_sandbox_prints_its_address_and_key_first_and_stops_on_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "vqa_desk.cli", "sandbox", "--state-dir", str(tmp_path / "s")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first, second = proc.stdout.readline().strip(), proc.stdout.readline().strip()
        assert first.startswith("OPENAI_BASE_URL=http://127.0.0.1:") and first.endswith("/v1")
        assert second.startswith("OPENAI_API_KEY=")
        base_url, key = first.split("=", 1)[1], second.split("=", 1)[1]
        with openai.OpenAI(base_url=base_url, api_key=key, max_retries=0) as client:
            assert "sandbox-ocr" in [m.id for m in client.models.list()]
        with openai.OpenAI(base_url=base_url, api_key="wrong", max_retries=0) as client, \
                pytest.raises(openai.AuthenticationError):
            client.models.list()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_sandbox_refuses_a_public_address_without_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "--host", "0.0.0.0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_finetune_exports_launches_waits_and_reattaches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "small.vqadesk"
    assert main(["new", str(ws), "--from", "demo", "--sizes", "14,6,4"]) == 0
    capsys.readouterr()
    code = main(["finetune", str(ws), "--provider", "sandbox", "--suffix", "cli", "--epochs", "1", "--wait",
                 "--poll", "0.1", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    record = json.loads(out.out)
    assert record["status"] == "succeeded" and record["fine_tuned_model"].startswith("ft:sandbox-ocr:sandbox:cli:")
    assert (tmp_path / "small-export" / "train.jsonl").exists()  # exported first, beside the workspace
    assert "Job ftjob-" in out.err and "succeeded" in out.err
    # Nothing unfinished: a second run launches a new job rather than re-attaching.
    assert main(["finetune", str(ws), "--provider", "sandbox", "--suffix", "two", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["job_id"] != record["job_id"]


def test_finetune_user_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["finetune", str(tmp_path / "missing.vqadesk"), "--provider", "sandbox"]) == 2
    ws = tmp_path / "w.vqadesk"
    assert main(["new", str(ws), "--from", "demo", "--sizes", "3,1,1"]) == 0
    assert main(["finetune", str(ws), "--provider", "nope"]) == 2
    assert "No provider profile named 'nope'" in capsys.readouterr().err
    assert main(["finetune", str(ws), "--provider", "openai"]) == 2
    assert "OPENAI_API_KEY" in capsys.readouterr().err


def test_evaluate_base_and_finetuned_then_rerun_from_cache(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "small.vqadesk"
    assert main(["new", str(ws), "--from", "demo", "--sizes", "12,4,5"]) == 0
    assert main(["evaluate", str(ws), "--provider", "sandbox", "--model", "finetuned"]) == 2
    assert "No fine-tuned model" in capsys.readouterr().err
    assert main(["finetune", str(ws), "--provider", "sandbox", "--wait", "--poll", "0.1"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(ws), "--provider", "sandbox", "--model", "sandbox-ocr", "--model", "finetuned",
                 "--concurrency", "4", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [r["model"].startswith("ft:") for r in runs] == [False, True]
    assert all(r["questions"] == r["requested"] > 0 for r in runs)
    assert main(["evaluate", str(ws), "--provider", "sandbox", "--model", "sandbox-ocr", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["runs"][0]["requested"] == 0
