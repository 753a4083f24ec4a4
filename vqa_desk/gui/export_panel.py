"""The Export panel: options, a live estimate, one example rendered as it will be written, and Export."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from vqa_desk.core.errors import VQADeskError
from vqa_desk.core.export import ExportOptions, estimate_workspace, preview_example
from vqa_desk.core.paths import data_dir
from vqa_desk.core.prompts import DEFAULT_SYSTEM_PROMPT, effective_system_prompt, set_system_prompt
from vqa_desk.gui.session import Session
from vqa_desk.gui.thumbnails import ThumbnailLoader
from vqa_desk.gui.workers import Worker, WorkerPool

_REFRESH_MS = 300


class ExportPanel(QWidget):
    export_requested = Signal(object, Path)  # ExportOptions, out folder
    cancel_requested = Signal()

    def __init__(self, loader: ThumbnailLoader, pool: WorkerPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session: Session | None = None
        self._pool = pool
        self._generation = 0  # results of an older refresh are dropped
        self._loader = loader
        self._preview_pk: int | None = None
        loader.ready.connect(self._image_arrived)

        self.format = QComboBox()
        for label, value in (("OpenAI chat JSONL", "openai"), ("ShareGPT / LLaVA + images", "sharegpt"),
                             ("Hugging Face datasets folder", "hf")):
            self.format.addItem(label, value)
        self.provider = QComboBox()
        for label, value in (("OpenAI (10 images per example)", "openai"), ("Azure OpenAI (64)", "azure"),
                             ("OpenAI-compatible (no limits)", "compatible")):
            self.provider.addItem(label, value)
        self.model = QLineEdit("gpt-4o-2024-08-06")
        self.few_shot = QSpinBox()
        self.few_shot.setRange(0, 63)
        self.few_shot.setValue(6)
        self.reencode = QCheckBox("Re-encode as JPEG, quality")
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(75)
        self.quality.setEnabled(False)
        self.reencode.toggled.connect(self.quality.setEnabled)
        quality_row = QHBoxLayout()
        quality_row.addWidget(self.reencode)
        quality_row.addWidget(self.quality)
        self.max_side = QSpinBox()
        self.max_side.setRange(0, 4096)
        self.max_side.setSpecialValueText("keep")
        self.max_side.setSingleStep(64)
        self.detail = QComboBox()
        for label, value in (("not set (provider default)", ""), ("low (85 tokens)", "low"), ("high", "high"),
                             ("auto", "auto")):
            self.detail.addItem(label, value)
        self.out_dir = QLineEdit(str(data_dir() / "exports" / "export"))
        browse = QPushButton("…")
        browse.clicked.connect(self._browse)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out_dir, 1)
        out_row.addWidget(browse)
        self.prompt = QPlainTextEdit()
        self.prompt.setPlaceholderText("System prompt")
        save_prompt = QPushButton("Save prompt in workspace")
        save_prompt.clicked.connect(self.save_prompt)
        reset_prompt = QPushButton("Default prompt")
        reset_prompt.clicked.connect(lambda: self.prompt.setPlainText(DEFAULT_SYSTEM_PROMPT))
        prompt_buttons = QHBoxLayout()
        prompt_buttons.addWidget(save_prompt)
        prompt_buttons.addWidget(reset_prompt)
        prompt_buttons.addStretch(1)

        form = QFormLayout()
        form.addRow("Format:", self.format)
        form.addRow("Validate for:", self.provider)
        form.addRow("Model (estimate):", self.model)
        form.addRow("Few-shot examples:", self.few_shot)
        form.addRow("Images:", quality_row)
        form.addRow("Longest side (px):", self.max_side)
        form.addRow("Detail:", self.detail)
        form.addRow("Export to:", out_row)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(form)
        left_layout.addWidget(QLabel("System prompt"))
        left_layout.addWidget(self.prompt, 1)
        left_layout.addLayout(prompt_buttons)

        self.estimate = QLabel("")
        self.estimate.setWordWrap(True)
        self.estimate.setTextFormat(Qt.TextFormat.RichText)
        self.preview = QTextBrowser()
        self.thumb = QLabel()
        self.thumb.setFixedSize(150, 220)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        preview_row = QHBoxLayout()
        preview_row.addWidget(self.preview, 1)
        preview_row.addWidget(self.thumb, 0, Qt.AlignmentFlag.AlignTop)
        self.export_button = QPushButton("Export")
        self.export_button.clicked.connect(self._export_clicked)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        run_row = QHBoxLayout()
        run_row.addWidget(self.export_button)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.progress, 1)
        self.report = QTextBrowser()
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(self.estimate)
        right_layout.addWidget(QLabel("One training example as it will be written (images shortened to labels):"))
        right_layout.addLayout(preview_row, 3)
        right_layout.addLayout(run_row)
        right_layout.addWidget(self.report, 2)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)

        self._timer = QTimer(self, singleShot=True, interval=_REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        for signal in (self.format.currentIndexChanged, self.provider.currentIndexChanged,
                       self.few_shot.valueChanged, self.quality.valueChanged, self.max_side.valueChanged,
                       self.detail.currentIndexChanged, self.reencode.toggled, self.model.editingFinished,
                       self.prompt.textChanged):
            signal.connect(lambda *_: self._timer.start())

    # ----- state -----------------------------------------------------------------------------------------
    def set_session(self, session: Session | None) -> None:
        self._session = session
        if session is not None:
            self.prompt.blockSignals(True)
            self.prompt.setPlainText(effective_system_prompt(session.ws))
            self.prompt.blockSignals(False)
            self.out_dir.setText(str(session.path.parent / f"{session.path.stem}-export"))
        self.refresh()

    def options(self) -> ExportOptions:
        return ExportOptions(
            format=self.format.currentData(), few_shot=self.few_shot.value(),
            quality=self.quality.value() if self.reencode.isChecked() else None,
            max_side=self.max_side.value() or None, detail=self.detail.currentData() or None,
            provider=self.provider.currentData(), model=self.model.text().strip() or "gpt-4o-2024-08-06",
            system_prompt=self.prompt.toPlainText().strip() or None)

    def save_prompt(self) -> None:
        if self._session is not None:
            text = self.prompt.toPlainText().strip()
            set_system_prompt(self._session.ws, None if text == DEFAULT_SYSTEM_PROMPT.strip() else text)

    def refresh(self) -> None:
        """Estimate and preview for the current options, on a worker: the estimate reads every QA pair (about
        20 s per million on two cores), which must not freeze the window."""
        self._generation += 1
        if self._session is None:
            self.estimate.setText("No workspace open.")
            self.preview.setPlainText("")
            return
        try:
            options = self.options()
            options.check()
        except VQADeskError as exc:
            self.estimate.setText(f"<span style='color:#b71c1c'>{html.escape(str(exc))}</span>")
            return
        self.estimate.setText(self.estimate.text() or "Estimating…")
        path, generation = self._session.path, self._generation

        def compute() -> tuple[dict[str, Any], Any]:
            estimate = estimate_workspace(path, options).to_dict()
            example = preview_example(path, options) if options.format == "openai" else None
            return estimate, example

        worker = Worker(compute)
        worker.signals.finished.connect(lambda result, g=generation: self._show(g, *result))
        worker.signals.failed.connect(lambda message, user, g=generation: self._show_error(g, message, user))
        self._pool.start(worker)

    def _show_error(self, generation: int, message: str, user_error: bool) -> None:
        if generation == self._generation:
            text = message if user_error else "The estimate failed (see the log)."
            self.estimate.setText(f"<span style='color:#b71c1c'>{html.escape(text)}</span>")

    def _show(self, generation: int, estimate: dict[str, Any], example: Any) -> None:
        if generation != self._generation or self._session is None:
            return  # the options or the workspace changed while this was computed
        rows = "".join(f"<tr><td>{s}</td><td align=right>{t['examples']:,}</td><td align=right>"
                       f"{t['text_tokens'] + t['image_tokens']:,}</td></tr>" for s, t in estimate["splits"].items())
        cost = estimate.get("training_cost_usd")
        money = f"${cost:,.2f}" if cost is not None else "no price known for this model"
        self.estimate.setText(
            f"<table><tr><th align=left>split</th><th>examples</th><th>tokens</th></tr>{rows}</table>"
            f"Training: {estimate['training_tokens']:,} tokens × {estimate['epochs']} epochs = <b>{money}</b>"
            f" (prices read {estimate.get('prices_read', '?')})")
        if example is None:
            self.preview.setPlainText("The preview shows the OpenAI chat layout; this format writes one record per "
                                      "cover with its images in a folder.")
            self._preview_pk = None
            self.thumb.clear()
            return
        self.preview.setHtml(_render(example.messages, example.text_tokens, example.image_tokens))
        self._preview_pk = example.images[-1].image_pk if example.images else None
        self._show_thumb()

    def _show_thumb(self) -> None:
        if self._preview_pk is None:
            return
        image = self._loader.image(self._preview_pk)
        if image is not None:
            self.thumb.setPixmap(QPixmap.fromImage(image).scaled(self.thumb.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                                                 Qt.TransformationMode.SmoothTransformation))

    def _image_arrived(self, pk: int) -> None:
        if pk == self._preview_pk:
            self._show_thumb()

    # ----- running -----------------------------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        self.export_button.setEnabled(not running)
        self.cancel_button.setVisible(running)
        self.progress.setVisible(running)

    def show_progress(self, done: int, total: int, message: str) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.setFormat(f"{message} %p%")

    def show_result(self, result: Any) -> None:
        data = result.to_json()
        parts = [f"<b>Exported {html.escape(result.format)}</b> to {html.escape(str(result.out_dir))} "
                 f"in {result.seconds:.1f} s"]
        parts += [f"{s}: {data['examples'].get(s, 0):,} examples — {html.escape(str(p))}" for s, p in
                  data["files"].items()]
        for split, report in result.validation.items():
            verdict = "passes" if report.ok else "<span style='color:#b71c1c'>would be rejected</span>"
            parts.append(f"{split}: {verdict} {html.escape(report.provider)}'s rules")
            parts += [f"&nbsp;&nbsp;error: {html.escape(i.message)}" for i in report.errors]
            parts += [f"&nbsp;&nbsp;warning: {html.escape(i.message)}" for i in report.warnings]
        if result.skipped:
            parts.append(f"{len(result.skipped)} cover(s) left out:")
            parts += [f"&nbsp;&nbsp;{html.escape(i.split)} {html.escape(i.image_id)}: {html.escape(i.reason)}"
                      for i in result.skipped[:30]]
        self.report.setHtml("<br>".join(parts))

    def _export_clicked(self) -> None:
        try:
            options = self.options()
            options.check()
        except VQADeskError as exc:
            self.report.setPlainText(str(exc))
            return
        self.export_requested.emit(options, Path(self.out_dir.text()).expanduser())

    def _browse(self) -> None:
        name = QFileDialog.getExistingDirectory(self, "Export to folder", str(Path(self.out_dir.text()).parent))
        if name:
            self.out_dir.setText(name)


def _render(messages: list[dict[str, Any]], text_tokens: int, image_tokens: int) -> str:
    out = [f"<p><i>{text_tokens:,} text tokens + {image_tokens:,} image tokens</i></p>"]
    for m in messages:
        content = m.get("content")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        body = []
        for p in parts:
            if p.get("type") == "text":
                body.append(html.escape(p["text"]).replace("\n", "<br>"))
            elif p.get("type") == "image_url":
                ref = p["image_url"]
                extra = {k: v for k, v in ref.items() if k != "url"}
                body.append(f"<span style='color:#1565c0'>[image {html.escape(ref['url'])}"
                            f"{' ' + html.escape(json.dumps(extra)) if extra else ''}]</span>")
        color = {"system": "#6a1b9a", "user": "#2e7d32", "assistant": "#e65100"}.get(m.get("role", ""), "#000")
        out.append(f"<p><b style='color:{color}'>{html.escape(m.get('role', '?'))}</b>: {' '.join(body)}</p>")
    return "".join(out)
