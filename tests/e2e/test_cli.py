"""The CLI contract: commands, --json output, exit codes, and an import killed half-way."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools.synthetic_ocrvqa import write_parquet
from vqa_desk.cli import main
from vqa_desk.core.errors import WorkspaceError
from vqa_desk.core.importer import partial_path
from vqa_desk.core.workspace import Workspace


@pytest.fixture
def parquet_dir(tmp_path: Path) -> Path:
    write_parquet(tmp_path / "src" / "train-00000-of-00001.parquet", 40)
    write_parquet(tmp_path / "src" / "validation-00000-of-00001.parquet", 20, start=100)
    write_parquet(tmp_path / "src" / "test-00000-of-00001.parquet", 20, start=200)
    return tmp_path / "src"


def _json(capsys: pytest.CaptureFixture[str]) -> dict:
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "--json prints exactly one JSON object"
    return json.loads(out)


def test_new_and_info_from_parquet(parquet_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "ws.vqadesk"
    assert main(["new", str(ws), "--from", str(parquet_dir), "--sizes", "30,10,all", "--json"]) == 0
    created = _json(capsys)
    assert created["images"] == {"train": 30, "validation": 10, "test": 20}
    assert main(["info", str(ws), "--json"]) == 0
    info = _json(capsys)
    assert info["images"] == created["images"]
    assert info["qa_pairs"] == {"train": 150, "validation": 50, "test": 100}
    assert info["question_types"] == {"yes_no": 120, "title": 60, "author": 60, "genre": 60}
    assert info["invalid_images"] == 0 and info["edits"] == 0
    assert main(["info", str(ws)]) == 0
    human = capsys.readouterr().out
    assert "train" in human and "150" in human and "Question types" in human


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["info", "missing.vqadesk"], "No workspace at missing.vqadesk"),
        (["new", "x.vqadesk", "--from", "nowhere"], "nowhere does not exist"),
        (["new", "x.vqadesk", "--from", "demo", "--sizes", "1,2"], "--sizes needs three"),
    ],
)
def test_user_errors_exit_2_with_a_message(argv: list[str], message: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_existing_workspace_needs_force(parquet_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "ws.vqadesk"
    assert main(["new", str(ws), "--from", str(parquet_dir), "--sizes", "5,5,5"]) == 0
    assert main(["new", str(ws), "--from", str(parquet_dir), "--sizes", "5,5,5"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["new", str(ws), "--from", str(parquet_dir), "--sizes", "6,5,5", "--force", "--json"]) == 0
    assert _json(capsys)["images"]["train"] == 6


@pytest.mark.parametrize("command", ["open", "new", "info", "check", "export", "sandbox", "finetune", "evaluate",
                                     "validate", "grade", "report", "demo", "screenshot"])
def test_every_command_of_the_contract_exists(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0 and f"vqa-desk {command}" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2


def test_console_script_entry_point_runs(tmp_path: Path, parquet_dir: Path) -> None:
    exe = Path(sys.executable).with_name("vqa-desk")
    ws = tmp_path / "ws.vqadesk"
    done = subprocess.run([str(exe), "new", str(ws), "--from", str(parquet_dir), "--sizes", "3,3,3", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["images"] == {"train": 3, "validation": 3, "test": 3}


@pytest.mark.slow
def test_an_import_killed_half_way_leaves_no_half_workspace(tmp_path: Path) -> None:
    src = write_parquet(tmp_path / "big" / "train-00000-of-00001.parquet", 30_000, row_group_size=2000)
    ws = tmp_path / "ws.vqadesk"
    partial = partial_path(ws)
    proc = subprocess.Popen([sys.executable, "-m", "vqa_desk.cli", "new", str(ws), "--from", str(src.parent),
                             "--sizes", "all,0,0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (partial.exists() and partial.stat().st_size > 2_000_000):
        time.sleep(0.05)
    assert proc.poll() is None, "the import finished before it could be killed; make the source bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not ws.exists()
    assert partial.exists()
    # The leftover is recognisably incomplete, and a new import cleans it up and succeeds.
    with pytest.raises(WorkspaceError, match=r"incomplete|damaged"):
        Workspace.open(partial)
    assert main(["new", str(ws), "--from", str(src.parent), "--sizes", "100,0,0"]) == 0
    assert not partial.exists()
    with Workspace.open(ws) as opened:
        assert opened.summary()["images"] == {"train": 100}


@pytest.mark.slow
def test_default_command_without_display_runs_the_headless_demo(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """What `make run` does on a machine without a display."""
    from vqa_desk.core.paths import data_dir

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main([]) == 0
    captured = capsys.readouterr()
    assert "no display found" in captured.err and "running the headless demo" in captured.err
    assert "closed strict" in captured.out and "Report:" in captured.out
    assert (data_dir() / "demo-run" / "report.html").exists()


def test_screenshot_command_writes_a_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "shot.png"
    assert main(["screenshot", "browser", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
    assert main(["screenshot", "browser", "a", "b", "--out", str(out)]) == 2


def test_open_remembers_the_last_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vqa_desk.cli import gui as cli_gui
    from vqa_desk.core.settings import load_settings

    opened: list[Path] = []
    monkeypatch.setattr(cli_gui, "has_display", lambda: True)
    monkeypatch.setattr(cli_gui, "_open_gui", lambda path: opened.append(path) or 0)
    ws = tmp_path / "mine.vqadesk"
    assert main(["new", str(ws), "--from", "demo"]) == 0
    settings = load_settings()
    settings.remember(ws)
    from vqa_desk.core.settings import save_settings

    save_settings(settings)
    assert main([]) == 0
    assert opened == [ws.resolve()]


def test_smoke_opens_every_panel(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--smoke"]) == 0
    assert "showed Browse, Checks, Export, Fine-tune" in capsys.readouterr().err
