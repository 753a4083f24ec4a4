"""The job folder a training process shares with the server that started it. Torch-free.

    spec.json      what to train (written once by the server, read by the process)
    events.jsonl   what happened, appended by the process: messages, metrics per step, checkpoints
    state.json     the process's status (running / succeeded / failed / cancelled), pid, error, results
    cancel         present: the user asked to stop; the process stops at the next step
    train.log      the process's stdout and stderr (library warnings, tracebacks)
    checkpoints/   the trainer's checkpoints (each holds a usable adapter)
    adapter/       the final adapter, its processor files and manifest.json

A server that restarts reads the folder back (events from a saved offset), so nothing is reported twice and a
process that kept running is re-attached to instead of started again.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vqa_desk.core.fsutil import write_atomic

SPEC, EVENTS, STATE, CANCEL, LOG = "spec.json", "events.jsonl", "state.json", "cancel", "train.log"
CHECKPOINTS, ADAPTER, MANIFEST = "checkpoints", "adapter", "manifest.json"
CHECKPOINT_COMPLETE = "vqa-desk-complete"
TERMINAL = ("succeeded", "failed", "cancelled")

# The hyperparameters a local job takes besides OpenAI's three, with their bounds (validated by the server).
LOCAL_HYPERPARAMETERS: dict[str, tuple[type, float, float]] = {
    "learning_rate": (float, 1e-7, 1.0),
    "lora_r": (int, 1, 512),
    "lora_alpha": (int, 1, 1024),
    "lora_dropout": (float, 0.0, 0.9),
    "max_image_side": (int, 32, 4096),
    "gradient_accumulation_steps": (int, 1, 1024),
    "qlora": (bool, 0, 1),
}


@dataclass
class TrainSpec:
    base_model: str  # as the user gave it (folder or hub id)
    base_model_path: str  # the resolved folder
    train_file: str  # the uploaded chat JSONL (the export's validated train.jsonl)
    validation_file: str | None
    model_name: str  # the fine-tuned model's name at the server
    n_epochs: int = 3
    batch_size: int = 4
    learning_rate: float = 2e-4
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    max_image_side: int | None = None
    gradient_accumulation_steps: int = 1
    qlora: bool = False
    seed: int = 42
    export_sha256: str | None = None  # of the training file: which export this adapter learned from
    resume: bool = False  # continue from the newest checkpoint (after the process was lost)
    extra: dict[str, Any] = field(default_factory=dict)

    def hyperparameters(self) -> dict[str, Any]:
        keys = ("n_epochs", "batch_size", "learning_rate", "lora_r", "lora_alpha", "lora_dropout", "max_image_side",
                "gradient_accumulation_steps", "qlora", "seed")
        return {k: getattr(self, k) for k in keys}


def write_spec(job_dir: Path, spec: TrainSpec) -> None:
    job_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(job_dir / SPEC, json.dumps(asdict(spec), indent=2))


def read_spec(job_dir: Path) -> TrainSpec:
    data = json.loads((job_dir / SPEC).read_text(encoding="utf-8"))
    return TrainSpec(**{k: v for k, v in data.items() if k in TrainSpec.__dataclass_fields__})


def append_event(job_dir: Path, type: str, message: str, *, level: str = "info",
                 data: dict[str, Any] | None = None) -> None:
    """One line per event, written whole and flushed, so a reader never sees half of one (it skips a torn tail)."""
    line = json.dumps({"time": int(time.time()), "type": type, "level": level, "message": message,
                       "data": data or {}}) + "\n"
    with (job_dir / EVENTS).open("a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()


def read_events(job_dir: Path, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Complete events from byte ``offset`` on, and the offset after the last complete one."""
    path = job_dir / EVENTS
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            raw = fh.read()
    except FileNotFoundError:
        return [], offset
    out: list[dict[str, Any]] = []
    end = raw.rfind(b"\n") + 1  # a line still being written is read next time
    for line in raw[:end].splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out, offset + end


def write_state(job_dir: Path, **fields: Any) -> dict[str, Any]:
    state = read_state(job_dir)
    state.update(fields, updated=time.time())
    write_atomic(job_dir / STATE, json.dumps(state, indent=2))
    return state


