"""Where VQA Desk keeps user data and settings.

platformdirs gives the per-OS locations; ``VQA_DESK_DATA_DIR`` and ``VQA_DESK_CONFIG_DIR`` override them
(tests point both at a temporary folder so they never touch the user's home).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "vqa-desk"


def data_dir() -> Path:
    override = os.environ.get("VQA_DESK_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    override = os.environ.get("VQA_DESK_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def demo_workspace_path() -> Path:
    return data_dir() / "demo.vqadesk"


def hf_cache_dir() -> Path:
    """Our own cache for hub downloads, so a sample never fills the user's default Hugging Face cache."""
    return data_dir() / "hf-cache"
