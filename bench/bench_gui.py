"""GUI benchmark on a synthetic OCR-VQA-sized workspace (207k covers, ~1M QA pairs), rendered offscreen.

Prints: open -> first painted grid; the longest GUI-thread stall while scrolling the grid from top to bottom
(a 5 ms timer measures how late it fires); filter / search latency over all covers and QA pairs; search index
build time (on a worker); peak RSS. Targets (issue 3): first paint < 2 s, stall < 50 ms, filter < 300 ms,
peak RSS < 1.5 GB.

    .venv/bin/python bench/bench_gui.py              # 207,549 covers
    .venv/bin/python bench/bench_gui.py --covers 20000
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_import import FULL, build_source


def ensure_workspace(work: Path, n: int) -> Path:
    from vqa_desk.core.importer import import_dataset
    from vqa_desk.core.sampling import parse_sizes

    ws = work / f"gui-{n}.vqadesk"
    if not ws.exists():
        t = time.perf_counter()
        import_dataset(str(build_source(work, n)), ws, sizes=parse_sizes("all,all,all"))
        print(f"built {ws} in {time.perf_counter() - t:.1f} s")
    return ws


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--covers", type=int, default=sum(FULL.values()))
    parser.add_argument("--work", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("VQA_DESK_CONFIG_DIR", str(args.work / "config"))  # never the user's settings
    ws_path = ensure_workspace(args.work, args.covers)

    from PySide6.QtCore import QElapsedTimer, QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from vqa_desk.core.browse import CoverFilter
    from vqa_desk.gui.main_window import MainWindow

    app = QApplication([])
    painted: list[float] = []

    class PaintProbe(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not painted:
                painted.append(time.perf_counter())
            return False

    t0 = time.perf_counter()
    window = MainWindow(persist=False)
    window.resize(1400, 860)
    probe = PaintProbe()
    window.browser.grid.viewport().installEventFilter(probe)
    window.show()
    window.open_workspace(ws_path)
    while not painted:
        app.processEvents()
    first_paint = painted[0] - t0
    n_rows = window.model.rowCount()
    n_qa = window.session.ws.connection.execute("SELECT count(*) FROM qa").fetchone()[0]

    t = time.perf_counter()
    while window.session.index.search is None:
        app.processEvents()
        time.sleep(0.005)
    index_s = time.perf_counter() - t

    # Scroll through the whole grid while a 5 ms timer measures how late the event loop gets to it.
    lags: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def tick() -> None:
        now = clock.elapsed()
        lags.append(now - last[0] - 5)
        last[0] = now

    probe_timer = QTimer(interval=5)
    probe_timer.timeout.connect(tick)
    bar = window.browser.grid.verticalScrollBar()
    steps = 300
    scroll_timer = QTimer(interval=16)
    position = [0]

    def scroll() -> None:
        position[0] += 1
        bar.setValue(bar.maximum() * position[0] // steps)
        if position[0] >= steps:
            scroll_timer.stop()

    scroll_timer.timeout.connect(scroll)
    probe_timer.start()
    scroll_timer.start()
    t = time.perf_counter()
    while scroll_timer.isActive():
        app.processEvents()
    scroll_s = time.perf_counter() - t
    probe_timer.stop()

    def timed_filter(f: CoverFilter) -> tuple[float, int]:
        t = time.perf_counter()
        window.model.set_filter(f)
        app.processEvents()  # includes the view's relayout
        return time.perf_counter() - t, window.model.rowCount()

    filters = {
        "search 'author 5'": CoverFilter(text="author 5"),
        "search 'number 12345'": CoverFilter(text="number 12345"),
        "split=test": CoverFilter(split="test"),
        "type=genre, edited": CoverFilter(qtype="genre", edited=False),
        "no filter": CoverFilter(),
    }
    results = {name: timed_filter(f) for name, f in filters.items()}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    window.close()

    print(f"workspace: {n_rows:,} covers, {n_qa:,} QA pairs")
    print(f"open -> first painted grid: {first_paint * 1000:7.0f} ms   (target < 2000)")
    print(f"search index build (worker): {index_s * 1000:6.0f} ms")
    print(f"scroll top->bottom, {steps} steps in {scroll_s:.1f} s: longest GUI stall {max(lags):.0f} ms, "
          f"p99 {sorted(lags)[int(len(lags) * 0.99)]:.0f} ms   (target < 50)")
    for name, (secs, rows) in results.items():
        print(f"filter {name:<24} {secs * 1000:6.0f} ms  -> {rows:,} covers   (target < 300)")
    print(f"peak RSS: {peak:.0f} MiB   (target < 1536)")


if __name__ == "__main__":
    main()
