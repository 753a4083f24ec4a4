"""The Fine-tune panel launches a job against the in-process sandbox and follows it through signals."""

import shutil
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from vqa_desk.core import finetune
from vqa_desk.core.export import ExportOptions, export_workspace
from vqa_desk.core.importer import import_dataset
from vqa_desk.core.providers import ProviderKind
from vqa_desk.core.sampling import parse_sizes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ftgui")
    ws = root / "small.vqadesk"
    import_dataset("demo", ws, sizes=parse_sizes("14,6,4"))
    export_workspace(ws, root / "small-export", options=ExportOptions(few_shot=2, quality=60, max_side=320,
                                                                       estimate=False))
    return ws


@pytest.fixture
def win(qtbot: QtBot, small: Path, tmp_path: Path):
    from vqa_desk.gui.main_window import MainWindow
    from vqa_desk.gui.sandbox_host import SandboxHost

    path = tmp_path / "small.vqadesk"
    shutil.copy(small, path)
    shutil.copytree(small.with_name("small-export"), tmp_path / "small-export")
    w = MainWindow()
    qtbot.addWidget(w)
    w.sandbox = SandboxHost(step_delay=0)
    w.poll_seconds = 0.05
    w.show()
    w.open_workspace(path)
    yield w
    w.close()
    assert w.pool.active_count == 0


def test_launch_follow_and_chart(win, qtbot: QtBot) -> None:
    panel = win.finetune_panel
    assert panel.provider.currentData() == "sandbox" and panel.model.text() == "sandbox-ocr"
    assert "training tokens" in panel.estimate.text()
    panel.suffix.setText("gui")
    panel.epochs.setValue(2)
    statuses: list[str] = []
    panel.bridge.changed.connect(lambda rid: statuses.append(finetune.job(win.session.ws, rid).status))
    assert win.launch_finetune("sandbox", panel.request()) is not None
    qtbot.waitUntil(lambda: bool(statuses) and statuses[-1] in finetune.TERMINAL, timeout=120_000)
    record = finetune.jobs(win.session.ws)[0]
    assert record.status == "succeeded" and record.fine_tuned_model.startswith("ft:sandbox-ocr:sandbox:gui:")
    assert statuses[-1] == "succeeded"
    qtbot.waitUntil(lambda: "succeeded" in panel.status.text(), timeout=5000)
    assert panel.train_series.count() > 0 and panel.valid_series.count() > 0
    assert "fine-tuned model created" in panel.events.toPlainText()
    assert panel.jobs.rowCount() == 1 and panel.jobs.item(0, 2).text() == record.fine_tuned_model


def test_a_job_left_running_is_reattached_when_the_workspace_opens(win, qtbot: QtBot) -> None:
    panel = win.finetune_panel
    profile, client = win._provider_client("sandbox")
    win.sandbox.server(ProviderKind.SANDBOX).settings.step_delay = 0.02
    record = finetune.launch(win.session.path, profile, panel.request(), client)  # launched, never followed
    path = win.session.path
    win.close_workspace()
    win.open_workspace(path)  # as after a restart of the app
    assert record.id in win._job_workers
    qtbot.waitUntil(lambda: finetune.job(win.session.ws, record.id).status == "succeeded", timeout=120_000)
    qtbot.waitUntil(lambda: record.id not in win._job_workers, timeout=5000)


def test_errors_are_shown_not_raised(win, tmp_path: Path) -> None:
    panel = win.finetune_panel
    panel.export_dir.setText(str(tmp_path / "nothing-here"))
    worker = win.launch_finetune("sandbox", panel.request())
    assert worker is not None
    win.pool._pool.waitForDone(30_000)
    from PySide6.QtCore import QCoreApplication

    QCoreApplication.processEvents()
    assert win._errors and "train.jsonl" in win._errors[-1].text()
    assert win.launch_finetune("no-such-provider", panel.request()) is None
    assert "No provider profile named" in win._errors[-1].text()


def test_one_client_per_provider_closed_with_the_window(win) -> None:
    _, first = win._provider_client("sandbox")
    _, again = win._provider_client("sandbox")
    assert first is again  # jobs, cancels and re-attaches share one connection pool
    win.close()
    assert first.is_closed()
