"""The Fine-tune panel: provider and hyperparameters, launch in a worker, live status, events and loss chart."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vqa_desk.core import finetune
from vqa_desk.core.providers import ProviderKind, load_profiles
from vqa_desk.gui.session import Session


class JobBridge(QObject):
    """Carries "job N changed" from a following worker thread to the GUI thread (a queued signal)."""

    changed = Signal(int)


class FineTunePanel(QWidget):
    launch_requested = Signal(str, object)  # provider name, LaunchRequest
    cancel_requested = Signal(int)  # job record id
    export_requested = Signal(Path)  # "export now" into this folder
    test_requested = Signal(str)  # provider name
    key_entered = Signal(str, str)  # provider name, key
    device_check_requested = Signal()  # the Local section wants to know the device (detected on a worker)
    merge_requested = Signal(str)  # a local fine-tuned model to merge into a standalone model folder
    vllm_requested = Signal(str)  # a local fine-tuned model to serve with vLLM

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session: Session | None = None
        self.bridge = JobBridge(self)
        self.bridge.changed.connect(self.job_changed)
        self.shown_job: int | None = None

        self.provider = QComboBox()
        self.provider.currentIndexChanged.connect(self._provider_changed)
        self.model = QLineEdit()
        self.epochs = _auto_spin(0, 50)
        self.batch_size = _auto_spin(0, 256)
        self.lr = QDoubleSpinBox()
        self.lr.setRange(0.0, 10.0)
        self.lr.setSingleStep(0.1)
        self.lr.setSpecialValueText("auto")
        self.suffix = QLineEdit()
        self.suffix.setMaxLength(64)
        self.suffix.setPlaceholderText("e.g. ocrvqa-v1")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(42)
        self.export_dir = QLineEdit()
        browse = QPushButton("…")
        browse.clicked.connect(self._browse)
        export_now = QPushButton("Export now")
        export_now.clicked.connect(lambda: self.export_requested.emit(Path(self.export_dir.text())))
        export_row = QHBoxLayout()
        export_row.addWidget(self.export_dir, 1)
        export_row.addWidget(browse)
        export_row.addWidget(export_now)
        self.estimate = QLabel()
        self.estimate.setWordWrap(True)
        self.connection = QLabel()
        self.connection.setWordWrap(True)
        test = QPushButton("Test connection")
        test.clicked.connect(lambda: self.test_requested.emit(self.provider.currentData() or ""))
        set_key = QPushButton("Set API key…")
        set_key.clicked.connect(self._ask_key)
        conn_row = QHBoxLayout()
        conn_row.addWidget(test)
        conn_row.addWidget(set_key)
        conn_row.addStretch(1)
        self.launch_button = QPushButton("Launch fine-tuning")
        self.launch_button.clicked.connect(self._launch_clicked)
        self.cancel_button = QPushButton("Cancel job")
        self.cancel_button.clicked.connect(lambda: self.shown_job and self.cancel_requested.emit(self.shown_job))
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.local_box = self._local_section()

        form = QFormLayout()
        form.addRow("Provider:", self.provider)
        form.addRow("", conn_row)
        form.addRow("", self.connection)
        form.addRow("Base model:", self.model)
        form.addRow("Epochs:", self.epochs)
        form.addRow("Batch size:", self.batch_size)
        form.addRow("Learning-rate multiplier:", self.lr)
        form.addRow("Suffix:", self.suffix)
        form.addRow("Seed:", self.seed)
        form.addRow("Export to use:", export_row)
        form.addRow("", self.estimate)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(form)
        left_layout.addWidget(self.local_box)
        buttons = QHBoxLayout()
        buttons.addWidget(self.launch_button)
        buttons.addWidget(self.cancel_button)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.progress)
        left_layout.addWidget(QLabel("Jobs in this workspace"))
        self.jobs = QTableWidget(0, 4)
        self.jobs.setHorizontalHeaderLabels(["Job", "Status", "Fine-tuned model", "Provider"])
        self.jobs.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.jobs.horizontalHeader().setStretchLastSection(True)
        self.jobs.verticalHeader().setVisible(False)
        self.jobs.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.jobs.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.jobs.itemSelectionChanged.connect(self._job_selected)
        left_layout.addWidget(self.jobs, 1)

        self.status = QLabel("No job selected.")
        self.status.setWordWrap(True)
        self.chart = QChart()
        self.chart.setTitle("Loss")
        self.train_series = QLineSeries(name="train loss")
        self.valid_series = QLineSeries(name="valid loss")
        self.chart.addSeries(self.train_series)
        self.chart.addSeries(self.valid_series)
        self.x_axis = QValueAxis(titleText="step")
        self.y_axis = QValueAxis(titleText="loss")
        self.chart.addAxis(self.x_axis, Qt.AlignmentFlag.AlignBottom)
        self.chart.addAxis(self.y_axis, Qt.AlignmentFlag.AlignLeft)
        for series in (self.train_series, self.valid_series):
            series.attachAxis(self.x_axis)
            series.attachAxis(self.y_axis)
        self.chart_view = QChartView(self.chart)
        self.chart_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.events = QPlainTextEdit()
        self.events.setReadOnly(True)
        right = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.status)
        top_layout.addWidget(self.chart_view, 1)
        right.addWidget(top)
        right.addWidget(self.events)
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(left)
        body.addWidget(right)
        body.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(body)
        self.reload_profiles()

    def _local_section(self) -> QGroupBox:
        """LoRA on an open vision-language model, trained on this machine (shown for the local provider)."""
        box = QGroupBox("Local (GPU): LoRA on an open vision-language model")
        self.device = QLabel("Device: not checked yet")
        self.device.setWordWrap(True)
        self.memory = QLabel()
        self.memory.setWordWrap(True)
        folder = QPushButton("Model folder…")
        folder.clicked.connect(self._browse_model)
        self.lora_r = QSpinBox()
        self.lora_r.setRange(1, 512)
        self.lora_r.setValue(16)
        self.lora_alpha = QSpinBox()
        self.lora_alpha.setRange(1, 1024)
        self.lora_alpha.setValue(32)
        self.lora_dropout = QDoubleSpinBox()
        self.lora_dropout.setRange(0.0, 0.9)
        self.lora_dropout.setSingleStep(0.01)
        self.lora_dropout.setValue(0.05)
        self.local_lr = QDoubleSpinBox()
        self.local_lr.setDecimals(6)
        self.local_lr.setRange(0.000001, 1.0)
        self.local_lr.setSingleStep(0.0001)
        self.local_lr.setValue(0.0002)
        self.max_side = QSpinBox()
        self.max_side.setRange(0, 4096)
        self.max_side.setSingleStep(64)
        self.max_side.setSpecialValueText("the model's default")
        self.qlora = QCheckBox("QLoRA: 4-bit base weights (NVIDIA GPUs)")
        self.merge_button = QPushButton("Merge adapter…")
        self.merge_button.setToolTip("Write the selected job's base model + adapter as one model folder (for "
                                     "servers without LoRA support)")
        self.merge_button.setEnabled(False)
        self.merge_button.clicked.connect(self._merge_clicked)
        self.vllm_button = QPushButton("Serve with vLLM")
        self.vllm_button.setToolTip("Start vLLM (Linux, NVIDIA GPU, pip install vllm) serving the selected job's "
                                   "adapter OpenAI-style; without it the app serves local models itself")
        self.vllm_button.setEnabled(False)
        self.vllm_button.clicked.connect(self._vllm_clicked)
        for widget in (self.qlora,):
            widget.toggled.connect(self._update_memory)
        self.batch_size.valueChanged.connect(self._update_memory)
        self.model.textChanged.connect(self._update_memory)
        lora = QHBoxLayout()
        for label, widget in (("r", self.lora_r), ("alpha", self.lora_alpha), ("dropout", self.lora_dropout)):
            lora.addWidget(QLabel(label))
            lora.addWidget(widget)
        lora.addStretch(1)
        form = QFormLayout(box)
        form.addRow(self.device)
        form.addRow(folder, self.memory)
        form.addRow("LoRA:", lora)
        form.addRow("Learning rate:", self.local_lr)
        form.addRow("Max image side:", self.max_side)
        form.addRow("", self.qlora)
        actions = QHBoxLayout()
        actions.addWidget(self.merge_button)
        actions.addWidget(self.vllm_button)
        form.addRow("", actions)
        box.setVisible(False)
        return box

    def is_local(self) -> bool:
        return self._kind() == ProviderKind.LOCAL

    def _kind(self) -> ProviderKind | None:
        name = self.provider.currentData()
        try:
            return next((p.kind for p in load_profiles() if p.name == name), None)
        except Exception:
            return None

    def show_device(self, text: str, warning: str | None = None) -> None:
        self.device.setText(f"Device: {text}" + (f"<br><span style='color:#b26a00'>{warning}</span>"
                                                   if warning else ""))

    def _update_memory(self) -> None:
        if not self.local_box.isVisible() and not self.is_local():
            return
        from vqa_desk.local import environment

        name = self.model.text().strip()
        licence = environment.KNOWN_MODELS.get(name)
        folder = Path(name).expanduser()
        if not (folder / "config.json").is_file():
            self.memory.setText((f"{licence}. " if licence else "") + "Give the folder the model was downloaded "
                                "to (VQA Desk never downloads weights): memory estimate then.")
            return
        params = environment.parameter_count(folder)
        batch = self.batch_size.value() or 4
        need = environment.estimate_memory_gb(params, qlora=self.qlora.isChecked(), batch_size=batch)
        self.memory.setText(f"{params / 1e6:,.1f}M parameters: about {need} GB for LoRA training at batch {batch}"
                            + (" with QLoRA" if self.qlora.isChecked() else "") + " (a rough guide)")

    def _browse_model(self) -> None:
        name = QFileDialog.getExistingDirectory(self, "Base model folder", self.model.text())
        if name:
            self.model.setText(name)

    def _shown_model(self) -> str | None:
        if self._session is None or self.shown_job is None:
            return None
        return finetune.job(self._session.ws, self.shown_job).fine_tuned_model

    def _merge_clicked(self) -> None:
        model = self._shown_model()
        if model:
            self.merge_requested.emit(model)

    def _vllm_clicked(self) -> None:
        model = self._shown_model()
        if model:
            self.vllm_requested.emit(model)

    def local_hyperparameters(self) -> dict[str, object]:
        values: dict[str, object] = {"learning_rate": self.local_lr.value(), "lora_r": self.lora_r.value(),
                                     "lora_alpha": self.lora_alpha.value(),
                                     "lora_dropout": round(self.lora_dropout.value(), 4)}
        if self.max_side.value():
            values["max_image_side"] = self.max_side.value()
        if self.qlora.isChecked():
            values["qlora"] = True
        return values

    # ----- state -----------------------------------------------------------------------------------------
    def reload_profiles(self) -> None:
        current = self.provider.currentData()
        self.provider.blockSignals(True)
        self.provider.clear()
        try:
            profiles = load_profiles()
        except Exception as exc:  # a broken profile file must not take the panel down
            self.connection.setText(str(exc))
            profiles = []
        for p in profiles:
            self.provider.addItem(f"{p.name} ({p.kind.value})", p.name)
        self.provider.blockSignals(False)
        index = self.provider.findData(current) if current else self.provider.findData("sandbox")
        self.provider.setCurrentIndex(max(0, index))
        self._provider_changed()

    def _provider_changed(self) -> None:
        name = self.provider.currentData()
        for p in load_profiles() if name else []:
            if p.name == name:
                self.model.setText(p.finetune_model)
                hint = {ProviderKind.OPENAI: "OpenAI takes no new fine-tuning jobs after 2027-01-06; Azure OpenAI "
                                             "offers the same vision fine-tuning.",
                        ProviderKind.SANDBOX: "The offline sandbox: a small OCR-based model for dry runs and tests, "
                                              "not a stand-in for GPT-4o.",
                        ProviderKind.LOCAL: "Trains a LoRA adapter on this machine, in its own process; the "
                                            "fine-tuned model is served here for evaluation and review."
                        }.get(p.kind, "")
                self.connection.setText(hint)
                local = p.kind == ProviderKind.LOCAL
                self.local_box.setVisible(local)
                self.lr.setEnabled(not local)
                if local:
                    self._local_available()
                else:
                    self.launch_button.setEnabled(not self.progress.isVisible())

    def _local_available(self) -> None:
        from vqa_desk.local import environment

        missing = environment.missing_packages()
        self.launch_button.setEnabled(not missing)
        if missing:
            try:
                environment.require()
            except environment.LocalUnavailable as exc:
                self.device.setText(f"<span style='color:#b71c1c'>{exc}</span>")
            return
        self.device_check_requested.emit()
        self._update_memory()

    def set_session(self, session: Session | None) -> None:
        self._session = session
        if session is not None:
            self.export_dir.setText(str(session.path.parent / f"{session.path.stem}-export"))
        self.shown_job = None
        self.refresh_jobs()

    def request(self) -> finetune.LaunchRequest:
        folder = Path(self.export_dir.text()).expanduser()
        return finetune.LaunchRequest(
            train_path=folder / "train.jsonl",
            validation_path=(folder / "validation.jsonl") if (folder / "validation.jsonl").exists() else None,
            model=self.model.text().strip(), epochs=self.epochs.value() or None,
            batch_size=self.batch_size.value() or None, learning_rate_multiplier=self.lr.value() or None,
            suffix=self.suffix.text().strip() or None, seed=self.seed.value(),
            manifest=folder / "manifest.json" if (folder / "manifest.json").exists() else None,
            extra_hyperparameters=self.local_hyperparameters() if self.is_local() else None)

    def refresh_jobs(self) -> None:
        self.jobs.setRowCount(0)
        if self._session is None:
            return
        records = finetune.jobs(self._session.ws)
        self.jobs.setRowCount(len(records))
        for r, j in enumerate(records):
            for c, value in enumerate((j.job_id or f"(local {j.id})", j.status, j.fine_tuned_model or "", j.provider)):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, j.id)
                if j.error and c == 1:
                    item.setToolTip(j.error)
                self.jobs.setItem(r, c, item)
        self._update_estimate()

    def _update_estimate(self) -> None:
        import json

        manifest = Path(self.export_dir.text()).expanduser() / "manifest.json"
        try:
            est = json.loads(manifest.read_text(encoding="utf-8")).get("estimate") or {}
        except (OSError, ValueError):
            self.estimate.setText("No export in this folder yet: use Export now, or the Export panel.")
            return
        cost = est.get("training_cost_usd")
        self.estimate.setText(f"Export found: {est.get('training_tokens', 0):,} training tokens × "
                              f"{est.get('epochs', '?')} epochs" + (f" ≈ ${cost:,.2f}" if cost is not None else ""))

    def job_changed(self, record_id: int) -> None:
        self.refresh_jobs()
        if self.shown_job in (None, record_id):
            self.show_job(record_id)

    def show_job(self, record_id: int) -> None:
        if self._session is None:
            return
        self.shown_job = record_id
        j = finetune.job(self._session.ws, record_id)
        text = f"<b>{j.job_id or 'not created yet'}</b> — {j.status}"
        if j.fine_tuned_model:
            text += f"<br>Model: <b>{j.fine_tuned_model}</b>"
        if j.error:
            text += f"<br><span style='color:#b71c1c'>{j.error}</span>"
        self.status.setText(text)
        self.cancel_button.setEnabled(not j.finished and j.job_id is not None)
        local_model = j.status == "succeeded" and ":local:" in (j.fine_tuned_model or "")
        self.merge_button.setEnabled(local_model)
        self.vllm_button.setEnabled(local_model)
        self.events.setPlainText("\n".join(f"[{e.level}] {e.message}" for e in finetune.events(self._session.ws,
                                                                                                record_id)))
        points = finetune.metrics(self._session.ws, record_id)
        self.train_series.clear()
        self.valid_series.clear()
        for step, train, valid in points:
            if train is not None:
                self.train_series.append(step, train)
            if valid is not None:
                self.valid_series.append(step, valid)
        losses = [v for _, t, v2 in points for v in (t, v2) if v is not None]
        self.x_axis.setRange(0, max([p[0] for p in points], default=1))
        self.y_axis.setRange(0, max(losses, default=1.0) * 1.1)

    def set_running(self, running: bool) -> None:
        self.launch_button.setEnabled(not running)
        self.progress.setVisible(running)

    def show_progress(self, done: int, total: int, message: str) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.setFormat(f"{message} %p%")

    # ----- actions -----------------------------------------------------------------------------------------
    def _launch_clicked(self) -> None:
        self.launch_requested.emit(self.provider.currentData() or "", self.request())

    def _job_selected(self) -> None:
        items = self.jobs.selectedItems()
        if items:
            self.show_job(int(items[0].data(Qt.ItemDataRole.UserRole)))

    def _browse(self) -> None:
        name = QFileDialog.getExistingDirectory(self, "Export folder", self.export_dir.text())
        if name:
            self.export_dir.setText(name)
            self._update_estimate()

    def _ask_key(self) -> None:
        name = self.provider.currentData()
        key, ok = QInputDialog.getText(self, "API key", f"API key for {name} (stored in the OS keyring):",
                                       QLineEdit.EchoMode.Password)
        if ok and key.strip():
            self.key_entered.emit(name, key.strip())


def _auto_spin(low: int, high: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setSpecialValueText("auto")
    return box
