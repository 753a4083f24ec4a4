"""The evaluation report: one self-contained HTML file (inline CSS and SVG, no scripts, no external assets) and CSVs.

Contents: the cookbook's table (accuracy by model for closed vs open questions, strict vs lenient), accuracy per
question type, the rating distribution per model, flips between the base and the fine-tuned model, label
suspects, and — once humans have overridden some ratings — the judge-vs-human confusion matrix with Cohen's
kappa. Every piece of text that comes from the data (labels, answers, questions, run names) is escaped: labels
come from the wild. CSV cells that a spreadsheet would run as a formula are prefixed with a quote.
"""

from __future__ import annotations

import csv
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vqa_desk import __version__
from vqa_desk.core import evaluation
from vqa_desk.core.fsutil import atomic_file, write_atomic
from vqa_desk.core.grading import (
    COOKBOOK_TYPES,
    RATINGS,
    UNGRADED,
    Agreement,
    FlipSet,
    GradedRow,
    LabelSuspect,
    agreement_for,
    flips_for,
    graded_rows,
    judge_name,
    label_suspects,
    metrics_for,
    opened,
)
from vqa_desk.core.timeutil import utc_now
from vqa_desk.core.workspace import Workspace

SERIES_COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7")
RATING_COLOURS = {"Very Similar": "#2e7d32", "Mostly Similar": "#8bc34a", "Somewhat Similar": "#ffb300",
                  "Incorrect": "#d32f2f", UNGRADED: "#9e9e9e"}
TABLE_LIMIT = 200  # rows per HTML table; the CSVs have all of them


@dataclass
class ReportResult:
    html: Path
    csv_files: list[Path]
    runs: list[str]
    judge: str
    base: str | None
    tuned: str | None
    improved: int
    regressed: int
    suspects: int
    overrides: int
    metrics: dict[str, dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"html": str(self.html), "csv": [str(p) for p in self.csv_files], "runs": self.runs,
                "judge": self.judge, "base": self.base, "tuned": self.tuned, "improved": self.improved,
                "regressed": self.regressed, "label_suspects": self.suspects, "overrides": self.overrides,
                "metrics": self.metrics, "notes": self.notes}


def build_report(ws_or_path: Workspace | str | Path, out_html: str | Path, *, csv_dir: str | Path | None = None,
                 judge: str = "heuristic", base: str | None = None, tuned: str | None = None,
                 run_ids: Iterable[int] | None = None) -> ReportResult:
    """Write the HTML report (and, with ``csv_dir``, the CSVs) for the workspace's graded predictions.

    ``judge`` picks whose ratings are shown ("heuristic" or an LLM judge's model name; grade with it first).
    ``base`` / ``tuned`` name the runs to compare for flips; by default ``grading.pick_pair`` chooses them.
    """
    out_html = Path(out_html)
    grader = judge_name(judge)
    with opened(ws_or_path) as ws:
        rows = graded_rows(ws, judge=grader, run_ids=run_ids)
        if not rows:
            raise evaluation.EvaluationError("There are no predictions to report on. Run 'vqa-desk evaluate' or "
                                             "import predictions with 'vqa-desk grade --predictions FILE' first.")
        metrics = metrics_for(rows)
        flipset = flips_for(rows, base=base, tuned=tuned)
        suspects = label_suspects(ws, rows)
        agree = agreement_for(rows)
        notes = _notes(rows, grader)
        page = _page(ws.path.name, rows, metrics, flipset, suspects, agree, grader, notes)
        write_atomic(out_html, page.encode("utf-8"))
        csv_files: list[Path] = []
        if csv_dir is not None:
            csv_files = write_csvs(Path(csv_dir), rows, metrics, flipset, suspects, agree)
    return ReportResult(html=out_html, csv_files=csv_files, runs=list(metrics), judge=grader, base=flipset.base,
                        tuned=flipset.tuned, improved=len(flipset.improved), regressed=len(flipset.regressed),
                        suspects=len(suspects), overrides=sum(1 for r in rows if r.override is not None),
                        metrics=metrics, notes=notes)


