"""The training process: ``python -m vqa_desk.local.train JOB_DIR``. Started by the server, never in the GUI.

Reads ``spec.json``, trains a LoRA adapter on the language model of an open vision-language model with TRL's
``SFTTrainer`` (VLM mode: the processor is the processing class, each row is chat messages + the covers), loss
on the assistant's answers only, and reports through the job folder (``protocol``): a metrics event per step,
a checkpoint event per epoch, the final adapter + ``manifest.json``. A ``cancel`` file or SIGTERM stops it at
the next step.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vqa_desk.core.fsutil import write_atomic
from vqa_desk.local import protocol
from vqa_desk.local.protocol import TrainSpec

log = logging.getLogger("vqa_desk.local.train")

# LoRA goes on the language model's attention and MLP projections only: "all-linear" would also adapt the vision
# tower, which vLLM cannot serve and small datasets over-fit. Matches SmolVLM / Idefics3 (model.text_model),
# Qwen2/2.5/3-VL (model.language_model) and LLaVA-style wrappers.
LM_TARGET_MODULES = (r".*(?:text_model|language_model)(?:\.model)?\.layers\.\d+\."
                     r"(?:self_attn\.(?:q|k|v|o)_proj|mlp\.(?:gate|up|down)_proj)")


class _Stop:
    def __init__(self, job_dir: Path) -> None:
        self.job_dir = job_dir
        self.signalled = threading.Event()

    def __call__(self) -> bool:
        return self.signalled.is_set() or protocol.cancel_requested(self.job_dir)


def rows(path: Path) -> Iterator[dict[str, Any]]:
    """One training row per chat line: its system message, last question and answer (``final_turn``) and that
    cover's original bytes. A line the conversion refuses is skipped with a warning, never half-used."""
    from vqa_desk.local.messages import MessageError, final_turn, to_processor_messages

    with path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                turn = final_turn(json.loads(raw)["messages"], with_answer=True)
                messages, images = to_processor_messages(turn, as_bytes=True)
            except (MessageError, ValueError, KeyError, TypeError) as exc:
                log.warning("line %d skipped: %s", number, exc)
                continue
            yield {"messages": json.dumps(messages), "images": [{"bytes": b, "path": None} for b in images]}


def limit_image_side(processor: Any, side: int) -> str:
    """Make the processor resize covers to at most ``side`` pixels on their longest side (fewer image tokens,
    less memory); saved with the adapter, so serving sizes covers the same way. Returns what was set."""
    ip = processor.image_processor
    size = getattr(ip, "size", None)
    size = dict(size) if size is not None else {}
    if hasattr(ip, "max_pixels") or "shortest_edge" in size:  # Qwen-VL: a pixel budget, not a side
        budget = side * side
        ip.max_pixels = min(int(getattr(ip, "max_pixels", None) or budget), budget)
        if "longest_edge" in size:
            ip.size = {**size, "longest_edge": min(int(size["longest_edge"]), budget)}
        return f"at most {ip.max_pixels:,} pixels a cover"
    if "longest_edge" in size:  # Idefics3 / SmolVLM: resized before it is cut into tiles
        ip.size = {**size, "longest_edge": min(int(size["longest_edge"]), side)}
        return f"longest side {ip.size['longest_edge']} px"
    return "unchanged: this processor has no size setting VQA Desk knows"


def load_dataset(path: Path, cache: Path) -> Any:
    """The rows as a ``datasets`` table on disk (covers decoded only when a batch needs them)."""
    import datasets

    features = datasets.Features({"messages": datasets.Value("string"),
                                  "images": datasets.List(datasets.Image())})
    try:
        table = datasets.Dataset.from_generator(rows, gen_kwargs={"path": path},
                                                features=features, cache_dir=str(cache), keep_in_memory=False)
    except ValueError as exc:  # datasets refuses an empty table ("... corresponds to no data")
        if "no data" not in str(exc):
            raise
        table = None
    if table is None or len(table) == 0:
        raise ValueError(f"{path.name} has no example the local model can learn from (a user message with its "
                         "cover, followed by the answer).")
    # Messages are stored as JSON text (their parts differ in shape); decoded per batch.
    return table.with_transform(_decode_messages)


