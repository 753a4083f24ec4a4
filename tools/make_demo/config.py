"""Seed, split sizes, and the folders the generator reads fonts from and writes the demo to."""

from __future__ import annotations

from pathlib import Path

SEED = 20261126
SPLITS: dict[str, int] = {"train": 240, "validation": 80, "test": 120}
SET_NAMES = {"train": "train", "validation": "val", "test": "test"}
URL_PREFIX = "http://ecx.images-amazon.com/images/I/"

REPO_ROOT = Path(__file__).resolve().parents[2]
FONT_DIR = REPO_ROOT / "tools" / "fonts"
# The only place that names the output folder: the default of --out, and the path the generated
# README tells readers to regenerate into.
DEFAULT_OUT = REPO_ROOT / "vqa_desk" / "resources" / "demo"
# How planted.json and the generated README name this generator; the script path keeps working.
GENERATOR = "tools/make_demo.py"
