#!/usr/bin/env python3
"""``python tools/make_demo.py [--out DIR]``, the path the README, planted.json and the tests name.

The generator is the package ``tools/make_demo/`` (``python -m tools.make_demo`` runs the same).
Run as a script, only ``tools/`` is on ``sys.path``, so the repository root goes first to reach it.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.make_demo.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
