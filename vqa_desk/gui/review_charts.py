"""The Review pane's two charts: accuracy by question type, and the ratings each model got."""

from __future__ import annotations

from typing import Any

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QHorizontalStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from vqa_desk.core import grading
from vqa_desk.gui.review_table import RATING_COLORS, short_run_name


def fill_type_chart(chart: QChart, stats: dict[str, dict[str, Any]]) -> None:
    chart.removeAllSeries()
    for axis in chart.axes():
        chart.removeAxis(axis)
    types = sorted({t for s in stats.values() for t in s.get("by_type", {}) if t in ("Title", "Author", "Genre",
                                                                                     "Other")})
    series = QBarSeries()
    for name, s in stats.items():
        bar = QBarSet(short_run_name(name))
        for t in types:
            bar.append(float(s["by_type"].get(t) or 0.0))
        series.append(bar)
    chart.addSeries(series)
    x, y = QBarCategoryAxis(), QValueAxis()
    x.append(types)
    y.setRange(0, 100)
    chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
    chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
    series.attachAxis(x)
    series.attachAxis(y)


def fill_rating_chart(chart: QChart, stats: dict[str, dict[str, Any]]) -> None:
    chart.removeAllSeries()
    for axis in chart.axes():
        chart.removeAxis(axis)
    series = QHorizontalStackedBarSeries()
    names = list(stats)
    for rating in grading.RATINGS:
        bar = QBarSet(rating)
        bar.setColor(QColor(RATING_COLORS[rating]).darker(115))
        for name in names:
            bar.append(float(stats[name].get("ratings", {}).get(rating, 0)))
        series.append(bar)
    chart.addSeries(series)
    y = QBarCategoryAxis()
    y.append([short_run_name(n) for n in names])
    x = QValueAxis()
    chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
    chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
    series.attachAxis(y)
    series.attachAxis(x)
