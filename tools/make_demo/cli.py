"""Command line: ``python -m tools.make_demo [--out DIR]`` (``python tools/make_demo.py`` runs the same)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from . import __doc__ as package_doc
from .config import DEFAULT_OUT
from .generate import generate


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=package_doc.splitlines()[0] if package_doc else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    generate(args.out)
    total = sum(f.stat().st_size for f in args.out.iterdir() if f.is_file())
    print(f"wrote {args.out} ({total / 1e6:.2f} MB)")
    return 0
