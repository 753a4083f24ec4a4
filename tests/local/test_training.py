"""Local LoRA fine-tuning on a tiny random SmolVLM-architecture model, on the CPU, nothing downloaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors import safe_open

from tests.local.conftest import LEARNING, STEPS_PER_EPOCH
from vqa_desk.core.formats import sha256_of
from vqa_desk.local import protocol
from vqa_desk.local.inference import LocalVLM, merge_adapter

pytestmark = [pytest.mark.local, pytest.mark.slow]


def _losses(job_dir: Path) -> list[float]:
    events, _ = protocol.read_events(job_dir)
    return [e["data"]["train_loss"] for e in events if e["type"] == "metrics" and "train_loss" in e["data"]]


@pytest.fixture(scope="module")
def trained(tiny_model: Path, small_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One training process run the way the server runs it: ``python -m vqa_desk.local.train JOB_DIR``."""
    job_dir = tmp_path_factory.mktemp("job")
    train = small_export / "train.jsonl"
    spec = protocol.TrainSpec(base_model=str(tiny_model), base_model_path=str(tiny_model), train_file=str(train),
                              validation_file=str(small_export / "validation.jsonl"), model_name="ft:tiny:local::t",
                              export_sha256=sha256_of(train), **{k: v for k, v in LEARNING.items()})
    protocol.write_spec(job_dir, spec)
    done = subprocess.run([sys.executable, "-m", "vqa_desk.local.train", str(job_dir)], capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    return job_dir


def test_a_few_lora_steps_make_the_loss_fall(trained: Path) -> None:
    state = protocol.read_state(trained)
    assert state["status"] == "succeeded"
    losses = _losses(trained)
    assert len(losses) == LEARNING["n_epochs"] * STEPS_PER_EPOCH  # one event per step
    assert sum(losses[-3:]) / 3 < 0.25 * sum(losses[:3]) / 3, losses
    events, _ = protocol.read_events(trained)
    assert any(e["type"] == "metrics" and "valid_loss" in e["data"] for e in events)  # validation per epoch
    checkpoints = [e["data"] for e in events if e["type"] == "checkpoint"]
    assert [c["step"] for c in checkpoints] == [STEPS_PER_EPOCH * (i + 1) for i in range(LEARNING["n_epochs"])]
    assert (protocol.newest_checkpoint(trained) / "adapter_model.safetensors").exists()


def test_the_adapter_holds_only_language_model_weights_and_a_manifest(trained: Path, small_export: Path) -> None:
    adapter = trained / protocol.ADAPTER
    with safe_open(str(adapter / "adapter_model.safetensors"), "pt") as fh:
        keys = list(fh.keys())
    assert keys and all(".text_model.layers." in k and ("lora_A" in k or "lora_B" in k) for k in keys), keys[:5]
    assert not any("vision" in k or "connector" in k for k in keys)
    targets = {k.split(".layers.")[1].split(".", 1)[1].rsplit(".lora_", 1)[0] for k in keys}
    assert targets == {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                       "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"}
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["r"] == LEARNING["lora_r"] and config["lora_alpha"] == LEARNING["lora_alpha"]
    manifest = json.loads((adapter / protocol.MANIFEST).read_text())
    assert manifest["base_model"] == str(Path(manifest["base_model_path"]))
    assert manifest["export_sha256"] == sha256_of(small_export / "train.jsonl")
    assert manifest["hyperparameters"]["learning_rate"] == LEARNING["learning_rate"]
    assert manifest["metrics"]["final_train_loss"] < manifest["metrics"]["first_train_loss"]
    assert manifest["metrics"]["trained_tokens"] > 0
    assert {"torch", "transformers", "trl", "peft"} <= set(manifest["versions"])


def test_reload_generate_and_merge_give_the_learned_answer(trained: Path, small_export: Path,
                                                           tmp_path: Path) -> None:
    line = json.loads((small_export / "train.jsonl").read_text().splitlines()[0])
    question = line["messages"][:-1]
    tuned = LocalVLM(None, trained / protocol.ADAPTER).generate(question, max_new_tokens=8)
    assert tuned.text == "No"  # every training answer was "No": the adapter learned it
    base = LocalVLM(str(protocol.read_spec(trained).base_model_path)).generate(question, max_new_tokens=8)
    assert base.text != "No"  # ... which the random base model does not say
    merged_dir = merge_adapter(trained / protocol.ADAPTER, tmp_path / "merged")
    assert (merged_dir / "config.json").exists() and not (merged_dir / "adapter_config.json").exists()
    merged = LocalVLM(str(merged_dir)).generate(question, max_new_tokens=8)
    assert merged == tuned
    with pytest.raises(Exception, match="not empty"):
        merge_adapter(trained / protocol.ADAPTER, merged_dir)


def test_a_bad_training_file_fails_the_process_with_its_reason(tiny_model: Path, tmp_path: Path) -> None:
    train = tmp_path / "train.jsonl"
    train.write_text('{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": '
                     '{"url": "https://example.com/x.jpg"}}]}, {"role": "assistant", "content": "x"}]}\n')
    protocol.write_spec(tmp_path, protocol.TrainSpec(str(tiny_model), str(tiny_model), str(train), None, "m"))
    done = subprocess.run([sys.executable, "-m", "vqa_desk.local.train", str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    state = protocol.read_state(tmp_path)
    assert state["status"] == "failed" and "no example the local model can learn from" in state["error"]
