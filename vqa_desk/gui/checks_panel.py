"""The Checks panel: run the label checks, review findings grouped by kind, preview and apply or dismiss them.

Findings live in a ``QStandardItemModel`` (model/view: thousands of findings are rows, not widgets). Applying
and dismissing go through undo commands that call core, like every other edit.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPen, QShowEvent, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from vqa_desk.core import findings as store
from vqa_desk.core.checks import KINDS, TITLE_POLICY_KEY, Finding, TitlePolicy, normalize
from vqa_desk.core.ocr import engine_available, lines_for
from vqa_desk.gui.cover_view import CoverView
from vqa_desk.gui.session import Session
from vqa_desk.gui.thumbnails import ThumbnailLoader

ROLE_FINDING = Qt.ItemDataRole.UserRole + 1  # finding id on a finding row; -1 on a kind row
_POLICIES = [("Title and subtitle as printed", TitlePolicy.AS_PRINTED),
             ("As printed, with 'A Novel' as subtitle", TitlePolicy.AS_PRINTED_DESCRIPTORS),
             ("Main title only", TitlePolicy.MAIN_TITLE), ("Keep the catalogue title", TitlePolicy.CATALOGUE)]
_STATUSES = [("Open", "open"), ("Applied", "applied"), ("Dismissed", "dismissed"), ("All", None)]


class ChecksPanel(QWidget):
    run_requested = Signal(bool, str)  # use OCR, title policy
    apply_requested = Signal(list, str)  # finding ids, undo text
    dismiss_requested = Signal(list, str)  # finding ids, reason
    reopen_requested = Signal(list)
    cover_requested = Signal(int, bool)  # select this cover in the browser; True: also switch to the browser
    cancel_requested = Signal()

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session: Session | None = None
        self._loader = loader
        self._findings: dict[int, Finding] = {}
        self._shown_pk: int | None = None
        loader.ready.connect(self._image_arrived)

        self.run_button = QPushButton("Run checks")
        self.run_button.clicked.connect(self._run_clicked)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.use_ocr = QCheckBox("Read covers (OCR)")
        self.use_ocr.setChecked(engine_available())
        self.use_ocr.setEnabled(engine_available())
        self.use_ocr.setToolTip("Cover text is the evidence for author spellings and titles."
                                if engine_available() else "The OCR engine is not installed: text evidence only.")
        self.policy = QComboBox()
        for label, value in _POLICIES:
            self.policy.addItem(label, value.value)
        self.status_filter = QComboBox()
        for label, value in _STATUSES:
            self.status_filter.addItem(label, value or "")
        self.status_filter.currentIndexChanged.connect(self.reload)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.summary = QLabel("Run the checks to find inconsistent labels.")
        top = QHBoxLayout()
        for w in (self.run_button, self.cancel_button, self.use_ocr, QLabel("Titles:"), self.policy,
                  QLabel("Show:"), self.status_filter):
            top.addWidget(w)
        top.addWidget(self.progress, 1)
        top.addStretch(1)

        self.model = QStandardItemModel(0, 4)
        self.model.setHorizontalHeaderLabels(["Finding", "Confidence", "Changes", "Status"])
        self.tree = QTreeView()
        self.tree.setModel(self.model)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setStretchLastSection(False)
        self.tree.selectionModel().selectionChanged.connect(self._selection_changed)
        self.tree.doubleClicked.connect(self._double_clicked)

        self.min_confidence = QDoubleSpinBox()
        self.min_confidence.setRange(0.5, 1.0)
        self.min_confidence.setSingleStep(0.05)
        self.min_confidence.setValue(0.9)
        self.select_confident = QPushButton("Select confident")
        self.select_confident.setToolTip("Select every open finding with a suggestion at or above this confidence "
                                         "('possible' ones never).")
        self.select_confident.clicked.connect(self.select_confident_findings)
        self.apply_button = QPushButton("Apply selected")
        self.apply_button.clicked.connect(self._apply_clicked)
        self.dismiss_button = QPushButton("Dismiss…")
        self.dismiss_button.clicked.connect(self._dismiss_clicked)
        self.reopen_button = QPushButton("Reopen")
        self.reopen_button.clicked.connect(lambda: self.reopen_requested.emit(self.selected_ids()))
        actions = QHBoxLayout()
        for w in (QLabel("Confidence ≥"), self.min_confidence, self.select_confident):
            actions.addWidget(w)
        actions.addStretch(1)
        for w in (self.apply_button, self.dismiss_button, self.reopen_button):
            actions.addWidget(w)

        self.evidence = QLabel()
        self.evidence.setWordWrap(True)
        self.evidence.setTextFormat(Qt.TextFormat.RichText)
        self.evidence.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.preview = QTableWidget(0, 4)
        self.preview.setHorizontalHeaderLabels(["Cover", "Question", "Current answer", "Suggested answer"])
        self.preview.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.preview.verticalHeader().setVisible(False)
        self.preview.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.cover = CoverView()
        self.cover.setMinimumSize(200, 240)
        self.cover.setMaximumWidth(320)
        self._text_side = QSplitter(Qt.Orientation.Vertical)
        self._text_side.addWidget(self.evidence)
        self._text_side.addWidget(self.preview)
        self._detail = QSplitter(Qt.Orientation.Horizontal)
        self._detail.addWidget(self._text_side)
        self._detail.addWidget(self.cover)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.summary)
        left_layout.addWidget(self.tree, 1)
        left_layout.addLayout(actions)
        self._body = QSplitter(Qt.Orientation.Horizontal)
        self._body.addWidget(left)
        self._body.addWidget(self._detail)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self._body, 1)
        self._sized = False
        self._update_buttons()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._sized:
            # Splitters start from their children's minimum sizes; give the evidence room once, at first show.
            self._sized = True
            w, h = max(self.width(), 900), max(self.height(), 500)
            self._body.setSizes([w * 45 // 100, w * 55 // 100])
            self._detail.setSizes([w * 55 // 100 - 260, 260])
            self._text_side.setSizes([h * 45 // 100, h * 55 // 100])

    # ----- session -------------------------------------------------------------------------------------
    def set_session(self, session: Session | None) -> None:
        self._session = session
        if session is not None:
            session.findings_changed.connect(self.reload)
            value = session.ws.meta.get(TITLE_POLICY_KEY, TitlePolicy.AS_PRINTED.value)
            self.policy.setCurrentIndex(max(0, self.policy.findData(value)))
        self.reload()

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setVisible(running)
        self.progress.setVisible(running)
        if running:
            self.progress.setRange(0, 0)

    def show_progress(self, done: int, total: int, message: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{message} %v / %m")

    # ----- the list --------------------------------------------------------------------------------------
    def reload(self) -> None:
        expanded = {self.model.item(r).text().split(" ")[0] for r in range(self.model.rowCount())
                    if self.tree.isExpanded(self.model.index(r, 0))}
        self.model.removeRows(0, self.model.rowCount())
        self._findings = {}
        if self._session is None:
            self.summary.setText("No workspace open.")
            self._show_details([])
            return
        status = self.status_filter.currentData() or None
        found = store.load(self._session.ws, status=status)
        self._findings = {f.id: f for f in found if f.id is not None}
        by_kind: dict[str, list[Finding]] = {k: [] for k in KINDS}
        for f in found:
            by_kind.setdefault(f.kind, []).append(f)
        for kind, items in by_kind.items():
            if not items:
                continue
            group = QStandardItem(f"{kind} ({len(items)})")
            group.setData(-1, ROLE_FINDING)
            row = [group, QStandardItem(""), QStandardItem(str(sum(len(f.changes) for f in items))), QStandardItem("")]
            for item in row:
                item.setEditable(False)
            for f in items:
                cells = [QStandardItem(f.summary), QStandardItem(f"{f.confidence:.2f}" + (" possible" * f.possible)),
                         QStandardItem(str(len(f.changes))), QStandardItem(f.status)]
                for cell in cells:
                    cell.setEditable(False)
                    cell.setData(f.id, ROLE_FINDING)
                    cell.setToolTip("\n".join(f.evidence))
                if f.possible:
                    cells[1].setForeground(QColor("#9e9e9e"))
                group.appendRow(cells)
            self.model.appendRow(row)
            if kind in expanded or not expanded:
                self.tree.expand(group.index())
        open_n = sum(1 for f in found if f.status == "open")
        last = self._session.ws.meta.get("last_check")
        when = f" — last run {last['at'].replace('T', ' ').rstrip('Z')} UTC, cover evidence " \
               f"{'on' if last['cover_text'] else 'off'}" if last else " — not run yet"
        self.summary.setText(f"{len(found)} findings shown, {open_n} open{when}")
        self._show_details([])

    def selected_ids(self) -> list[int]:
        ids: list[int] = []
        for idx in self.tree.selectionModel().selectedRows(0):
            fid = idx.data(ROLE_FINDING)
            if fid is None:
                continue
            if fid == -1:  # a kind row stands for all its findings
                item = self.model.itemFromIndex(idx)
                ids += [item.child(r).data(ROLE_FINDING) for r in range(item.rowCount())]
            else:
                ids.append(int(fid))
        return list(dict.fromkeys(ids))

    def select_confident_findings(self) -> int:
        floor = self.min_confidence.value()
        selection = self.tree.selectionModel()
        selection.clearSelection()
        n = 0
        for r in range(self.model.rowCount()):
            group = self.model.item(r)
            for c in range(group.rowCount()):
                f = self._findings.get(group.child(c).data(ROLE_FINDING))
                if f and f.status == "open" and f.changes and not f.possible and f.confidence >= floor:
                    selection.select(group.child(c).index(), selection.SelectionFlag.Select
                                     | selection.SelectionFlag.Rows)
                    n += 1
        return n

    def _selection_changed(self, *_: object) -> None:
        chosen = [self._findings[i] for i in self.selected_ids() if i in self._findings]
        self._show_details(chosen)
        if len(chosen) == 1 and chosen[0].image_pks:
            self.cover_requested.emit(chosen[0].image_pks[0], False)

    def _show_details(self, chosen: list[Finding]) -> None:
        changes = [c for f in chosen for c in f.changes]
        self.preview.setRowCount(len(changes))
        for r, c in enumerate(changes):
            for col, value in enumerate((c.image_id, c.question, c.old, c.new)):
                self.preview.setItem(r, col, QTableWidgetItem(value))
        if len(chosen) == 1:
            f = chosen[0]
            items = "".join(f"<li>{html.escape(e)}</li>" for e in f.evidence)
            reason = f"<p><i>Dismissed: {html.escape(f.reason)}</i></p>" if f.status == "dismissed" else ""
            self.evidence.setText(f"<b>{html.escape(f.kind)} / {html.escape(f.detail)}</b> — confidence "
                                  f"{f.confidence:.2f}{' (possible: never applied in bulk)' if f.possible else ''}"
                                  f"<ul>{items}</ul>{reason}")
            self._show_cover(f)
        else:
            self.evidence.setText(f"{len(chosen)} findings selected; {len(changes)} answers would change."
                                  if chosen else "Select a finding to see its evidence.")
            self._shown_pk = None
            self.cover.show_message("")
        self._update_buttons()

    def _show_cover(self, f: Finding) -> None:
        self._shown_pk = f.image_pks[0] if f.image_pks else None
        if self._shown_pk is None:
            self.cover.show_message("")
            return
        image = self._loader.image(self._shown_pk)
        if image is None:
            self.cover.show_message("Loading…")
        else:
            self._draw_cover(image)

    def _image_arrived(self, pk: int) -> None:
        if pk == self._shown_pk:
            image = self._loader.image(pk)
            if image is not None:
                self._draw_cover(image)

    def _draw_cover(self, image: QImage) -> None:
        """The cover, with the OCR lines the finding quotes outlined."""
        assert self._session is not None and self._shown_pk is not None
        self.cover.show_image(image)
        ids = self.selected_ids()
        if len(ids) != 1 or ids[0] not in self._findings:
            return
        f = self._findings[ids[0]]
        quoted = " ".join([*f.evidence, *(c.new for c in f.changes), *(c.old for c in f.changes)])
        quoted_norm = normalize(quoted)
        meta = self._session.ws.image_meta(self._shown_pk)
        scale = image.width() / meta.width if meta.width else 1.0
        pen = QPen(QColor("#ff9800"), max(2.0, 2.0 / scale))
        for line in lines_for(self._session.ws, self._shown_pk):
            text = normalize(line.text)
            if text and text in quoted_norm:
                xs = [p[0] * scale for p in line.box]
                ys = [p[1] * scale for p in line.box]
                self.cover.scene().addRect(min(xs) - 2, min(ys) - 2, max(xs) - min(xs) + 4, max(ys) - min(ys) + 4, pen)

    def _update_buttons(self) -> None:
        chosen = [self._findings[i] for i in self.selected_ids() if i in self._findings]
        self.apply_button.setEnabled(any(f.status == "open" and f.changes for f in chosen))
        self.dismiss_button.setEnabled(any(f.status == "open" for f in chosen))
        self.reopen_button.setEnabled(any(f.status != "open" for f in chosen))

    # ----- actions -----------------------------------------------------------------------------------------
    def _run_clicked(self) -> None:
        self.run_requested.emit(self.use_ocr.isChecked(), self.policy.currentData())

    def _apply_clicked(self) -> None:
        ids = [i for i in self.selected_ids() if self._findings.get(i) and self._findings[i].status == "open"
               and self._findings[i].changes]
        if ids:
            n = sum(len(self._findings[i].changes) for i in ids)
            self.apply_requested.emit(ids, f"Apply {len(ids)} finding(s) ({n} answers)")

    def _dismiss_clicked(self) -> None:
        ids = [i for i in self.selected_ids() if self._findings.get(i) and self._findings[i].status == "open"]
        if not ids:
            return
        reason, ok = QInputDialog.getText(self, "Dismiss findings",
                                          f"Why are these {len(ids)} finding(s) not a problem?")
        if ok and reason.strip():
            self.dismiss_requested.emit(ids, reason.strip())

    def _double_clicked(self, index: QModelIndex) -> None:
        fid = index.data(ROLE_FINDING)
        f = self._findings.get(fid) if fid is not None else None
        if f is not None and f.image_pks:
            self.cover_requested.emit(f.image_pks[0], True)
