"""Drive the real main window and measure GUI-thread stalls (run by bench/bench_gui.py in its own process).

``python -m bench.gui_probe --scan-dir DIR --out FILE`` with ``SHOEBOX_HOME``
pointing at a library (a throwaway copy: this scans into it) and
``QT_QPA_PLATFORM=offscreen``.

A 5 ms precise ``QTimer`` on the GUI thread records the gap between ticks; a
gap of X ms means the event loop could not run for about X ms. A watchdog
thread samples the GUI thread's Python stack whenever a tick is 40 ms late,
so each stall is reported with the code it was in.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, Qt, QTimer  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop.gui.app.application import build_main_window, check_pyside_refcounts, process_age_ms  # noqa: E402

STALL_MS = 50.0
SAMPLE_LATE_MS = 40.0
LONG_LATE_MS = 150.0  # stalls this long also record what every other thread was doing
OTHER_THREADS = os.environ.get("SHOEBOX_PROBE_OTHER_THREADS") == "1"


def rss_mb(field: str = "VmRSS") -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return -1.0


class GcMeter:
    """Records every garbage collection (start, generation, ms): a full collection of a big heap can stall the GUI."""

    def __init__(self) -> None:
        import gc

        self.events: list[tuple[float, int, float]] = []
        self._t = 0.0
        gc.callbacks.append(self._cb)

    def _cb(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        else:
            self.events.append(
                (self._t, int(info.get("generation", -1)), (time.perf_counter() - self._t) * 1000)
            )

    def stats(self, t0: float, t1: float) -> dict[str, Any]:
        ev = [(g, ms) for t, g, ms in self.events if t0 <= t < t1]
        out: dict[str, Any] = {}
        for gen in (0, 1, 2):
            times = [ms for g, ms in ev if g == gen]
            if times:
                out[f"gen{gen}"] = {"count": len(times), "max_ms": round(max(times), 1)}
        return out


class StallMeter:
    """Ticks every 5 ms on the GUI thread; keeps (time, gap) of every tick and stack samples of long gaps."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.ticks: list[tuple[float, float]] = []  # (time of tick, gap since previous) in seconds
        self.sched: list[tuple[float, float]] = []  # the GUI thread's (CPU ms, run-queue ms) at each tick
        self.last = time.perf_counter()
        self.running = False
        self.gui_ident = threading.get_ident()
        self.samples: list[tuple[float, float, list[str]]] = []  # (stall start, late by ms, stack)
        self._sampled_at = 0.0
        self._sampled_late = 0.0
        self._long_sampled_at = 0.0
        # long stalls: what every other thread was doing (who held the GIL)
        self.long_samples: list[tuple[float, dict[str, list[str]]]] = []
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watchdog, name="stall-watchdog", daemon=True)
        self._watch.start()

    def start(self) -> None:
        self.last = time.perf_counter()
        self.running = True
        self.timer.start()

    def stop(self) -> None:
        self.running = False
        self.timer.stop()

    def close(self) -> None:
        self._stop.set()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.ticks.append((now, now - self.last))
        self.last = now
        self.sched.append(gui_schedstat())

    def _watchdog(self) -> None:
        while not self._stop.wait(0.01):
            if not self.running:
                continue
            last = self.last
            late = (time.perf_counter() - last) * 1000
            # other threads' stacks only when asked: on CPython 3.11, walking the frames of a thread
            # that is inside a comprehension segfaulted the probe (twice in ~10 runs)
            if OTHER_THREADS and late >= LONG_LATE_MS and self._long_sampled_at != last:
                self._long_sampled_at = last
                names = {t.ident: t.name for t in threading.enumerate()}
                others = {
                    names.get(ident, str(ident)): [
                        f"{Path(fs.filename).name}:{fs.lineno} {fs.name}"
                        for fs in traceback.extract_stack(f)[-6:]
                    ]
                    for ident, f in sys._current_frames().items()
                    if ident not in (self.gui_ident, threading.get_ident())
                }
                self.long_samples.append((last, others))
            # a stall is sampled when 40 ms late and then every ~20 ms until it ends
            if late >= SAMPLE_LATE_MS and (self._sampled_at != last or late - self._sampled_late >= 20):
                frame = sys._current_frames().get(self.gui_ident)
                if frame is None:
                    continue
                stack = [
                    f"{Path(fs.filename).name}:{fs.lineno} {fs.name}"
                    for fs in traceback.extract_stack(frame)[-40:]
                ]
                self._sampled_at = last
                self._sampled_late = late
                self.samples.append((last, late, stack))

    def _split(self, t0: float, t1: float) -> list[dict[str, float]]:
        """Where each stall's time went on the GUI thread: running (Python or Qt), waiting for a CPU,
        or neither (asleep: waiting for the GIL or a lock)."""
        out = []
        for i in range(1, min(len(self.ticks), len(self.sched))):
            t, gap = self.ticks[i]
            if not t0 < t <= t1 or gap * 1000 <= STALL_MS:
                continue
            cpu = self.sched[i][0] - self.sched[i - 1][0]
            queued = self.sched[i][1] - self.sched[i - 1][1]
            out.append(
                {
                    "at_s": round(t - t0, 2),
                    "gap_ms": round(gap * 1000, 1),
                    "running_ms": round(cpu, 1),
                    "waiting_for_cpu_ms": round(queued, 1),
                    "asleep_ms": round(max(0.0, gap * 1000 - cpu - queued), 1),
                }
            )
        return out[:12]

    def stats(self, t0: float, t1: float) -> dict[str, Any]:
        gaps = sorted(g * 1000 for t, g in self.ticks if t0 < t <= t1)
        if not gaps:
            return {"ticks": 0}
        worst = sorted(((g * 1000, t) for t, g in self.ticks if t0 < t <= t1), reverse=True)[:5]
        where = Counter()
        stalls: list[dict[str, Any]] = []
        by_start: dict[float, dict[str, Any]] = {}
        for start, late, stack in self.samples:
            if not t0 <= start < t1:
                continue
            gap = next((g * 1000 for t, g in self.ticks if t > start), None)
            if gap is None or gap < STALL_MS:
                continue
            ours = [s for s in stack if not s.startswith(("gui_probe.py", "threading.py", "<frozen"))]
            app = [s for s in ours if not s.startswith("peewee.py")]
            key = (
                " <- ".join(reversed(app[-4:]))
                if app
                else "(in Qt/C++ or waiting for the GIL: no Python frame)"
            )
            if ours and ours[-1].startswith("peewee.py"):
                key += " <- (SQLite query)"
            if start in by_start:  # a later sample of the same stall: where it went on
                by_start[start]["then"].append(
                    f"+{late:.0f} ms: {' <- '.join(reversed(app[-2:])) or '(no Python frame)'}"
                )
                continue
            where[key] += 1
            entry = {
                "at_s": round(start - t0, 2),
                "gap_ms": round(gap, 1),
                "stack": app[-8:] + ours[-1:],
                "then": [],
            }
            by_start[start] = entry
            stalls.append(entry)
        long_stalls = [
            {"at_s": round(start - t0, 2), "other_threads": others}
            for start, others in self.long_samples
            if t0 <= start < t1
        ]
        return {
            "long_stalls_other_threads": long_stalls[:3],
            "seconds": round(t1 - t0, 2),
            "ticks": len(gaps),
            "max_gap_ms": round(gaps[-1], 1),
            "p99_gap_ms": round(gaps[min(len(gaps) - 1, int(len(gaps) * 0.99))], 1),
            "p50_gap_ms": round(gaps[len(gaps) // 2], 1),
            "gaps_over_50ms": sum(1 for g in gaps if g > STALL_MS),
            "gaps_over_16ms": sum(1 for g in gaps if g > 16.7),
            "worst_gaps_ms": [{"at_s": round(t - t0, 2), "gap_ms": round(g, 1)} for g, t in worst],
            "stall_time_split": self._split(t0, t1),
            "stall_sites": dict(where.most_common(8)),
            "stalls": stalls[:12],
        }


class PaintMeter:
    """Times every paint of the grid: wall, the GUI thread's CPU, and its wait for a CPU (Linux
    schedstat). A slow paint with little CPU was waiting: for a core, or for the GIL."""

    def __init__(self, grid: Any) -> None:
        self.paints: list[tuple[float, float, float, float]] = []  # (start, wall ms, cpu ms, runqueue ms)
        self._schedstat = Path(f"/proc/self/task/{threading.get_native_id()}/schedstat")
        original = type(grid).paintEvent

        def timed(event: Any) -> None:
            t0, c0, q0 = time.perf_counter(), time.thread_time(), self._queued_ms()
            original(grid, event)
            wall = (time.perf_counter() - t0) * 1000
            self.paints.append((t0, wall, (time.thread_time() - c0) * 1000, self._queued_ms() - q0))

        grid.paintEvent = timed

    def _queued_ms(self) -> float:
        try:
            return int(self._schedstat.read_text().split()[1]) / 1e6
        except (OSError, IndexError, ValueError):
            return 0.0

    def stats(self, t0: float, t1: float) -> dict[str, Any]:
        ps = [p for p in self.paints if t0 <= p[0] < t1]
        if not ps:
            return {"paints": 0}
        walls = sorted(p[1] for p in ps)
        return {
            "paints": len(ps),
            "wall_p50_ms": round(walls[len(walls) // 2], 2),
            "wall_max_ms": round(walls[-1], 1),
            "slow": [
                {
                    "at_s": round(t - t0, 2),
                    "wall_ms": round(w, 1),
                    "cpu_ms": round(c, 1),
                    "runqueue_ms": round(q, 1),
                }
                for t, w, c, q in ps
                if w > 30
            ][:12],
        }


def gui_schedstat() -> tuple[float, float]:
    """The calling thread's CPU time and run-queue wait so far, in ms (Linux; zeros elsewhere)."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/schedstat", encoding="ascii") as fh:
            run, wait, _ = fh.read().split()
        return int(run) / 1e6, int(wait) / 1e6
    except (OSError, ValueError):
        return 0.0, 0.0


def spin(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(ms), loop.quit)
    loop.exec()


def wait_until(pred: Any, timeout_s: float, poll_ms: int = 20) -> bool:
    end = time.perf_counter() + timeout_s
    while not pred():
        if time.perf_counter() > end:
            return False
        spin(poll_ms)
    return True


class Scroller:
    """Scrolls the grid by ``step`` pixels every 16 ms (a fast, continuous fling)."""

    def __init__(self, grid: Any, step: int = 240) -> None:
        self.grid = grid
        self.step = step
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(16)
        self.timer.timeout.connect(self._scroll)
        self.steps = 0
        self.distance = 0

    def _scroll(self) -> None:
        bar = self.grid.verticalScrollBar()
        before = bar.value()
        bar.setValue(before + self.step)
        if bar.value() == before:  # at the end of what is loaded: go back up a little
            bar.setValue(max(0, before - 20 * self.step))
        self.steps += 1
        self.distance += abs(bar.value() - before)

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scan-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--scroll-s", type=float, default=5.0)
    ap.add_argument("--embed-s", type=float, default=20.0)
    ap.add_argument("--load-timeout-s", type=float, default=180.0)
    a = ap.parse_args()

    check_pyside_refcounts()
    app = QApplication([sys.argv[0]])
    app.setApplicationName("Shoebox")
    from desktop.core.library import Library

    lib = Library()
    meter = StallMeter()
    gcm = GcMeter()
    marks: dict[str, float] = {}
    info: dict[str, Any] = {}
    memory: dict[str, float] = {}

    t_build = time.perf_counter()
    ctx, w = build_main_window(lib, watch=False, smart_search=True)
    paints = PaintMeter(w.grid)
    first: dict[str, float] = {}
    w.grid.first_paint.connect(lambda: first.setdefault("ms", process_age_ms()))
    w.show()
    info["window_size"] = [w.width(), w.height()]
    # as the app does (run_gui): background services start once the grid has painted
    w.grid.first_paint.connect(ctx.start, Qt.ConnectionType.QueuedConnection)
    meter.start()
    marks["startup"] = time.perf_counter()
    wait_until(lambda: "ms" in first, 30)
    info["probe_first_paint_ms"] = round(first.get("ms", -1))
    info["build_window_ms"] = round((time.perf_counter() - t_build) * 1000)
    memory["at_first_paint"] = rss_mb()
    ready = wait_until(lambda: ctx.search_state.state != "checking", a.load_timeout_s)
    wait_until(lambda: ctx.thumbnails.pending() == 0, 20)
    spin(300)
    marks["startup_end"] = time.perf_counter()
    info["search_state"] = ctx.search_state.state
    info["search_message"] = ctx.search_state.message
    info["search_load_s"] = round(marks["startup_end"] - marks["startup"], 1)
    info["search_ready"] = bool(ready and ctx.search_state.ready)
    memory["after_model_and_index_load"] = rss_mb()
    info["columns"] = w.grid.columns()
    info["cell_px"] = w.grid.cell_size()
    info["photos"] = w.model.total_count()

    # ---- (a) scrolling
    grid = w.grid
    scroller = Scroller(grid)
    frames0, thumbs0 = grid.painted_frames, ctx.thumbnails.loaded_count
    marks["scroll"] = time.perf_counter()
    scroller.start()
    spin(int(a.scroll_s * 1000))
    scroller.stop()
    marks["scroll_end"] = time.perf_counter()
    dur = marks["scroll_end"] - marks["scroll"]
    info["scroll"] = {
        "px_per_frame": scroller.step,
        "distance_px": scroller.distance,
        "painted_frames_per_s": round((grid.painted_frames - frames0) / dur, 1),
        "thumbnails_decoded": ctx.thumbnails.loaded_count - thumbs0,
        "rows_loaded": w.model.rowCount(),
    }
    wait_until(lambda: ctx.thumbnails.pending() == 0, 10)
    spin(300)

    # ---- (b) scroll while a scan and then embedding run through the JobRunner
    frames0, thumbs0 = grid.painted_frames, ctx.thumbnails.loaded_count
    scroller2 = Scroller(grid)
    marks["scan"] = time.perf_counter()
    scroller2.start()
    w.scan_flow.add_folders([Path(a.scan_dir)])  # what dropping a folder on the window does

    def _scan_job() -> Any:
        return next((j for j in reversed(ctx.runner.jobs) if j.name.startswith("Scanning")), None)

    wait_until(lambda: _scan_job() is not None, 10)  # the folder is added off the GUI thread first
    scan_job = _scan_job()
    wait_until(lambda: scan_job is None or not scan_job.active, 300)
    marks["scan_end"] = time.perf_counter()
    info["scan"] = {
        "state": getattr(scan_job, "state", None),
        "result": getattr(getattr(scan_job, "result", None), "added", None),
        "seconds": round(marks["scan_end"] - marks["scan"], 1),
    }
    # the window starts embedding when the scan is done (ctx.start_embedding)
    wait_until(lambda: ctx._embed_job is not None, 5)
    embed_job = ctx._embed_job

    def _embedding() -> bool:
        p = getattr(embed_job, "last_progress", None)
        return p is not None and p.done > 0

    # the model starts in its own process first (seconds); then photos are embedded
    if embed_job is not None:
        wait_until(lambda: _embedding() or not embed_job.active, 120)
    marks["embed"] = time.perf_counter()
    info["embedding_start_s"] = round(marks["embed"] - marks["scan_end"], 1)
    t_emb = time.perf_counter()
    if embed_job is not None:
        wait_until(lambda: not embed_job.active or time.perf_counter() - t_emb > a.embed_s, a.embed_s + 5)
    marks["embed_end"] = time.perf_counter()
    scroller2.stop()
    emb_progress = getattr(embed_job, "last_progress", None) if embed_job is not None else None
    info["embedding"] = {
        "started": embed_job is not None,
        "state": getattr(embed_job, "state", None),
        "progress": emb_progress.describe() if emb_progress is not None else None,
        "done": getattr(emb_progress, "done", None),
        "seconds_measured": round(marks["embed_end"] - marks["embed"], 1),
        "not_started_reason": None if embed_job is not None else ctx.search_state.message,
    }
    info["scroll_during_background"] = {
        "painted_frames_per_s": round(
            (grid.painted_frames - frames0) / (marks["embed_end"] - marks["scan"]), 1
        ),
        "thumbnails_decoded": ctx.thumbnails.loaded_count - thumbs0,
        "distance_px": scroller2.distance,
    }
    if embed_job is not None and embed_job.active:
        embed_job.cancel()
    wait_until(lambda: not ctx.runner.active_jobs(), 60)
    memory["after_scan_and_embedding"] = rss_mb()
    spin(500)

    # ---- (c) typing searches char by char
    queries = ["camera:canon after:2018 red car", "tag:family beach sunset", "dog in the snow"]
    edit = w.search_bar.edit
    edit.setFocus()
    resets: list[float] = []
    w.model.modelReset.connect(lambda: resets.append(time.perf_counter()))
    marks["search"] = time.perf_counter()
    for q in queries:
        for ch in q:
            QTest.keyClick(edit, ch)
            spin(400 if ch == " " else 110)  # a pause between words lets the debounce fire
        spin(1500)
        info.setdefault("search_results", []).append(
            {"query": q, "grid_title": w.model.title, "rows": w.model.rowCount()}
        )
        edit.selectAll()
        QTest.keyClick(edit, Qt.Key.Key_Backspace)
        spin(1000)
    marks["search_end"] = time.perf_counter()
    info["search_grid_resets"] = len(resets)

    meter.stop()
    phases = {
        "startup_background": meter.stats(marks["startup"], marks["startup_end"]),
        "scroll": meter.stats(marks["scroll"], marks["scroll_end"]),
        "scroll_during_scan": meter.stats(marks["scan"], marks["scan_end"]),
        "scroll_while_embedder_starts": meter.stats(marks["scan_end"], marks["embed"]),
        "scroll_during_embedding": meter.stats(marks["embed"], marks["embed_end"]),
        "search_typing": meter.stats(marks["search"], marks["search_end"]),
    }
    for name, (a_, b_) in {
        "startup_background": ("startup", "startup_end"),
        "scroll": ("scroll", "scroll_end"),
        "scroll_during_scan": ("scan", "scan_end"),
        "scroll_while_embedder_starts": ("scan_end", "embed"),
        "scroll_during_embedding": ("embed", "embed_end"),
        "search_typing": ("search", "search_end"),
    }.items():
        phases[name]["garbage_collections"] = gcm.stats(marks[a_], marks[b_])
        phases[name]["grid_paints"] = paints.stats(marks[a_], marks[b_])
    # VmHWM, not ru_maxrss: on Linux a child's ru_maxrss starts from its parent's high-water mark at fork
    memory["peak_rss"] = rss_mb("VmHWM")
    meter.close()
    ctx.shutdown()
    lib.close()
    Path(a.out).write_text(json.dumps({"info": info, "phases": phases, "memory_mb": memory}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
