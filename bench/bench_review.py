"""The Review pane on a large evaluation: opening it, a curator's rating key (1-4), a label fix.

Builds a synthetic workspace (N test covers, ~5 questions each) with two model runs, opens the Review pane
offscreen, then times the full reload (read on a worker: also the longest time the window stops answering),
one override and one label fix (each re-reads only what it changed).

    .venv/bin/python bench/bench_review.py [--covers 4000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tools.synthetic_ocrvqa import synthetic_workspace
from vqa_desk.core import evaluation
from vqa_desk.core.workspace import Workspace


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--covers", type=int, default=4000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = synthetic_workspace(Path(tmp) / "big.vqadesk", train=10, validation=10, test=args.covers)
        with Workspace.open(path) as ws:
            qa = list(ws.connection.execute(
                "SELECT q.id, q.answer FROM qa q JOIN images i ON i.id = q.image WHERE i.split = 'test'"))
            for model, wrong_every in (("base-model", 3), ("ft:base-model:org::x", 7)):
                run = evaluation.get_or_create_run(ws, provider="openai", model=model)
                evaluation.add_predictions(ws, run.id, [(q, a if i % wrong_every else "wrong", None)
                                                        for i, (q, a) in enumerate(qa)])
        from PySide6.QtCore import QEventLoop, QTimer

        from vqa_desk.gui.app import application
        from vqa_desk.gui.main_window import MainWindow

        app = application()
        win = MainWindow()
        win.open_workspace(path)
        review = win.review
        while review.loading:  # opening the workspace started the first read
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)
        # A full reload: the read runs on a worker; a 10 ms timer on the GUI thread measures how long the
        # window stops answering (the longest gap between its ticks).
        gaps, last = [], [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            gaps.append(now - last[0])
            last[0] = now

        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(tick)
        loop = QEventLoop()
        review.loaded.connect(loop.quit)
        timer.start()
        t0 = time.perf_counter()
        review.reload()
        loop.exec()
        reload_s = time.perf_counter() - t0
        timer.stop()
        tick()
        stall_s = max(gaps)
        review.table.selectRow(0)
        times = []
        for key in (4, 1, 2, 3, 4):
            t0 = time.perf_counter()
            review.override_selected(key)
            times.append(time.perf_counter() - t0)
        fixes = []
        for qa_id, answer in qa[:5]:
            t0 = time.perf_counter()
            win.push_answers([(qa_id, answer, answer + " (fixed)")], "bench: fix a label")
            fixes.append(time.perf_counter() - t0)
        print(f"{len(qa) * 2:,} predictions ({len(qa):,} questions x 2 models)")
        print(f"  full reload {reload_s * 1000:.0f} ms, the window unresponsive for at most {stall_s * 1000:.0f} ms")
        print(f"  one override (rating key) median "
              f"{sorted(times)[len(times) // 2] * 1000:.0f} ms; one label fix median "
              f"{sorted(fixes)[len(fixes) // 2] * 1000:.0f} ms")
        win.close()
        app.processEvents()


if __name__ == "__main__":
    main()
