"""Findings in the workspace: storing a check run, listing, applying, reverting and dismissing.

A finding is identified by its key (kind + the QA pairs it is about). Re-running the checks replaces open
findings with the new run's, keeps applied and dismissed ones as history, and never re-opens a dismissed
finding: a curator who said "this is right" is not asked again.

Applying writes the answers through ``Workspace.set_answers`` (audited, source ``check:<kind>``) and marks
the findings applied in the same transaction; reverting (the GUI's undo) does the reverse the same way.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vqa_desk.core.checks import KINDS, POSSIBLE, TITLE_POLICY_KEY, Change, CheckRun, Finding, TitlePolicy, run_checks
from vqa_desk.core.errors import VQADeskError
from vqa_desk.core.ocr import run_ocr
from vqa_desk.core.progress import ProgressFn
from vqa_desk.core.timeutil import utc_now
from vqa_desk.core.workspace import AnswerChange, Edit, Workspace


class FindingError(VQADeskError):
    """A finding cannot be applied or changed as asked."""


@dataclass(frozen=True)
class StoreSummary:
    open: int
    new: int
    kept_dismissed: int
    resolved: int  # open findings of the last run that no longer appear


def store_run(ws: Workspace, run: CheckRun) -> StoreSummary:
    now = utc_now()
    c = ws.connection
    with ws.transaction():
        old = {key: (fid, status) for fid, key, status in c.execute("SELECT id, key, status FROM findings")}
        seen: set[str] = set()
        new = kept = 0
        for f in run.findings:
            seen.add(f.key)
            if f.key in old:
                fid, status = old[f.key]
                if status != "open":
                    kept += status == "dismissed"
                    continue  # applied or dismissed: history, not a new question
                c.execute("UPDATE findings SET kind=?, detail=?, confidence=?, summary=?, evidence=?, changes=?, "
                          "updated_at=? WHERE id=?", (*_columns(f), now, fid))
                c.execute("DELETE FROM finding_images WHERE finding = ?", (fid,))
            else:
                cur = c.execute("INSERT INTO findings(key, kind, detail, confidence, summary, evidence, changes, "
                                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                (f.key, *_columns(f), now, now))
                fid = int(cur.lastrowid or 0)
                new += 1
            c.executemany("INSERT OR IGNORE INTO finding_images(finding, image) VALUES (?, ?)",
                          [(fid, pk) for pk in f.image_pks])
        stale = [fid for key, (fid, status) in old.items() if status == "open" and key not in seen]
        c.executemany("DELETE FROM findings WHERE id = ?", [(fid,) for fid in stale])
        ws.meta.set_in_transaction("last_check", {"at": now, "cover_text": run.cover_text,
                                                  "covers_with_text": run.covers_with_text,
                                                  "policy": run.policy.value})
    open_count = c.execute("SELECT count(*) FROM findings WHERE status = 'open'").fetchone()[0]
    return StoreSummary(open_count, new, kept, len(stale))


def _columns(f: Finding) -> tuple[str, str, float, str, str, str]:
    return (f.kind, f.detail, f.confidence, f.summary, json.dumps(f.evidence, ensure_ascii=False),
            json.dumps([c.__dict__ for c in f.changes], ensure_ascii=False))


def load(ws: Workspace, *, status: str | None = None, kind: str | None = None,
         ids: Iterable[int] | None = None) -> list[Finding]:
    sql = ("SELECT id, key, kind, detail, confidence, summary, evidence, changes, status, reason FROM findings "
           "WHERE 1=1")
    args: list[object] = []
    if status is not None:
        sql += " AND status = ?"
        args.append(status)
    if kind is not None:
        sql += " AND kind = ?"
        args.append(kind)
    id_list = list(ids) if ids is not None else None
    if id_list is not None:
        sql += f" AND id IN ({','.join('?' * len(id_list))})"
        args.extend(id_list)
    out = []
    for fid, key, kind_, detail, conf, summary, evidence, changes, status_, reason in ws.connection.execute(
            sql + " ORDER BY kind, confidence DESC, id", args):
        change_list = [Change(**c) for c in json.loads(changes)]
        images = [pk for (pk,) in ws.connection.execute("SELECT image FROM finding_images WHERE finding = ?", (fid,))]
        out.append(Finding(key, kind_, detail, conf, summary, json.loads(evidence), change_list, images, status_,
                           reason, fid))
    return out


def counts_by_image(ws: Workspace) -> dict[int, int]:
    """Open findings per cover, for the browser's badges."""
    return dict(ws.connection.execute(
        "SELECT fi.image, count(*) FROM finding_images fi JOIN findings f ON f.id = fi.finding "
        "WHERE f.status = 'open' GROUP BY fi.image"))


def select_for_apply(ws: Workspace, *, kind: str = "all", min_confidence: float = 0.9) -> list[Finding]:
    """Open findings that bulk apply would take: with changes, at or above the confidence, never "possible"."""
    floor = max(min_confidence, POSSIBLE)
    return [f for f in load(ws, status="open", kind=None if kind == "all" else kind)
            if f.changes and f.confidence >= floor]


