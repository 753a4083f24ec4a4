"""The Fine-tune panel's Local (GPU) section: device, memory estimate, launch, live chart, merge."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.local.conftest import LEARNING
from vqa_desk.core import finetune

pytestmark = [pytest.mark.local, pytest.mark.slow]


@pytest.fixture
def win(qtbot: QtBot, small_export: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    from vqa_desk.gui.main_window import MainWindow
    from vqa_desk.gui.sandbox_host import SandboxHost

    path = tmp_path / "ws.vqadesk"
    shutil.copy(Path((small_export / "workspace").read_text()), path)
    shutil.copytree(small_export, tmp_path / "ws-export")
    w = MainWindow()
    qtbot.addWidget(w)
    w.sandbox = SandboxHost(step_delay=0)
    w.poll_seconds = 0.1
    w.show()
    w.open_workspace(path)
    yield w
    w.close()
    assert w.pool.active_count == 0


def test_local_training_from_the_panel(win, qtbot: QtBot, tiny_model: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    panel = win.finetune_panel
    win.pages.setCurrentWidget(panel)
    panel.provider.setCurrentIndex(panel.provider.findData("local"))
    assert panel.local_box.isVisible() and panel.launch_button.isEnabled()
    assert "SmolVLM" in panel.model.text() and "never downloads" in panel.memory.text()
    qtbot.waitUntil(lambda: "CPU" in panel.device.text(), timeout=30_000)
    assert "tiny test models only" in panel.device.text()
    panel.model.setText(str(tiny_model))
    assert "M parameters: about" in panel.memory.text()
    panel.epochs.setValue(LEARNING["n_epochs"])
    panel.batch_size.setValue(LEARNING["batch_size"])
    panel.local_lr.setValue(LEARNING["learning_rate"])
    panel.lora_r.setValue(LEARNING["lora_r"])
    panel.max_side.setValue(LEARNING["max_image_side"])
    panel.suffix.setText("gui")
    request = panel.request()
    assert request.hyperparameters()["lora_r"] == LEARNING["lora_r"]
    panel.launch_button.click()
    qtbot.waitUntil(lambda: bool(finetune.jobs(win.session.ws))
                    and finetune.jobs(win.session.ws)[0].finished, timeout=240_000)
    record = finetune.jobs(win.session.ws)[0]
    assert record.status == "succeeded", record.error
    assert record.fine_tuned_model.startswith(f"ft:{tiny_model.name}:local:gui:")
    qtbot.waitUntil(lambda: "succeeded" in panel.status.text(), timeout=10_000)
    panel.show_job(record.id)
    assert panel.train_series.count() >= LEARNING["n_epochs"] and panel.merge_button.isEnabled()
    out = tmp_path / "merged"
    errors: list[str] = []
    worker = win.merge_local_model(record.fine_tuned_model, out)
    worker.signals.failed.connect(lambda msg, _user: errors.append(msg))
    qtbot.waitUntil(lambda: (out / "config.json").exists() or bool(errors), timeout=60_000)
    assert not errors
    assert (out / "config.json").exists() and not (out / "adapter_config.json").exists()
    # vLLM is not installed here: the app says so, with the command it would run.
    assert panel.vllm_button.isEnabled() and not win.serve_with_vllm(record.fine_tuned_model)
    shown = win._errors[-1].text()
    assert "vLLM is not installed" in shown and f"--lora-modules {record.fine_tuned_model}=" in shown
