"""Answers from a local vision-language model (a base model, or a base model + a LoRA adapter), and merging.

Used by the server behind ``/v1/chat/completions`` so that evaluation and review take the same path for a
local model as for any provider. Greedy decoding, as the cookbook's temperature 0.
"""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vqa_desk.local import protocol
from vqa_desk.local.environment import LocalUnavailable, require, resolve_base_model

# Adapter folders carry the processor they were trained with (chat template, image size).
_PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json", "tokenizer_config.json")


@dataclass(frozen=True)
class Generated:
    text: str
    prompt_tokens: int
    completion_tokens: int


def adapter_manifest(adapter: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((adapter / protocol.MANIFEST).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        config = adapter / "adapter_config.json"
        try:  # a checkpoint folder: PEFT's own config names the base model
            return {"base_model_path": json.loads(config.read_text(encoding="utf-8"))["base_model_name_or_path"]}
        except (OSError, ValueError, KeyError):
            raise LocalUnavailable(f"{adapter} is not a LoRA adapter folder (no manifest.json or "
                                   "adapter_config.json).") from None


def _base_path(adapter: Path) -> Path:
    manifest = adapter_manifest(adapter)
    path = manifest.get("base_model_path") or manifest.get("base_model")
    if not path:
        raise LocalUnavailable(f"{adapter} does not say which base model it belongs to.")
    if not Path(path).is_dir() and manifest.get("base_model"):
        return resolve_base_model(str(manifest["base_model"]))  # the base moved: try its hub id
    return resolve_base_model(str(path))


class LocalVLM:
    """A loaded model. ``generate`` is serialised: one forward pass at a time uses the whole device anyway."""

    def __init__(self, base: str | Path | None, adapter: Path | None = None, *, device: str | None = None) -> None:
        require()
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor
        from transformers.utils import logging as hf_logging

        from vqa_desk.local.environment import detect_device

        hf_logging.disable_progress_bar()  # the server's log is not a terminal
        info = detect_device()
        self.device = device or ("cuda" if info.kind == "cuda" else "mps" if info.kind == "mps" else "cpu")
        base_path = _base_path(adapter) if adapter is not None else resolve_base_model(str(base))
        processor_from = adapter if adapter is not None and any((adapter / f).exists() for f in _PROCESSOR_FILES) \
            else base_path
        self.processor = AutoProcessor.from_pretrained(str(processor_from))
        dtype = torch.bfloat16 if info.bf16 else torch.float32
        model = AutoModelForImageTextToText.from_pretrained(str(base_path), dtype=dtype)
        if adapter is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(adapter))
        self.model = model.to(self.device).eval()
        self._lock = threading.Lock()

    def generate(self, messages: list[dict[str, Any]], *, max_new_tokens: int = 64) -> Generated:
        """Answer OpenAI-style chat messages (covers as data URLs): the system message and the last question
        with its cover, as the model was trained (``messages.final_turn``)."""
        import torch

        from vqa_desk.local.messages import final_turn, to_processor_messages

        converted, images = to_processor_messages(final_turn(messages, with_answer=False))
        prompt = self.processor.apply_chat_template(converted, add_generation_prompt=True)
        inputs = self.processor(text=[prompt], images=[images] if images else None, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        tokenizer = self.processor.tokenizer
        with self._lock, torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                      pad_token_id=tokenizer.pad_token_id)
        new = out[0, inputs["input_ids"].shape[1]:]
        text = tokenizer.decode(new, skip_special_tokens=True).strip()
        return Generated(text, int(inputs["input_ids"].shape[1]), int(new.shape[0]))


def merge_adapter(adapter: Path, out_dir: Path) -> Path:
    """Write base + adapter as one standalone model folder (for servers without LoRA support)."""
    require()
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from vqa_desk.core.fsutil import write_atomic

    if out_dir.exists() and any(out_dir.iterdir()):
        raise LocalUnavailable(f"{out_dir} is not empty; choose a new folder for the merged model.")
    base_path = _base_path(adapter)
    model = AutoModelForImageTextToText.from_pretrained(str(base_path))
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)  # what an interrupted merge left
    try:
        merged.save_pretrained(str(tmp))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    processor_from = adapter if any((adapter / f).exists() for f in _PROCESSOR_FILES) else base_path
    AutoProcessor.from_pretrained(str(processor_from)).save_pretrained(str(tmp))
    manifest = {**adapter_manifest(adapter), "kind": "vqa-desk-merged-model", "merged_from": str(adapter)}
    write_atomic(tmp / protocol.MANIFEST, json.dumps(manifest, indent=2))
    if out_dir.exists():
        out_dir.rmdir()
    tmp.rename(out_dir)
    return out_dir
