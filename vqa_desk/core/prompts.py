"""The system prompt of exported examples: our default, and a per-workspace override.

The default is ours, written to the intent of the OpenAI cookbook's VQA prompt (REFERENCE.md §1): the model
sees a book cover and one question, and must answer with the final answer only, in the exact form the labels
use, because fine-tuning rewards precisely that form and the graders compare strings.
"""

from __future__ import annotations

from vqa_desk.core.workspace import Workspace

META_KEY = "system_prompt"

DEFAULT_SYSTEM_PROMPT = """\
You answer questions about a book from a photo of its cover.

Questions ask for the book's title, author, edition, year or genre, or are yes/no questions about what kind \
of book it is. Look at the cover, read the question, and reply with the final answer only: no explanation, \
no restating the question, no extra punctuation or formatting.

- Yes/no questions: reply "Yes" or "No".
- Title: the title exactly as printed on the cover, with its original wording and capitalisation.
- Author: the author's name exactly as printed on the cover. When several authors are listed, give only \
the first.
- Genre or type of book: one short category name, such as "Romance" or "Science & Math".
- Edition or year: just the edition or the year, as printed.

If the cover does not show the answer, give your best single guess in the same form."""


def workspace_system_prompt(ws: Workspace) -> str | None:
    """The override saved in the workspace, or None when it uses the default."""
    value = ws.meta.get(META_KEY)
    return value if isinstance(value, str) and value.strip() else None


def effective_system_prompt(ws: Workspace) -> str:
    return workspace_system_prompt(ws) or DEFAULT_SYSTEM_PROMPT


def set_system_prompt(ws: Workspace, text: str | None) -> None:
    """Save an override in the workspace; None, empty text or the default itself go back to the default."""
    value = None if text is None or not text.strip() or text == DEFAULT_SYSTEM_PROMPT else text
    ws.meta.set(META_KEY, value)