def apply(ws: Workspace, ids: list[int], *, source: str = "check") -> list[Edit]:
    """Apply the suggested answers of open findings as one audited transaction."""
    findings = load(ws, ids=ids)
    if len(findings) != len(set(ids)):
        raise FindingError("Some of these findings no longer exist; run the checks again.")
    not_open = [f.id for f in findings if f.status != "open"]
    if not_open:
        raise FindingError(f"Findings {not_open} are not open (already applied or dismissed).")
    changes = _merge_changes(findings, use_new=True)
    _ensure_current(ws, findings)
    kinds = sorted({f.kind for f in findings})
    reason = findings[0].summary if len(findings) == 1 else f"{len(findings)} findings: {', '.join(kinds)}"
    return ws.set_answers(changes, reason=reason, source=f"{source}:{'+'.join(kinds)}",
                          also=lambda c: _set_status(c, ids, "applied"))


def revert(ws: Workspace, ids: list[int], *, source: str = "user:undo") -> list[Edit]:
    """Undo ``apply``: the old answers back and the findings open again, in one transaction."""
    findings = load(ws, ids=ids)
    changes = _merge_changes(findings, use_new=False)
    return ws.set_answers(changes, reason="undo: apply findings", source=source,
                          also=lambda c: _set_status(c, ids, "open"))


def dismiss(ws: Workspace, ids: list[int], reason: str) -> None:
    if not reason.strip():
        raise FindingError("Say why the finding is dismissed (for example: 'the cover really says this').")
    with ws.transaction() as c:
        _set_status(c, ids, "dismissed", reason.strip())


def reopen(ws: Workspace, ids: list[int]) -> None:
    with ws.transaction() as c:
        _set_status(c, ids, "open", "")


def _set_status(c: sqlite3.Connection, ids: list[int], status: str, reason: str | None = None) -> None:
    now = utc_now()
    if reason is None:
        c.executemany("UPDATE findings SET status = ?, updated_at = ? WHERE id = ?", [(status, now, i) for i in ids])
    else:
        c.executemany("UPDATE findings SET status = ?, reason = ?, updated_at = ? WHERE id = ?",
                      [(status, reason, now, i) for i in ids])


def _merge_changes(findings: list[Finding], *, use_new: bool) -> list[AnswerChange]:
    wanted: dict[int, str] = {}
    for f in findings:
        for ch in f.changes:
            value = ch.new if use_new else ch.old
            if ch.qa_id in wanted and wanted[ch.qa_id] != value:
                raise FindingError(
                    f"Two selected findings want different answers for '{ch.question}' on {ch.image_id} "
                    f"('{wanted[ch.qa_id]}' and '{value}'); apply them one at a time.")
            wanted[ch.qa_id] = value
    return [AnswerChange(qa, value) for qa, value in wanted.items()]


def _ensure_current(ws: Workspace, findings: list[Finding]) -> None:
    """Refuse to apply a suggestion made for an answer that has changed since the check ran."""
    stale = [f"{ch.image_id} '{ch.question}'" for f in findings for ch in f.changes
             if ws.qa(ch.qa_id).answer not in (ch.old, ch.new)]
    if stale:
        raise FindingError(f"These answers changed after the checks ran: {', '.join(stale[:5])}. "
                           "Run the checks again before applying.")


@dataclass(frozen=True)
class CheckReport:
    """What one "run the checks" did, for the CLI and the GUI alike."""

    counts: dict[str, int]  # open findings per kind after the run
    stored: StoreSummary
    cover_text: bool
    covers_with_text: int
    policy: str
    ocr_read: int
    ocr_cached: int
    ocr_failed: dict[str, str]


def check_and_store(path: Path, *, use_ocr: bool, policy: str | None = None, progress: ProgressFn | None = None,
                    cancel: threading.Event | None = None) -> CheckReport:
    """OCR the covers that need it (when ``use_ocr``), run every check, and store the findings."""
    ocr_read, ocr_cached, ocr_failed = 0, 0, {}
    if use_ocr:
        ocr = run_ocr(path, progress=progress, cancel=cancel)
        ocr_read, ocr_cached, ocr_failed = ocr.read, ocr.skipped_cached, ocr.failed
    with Workspace.open(path) as ws:
        if policy is not None:
            ws.meta.set(TITLE_POLICY_KEY, TitlePolicy(policy).value)
        run = run_checks(ws, use_ocr=use_ocr)
        stored = store_run(ws, run)
        counts = dict.fromkeys(KINDS, 0)
        for kind, n in ws.connection.execute(
                "SELECT kind, count(*) FROM findings WHERE status = 'open' GROUP BY kind"):
            counts[kind] = n
    return CheckReport(counts, stored, run.cover_text, run.covers_with_text, run.policy.value, ocr_read, ocr_cached,
                       ocr_failed)
