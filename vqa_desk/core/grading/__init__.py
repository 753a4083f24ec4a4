"""Grading predictions. Where to look:

- ``graders``: the rating scale, grader names, answer extraction and the exact graders (strict, lenient,
  normalized), with what each grader means.
- ``heuristic_judge``: the offline judge (``judge:heuristic``), ratings from string similarity.
- ``llm_judge``: the LLM judge (``judge:<model>``): prompt, structured verdict, cached concurrent requests.
- ``overrides``: human ratings that beat the judge's (append-only).
- ``graded``: predictions read back with their grades against the current label, and when a grade is stale.
- ``run_metrics``: accuracy per run, by closed/open question and by question type.
- ``judge_vs_human``: the judge's ratings against the overrides: confusion matrix and Cohen's kappa.
- ``base_vs_tuned``: flips, what one run got right and the other wrong.
- ``suspects``: labels that the models and the cover's OCR text agree are wrong.
- ``grade``: ``grade_workspace``, grading every prediction and storing the grades.
- ``predictions_import``: predictions made elsewhere (the cookbook's results, our qa_id lines) as a run.

Each module imports only those listed above it; predictions_import needs none of them. Callers import from
here. No module is named after a function re-exported here, so ``grading.metrics`` stays the function.
"""

# Callers catch these as ``grading.ProviderError`` / ``grading.Cancelled`` (what grading raises).
from vqa_desk.core.errors import Cancelled
from vqa_desk.core.grading.base_vs_tuned import Flip, FlipSet, flips, flips_for, is_fine_tuned, pick_pair
from vqa_desk.core.grading.grade import GradeSummary, grade_workspace
from vqa_desk.core.grading.graded import GradedRow, graded_rows, judges, opened
from vqa_desk.core.grading.graders import (
    ACCEPTABLE,
    EXACT_GRADERS,
    HEURISTIC,
    RATINGS,
    UNGRADED,
    extract_answer,
    judge_name,
    lenient_correct,
    norm_text,
    normalized_correct,
    strict_correct,
)
from vqa_desk.core.grading.heuristic_judge import heuristic_rating
from vqa_desk.core.grading.judge_vs_human import Agreement, agreement, agreement_for, cohen_kappa
from vqa_desk.core.grading.llm_judge import (
    JUDGE_SYSTEM_PROMPT,
    JUDGE_VERSION,
    JudgeStats,
    JudgeVerdict,
    LLMJudge,
    judge_body,
    judge_messages,
    local_verdict,
)
from vqa_desk.core.grading.overrides import Override, override, override_history
from vqa_desk.core.grading.predictions_import import import_predictions
from vqa_desk.core.grading.run_metrics import COOKBOOK_TYPES, metrics, metrics_for
from vqa_desk.core.grading.suspects import LabelSuspect, label_suspects, suspect_ids
from vqa_desk.core.providers import ProviderError

__all__ = [
    "ACCEPTABLE", "COOKBOOK_TYPES", "EXACT_GRADERS", "HEURISTIC", "JUDGE_SYSTEM_PROMPT", "JUDGE_VERSION", "RATINGS",
    "UNGRADED", "Agreement", "Cancelled", "Flip", "FlipSet", "GradeSummary", "GradedRow", "JudgeStats",
    "JudgeVerdict", "LLMJudge", "LabelSuspect", "Override", "ProviderError", "agreement", "agreement_for",
    "cohen_kappa", "extract_answer", "flips", "flips_for", "grade_workspace", "graded_rows", "heuristic_rating",
    "import_predictions", "is_fine_tuned", "judge_body", "judge_messages", "judge_name", "judges",
    "label_suspects", "lenient_correct", "local_verdict", "metrics", "metrics_for", "norm_text",
    "normalized_correct", "opened", "override", "override_history", "pick_pair", "strict_correct", "suspect_ids",
]
