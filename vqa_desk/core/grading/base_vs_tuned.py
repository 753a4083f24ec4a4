"""Base vs fine-tuned: the questions one run got right and the other wrong, and how the pair is chosen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vqa_desk.core.grading.graded import GradedRow, graded_rows
from vqa_desk.core.workspace import Workspace


@dataclass(frozen=True)
class Flip:
    direction: str  # improved (base wrong, fine-tuned right) | regressed (the reverse)
    qa_id: int
    image_id: str
    question: str
    truth: str
    base_answer: str
    tuned_answer: str
    base_rating: str
    tuned_rating: str


@dataclass(frozen=True)
class FlipSet:
    base: str | None  # run names
    tuned: str | None
    how: str  # how the pair was chosen
    improved: list[Flip]
    regressed: list[Flip]
    compared: int = 0  # QA pairs both runs answered (and both were graded)

    @property
    def improved_ids(self) -> set[int]:
        return {f.qa_id for f in self.improved}

    @property
    def regressed_ids(self) -> set[int]:
        return {f.qa_id for f in self.regressed}

    @property
    def qa_ids(self) -> set[int]:
        return self.improved_ids | self.regressed_ids


def is_fine_tuned(model: str) -> bool:
    return model.startswith("ft:")


def pick_pair(runs: Sequence[tuple[str, str]]) -> tuple[str, str, str] | None:
    """(base run, fine-tuned run, why) from (run name, model) in run order.

    A model named ``ft:...`` (OpenAI's and the sandbox's fine-tuned names) is fine-tuned: the first such run
    against the first other run. Without one (Azure deployments have free names), the first two runs are
    taken as base and fine-tuned, in that order. Callers can name the pair instead.
    """
    tuned = [name for name, model in runs if is_fine_tuned(model)]
    base = [name for name, model in runs if not is_fine_tuned(model)]
    if tuned and base:
        return base[0], tuned[0], "the first run of an 'ft:' model against the first other run"
    if len(runs) >= 2:
        return runs[0][0], runs[1][0], "no single 'ft:' model to go by: the first two runs, in the order they were made"
    return None


def flips_for(rows: Sequence[GradedRow], *, base: str | None = None, tuned: str | None = None) -> FlipSet:
    runs = sorted({(r.prediction.run_id, r.run_name, r.prediction.model) for r in rows})
    named = [(name, model) for _, name, model in runs]
    how = "named by the caller"
    if base is None or tuned is None:
        picked = pick_pair(named)
        if picked is None:
            return FlipSet(None, None, "fewer than two runs: nothing to compare", [], [])
        base, tuned, how = base or picked[0], tuned or picked[1], picked[2]
    by_run: dict[str, dict[int, GradedRow]] = {}
    for r in rows:
        by_run.setdefault(r.run_name, {})[r.qa_id] = r
    b, t = by_run.get(base, {}), by_run.get(tuned, {})
    improved, regressed, compared = [], [], 0
    for qa_id in sorted(set(b) & set(t)):
        rb, rt = b[qa_id], t[qa_id]
        if rb.acceptable is None or rt.acceptable is None:
            continue
        compared += 1
        if rb.acceptable == rt.acceptable:
            continue
        p = rt.prediction
        flip = Flip("improved" if rt.acceptable else "regressed", qa_id, p.image_id, p.question, p.truth,
                    rb.prediction.answer, p.answer, rb.rating or "", rt.rating or "")
        (improved if rt.acceptable else regressed).append(flip)
    return FlipSet(base, tuned, how, improved, regressed, compared)


def flips(ws: Workspace, *, judge: str = "heuristic", base: str | None = None, tuned: str | None = None) -> FlipSet:
    return flips_for(graded_rows(ws, judge=judge), base=base, tuned=tuned)