def _notes(rows: Sequence[GradedRow], grader: str) -> list[str]:
    notes = []
    ungraded = sum(1 for r in rows if r.judge_rating is None)
    stale = sum(1 for r in rows if r.stale)
    if ungraded:
        notes.append(f"{ungraded} predictions have no {grader} rating"
                     + (f" ({stale} were graded against an older label or answer)" if stale else "")
                     + f": run 'vqa-desk grade --judge {grader.removeprefix('judge:')}' to rate them.")
    return notes


# ----- HTML ------------------------------------------------------------------------------------------------

def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}%"


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:1100px;color:#222;
padding:0 1em;line-height:1.4}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .55em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#666;font-size:.9em}.chart{margin:.5em 0}
.rating-Very-Similar{background:#e8f5e9}.rating-Mostly-Similar{background:#f1f8e9}
.rating-Somewhat-Similar{background:#fff8e1}.rating-Incorrect{background:#ffebee}
"""


def _page(ws_name: str, rows: Sequence[GradedRow], metrics: dict[str, dict[str, Any]], flipset: FlipSet,
          suspects: Sequence[LabelSuspect], agree: Agreement, grader: str, notes: Sequence[str]) -> str:
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>VQA Desk evaluation report: {esc(ws_name)}</title>", f"<style>{_CSS}</style></head><body>",
        f"<h1>Evaluation report: {esc(ws_name)}</h1>",
        f'<p class="muted">{len(rows)} predictions from {len(metrics)} runs; ratings by {esc(grader)} '
        f"(human overrides count where made). Written {esc(utc_now())} by VQA Desk {esc(__version__)}.</p>",
    ]
    parts += [f'<p class="muted">{esc(n)}</p>' for n in notes]
    parts.append(_section_table(metrics, flipset))
    parts.append(_section_types(metrics))
    parts.append(_section_ratings(metrics))
    parts.append(_section_flips(flipset))
    parts.append(_section_suspects(suspects))
    parts.append(_section_agreement(agree))
    parts.append(_section_method(grader))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _section_table(metrics: dict[str, dict[str, Any]], flipset: FlipSet) -> str:
    head = ("<tr><th>Run</th><th>Model</th><th>Closed, strict</th><th>Closed, lenient</th><th>Open, strict</th>"
            "<th>Open, lenient</th><th>Judge accuracy</th><th>Closed n</th><th>Open n</th></tr>")
    body = []
    for name, m in metrics.items():
        cells = [m["closed_strict"], m["closed_lenient"], m["open_strict"], m["open_lenient"], m["judge_accuracy"]]
        body.append(f"<tr><td>{esc(name)}</td><td>{esc(m['model'])}</td>"
                    + "".join(f'<td class="num">{_fmt(v)}</td>' for v in cells)
                    + f'<td class="num">{m["n_closed"]}</td><td class="num">{m["n_open"]}</td></tr>')
    out = ['<h2 id="accuracy">Accuracy by model: closed vs open, strict vs lenient</h2>',
           f'<table class="cookbook">{head}{"".join(body)}</table>']
    if flipset.base and flipset.tuned and flipset.base in metrics and flipset.tuned in metrics:
        b, t = metrics[flipset.base], metrics[flipset.tuned]
        lines = []
        for kind in ("closed", "open"):
            ft, bl = t[f"{kind}_strict"], b[f"{kind}_lenient"]
            if ft is not None and bl is not None:
                lines.append(f"{kind.capitalize()} questions: fine-tuned {ft:.2f}% (strict) vs base {bl:.2f}% "
                             f"(lenient), {ft - bl:+.2f} points.")
        tl, ts = t["open_lenient"], t["open_strict"]
        if tl is not None and ts is not None:
            lines.append(f"Scored leniently, the fine-tuned model gains {tl - ts:+.2f} more points on open questions.")
        out.append(f'<p>As the cookbook compared them (base = {esc(flipset.base)}, fine-tuned = '
                   f'{esc(flipset.tuned)}): ' + " ".join(esc(x) for x in lines) + "</p>")
    series = [(name, [m["closed_strict"], m["closed_lenient"], m["open_strict"], m["open_lenient"]])
              for name, m in metrics.items()]
    out.append(bar_chart(["Closed, strict", "Closed, lenient", "Open, strict", "Open, lenient"], series,
                         title="Accuracy by model (%)"))
    return "\n".join(out)


def _section_types(metrics: dict[str, dict[str, Any]]) -> str:
    present = [t for t in COOKBOOK_TYPES if any(t in m["by_type"] for m in metrics.values())]
    finer = list(dict.fromkeys(t for m in metrics.values() for t in m["by_question_type"]))
    series = [(name, [m["by_type"].get(t) for t in present]) for name, m in metrics.items()]
    out = ['<h2 id="types">Accuracy by question type</h2>',
           '<p class="muted">Share of graded predictions rated Very Similar or Mostly Similar (overrides count). '
           "Title / Genre / Author / Other are the cookbook's buckets (by exact question text); the lower-case rows "
           "are VQA Desk's finer question types.</p>",
           bar_chart(present, series, title="Accuracy by question type (%)")]
    head = "<tr><th>Type</th>" + "".join(f"<th>{esc(n)}</th>" for n in metrics) + "</tr>"
    body = []
    for t, group in [*((t, "by_type") for t in present), *((t, "by_question_type") for t in finer)]:
        cells = []
        for m in metrics.values():
            value, n = m[group].get(t), m[f"{group}_n"].get(t, 0)
            cells.append(f'<td class="num">{_fmt(value)} <span class="muted">(n={n})</span></td>' if n else "<td></td>")
        body.append(f"<tr><td>{esc(t)}</td>{''.join(cells)}</tr>")
    out.append(f'<table class="types">{head}{"".join(body)}</table>')
    return "\n".join(out)


def _section_ratings(metrics: dict[str, dict[str, Any]]) -> str:
    labels = [*RATINGS, *([UNGRADED] if any(m["ratings"].get(UNGRADED) for m in metrics.values()) else [])]
    bars = [(name, [(r, int(m["ratings"].get(r, 0))) for r in labels]) for name, m in metrics.items()]
    head = "<tr><th>Run</th>" + "".join(f"<th>{esc(r)}</th>" for r in labels) + "</tr>"
    body = "".join(f"<tr><td>{esc(name)}</td>" + "".join(f'<td class="num">{n}</td>' for _, n in counts) + "</tr>"
                   for name, counts in bars)
    return "\n".join(['<h2 id="ratings">Rating distribution</h2>', stacked_bars(bars, labels),
                      f'<table class="ratings">{head}{body}</table>'])


def _section_flips(flipset: FlipSet) -> str:
    out = ['<h2 id="flips">Flips between base and fine-tuned</h2>']
    if flipset.base is None or flipset.tuned is None:
        out.append(f"<p>{esc(flipset.how.capitalize())}.</p>")
        return "\n".join(out)
    out.append(f"<p>Base: <b>{esc(flipset.base)}</b>; fine-tuned: <b>{esc(flipset.tuned)}</b> "
               f'<span class="muted">({esc(flipset.how)})</span>. Of {flipset.compared} questions both answered, '
               f"{len(flipset.improved)} went from wrong to right and {len(flipset.regressed)} from right to wrong "
               "(right = Very Similar or Mostly Similar).</p>")
    for title, items in (("Base wrong, fine-tuned right", flipset.improved),
                         ("Base right, fine-tuned wrong", flipset.regressed)):
        out.append(f"<h3>{esc(title)} ({len(items)})</h3>")
        if not items:
            continue
        rows = "".join(
            f"<tr><td>{f.qa_id}</td><td>{esc(f.image_id)}</td><td>{esc(f.question)}</td><td>{esc(f.truth)}</td>"
            f'<td class="{_rating_class(f.base_rating)}">{esc(f.base_answer)}</td>'
            f'<td class="{_rating_class(f.tuned_rating)}">{esc(f.tuned_answer)}</td></tr>'
            for f in items[:TABLE_LIMIT])
        out.append("<table><tr><th>QA</th><th>Cover</th><th>Question</th><th>Label</th><th>Base answer</th>"
                   f"<th>Fine-tuned answer</th></tr>{rows}</table>")
        if len(items) > TABLE_LIMIT:
            out.append(f'<p class="muted">First {TABLE_LIMIT} of {len(items)}; flips.csv has them all.</p>')
    return "\n".join(out)


def _section_suspects(suspects: Sequence[LabelSuspect]) -> str:
    out = ['<h2 id="suspects">Label suspects</h2>',
           "<p>Open questions where the models agree with each other and with the text printed on the cover, but not "
           f"with the label: {len(suspects)} found. Check these labels before counting the answers as errors.</p>"]
    if suspects:
        rows = "".join(
            f"<tr><td>{s.qa_id}</td><td>{esc(s.image_id)}</td><td>{esc(s.question)}</td><td>{esc(s.label)}</td>"
            f"<td>{esc(s.answer)}</td><td>{esc(s.cover_text)}</td><td>{esc(', '.join(s.runs))}</td></tr>"
            for s in suspects[:TABLE_LIMIT])
        out.append('<table class="suspects"><tr><th>QA</th><th>Cover</th><th>Question</th><th>Label</th>'
                   f"<th>Models' answer</th><th>Cover text</th><th>Runs</th></tr>{rows}</table>")
        if len(suspects) > TABLE_LIMIT:
            out.append(f'<p class="muted">First {TABLE_LIMIT} of {len(suspects)}; label_suspects.csv has them '
                       "all.</p>")
    return "\n".join(out)


def _section_agreement(agree: Agreement) -> str:
    out = ['<h2 id="agreement">Humans vs the judge</h2>']
    if agree.n == 0:
        out.append("<p>No human overrides yet: override ratings in the Review pane (keys 1-4) to measure how often "
                   "people disagree with the judge.</p>")
        return "\n".join(out)
    kappa = "undefined (one rating only)" if agree.kappa is None else f"{agree.kappa:.3f}"
    observed = "n/a" if agree.observed is None else f"{100 * agree.observed:.1f}%"
    out.append(f"<p>{agree.n} overridden predictions: humans kept the judge's rating for {observed}; Cohen's kappa "
               f"<b>{esc(kappa)}</b>. Rows: {esc(agree.judge)}; columns: the newest human rating."
               + (" With so few overrides, read these figures as anecdotes." if agree.n < 20 else "") + "</p>")
    head = "<tr><th>Judge \\ human</th>" + "".join(f"<th>{esc(h)}</th>" for h in RATINGS) + "</tr>"
    body = "".join(f"<tr><th>{esc(j)}</th>"
                   + "".join(f'<td class="num">{agree.matrix[j][h]}</td>' for h in RATINGS) + "</tr>"
                   for j in RATINGS)
    out.append(f'<table class="confusion">{head}{body}</table>')
    return "\n".join(out)


def _section_method(grader: str) -> str:
    items = [
        "Closed questions are those whose label is exactly Yes or No (the cookbook's definition); all others are open.",
        "Strict: the answer equals the label exactly.",
        "Lenient: the cookbook's rule, kept verbatim for comparison — equal ignoring case, or the label contained in "
        "the answer. It is generous: a label \"No\" is found inside \"not\" or \"cannot\", and an empty label inside "
        "every answer.",
        f"Ratings: {grader}. Very Similar and Mostly Similar count as right for judge accuracy, per-type accuracy and "
        "flips; the newest human override replaces the judge's rating.",
        "Base and fine-tuned: a run of an 'ft:' model is the fine-tuned one, compared with the first other run; "
        "without one, the first two runs in the order they were made.",
        "Label suspects: at least two runs give the same answer (case and punctuation aside, verbose replies cut to "
        "their answer), it differs from the label, and the cover's OCR text shows it.",
    ]
    return '<h2 id="method">How the figures are made</h2><ul>' + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"


def _rating_class(rating: str) -> str:
    return f"rating-{rating.replace(' ', '-')}" if rating in RATINGS else ""


# ----- SVG charts ------------------------------------------------------------------------------------------

def bar_chart(categories: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
              title: str = "", width: int = 760, plot_height: int = 190) -> str:
    """Grouped vertical bars, values 0..100, one colour per series; None leaves a gap."""
    left, right, top = 44, 12, 28
    plot_w = width - left - right
    colours = [SERIES_COLOURS[i % len(SERIES_COLOURS)] for i in range(len(series))]
    legend, legend_h = _legend([name for name, _ in series], colours, left, top + plot_height + 30, width - right)
    height = top + plot_height + 30 + legend_h
    parts = [_svg_open(width, height, title),
             f'<text x="{left}" y="18" font-size="14" font-weight="bold">{esc(title)}</text>']
    for tick in range(0, 101, 25):
        y = top + plot_height * (1 - tick / 100)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e0e0e0"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{tick}</text>')
    n_cat, n_ser = max(1, len(categories)), max(1, len(series))
    group_w = plot_w / n_cat
    bar_w = max(2.0, group_w * 0.8 / n_ser)
    for c, category in enumerate(categories):
        x0 = left + c * group_w + group_w * 0.1
        for s, (name, values) in enumerate(series):
            value = values[c] if c < len(values) else None
            if value is None:
                continue
            h = plot_height * max(0.0, min(100.0, value)) / 100
            x, y = x0 + s * bar_w, top + plot_height - h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                         f'fill="{colours[s]}"><title>{esc(name)} — {esc(category)}: {value:.2f}%</title></rect>')
            if bar_w >= 30:  # the value over the bar, where it fits
                parts.append(f'<text x="{x + (bar_w - 1) / 2:.1f}" y="{y - 3:.1f}" font-size="10" '
                             f'text-anchor="middle" fill="#333">{value:.1f}</text>')
        parts.append(f'<text x="{left + (c + 0.5) * group_w:.1f}" y="{top + plot_height + 16}" font-size="12" '
                     f'text-anchor="middle">{esc(category)}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_height}" x2="{width - right}" y2="{top + plot_height}" '
                 'stroke="#444"/>')
    parts += [legend, "</svg>"]
    return "".join(parts)


def stacked_bars(bars: Sequence[tuple[str, Sequence[tuple[str, int]]]], labels: Sequence[str], *,
                 width: int = 760) -> str:
    """One horizontal bar per run, split by rating (shares of the run's predictions)."""
    label_w, right, row_h, top = 250, 16, 26, 10
    plot_w = width - label_w - right
    legend, legend_h = _legend(list(labels), [RATING_COLOURS.get(r, "#999") for r in labels], label_w,
                               top + row_h * len(bars) + 12, width - right)
    height = top + row_h * len(bars) + 12 + legend_h
    parts = [_svg_open(width, height, "Rating distribution per run")]
    for i, (name, counts) in enumerate(bars):
        y = top + i * row_h
        total = sum(n for _, n in counts) or 1
        shown = name if len(name) <= 32 else name[:31] + "…"  # the full name is in the tooltip and the table
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" font-size="12" text-anchor="end">{esc(shown)}'
                     f"<title>{esc(name)}</title></text>")
        x = float(label_w)
        for rating, n in counts:
            if not n:
                continue
            w = plot_w * n / total
            parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                         f'fill="{RATING_COLOURS.get(rating, "#999")}"><title>{esc(name)} — {esc(rating)}: {n} '
                         f"({100 * n / total:.1f}%)</title></rect>")
            if w > 28:
                parts.append(f'<text x="{x + w / 2:.1f}" y="{y + 17}" font-size="11" text-anchor="middle" '
                             f'fill="#fff">{n}</text>')
            x += w
    parts += [legend, "</svg>"]
    return "".join(parts)


def _svg_open(width: int, height: float, label: str) -> str:
    return (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" '
            f'viewBox="0 0 {width} {height:.0f}" role="img" aria-label="{esc(label)}">')


def _legend(names: Sequence[str], colours: Sequence[str], x: float, y: float, max_x: float) -> tuple[str, float]:
    """Swatches and names, wrapped onto more rows when they do not fit; (svg, height used)."""
    parts, cursor, row = [], x, 0
    for name, colour in zip(names, colours, strict=True):
        item_w = 28 + 7 * len(name)  # about 7 px a character at 12 px: no text metrics without a renderer
        if cursor > x and cursor + item_w > max_x:
            cursor, row = x, row + 1
        top = y + row * 18
        parts.append(f'<rect x="{cursor:.1f}" y="{top}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{cursor + 16:.1f}" y="{top + 11}" font-size="12">{esc(name)}</text>')
        cursor += item_w
    return "".join(parts), (row + 1) * 18 + 6 if names else 0


# ----- CSV -------------------------------------------------------------------------------------------------

def _cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading quote (labels come from the wild)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    with atomic_file(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(v) for v in row])
    return path