def _decode_messages(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
    batch["messages"] = [json.loads(m) for m in batch["messages"]]
    return batch


def run(job_dir: Path) -> int:
    spec = protocol.read_spec(job_dir)
    stop = _Stop(job_dir)

    def on_sigterm(*_: Any) -> None:
        # The first SIGTERM stops at the next step or phase (no checkpoint is written after it); a second one
        # ends the process at once.
        stop.signalled.set()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    signal.signal(signal.SIGTERM, on_sigterm)
    protocol.write_state(job_dir, status="running", pid=os.getpid(), started=time.time(),
                         create_time=protocol.process_create_time(os.getpid()))
    try:
        result = _train(job_dir, spec, stop)
    except Exception as exc:
        message = _explain(exc)
        traceback.print_exc()
        protocol.append_event(job_dir, "message", f"Training failed: {message}", level="error")
        protocol.write_state(job_dir, status="failed", error=message)
        return 1
    finally:
        shutil.rmtree(job_dir / "cache", ignore_errors=True)  # the covers' table: GBs for a large export
    if result is None:
        protocol.append_event(job_dir, "message", "Training stopped at the user's request", level="warn")
        protocol.write_state(job_dir, status="cancelled")
        return 0
    protocol.write_state(job_dir, status="succeeded", **result)
    return 0


def _explain(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "out of memory" in text.lower() or type(exc).__name__ == "OutOfMemoryError":
        return ("The device ran out of memory. Lower the batch size (raise gradient accumulation to keep the "
                "effective batch) or the max image side, use a smaller base model, or turn on QLoRA (NVIDIA GPUs).")
    return f"{type(exc).__name__}: {text}"


def _train(job_dir: Path, spec: TrainSpec, stop: _Stop) -> dict[str, Any] | None:
    import torch
    from peft import LoraConfig
    from transformers import AutoModelForImageTextToText, AutoProcessor, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from vqa_desk.local.environment import detect_device

    device = detect_device()
    protocol.append_event(job_dir, "message", f"Training on {device.describe()}")
    if device.warning:
        protocol.append_event(job_dir, "message", device.warning, level="warn")
    protocol.append_event(job_dir, "message", f"Loading {spec.base_model}")
    processor = AutoProcessor.from_pretrained(spec.base_model_path)
    if spec.max_image_side:
        protocol.append_event(job_dir, "message", "Cover size: " + limit_image_side(processor, spec.max_image_side))
    dtype = torch.bfloat16 if device.bf16 else torch.float32
    load_args: dict[str, Any] = {"dtype": dtype}
    if spec.qlora:
        if device.kind != "cuda":
            raise ValueError("QLoRA needs an NVIDIA GPU (bitsandbytes); turn it off to train on this device.")
        from transformers import BitsAndBytesConfig

        # 4-bit language model only: the vision tower, the connector and the output layer stay in bf16. (TRL
        # prepares a quantized model for LoRA itself; peft's prepare_model_for_kbit_training would upcast every
        # other weight to fp32.)
        load_args["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
            llm_int8_skip_modules=["vision_model", "visual", "vision_tower", "connector", "multi_modal_projector",
                                   "lm_head"])
    model = AutoModelForImageTextToText.from_pretrained(spec.base_model_path, **load_args)
    if stop():
        return None
    cache = job_dir / "cache"
    train = load_dataset(Path(spec.train_file), cache)
    valid = load_dataset(Path(spec.validation_file), cache) if spec.validation_file else None
    if stop():
        return None
    protocol.append_event(job_dir, "message", f"{len(train)} training examples"
                          + (f", {len(valid)} validation examples" if valid is not None else ""))

    steps_per_epoch = max(1, -(-len(train) // (spec.batch_size * spec.gradient_accumulation_steps)))
    total_steps = steps_per_epoch * spec.n_epochs
    config = SFTConfig(
        output_dir=str(job_dir / protocol.CHECKPOINTS), num_train_epochs=spec.n_epochs,
        per_device_train_batch_size=spec.batch_size, per_device_eval_batch_size=spec.batch_size,
        gradient_accumulation_steps=spec.gradient_accumulation_steps, learning_rate=spec.learning_rate,
        lr_scheduler_type="linear", warmup_steps=min(10, total_steps // 10), logging_steps=1,
        save_strategy="epoch", save_total_limit=3, eval_strategy="epoch" if valid is not None else "no",
        report_to=[], seed=spec.seed, data_seed=spec.seed, max_length=None,  # never cut image tokens
        assistant_only_loss=True, remove_unused_columns=False, dataloader_num_workers=0,
        use_cpu=device.kind == "cpu", bf16=device.bf16, gradient_checkpointing=device.kind == "cuda",
        disable_tqdm=True, save_only_model=False,
    )
    lora = LoraConfig(r=spec.lora_r, lora_alpha=spec.lora_alpha, lora_dropout=spec.lora_dropout,
                      target_modules=LM_TARGET_MODULES, task_type="CAUSAL_LM")

    class Report(TrainerCallback):  # type: ignore[misc]
        last_loss: float | None = None

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
                   **kwargs: Any) -> None:
            logs = logs or {}
            data: dict[str, Any] = {"step": state.global_step, "total_steps": state.max_steps}
            if "loss" in logs:
                self.last_loss = float(logs["loss"])
                data["train_loss"] = round(self.last_loss, 6)
                if "mean_token_accuracy" in logs:
                    data["train_mean_token_accuracy"] = round(float(logs["mean_token_accuracy"]), 6)
                text = f"Step {state.global_step}/{state.max_steps}: training loss={self.last_loss:.4f}"
            elif "eval_loss" in logs:
                data["valid_loss"] = round(float(logs["eval_loss"]), 6)
                if "eval_mean_token_accuracy" in logs:
                    data["valid_mean_token_accuracy"] = round(float(logs["eval_mean_token_accuracy"]), 6)
                text = f"Step {state.global_step}/{state.max_steps}: validation loss={data['valid_loss']:.4f}"
            else:
                return
            protocol.append_event(job_dir, "metrics", text, data=data)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if stop():
                control.should_training_stop = True
                control.should_save = False
                control.should_evaluate = False

        def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if stop():  # the default flow asks for the epoch's evaluation and checkpoint: not when stopping
                control.should_save = False
                control.should_evaluate = False

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            path = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            protocol.mark_checkpoint_complete(path)
            protocol.append_event(job_dir, "checkpoint", f"Checkpoint created at step {state.global_step}",
                                  data={"step": state.global_step, "path": str(path), "train_loss": self.last_loss})

    trainer = SFTTrainer(model=model, args=config, train_dataset=train, eval_dataset=valid,
                         processing_class=processor, peft_config=lora, callbacks=[Report()])
    resume = protocol.newest_checkpoint(job_dir) if spec.resume else None
    if resume is not None:
        protocol.append_event(job_dir, "message", f"Resuming from {resume.name}")
    started = time.time()
    output = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    if stop():
        return None
    adapter = job_dir / protocol.ADAPTER
    trainer.save_model(str(adapter))
    processor.save_pretrained(str(adapter))
    history = trainer.state.log_history
    losses = [float(h["loss"]) for h in history if "loss" in h]
    valid_losses = [float(h["eval_loss"]) for h in history if "eval_loss" in h]
    tokens = max((int(float(h.get("num_tokens", 0))) for h in history), default=0)
    metrics = {"steps": trainer.state.global_step, "first_train_loss": losses[0] if losses else None,
               "final_train_loss": losses[-1] if losses else None,
               "final_valid_loss": valid_losses[-1] if valid_losses else None,
               "train_runtime_s": round(time.time() - started, 1), "trained_tokens": tokens,
               "train_loss_mean": getattr(output, "training_loss", None)}
    manifest = {
        "kind": "vqa-desk-lora-adapter", "model_name": spec.model_name, "base_model": spec.base_model,
        "base_model_path": spec.base_model_path, "export_sha256": spec.export_sha256,
        "hyperparameters": spec.hyperparameters(), "target_modules": LM_TARGET_MODULES, "metrics": metrics,
        "device": device.describe(), "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": _versions(),
    }
    write_atomic(adapter / protocol.MANIFEST, json.dumps(manifest, indent=2))
    protocol.append_event(job_dir, "message", f"Adapter saved to {adapter}")
    return {"adapter": str(adapter), "trained_tokens": tokens, "metrics": metrics}


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("torch", "transformers", "trl", "peft", "vqa-desk"):
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m vqa_desk.local.train JOB_DIR", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return run(Path(args[0]))


if __name__ == "__main__":
    sys.exit(main())
