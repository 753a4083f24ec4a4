"""The desktop executable: build.spec builds a one-dir bundle, and the bundle starts, shows its window
offscreen, and runs the headless demo loop (OCR with the models it carries, the sandbox server, the report).

The build (~1 minute on 2 cores; the demo takes ~1.5 minutes more) runs once for the module, into a temporary
folder, with PyInstaller's config and cache inside it; it needs no network (pip is not involved). Each run of
the executable gets its own home, data and config folders under a temporary folder, so nothing touches the
real home.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

pytest.importorskip("PyInstaller", reason="PyInstaller is in the test extra: pip install -e '.[test]'")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.packaging,
    pytest.mark.timeout(900),  # the first test also waits for the build
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the bundle checks are written for Linux (CI)"),
]

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
NAME, VERSION = PROJECT["name"], PROJECT["version"]
BUILD_TIMEOUT = 600  # seconds; the build takes ~1 minute here
# A guard against a slimming filter that stopped matching, a stand-in that was not built (no C compiler: +85 MB),
# or a dependency that drags in WebEngine (+265 MB) or the torch stack (+750 MB): the one-dir bundle is 467 MB
# with OCR (docs/packaging.md says what dominates it, and why OCR stays in although the target was 400 MB).
MAX_BUNDLE_MB = 485
# The optional `local` extra may be installed in the same environment; none of it may reach the bundle.
TORCH_STACK = ("torch", "torchvision", "torchaudio", "transformers", "trl", "peft", "accelerate", "bitsandbytes",
               "vllm", "safetensors", "tokenizers", "triton", "sympy", "networkx")


def _clean_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment for a build or a run: its own home, caches and user folders under ``root``, offline."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VQA_DESK_", "HF_", "XDG_", "QT_", "PYINSTALLER_"))}
    dirs = {"HOME": "home", "VQA_DESK_DATA_DIR": "data", "VQA_DESK_CONFIG_DIR": "config", "HF_HOME": "hf",
            "XDG_CONFIG_HOME": "xdg-config", "XDG_DATA_HOME": "xdg-data", "XDG_CACHE_HOME": "xdg-cache"}
    for var, sub in dirs.items():
        (root / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(root / sub)
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1", **extra)
    return env


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the one-dir bundle with build.spec; returns the executable."""
    build = tmp_path_factory.mktemp("pyinstaller")
    env = _clean_env(build / "env", PYINSTALLER_CONFIG_DIR=str(build / "config"))
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
           "--distpath", str(build / "dist"), "--workpath", str(build / "work"), str(ROOT / "build.spec")]
    started = time.monotonic()
    done = subprocess.run(cmd, cwd=build, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    seconds = time.monotonic() - started
    assert done.returncode == 0, f"the build failed:\n{done.stdout[-4000:]}\n{done.stderr[-8000:]}"
    exe = build / "dist" / NAME / NAME
    assert exe.is_file() and os.access(exe, os.X_OK), f"no executable at {exe}"
    size = sum(f.stat().st_size for f in exe.parent.rglob("*") if f.is_file() and not f.is_symlink())
    print(f"\nbuilt {exe.parent} in {seconds:.0f} s: {size / 2**20:.0f} MB")
    return exe


def _run(exe: Path, run_dir: Path, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = _clean_env(run_dir, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([str(exe), *args], cwd=run_dir, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, (f"{exe.name} {' '.join(args)} exited {done.returncode}:\n"
                                  f"{done.stdout[-4000:]}\n{done.stderr[-8000:]}")
    return done


def test_version(bundle: Path, tmp_path: Path) -> None:
    done = _run(bundle, tmp_path, "--version", timeout=60)
    assert done.stdout.strip() == f"{NAME} {VERSION}", "the version comes from the bundled metadata"


def test_smoke_opens_every_panel_offscreen(bundle: Path, tmp_path: Path) -> None:
    done = _run(bundle, tmp_path, "--smoke", timeout=180)
    assert "smoke: opened demo.vqadesk" in done.stderr
    assert (tmp_path / "data" / "demo.vqadesk").is_file(), "the demo workspace goes to VQA_DESK_DATA_DIR"
    assert not any((tmp_path / "home").iterdir()), "nothing is written to the home folder"


def test_headless_demo_runs_the_whole_loop_with_ocr(bundle: Path, tmp_path: Path) -> None:
    """demo: new workspace, checks (OCR with the bundled RapidOCR models, onnxruntime and OpenCV), export,
    fine-tune against the in-process sandbox server, evaluate, grade, report (~1.5 min)."""
    done = _run(bundle, tmp_path, "demo", "--json", "--out", str(tmp_path / "run"), timeout=600)
    summary = json.loads(done.stdout)
    workspace = Path(summary["workspace"])
    assert workspace.is_file() and workspace.parent == tmp_path / "run"
    assert summary["fine_tuned_model"], "the sandbox served the fine-tuning job"
    assert summary["metrics"] and Path(summary["report"]).is_file()
    assert "label checks (cover evidence on)" in done.stderr, "the bundle found its OCR engine"
    # The demo's checks read the covers with the bundled engine and cached the lines in the workspace.
    with sqlite3.connect(workspace) as db:
        engines = db.execute("SELECT engine, COUNT(*), COUNT(error) FROM ocr_lines GROUP BY engine").fetchall()
        assert len(engines) == 1 and engines[0][0] == "rapidocr" and engines[0][1] > 100 and not engines[0][2], engines
        covers = engines[0][1]
        # Forget three covers' lines: the checks must read them again, here and now, with the bundled engine.
        forgotten = [row[0] for row in db.execute("SELECT image FROM ocr_lines ORDER BY image LIMIT 3")]
        db.execute("DELETE FROM ocr_lines WHERE image IN (?, ?, ?)", forgotten)
    db.close()
    check = json.loads(_run(bundle, tmp_path, "check", str(workspace), "--ocr", "--json", timeout=300).stdout)
    assert check["cover_text"] is True
    assert check["ocr"] == {"read": 3, "cached": covers - 3, "failed": {}}, check["ocr"]
    with sqlite3.connect(workspace) as db:
        reread = [db.execute("SELECT engine, lines FROM ocr_lines WHERE image = ?", (pk,)).fetchone()
                  for pk in forgotten]
    db.close()
    assert len(reread) == 3 and {engine for engine, _ in reread} == {"rapidocr"}, reread
    assert any(json.loads(lines) for _, lines in reread), "the engine found words on the covers again"
    # The bundle's OpenCV runs on stand-ins (FFmpeg stubs, the BLAS bridge, Pillow's libavif): it must read each
    # cover exactly as the source install does.
    from vqa_desk.core import ocr
    from vqa_desk.core.workspace import Workspace

    with Workspace.open(workspace) as ws:
        here = [ocr.lines_to_json(ocr.read_cover(ws.image_bytes(pk))) for pk in forgotten]
    assert [lines for _, lines in reread] == here


def _size(path: Path) -> int:
    """Bytes in the file or folder; links (the bundle has a few dozen, to files it also holds) count nothing."""
    if path.is_symlink():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def test_bundle_is_slim(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    internal = bundle.parent / "_internal"
    files = [f.relative_to(internal).as_posix() for f in internal.rglob("*") if f.is_file()]
    for unwanted in ("WebEngine", "libQt6Qml", "libQt6Quick", "VirtualKeyboard", "libQt6Pdf", "qgtk3", "qwayland",
                     "/translations/", "libarrow_flight", "pyarrow/include/"):
        assert not [f for f in files if unwanted in f], f"{unwanted} should have been left out"
    torch = [f for f in files if f.split("/")[0].split(".")[0].split("-")[0] in TORCH_STACK]
    assert not torch, f"the torch stack (the local extra) got into the bundle: {torch[:10]}"
    # A desktop needs the xcb platform plugin, which the offscreen runs above never load.
    assert "PySide6/Qt/plugins/platforms/libqxcb.so" in files
    assert "vqa_desk/resources/tokenizers/o200k_base.tiktoken.gz" in files
    # OCR is in: the engine, its models and OpenCV (the runs above show that they work).
    assert {"cv2/cv2.abi3.so", "rapidocr/models/PP-OCRv6_det_small.onnx"} <= set(files)
    assert [f for f in files if f.startswith("onnxruntime/capi/onnxruntime_pybind11_state")]

    size = _size(bundle) + _size(internal)
    parts = sorted(((_size(p), p.name) for p in internal.iterdir()), reverse=True)[:5]
    largest = ", ".join(f"{name} {part / 2**20:.0f}" for part, name in parts)
    with capsys.disabled():
        print(f"\none-dir bundle: {size / 2**20:.0f} MB (limit {MAX_BUNDLE_MB}); largest, in MB: {largest}")
    assert size <= MAX_BUNDLE_MB * 2**20, f"the bundle grew to {size / 2**20:.0f} MB; largest, in MB: {largest}"