def _flag(value: bool | None) -> str:
    return "" if value is None else str(int(value))


def write_csvs(folder: Path, rows: Sequence[GradedRow], metrics: dict[str, dict[str, Any]], flipset: FlipSet,
               suspects: Sequence[LabelSuspect], agree: Agreement) -> list[Path]:
    """predictions.csv, metrics.csv, flips.csv, label_suspects.csv (and agreement.csv once overrides exist)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = [_write_csv(folder / "predictions.csv", [
        "run", "model", "prediction_id", "qa_id", "image_id", "question", "question_type", "cookbook_type", "closed",
        "label", "original_label", "answer", "strict", "lenient", "normalized", "judge", "judge_rating",
        "judge_reason", "judge_stale", "override_rating", "override_who", "override_reason", "rating", "acceptable",
    ], ([r.run_name, r.prediction.model, r.id, r.qa_id, r.prediction.image_id, r.prediction.question,
         r.prediction.qtype, r.cookbook_type, _flag(r.closed), r.prediction.truth, r.prediction.original,
         r.prediction.answer, _flag(r.strict), _flag(r.lenient), _flag(r.normalized), r.judge, r.judge_rating or "",
         r.judge_reason, _flag(r.stale), r.override.rating if r.override else "",
         r.override.who if r.override else "", r.override.reason if r.override else "", r.rating or "",
         _flag(r.acceptable)] for r in rows))]
    types = list(dict.fromkeys(t for m in metrics.values() for t in m["by_type"]))
    qtypes = list(dict.fromkeys(t for m in metrics.values() for t in m["by_question_type"]))
    scalar = ["n", "n_closed", "n_open", "closed_strict", "closed_lenient", "open_strict", "open_lenient",
              "closed_normalized", "open_normalized", "judge_accuracy", "overridden"]
    files.append(_write_csv(folder / "metrics.csv",
                            ["run", "model", "judge", *scalar, *(f"rating:{r}" for r in (*RATINGS, UNGRADED)),
                             *(f"type:{t}" for t in types), *(f"question_type:{t}" for t in qtypes)],
                            ([name, m["model"], m["judge"], *(m[k] for k in scalar),
                              *(m["ratings"].get(r, 0) for r in (*RATINGS, UNGRADED)),
                              *(m["by_type"].get(t) for t in types),
                              *(m["by_question_type"].get(t) for t in qtypes)] for name, m in metrics.items())))
    files.append(_write_csv(folder / "flips.csv", [
        "direction", "qa_id", "image_id", "question", "label", "base_run", "base_answer", "base_rating", "tuned_run",
        "tuned_answer", "tuned_rating"],
        ([f.direction, f.qa_id, f.image_id, f.question, f.truth, flipset.base, f.base_answer, f.base_rating,
          flipset.tuned, f.tuned_answer, f.tuned_rating] for f in (*flipset.improved, *flipset.regressed))))
    files.append(_write_csv(folder / "label_suspects.csv", [
        "qa_id", "image_id", "question", "label", "models_answer", "runs", "cover_text", "label_on_cover"],
        ([s.qa_id, s.image_id, s.question, s.label, s.answer, ";".join(s.runs), s.cover_text,
          _flag(s.label_on_cover)] for s in suspects)))
    if agree.n:
        files.append(_write_csv(folder / "agreement.csv", ["judge_rating", *(f"human:{h}" for h in RATINGS)],
                                ([j, *(agree.matrix[j][h] for h in RATINGS)] for j in RATINGS)))
    return files

