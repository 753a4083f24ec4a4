"""Fine-tuning from the main window: provider clients, launching and following jobs, local models and vLLM."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QFileDialog

from vqa_desk.core import finetune
from vqa_desk.core.errors import VQADeskError
from vqa_desk.core.providers import (
    ProviderProfile,
    get_key,
    get_profile,
    make_client,
    set_key,
    test_connection,
)
from vqa_desk.gui.workers import Worker

if TYPE_CHECKING:
    from vqa_desk.gui.main_window import MainWindow


class FineTuneControl:
    """Part of MainWindow: the jobs' workers and the provider clients live as long as the window does."""

    def _provider_client(self: MainWindow, name: str) -> tuple[ProviderProfile, Any]:
        """The profile (with its server's URL) and one openai client per provider, reused by every job and
        closed with the window; a changed profile or key gets a new client."""
        profile, key = self.sandbox.resolve(get_profile(name))
        made_for = (profile, key or get_key(profile))
        cached = self._clients.get(name)
        if cached is not None and cached[0] == made_for:
            return profile, cached[1]
        client = make_client(profile, key=key)
        if cached is not None:
            self._retired_clients.append(cached[1])  # a worker may still be using it: closed with the window
        self._clients[name] = (made_for, client)
        return profile, client

    def launch_finetune(self: MainWindow, provider: str, request: finetune.LaunchRequest) -> Worker | None:
        """Validate, upload and create the job, then follow it, all on a worker; the panel updates live."""
        if self.session is None:
            return None
        try:
            profile, client = self._provider_client(provider)
        except VQADeskError as exc:
            self.show_error("Fine-tune", str(exc))
            return None
        path, bridge, poll = self.session.path, self.finetune_panel.bridge, self.poll_seconds

        def run(progress: Any, cancel: Any) -> finetune.JobRecord:
            record = finetune.launch(path, profile, request, client, progress=progress, cancel=cancel)
            bridge.changed.emit(record.id)
            return finetune.follow(path, record.id, profile, client, cancel=cancel, poll_seconds=poll,
                                   on_update=lambda r, _events: bridge.changed.emit(r.id))

        worker = Worker(run, with_progress=True)
        worker.signals.progress.connect(self.finetune_panel.show_progress)
        worker.signals.failed.connect(lambda msg, user: (self.show_error("Fine-tune", msg),
                                                         self.finetune_panel.refresh_jobs()))
        worker.signals.finished.connect(lambda record: self.statusBar().showMessage(
            f"Fine-tuning {record.status}" + (f": {record.fine_tuned_model}" if record.fine_tuned_model else ""),
            10_000))
        worker.signals.done.connect(lambda: self.finetune_panel.set_running(False))
        self.finetune_panel.set_running(True)
        self.pool.start(worker)
        return worker

    def _reattach_jobs(self: MainWindow) -> None:
        """Follow every job a previous run left unfinished."""
        assert self.session is not None
        for record in finetune.unfinished(self.session.ws):
            self.follow_job(record.id, record.provider)

    def follow_job(self: MainWindow, record_id: int, provider: str) -> Worker | None:
        if self.session is None or record_id in self._job_workers:
            return None
        try:
            profile, client = self._provider_client(provider)
        except VQADeskError as exc:
            self.statusBar().showMessage(f"Cannot follow job {record_id}: {exc}", 10_000)
            return None
        path, bridge, poll = self.session.path, self.finetune_panel.bridge, self.poll_seconds
        worker = Worker(lambda: finetune.follow(path, record_id, profile, client, poll_seconds=poll,
                                                cancel=worker.cancel_event,
                                                on_update=lambda r, _e: bridge.changed.emit(r.id)))
        worker.signals.failed.connect(lambda msg, user: self.statusBar().showMessage(msg.splitlines()[-1], 10_000))
        worker.signals.done.connect(lambda: self._job_workers.pop(record_id, None))
        self._job_workers[record_id] = worker
        self.pool.start(worker)
        return worker

    def cancel_finetune(self: MainWindow, record_id: int) -> Worker | None:
        if self.session is None:
            return None
        record = finetune.job(self.session.ws, record_id)
        try:
            profile, client = self._provider_client(record.provider)
        except VQADeskError as exc:
            self.show_error("Cancel job", str(exc))
            return None
        path, bridge = self.session.path, self.finetune_panel.bridge
        worker = Worker(lambda: finetune.cancel_job(path, record_id, profile, client))
        worker.signals.finished.connect(lambda r: bridge.changed.emit(r.id))
        worker.signals.failed.connect(lambda msg, user: self.show_error("Cancel job", msg))
        self.pool.start(worker)
        return worker

    def test_provider(self: MainWindow, name: str) -> Worker | None:
        try:
            profile, key = self.sandbox.resolve(get_profile(name))
        except VQADeskError as exc:
            self.finetune_panel.connection.setText(str(exc))
            return None
        worker = Worker(lambda: test_connection(profile, key=key))
        worker.signals.finished.connect(lambda models: self.finetune_panel.connection.setText(
            f"Connected: {len(models)} models ({', '.join(models[:6])}{'…' if len(models) > 6 else ''})"))
        worker.signals.failed.connect(lambda msg, user: self.finetune_panel.connection.setText(msg))
        self.pool.start(worker)
        return worker

    def check_local_device(self: MainWindow) -> Worker:
        """Which device local training would use (imports torch: on a worker, once)."""
        from vqa_desk.local.environment import detect_device

        worker = Worker(detect_device)
        worker.signals.finished.connect(lambda info: self.finetune_panel.show_device(info.describe(), info.warning))
        worker.signals.failed.connect(lambda msg, user: self.finetune_panel.show_device(msg.splitlines()[-1]))
        self.pool.start(worker)
        return worker

    def _ask_merge(self: MainWindow, model: str) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Empty folder for the merged model")
        if folder:
            self.merge_local_model(model, Path(folder) / model.replace(":", "_"))

    def merge_local_model(self: MainWindow, model: str, out: Path) -> Worker:
        """Base model + the fine-tune's adapter as one standalone model folder (for any OpenAI-style server)."""
        from vqa_desk.core.paths import data_dir
        from vqa_desk.local.inference import merge_adapter
        from vqa_desk.local.protocol import find_adapter

        def run() -> Path:
            from vqa_desk.local.environment import LocalUnavailable

            try:
                adapter = find_adapter(model, data_dir() / "local")
            except FileNotFoundError as exc:
                raise LocalUnavailable(str(exc)) from None
            return merge_adapter(adapter, out)

        worker = Worker(run)
        worker.signals.finished.connect(lambda path: self.statusBar().showMessage(f"Merged model written to {path}",
                                                                                  15_000))
        worker.signals.failed.connect(lambda msg, user: self.show_error("Merge adapter", msg))
        self.statusBar().showMessage(f"Merging {model} …")
        self.pool.start(worker)
        return worker

    def serve_with_vllm(self: MainWindow, model: str) -> bool:
        """Start vLLM serving a local fine-tune (one base model + its adapter) on port 8000."""
        from vqa_desk.core.errors import VQADeskError
        from vqa_desk.core.paths import data_dir
        from vqa_desk.local import vllm
        from vqa_desk.local.inference import adapter_manifest
        from vqa_desk.local.protocol import find_adapter

        try:
            adapter = find_adapter(model, data_dir() / "local")
            manifest = adapter_manifest(adapter)
            cmd = vllm.serve_command(str(manifest.get("base_model_path") or manifest["base_model"]), {model: adapter})
            proc = vllm.start(cmd, data_dir() / "local" / "vllm.log")
        except (VQADeskError, FileNotFoundError, KeyError) as exc:
            self.show_error("Serve with vLLM", str(exc))
            return False
        self.statusBar().showMessage(f"vLLM started (pid {proc.pid}) on http://127.0.0.1:8000/v1 — add it as a "
                                     "'compatible' provider profile to evaluate through it.", 30_000)
        return True

    def _store_key(self: MainWindow, name: str, key: str) -> None:
        try:
            set_key(get_profile(name), key)
            self.finetune_panel.connection.setText(f"Key stored in the OS keyring for {name}.")
        except VQADeskError as exc:
            self.show_error("API key", str(exc))