def read_state(job_dir: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((job_dir / STATE).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def request_cancel(job_dir: Path) -> None:
    (job_dir / CANCEL).touch()


def cancel_requested(job_dir: Path) -> bool:
    return (job_dir / CANCEL).exists()


def process_create_time(pid: int) -> float | None:
    """When the process started (psutil, which the local extra brings), to tell it from a recycled pid."""
    try:
        import psutil

        return float(psutil.Process(pid).create_time())
    except Exception:
        return None


def process_alive(pid: int | None, job_dir: Path, create_time: float | None = None) -> bool:
    """Whether ``pid`` is still the training process of this job folder, not a recycled pid.

    With psutil: the pid exists and started when the process said it did. Without it, on Linux: the process's
    command line names the job folder. Elsewhere we cannot tell, and say no (the job is then started again
    from its checkpoint rather than followed forever). Never ``os.kill(pid, 0)``: on Windows it kills.
    """
    if not pid:
        return False
    try:
        import psutil

        try:
            process = psutil.Process(pid)
            if process.status() == psutil.STATUS_ZOMBIE:  # ended, not yet reaped by whoever started it
                return False
            if create_time is not None:
                return abs(process.create_time() - create_time) < 1.0
            return str(job_dir) in " ".join(process.cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return False
    except ImportError:
        pass
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return str(job_dir) in cmdline.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return False


def mark_checkpoint_complete(checkpoint: Path) -> None:
    """Called once the trainer has written the whole checkpoint: a process killed while saving leaves a folder
    without the marker, which resuming and serving must skip (the trainer writes in place, no rename). The
    files are flushed to disk first, so after a power cut a marked checkpoint is a whole one."""
    for path in sorted(checkpoint.rglob("*")):
        if path.is_file():
            with path.open("rb+") as fh:
                os.fsync(fh.fileno())
    write_atomic(checkpoint / CHECKPOINT_COMPLETE, "")


def _complete(checkpoint: Path, announced: set[int]) -> bool:
    # Jobs trained before the marker existed: the trainer's checkpoint event was written after the save.
    return (checkpoint / CHECKPOINT_COMPLETE).is_file() or int(checkpoint.name.split("-")[-1]) in announced


def _announced_checkpoints(job_dir: Path) -> set[int]:
    events, _ = read_events(job_dir)
    return {int(e["data"]["step"]) for e in events
            if e.get("type") == "checkpoint" and str(e.get("data", {}).get("step", "")).isdigit()}


def newest_checkpoint(job_dir: Path) -> Path | None:
    """The newest checkpoint written in full, or None."""
    found = [p for p in (job_dir / CHECKPOINTS).glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    if not found:
        return None
    announced = _announced_checkpoints(job_dir)
    whole = sorted((p for p in found if _complete(p, announced)), key=lambda p: int(p.name.split("-")[-1]))
    return whole[-1] if whole else None


def find_adapter(name: str, state_dir: Path) -> Path:
    """The adapter folder of a local fine-tuned model or checkpoint name (``ft:<base>:local:<suffix>:<job>``,
    ``...:ckpt-step-N``), also of a job still running or stopped; or a folder given as such."""
    folder = Path(name).expanduser()
    if (folder / "adapter_config.json").is_file():
        return folder.resolve()
    base, _, checkpoint = name.rpartition(":ckpt-step-")
    model = base if checkpoint.isdigit() else name
    job_dir = state_dir / "local-jobs" / f"ftjob-{model.rsplit(':', 1)[-1]}"
    found = job_dir / CHECKPOINTS / f"checkpoint-{checkpoint}" if checkpoint.isdigit() else job_dir / ADAPTER
    complete = not checkpoint.isdigit() or _complete(found, _announced_checkpoints(job_dir))
    if ":local:" in model and complete and (found / "adapter_config.json").is_file():
        return found
    raise FileNotFoundError(f"No local adapter named {name!r} in {state_dir / 'local-jobs'}: give the model name a "
                            "local fine-tuning job printed (checkpoints: the last three of a job), or an adapter "
                            "folder.")
