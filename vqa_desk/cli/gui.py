"""The commands that open a window (the default command, open, screenshot, --smoke) and the demo workspace
they fall back on. PySide6 is imported inside them only, so every other command runs without it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from vqa_desk.cli.common import EXIT_OK, EXIT_USER, ProgressBar
from vqa_desk.cli.demo import cmd_demo
from vqa_desk.core.errors import VQADeskError


def cmd_default(args: argparse.Namespace) -> int:
    from vqa_desk.core.settings import load_settings

    if getattr(args, "smoke", False):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from vqa_desk.gui.app import smoke

        return smoke(ensure_demo_workspace())

    if not has_display():
        print("vqa-desk: no display found (DISPLAY / WAYLAND_DISPLAY unset), so the window cannot open; running "
              "the headless demo instead (vqa-desk demo). Start it from a desktop session to get the app.",
              file=sys.stderr)
        return cmd_demo(argparse.Namespace(out=None, json=False))
    settings = load_settings()
    last = Path(settings.last_workspace) if settings.last_workspace else None
    path = last if last is not None and last.exists() else ensure_demo_workspace()
    return _open_gui(path)


def cmd_open(args: argparse.Namespace) -> int:
    from vqa_desk.core.workspace import Workspace

    Workspace.open(args.workspace).close()  # fail here, with the CLI's message, before any window exists
    if not has_display():
        print("vqa-desk: no display found (DISPLAY / WAYLAND_DISPLAY unset); cannot open a window.", file=sys.stderr)
        return EXIT_USER
    return _open_gui(args.workspace)


def _open_gui(path: Path) -> int:
    from vqa_desk.gui.app import run_app

    return run_app(path)


def cmd_screenshot(args: argparse.Namespace) -> int:
    from vqa_desk.gui.app import screenshot

    if len(args.target) > 2:
        raise VQADeskError("screenshot takes a panel name and at most one workspace.")
    panel = args.target[0]
    path = Path(args.target[1]) if len(args.target) == 2 else ensure_demo_workspace()
    out = screenshot(panel, path, args.out)
    print(f"wrote {out}", file=sys.stderr)
    return EXIT_OK


def ensure_demo_workspace(path: Path | None = None) -> Path:
    """The demo workspace, created from the bundled data the first time it is needed."""
    from vqa_desk.core.importer import import_dataset
    from vqa_desk.core.paths import demo_workspace_path
    from vqa_desk.core.workspace import Workspace

    path = path or demo_workspace_path()
    if path.exists():
        try:
            Workspace.open(path).close()
            return path
        except VQADeskError as exc:
            print(f"vqa-desk: the demo workspace could not be opened ({exc}); rebuilding it.", file=sys.stderr)
    print(f"vqa-desk: creating the demo workspace at {path}", file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    with ProgressBar("demo", quiet=False) as bar:
        import_dataset("demo", path, force=True, progress=bar.update, cancel=bar.cancel)
    return path


def has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    if os.environ.get("QT_QPA_PLATFORM", "").startswith(("offscreen", "minimal")):
        return False
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
