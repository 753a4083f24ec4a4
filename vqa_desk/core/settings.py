"""User settings: a small versioned JSON file in the config folder, written atomically."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vqa_desk.core.fsutil import write_atomic
from vqa_desk.core.paths import config_dir

SETTINGS_VERSION = 1
_MAX_RECENT = 10


@dataclass
class Settings:
    last_workspace: str | None = None
    recent_workspaces: list[str] = field(default_factory=list)

    def remember(self, workspace: Path) -> None:
        path = str(Path(workspace).resolve())
        self.last_workspace = path
        self.recent_workspaces = [path, *[p for p in self.recent_workspaces if p != path]][:_MAX_RECENT]


def settings_path() -> Path:
    return config_dir() / "settings.json"


def load_settings() -> Settings:
    """Read the settings; a missing, unreadable or newer file gives defaults rather than stopping the app."""
    try:
        raw: dict[str, Any] = json.loads(settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
    if not isinstance(raw, dict) or raw.get("version", 0) > SETTINGS_VERSION:
        return Settings()
    known = {k: raw[k] for k in ("last_workspace", "recent_workspaces") if k in raw}
    try:
        return Settings(**known)
    except TypeError:
        return Settings()


def save_settings(settings: Settings) -> None:
    payload = {"version": SETTINGS_VERSION, **asdict(settings)}
    write_atomic(settings_path(), json.dumps(payload, indent=2))
