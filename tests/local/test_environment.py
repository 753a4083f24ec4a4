"""What the app says and estimates about local fine-tuning before anything heavy runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from vqa_desk.local import environment, protocol, vllm
from vqa_desk.local.environment import LocalUnavailable


def test_without_the_extra_the_message_says_how_to_enable_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environment, "missing_packages", lambda: ["torch", "trl"])
    with pytest.raises(LocalUnavailable, match=r"needs torch, trl, which are not installed.*vqa-desk\[local\]"):
        environment.require()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    with pytest.raises(LocalUnavailable, match="not part of the desktop executable"):
        environment.require()


def test_the_cli_and_the_server_refuse_clearly_without_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                 small_export: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    from vqa_desk.cli import main

    shutil.copy(Path((small_export / "workspace").read_text()), tmp_path / "ws.vqadesk")
    monkeypatch.setattr(environment, "missing_packages", lambda: ["torch"])
    for argv in (["finetune", str(tmp_path / "ws.vqadesk"), "--provider", "local"],
                 ["evaluate", str(tmp_path / "ws.vqadesk"), "--provider", "local", "--model", "x"],
                 ["sandbox", "--local"]):
        assert main(argv) == 2
        assert "pip install 'vqa-desk[local]'" in capsys.readouterr().err
    assert main(["local", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["missing_packages"] == ["torch"] and "vqa-desk[local]" in info["install"]


def test_base_models_are_folders_or_hub_ids_and_never_downloaded(tmp_path: Path) -> None:
    assert environment.looks_like_base_model("HuggingFaceTB/SmolVLM-256M-Instruct")
    assert not environment.looks_like_base_model("sandbox-ocr")
    with pytest.raises(LocalUnavailable, match=r"not on this machine.*hf download SomeOrg/absent"):
        environment.resolve_base_model("SomeOrg/absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LocalUnavailable, match="not a model folder"):
        environment.resolve_base_model(str(tmp_path / "empty"))


@pytest.mark.parametrize(("billions", "qlora", "batch", "low", "high"), [
    (0.256, False, 4, 1.0, 6.0),  # SmolVLM 256M: "< 6 GB"
    (0.5, False, 4, 1.5, 6.0),
    (2.2, False, 4, 8.0, 12.0),  # 2-3B bf16 LoRA: 8-12 GB
    (3.0, True, 4, 4.0, 8.0),  # 2-3B QLoRA: ~6-8 GB
    (8.0, False, 4, 16.0, 26.0),  # 7-8B: 16-24 GB
    (8.0, True, 4, 8.0, 13.0),
])
def test_memory_estimates_follow_the_published_figures(billions: float, qlora: bool, batch: int, low: float,
                                                        high: float) -> None:
    assert low <= environment.estimate_memory_gb(int(billions * 1e9), qlora=qlora, batch_size=batch) <= high
    assert environment.estimate_memory_gb(int(billions * 1e9), qlora=qlora, batch_size=batch * 2) > \
        environment.estimate_memory_gb(int(billions * 1e9), qlora=qlora, batch_size=batch)


def test_parameter_count_reads_safetensors_headers(tmp_path: Path) -> None:
    header = json.dumps({"a": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]},
                         "b": {"dtype": "F32", "shape": [5], "data_offsets": [48, 68]},
                         "__metadata__": {"format": "pt"}}).encode()
    (tmp_path / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + bytes(68))
    assert environment.parameter_count(tmp_path) == 17


def _adapter(folder: Path, name: str, base: str, r: int) -> Path:
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"r": r, "base_model_name_or_path": base}))
    (folder / protocol.MANIFEST).write_text(json.dumps({"model_name": name, "base_model": base,
                                                        "hyperparameters": {"lora_r": r}}))
    return folder


def test_adapters_are_found_by_model_name_and_checkpoint(tmp_path: Path) -> None:
    job = tmp_path / "local-jobs" / "ftjob-abc"
    adapter = _adapter(job / protocol.ADAPTER, "ft:m:local::abc", "org/m", 8)
    ckpt = _adapter(job / protocol.CHECKPOINTS / "checkpoint-6", "x", "org/m", 8)
    with pytest.raises(FileNotFoundError):  # not marked complete: the process may have died writing it
        protocol.find_adapter("ft:m:local::abc:ckpt-step-6", tmp_path)
    protocol.mark_checkpoint_complete(ckpt)
    assert protocol.find_adapter("ft:m:local::abc", tmp_path) == adapter
    assert protocol.find_adapter("ft:m:local::abc:ckpt-step-6", tmp_path) == ckpt
    assert protocol.find_adapter(str(ckpt), tmp_path) == ckpt.resolve()
    with pytest.raises(FileNotFoundError, match="No local adapter named"):
        protocol.find_adapter("ft:other:local::zzz", tmp_path)


def test_a_checkpoint_cut_short_by_a_crash_is_never_resumed_from(tmp_path: Path) -> None:
    job = tmp_path / "ftjob-abc"
    assert protocol.newest_checkpoint(job) is None
    for step in (3, 6, 9):
        _adapter(job / protocol.CHECKPOINTS / f"checkpoint-{step}", "x", "org/m", 8)
    for step in (3, 6):
        protocol.mark_checkpoint_complete(job / protocol.CHECKPOINTS / f"checkpoint-{step}")
    assert protocol.newest_checkpoint(job) == job / protocol.CHECKPOINTS / "checkpoint-6"
    (job / protocol.CHECKPOINTS / "checkpoint-6" / protocol.CHECKPOINT_COMPLETE).unlink()
    # A job trained before the marker existed: the checkpoint event, written after each save, vouches for it.
    protocol.append_event(job, "checkpoint", "Checkpoint created at step 9", data={"step": 9})
    assert protocol.newest_checkpoint(job) == job / protocol.CHECKPOINTS / "checkpoint-9"


def test_the_vllm_command_serves_each_adapter_under_its_name(tmp_path: Path) -> None:
    a = _adapter(tmp_path / "a", "ft:a", "HuggingFaceTB/SmolVLM-500M-Instruct", 32)
    cmd = vllm.serve_command("HuggingFaceTB/SmolVLM-500M-Instruct", {"ft-a": a}, port=8123)
    assert cmd[:3] == ["vllm", "serve", "HuggingFaceTB/SmolVLM-500M-Instruct"]
    assert "--enable-lora" in cmd and cmd[cmd.index("--max-lora-rank") + 1] == "32"
    assert f"ft-a={a}" in cmd and cmd[cmd.index("--port") + 1] == "8123"
    with pytest.raises(LocalUnavailable, match=r"vLLM is not installed.*would be: vllm-not-installed-here serve x"):
        vllm.start(["vllm-not-installed-here", "serve", "x"], tmp_path / "log")


def test_event_files_are_read_whole_lines_only(tmp_path: Path) -> None:
    protocol.append_event(tmp_path, "metrics", "Step 1", data={"step": 1, "train_loss": 2.0})
    with (tmp_path / protocol.EVENTS).open("a") as fh:
        fh.write('{"type": "metrics", "message": "Step 2", "da')  # the writer is mid-line
    events, offset = protocol.read_events(tmp_path)
    assert [e["message"] for e in events] == ["Step 1"]
    with (tmp_path / protocol.EVENTS).open("a") as fh:
        fh.write('ta": {"step": 2}}\n')
    more, _ = protocol.read_events(tmp_path, offset)
    assert [e["message"] for e in more] == ["Step 2"]


def _url(image: object, fmt: str = "JPEG") -> str:
    import base64
    import io

    buf = io.BytesIO()
    image.save(buf, fmt)  # type: ignore[attr-defined]
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def test_local_models_see_the_system_message_and_the_last_question_only() -> None:
    from PIL import Image

    from vqa_desk.local.messages import MessageError, final_turn, to_processor_messages

    cover = _url(Image.new("CMYK", (30, 40)))  # an odd mode, as some covers are
    shot = {"role": "user", "content": [{"type": "text", "text": "Who wrote this?"},
                                        {"type": "image_url", "image_url": {"url": cover}}]}
    line = [{"role": "system", "content": "Answer briefly."}, shot, {"role": "assistant", "content": "A. Author"},
            {"role": "user", "content": [{"type": "text", "text": "Is this a cookbook?"},
                                         {"type": "image_url", "image_url": {"url": cover}}]},
            {"role": "assistant", "content": "No"}]
    turn = final_turn(line, with_answer=True)
    assert [m["role"] for m in turn] == ["system", "user", "assistant"] and turn[-1]["content"] == "No"
    assert final_turn(line[:-1], with_answer=False) == turn[:-1]
    messages, images = to_processor_messages(turn)
    assert messages[1]["content"] == [{"type": "text", "text": "Is this a cookbook?"}, {"type": "image"}]
    assert len(images) == 1 and images[0].mode == "RGB"
    with pytest.raises(MessageError, match="no answer"):
        final_turn(line[:-1], with_answer=True)
    bad = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAAA"}}]}]
    with pytest.raises(MessageError, match="could not be decoded"):
        to_processor_messages(bad)
    with pytest.raises(MessageError, match="nothing is downloaded"):
        to_processor_messages([{"role": "user", "content": [{"type": "image_url",
                                                             "image_url": {"url": "https://x/y.jpg"}}]}])


def test_max_image_side_is_a_processor_setting() -> None:
    from types import SimpleNamespace

    from vqa_desk.local.train import limit_image_side

    smolvlm = SimpleNamespace(image_processor=SimpleNamespace(size={"longest_edge": 2048}))
    assert limit_image_side(smolvlm, 768) == "longest side 768 px"
    assert smolvlm.image_processor.size == {"longest_edge": 768}
    qwen = SimpleNamespace(image_processor=SimpleNamespace(
        size={"shortest_edge": 3136, "longest_edge": 12845056}, max_pixels=12845056))
    assert limit_image_side(qwen, 1000) == "at most 1,000,000 pixels a cover"
    assert qwen.image_processor.size["longest_edge"] == 1_000_000
    assert limit_image_side(SimpleNamespace(image_processor=SimpleNamespace()), 512).startswith("unchanged")
