"""Score the label checks against the demo generator's manifest of planted problems.

A change is correct when it touches a planted QA pair and sets exactly the planted truth. Precision is per
finding kind, over changes of findings that are not merely "possible"; recall is per planted kind: the share
of planted problems that some confident finding fixes exactly. Used by tests/core/test_checks_demo.py and
bench/eval_checks.py.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from vqa_desk.core.checks import CheckRun, run_checks
from vqa_desk.core.dataset import demo_dir
from vqa_desk.core.workspace import Workspace

IMAGE_KINDS = {"truncated_jpeg", "cmyk_jpeg", "palette_transparency", "placeholder_gif", "la_png", "i16_png",
               "exif_orientation", "not_an_image"}


@dataclass
class Score:
    correct: int = 0
    total: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.correct / self.total if self.total else 1.0


@dataclass
class Evaluation:
    run: CheckRun
    precision: dict[str, Score]
    recall: dict[str, Score]
    decoy_merges: list[str]


def evaluate(ws_path: Path, *, use_ocr: bool) -> Evaluation:
    planted = json.loads((demo_dir() / "planted.json").read_text(encoding="utf-8"))
    truth: dict[tuple[str, str], tuple[str, str]] = {}
    for p in planted["problems"]:
        if p["kind"] not in IMAGE_KINDS and p["question"] is not None:
            truth[(p["image_id"], p["question"])] = (p["kind"], p["truth"])
    with Workspace.open(ws_path) as ws:
        run = run_checks(ws, use_ocr=use_ocr)
    precision: dict[str, Score] = defaultdict(Score)
    fixed: set[tuple[str, str]] = set()
    for f in run.findings:
        for c in f.changes:
            key = (c.image_id, c.question)
            ok = key in truth and truth[key][1] == c.new
            if ok:
                fixed.add(key) if not f.possible else None
            if f.possible:
                continue
            score = precision[f.kind]
            score.total += 1
            score.correct += ok
            if not ok:
                score.misses.append(f"{f.kind}/{f.detail} {c.image_id} {c.question!r}: {c.old!r} -> {c.new!r}"
                                    + (f" (truth {truth[key][1]!r})" if key in truth else " (not planted)"))
    recall: dict[str, Score] = defaultdict(Score)
    for key, (kind, value) in truth.items():
        score = recall[kind]
        score.total += 1
        if key in fixed:
            score.correct += 1
        else:
            score.misses.append(f"{kind} {key[0]} {key[1]!r} -> {value!r}")
    decoy_names = [set(d["names"]) for d in planted["decoys"]]
    merges = [f"{c.old!r} -> {c.new!r} ({f.detail}, {f.confidence})" for f in run.findings for c in f.changes
              if any(c.old in names and c.new in names and c.old != c.new for names in decoy_names)]
    return Evaluation(run, dict(precision), dict(recall), merges)
