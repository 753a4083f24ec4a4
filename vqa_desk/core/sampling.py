"""Sampling with the semantics of ``datasets``: ``ds.shuffle(seed=s).select(range(n))``.

``Dataset.shuffle(seed)`` draws ``numpy.random.default_rng(seed).permutation(len(ds))``; ``select(range(n))``
keeps its first n entries. Reproducing that here lets us sample a 9 GB parquet folder as a stream and still
get exactly the rows the cookbook got from the hub (a test checks it against ``datasets`` itself).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vqa_desk.core.errors import SamplingError

DEFAULT_SIZES: dict[str, int | None] = {"train": 150, "validation": 50, "test": 100}
DEFAULT_SEED = 42
ALL = None  # a size of None means the whole split, in shuffled order


@dataclass(frozen=True)
class SplitSample:
    """Which source rows a split's sample takes, and each row's position (rank) in the sample."""

    rows_sorted: np.ndarray  # ascending source row indices, for one streaming pass
    rank_of_row: dict[int, int]


def parse_sizes(text: str) -> dict[str, int | None]:
    """``"150,50,100"`` -> train/validation/test sizes; ``all`` (or ``*``) takes a whole split."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3 or any(p == "" for p in parts):
        raise SamplingError(
            f"--sizes needs three comma-separated values for train, validation and test (got {text!r}); "
            "for example 150,50,100 or all,all,all."
        )
    sizes: dict[str, int | None] = {}
    for split, part in zip(("train", "validation", "test"), parts, strict=True):
        if part.lower() in ("all", "*"):
            sizes[split] = ALL
            continue
        try:
            n = int(part)
        except ValueError:
            raise SamplingError(f"--sizes: {part!r} for {split} is not a whole number or 'all'.") from None
        if n < 0:
            raise SamplingError(f"--sizes: {split} size must be 0 or more (got {n}).")
        sizes[split] = n
    return sizes


def sample_rows(split: str, num_rows: int, size: int | None, seed: int) -> SplitSample:
    """The rows ``shuffle(seed).select(range(size))`` would pick from a split of ``num_rows`` rows."""
    if size is not None and size > num_rows:
        raise SamplingError(
            f"The {split} split has {num_rows} covers but {size} were asked for. Ask for at most {num_rows}, "
            "or 'all' to take the whole split (for example --sizes all,all,all)."
        )
    permutation = np.random.default_rng(seed).permutation(num_rows)
    chosen = permutation if size is None else permutation[:size]
    return SplitSample(np.sort(chosen), {int(row): rank for rank, row in enumerate(chosen)})
