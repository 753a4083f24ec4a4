"""The rating scale, the grader names and the exact graders.

Graders (each grade is stored with the grader's name and version, and the label it was graded against):

- ``strict``: ``prediction == truth`` (the cookbook's rule for the fine-tuned model).
- ``lenient``: the cookbook's rule exactly, ``pred.lower() == truth.lower() or truth.lower() in pred.lower()``.
  Kept verbatim so the cookbook's figures can be compared, flaws included: "no" is found inside "not" or
  "cannot", and an empty label is "contained" in every answer. The judges do not have these flaws.
- ``normalized``: exact after case folding, Unicode NFKC and punctuation/whitespace normalisation.
- ``judge:heuristic`` (``heuristic_judge``): offline, the cookbook's four ratings from string similarity
  (verbose answers are cut down to their "Answer:"/"Conclusion:" part first; "Inc.", degrees, articles and
  "and" are minor words).
- ``judge:<model>`` (``llm_judge``): an LLM judge through any OpenAI-compatible client with structured output
  (one object, ``{rating, reason}``), our own prompt, temperature 0. Each call is cached in ``request_cache``
  under ``inference.request_key(provider, model, body)``, so grading again never pays twice.

"Acceptable" (judge accuracy, per-type accuracy, flips) means Very Similar or Mostly Similar.
"""

from __future__ import annotations

import re
import unicodedata

RATINGS = ("Very Similar", "Mostly Similar", "Somewhat Similar", "Incorrect")
ACCEPTABLE = frozenset(RATINGS[:2])
UNGRADED = "Ungraded"
EXACT_GRADERS = ("strict", "lenient", "normalized")
HEURISTIC = "judge:heuristic"


def judge_name(judge: str | None) -> str:
    """'heuristic' -> 'judge:heuristic'; a model name -> 'judge:<model>'; a grader name is kept."""
    judge = (judge or "heuristic").strip()
    if judge.startswith("judge:"):
        return judge
    return f"judge:{judge}"


def norm_text(text: str) -> str:
    """Case, width, punctuation and whitespace folded away: the ``normalized`` grader's form."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w\s]|_", " ", text).split())


_LABEL = re.compile(r"(?i)\b(final answer|conclusion|answer|reasoning|explanation|rationale)\b\s*\**\s*[:：]\s*\**")
_TRIM = " \t\r\n*_#>`\"'“”‘’"


def extract_answer(prediction: str) -> str:
    """The answer part of a verbose reply ("**Answer:** No. **Reasoning:** ..." gives "No.").

    A "Conclusion:" / "Final answer:" section wins (the cookbook's few-shot replies put the answer there),
    then the first non-empty "Answer:" section; a reply without such labels is returned as it is.
    """
    marks = list(_LABEL.finditer(prediction))
    if not marks:
        return prediction.strip()
    sections: list[tuple[str, str]] = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(prediction)
        body = prediction[m.end():end].strip(_TRIM)
        first_line = body.splitlines()[0].strip(_TRIM) if body else ""
        sections.append((m.group(1).lower(), first_line))
    for wanted in (("final answer", "conclusion"), ("answer",)):
        found = [text for kind, text in sections if kind in wanted and text]
        if found:
            return found[-1] if wanted[0] == "final answer" else found[0]
    return prediction.strip()


def strict_correct(truth: str, prediction: str) -> bool:
    return prediction == truth


def lenient_correct(truth: str, prediction: str) -> bool:
    """The cookbook's rule, verbatim (see the module docstring for its known flaws)."""
    return prediction.lower() == truth.lower() or truth.lower() in prediction.lower()


def normalized_correct(truth: str, prediction: str) -> bool:
    return norm_text(prediction) == norm_text(truth)
