"""Local fine-tuning jobs: each trains in its own process (``vqa_desk.local.train``); this runner starts it,
relays its job folder to the API (events, metrics, checkpoints, the fine-tuned model) and re-attaches to it.

The process is started in its own session: when the server (the app, or a CLI command) stops, training goes
on, and the next server on the same state folder re-attaches to it, or, if the process is gone, starts it
again from its newest checkpoint. A cancel asks the process to stop at its next step, then terminates it if it
does not. Jobs run one at a time (one device); later ones wait ``queued``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vqa_desk.core.formats import sha256_of
from vqa_desk.local import protocol
from vqa_desk.sandbox.training import (
    RESULT_COLUMNS,
    TERMINAL,
    JobCancelled,
    JobFailed,
    JobRunner,
    resolve_hyperparameters,
)

if TYPE_CHECKING:
    from vqa_desk.sandbox.engine import Engine

POLL_S = 0.5
STOP_GRACE_S = 30.0  # after a cancel: the wait for the next step before SIGTERM, and again before SIGKILL
AUTO_BATCH_SIZE = 4  # 'auto' for a local job: what the memory estimates assume (OpenAI's rule gives up to 16)


def local_model_name(base: str, suffix: str | None, job_id: str) -> str:
    short = Path(base.rstrip("/")).name or base
    return f"ft:{short}:local:{suffix or ''}:{job_id.removeprefix('ftjob-')}"


class LocalJobRunner(JobRunner):
    """The sandbox's job runner (validation, queue, cancel events), training in a process of its own."""

    thread_name = "local-jobs"

    def __init__(self, engine: Engine) -> None:
        self.root = engine.store.state_dir / "local-jobs"
        super().__init__(engine)

    def job_dir(self, job_id: str) -> Path:
        return self.root / job_id

    def resume(self, job_id: str) -> None:
        """A job a previous server left unfinished: re-attach to its process, or start it again."""
        self._cancel[job_id] = threading.Event()
        self._queue.put(job_id)

    def cancel(self, job_id: str) -> None:
        if self.job_dir(job_id).exists():
            protocol.request_cancel(self.job_dir(job_id))
        super().cancel(job_id)

    def _run(self, job_id: str) -> None:
        engine = self.engine
        job = engine.store.get("job", job_id)
        if job is None or job["status"] in TERMINAL:
            return
        folder = self.job_dir(job_id)
        state = protocol.read_state(folder)
        proc: subprocess.Popen[bytes] | None = None
        if state.get("status") in protocol.TERMINAL:
            pass  # it finished while no server watched: report the result below
        elif protocol.process_alive(state.get("pid"), folder, state.get("create_time")):
            engine.event(job_id, f"Re-attached to the training process (pid {state['pid']})")
        elif self._cancel.setdefault(job_id, threading.Event()).is_set() or engine.job(job_id)["status"] in TERMINAL:
            return  # cancelled before its process started
        else:
            resume = (folder / protocol.SPEC).exists()
            spec = self._spec(job_id, job, resume=resume)
            if resume:
                checkpoint = protocol.newest_checkpoint(folder)
                engine.event(job_id, "The training process had stopped; starting it again from "
                             + (checkpoint.name if checkpoint else "the beginning"), level="warn")
                (folder / protocol.CANCEL).unlink(missing_ok=True)
            protocol.write_spec(folder, spec)
            protocol.write_state(folder, status="starting", pid=None)  # before the process writes its own
            proc = self._spawn(folder)
        if engine.set_job_status(job_id, "running", only_from=("queued", "validating_files")):
            engine.event(job_id, "Fine-tuning job started")
        self._follow(job_id, folder, proc)

    def _spec(self, job_id: str, job: dict[str, Any], *, resume: bool) -> protocol.TrainSpec:
        engine = self.engine
        extra = engine.store.extra("job", job_id) or {}
        local = extra.get("local") or {}
        train = engine.store.file_path(job["training_file"])
        requested = extra.get("requested_hyperparameters", {})
        n_lines = sum(1 for line in train.open("rb") if line.strip())
        hp = resolve_hyperparameters(requested, n_lines)
        spec = protocol.TrainSpec(
            base_model=job["model"], base_model_path=local["base_model_path"], train_file=str(train),
            validation_file=str(engine.store.file_path(job["validation_file"])) if job.get("validation_file")
            else None, model_name=local_model_name(job["model"], extra.get("suffix"), job_id),
            n_epochs=hp["n_epochs"], batch_size=AUTO_BATCH_SIZE, seed=int(job["seed"]),
            learning_rate=2e-4 * hp["learning_rate_multiplier"], export_sha256=sha256_of(train), resume=resume)
        for key in protocol.LOCAL_HYPERPARAMETERS:
            if key in requested:
                setattr(spec, key, requested[key])
        if "batch_size" in requested:
            spec.batch_size = int(requested["batch_size"])
        shown = {**spec.hyperparameters()}
        shown.pop("seed")
        engine.update_job(job_id, lambda d: d.update(
            hyperparameters=shown, method={"type": "supervised", "supervised": {"hyperparameters": shown}}))
        return spec

    def _spawn(self, folder: Path) -> subprocess.Popen[bytes]:
        log_file = (folder / protocol.LOG).open("ab")
        try:
            return subprocess.Popen([sys.executable, "-m", "vqa_desk.local.train", str(folder)],
                                    stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        finally:
            log_file.close()

    def _follow(self, job_id: str, folder: Path, proc: subprocess.Popen[bytes] | None) -> None:
        cancel = self._cancel.setdefault(job_id, threading.Event())
        cancel_at: float | None = None
        while True:
            self._relay(job_id, folder)
            if self._stop.is_set():
                return  # the server stops; training goes on and the next server re-attaches
            state = protocol.read_state(folder)
            alive = proc.poll() is None if proc is not None else \
                protocol.process_alive(state.get("pid"), folder, state.get("create_time"))
            if not alive:
                break
            if cancel.is_set() and not self._stop.is_set():
                if cancel_at is None:
                    cancel_at = time.monotonic()
                    protocol.request_cancel(folder)
                elif time.monotonic() - cancel_at > 2 * STOP_GRACE_S:
                    _terminate(proc, state.get("pid"), signal.SIGKILL)  # a hung process must not block the queue
                elif time.monotonic() - cancel_at > STOP_GRACE_S:
                    _terminate(proc, state.get("pid"), signal.SIGTERM)
            cancel.wait(POLL_S) if not cancel.is_set() else time.sleep(POLL_S)
        self._relay(job_id, folder)
        self._finish(job_id, folder, proc)

    def _relay(self, job_id: str, folder: Path) -> None:
        """New events from the job folder into the API, from the offset saved with the job (never twice)."""
        engine = self.engine
        offset = int((engine.store.extra("job", job_id) or {}).get("events_offset", 0))
        events, new_offset = protocol.read_events(folder, offset)
        if not events:
            return
        extra = engine.store.extra("job", job_id) or {}
        name = local_model_name(engine.job(job_id)["model"], extra.get("suffix"), job_id)
        # A process resumed from a checkpoint trains the steps after it again: each step is reported once.
        reported = dict(extra.get("reported_steps") or {})
        for e in events:
            data = e.get("data") or {}
            if e.get("type") == "metrics" and "step" in data:
                kind = "valid" if "valid_loss" in data else "train"
                if int(data["step"]) <= int(reported.get(kind, 0)):
                    continue
                reported[kind] = int(data["step"])
            if e.get("type") == "checkpoint" and "path" in data:
                self._checkpoint(job_id, f"{name}:ckpt-step-{data['step']}", data)
            else:
                engine.event(job_id, str(e.get("message", "")), level=str(e.get("level", "info")),
                             type="metrics" if e.get("type") == "metrics" else "message",
                             data=data if e.get("type") == "metrics" else None)
        engine.store.update("job", job_id, lambda _d, extra: extra.update(events_offset=new_offset,
                                                                         reported_steps=reported))

    def _checkpoint(self, job_id: str, name: str, data: dict[str, Any]) -> None:
        from vqa_desk.sandbox.store import new_id

        engine = self.engine
        metrics = {"step": data["step"]}
        if data.get("train_loss") is not None:
            metrics["train_loss"] = data["train_loss"]
        engine.store.put("checkpoint", {
            "object": "fine_tuning.job.checkpoint", "id": new_id("ftckpt_"), "created_at": int(time.time()),
            "fine_tuned_model_checkpoint": name, "fine_tuning_job_id": job_id, "metrics": metrics,
            "step_number": int(data["step"])}, parent=job_id)
        base = engine.job(job_id)["model"]
        engine.store.put("checkpoint_model", {"id": name}, parent=job_id,
                         extra={"local": {"adapter": data["path"]}, "job": job_id, "base": base})
        engine.event(job_id, f"Checkpoint created at step {data['step']}")
        self._prune_checkpoints(job_id)

    def _prune_checkpoints(self, job_id: str) -> None:
        """Forget checkpoints the trainer rotated away (it keeps the last three, as OpenAI does)."""
        store = self.engine.store
        listed, _ = store.page("checkpoint", parent=job_id, limit=1000)
        for checkpoint in listed:
            name = checkpoint["fine_tuned_model_checkpoint"]
            adapter = ((store.extra("checkpoint_model", name) or {}).get("local") or {}).get("adapter")
            if adapter and not Path(adapter).is_dir():
                store.delete("checkpoint", checkpoint["id"])
                store.delete("checkpoint_model", name)

    def _finish(self, job_id: str, folder: Path, proc: subprocess.Popen[bytes] | None) -> None:
        engine = self.engine
        job = engine.job(job_id)
        state = protocol.read_state(folder)
        if job["status"] == "cancelled":
            raise JobCancelled
        status = state.get("status")
        if status == "succeeded":
            extra = engine.store.extra("job", job_id) or {}
            name = local_model_name(job["model"], extra.get("suffix"), job_id)
            engine.store.put("model", {"id": name, "object": "model", "created": int(time.time()),
                                       "owned_by": "local"}, parent=job_id,
                             extra={"local": {"adapter": state["adapter"]}, "job": job_id, "base": job["model"]})
            result = engine.save_result_file(job_id, result_csv(folder))
            engine.event(job_id, f"New fine-tuned model created: {name}")
            engine.finish_job(job_id, name, result, int(state.get("trained_tokens") or 0))
            engine.event(job_id, "The job has successfully completed")
        elif status == "cancelled":  # stopped through its folder (another server, or by hand)
            engine.update_job(job_id, lambda d: d.update(status="cancelled", finished_at=int(time.time())))
            raise JobCancelled
        elif status == "failed":
            raise JobFailed("training_failed",
                            f"{state.get('error') or 'Training failed'} (log: {folder / protocol.LOG})")
        else:
            code = proc.returncode if proc is not None else None
            raise JobFailed("training_process_died", "The training process ended without a result"
                            + (f" (exit code {code})" if code is not None else "")
                            + f"; see {folder / protocol.LOG}.")


def _terminate(proc: subprocess.Popen[bytes] | None, pid: int | None, sig: int = signal.SIGTERM) -> None:
    """A signal to the training process's group (its dataloader workers too); where there are no process
    groups (Windows), the process is terminated."""
    target = proc.pid if proc is not None else pid
    if not target:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        if hasattr(os, "killpg"):
            os.killpg(os.getpgid(target), sig)
        elif proc is not None:
            proc.terminate()


def result_csv(folder: Path) -> bytes:
    """The job's step metrics in the result file's columns (as the sandbox and OpenAI write them)."""
    events, _ = protocol.read_events(folder, 0)
    rows: dict[int, dict[str, Any]] = {}
    for e in events:
        data = e.get("data") or {}
        if e.get("type") == "metrics" and "step" in data:
            row = rows.setdefault(int(data["step"]), {"step": int(data["step"])})
            row.update({"train_loss": data.get("train_loss", row.get("train_loss")),
                        "train_accuracy": data.get("train_mean_token_accuracy", row.get("train_accuracy")),
                        "valid_loss": data.get("valid_loss", row.get("valid_loss")),
                        "valid_mean_token_accuracy": data.get("valid_mean_token_accuracy",
                                                              row.get("valid_mean_token_accuracy"))})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RESULT_COLUMNS)
    for step in sorted(rows):
        writer.writerow(["" if rows[step].get(c) is None else rows[step][c] for c in RESULT_COLUMNS])
    return out.getvalue().encode("utf-8")
