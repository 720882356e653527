"""The GUI's longest stalls while an export runs (issue 12: none over 50 ms). Run by bench/bench_export.py.

``python -m bench.export_gui_probe --mode MODE --files-dir DIR --out FILE`` with ``SHOEBOX_HOME``
pointing at a throwaway library that already holds DIR, and ``QT_QPA_PLATFORM=offscreen``.

The main window is opened and its grid scrolled continuously while the export runs; ``gui_probe.StallMeter``
records every gap of the GUI event loop. Modes:

- ``process-async``: ``python main.py process web-2048 FILES --out OUT --async --json`` is submitted from
  the command line with the app open, as a script would; the app's task runner picks the task up and runs
  it. A helper thread (never the GUI thread: each ``tasks show`` is a new Python process) polls
  ``tasks show ID --json`` until the task has finished.
- ``in-app-render``: the render spine (resize 2048 + jpeg 85) over the files in the app's own ``JobRunner``
  (its two pool threads, one job per half of the files): what an in-process export costs the GUI thread
  through the GIL, measurable before the app's task runner exists.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bench.gui_probe import Scroller, StallMeter, spin, wait_until  # noqa: E402
from desktop.gui.app.application import build_main_window, check_pyside_refcounts  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
FINISHED = {"done", "failed", "cancelled"}


class TaskWatcher:
    """Submits ``process --async`` and polls the task from a plain thread, off the GUI thread."""

    def __init__(self, files: list[Path], out: Path, timeout_s: float) -> None:
        self.files, self.out, self.timeout_s = files, out, timeout_s
        self.state: str | None = None
        self.task: Any = None
        self.error: str | None = None
        self.finished = threading.Event()
        self.thread = threading.Thread(target=self._run, name="task-watcher", daemon=True)

    def _cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(REPO / "main.py"), *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def _run(self) -> None:
        try:
            done = self._cli(
                "process", "web-2048", *map(str, self.files), "--out", str(self.out), "--async", "--json"
            )
            if done.returncode != 0:
                self.error = (done.stderr or done.stdout).strip()[-300:] or f"exit {done.returncode}"
                return
            answer = json.loads(done.stdout)
            task = answer.get("task", answer.get("task_id")) if isinstance(answer, dict) else None
            self.task = task.get("id") if isinstance(task, dict) else task
            if self.task is None:
                self.error = f"no task id in the answer of process --async: {done.stdout[:200]}"
                return
            end = time.perf_counter() + self.timeout_s
            while time.perf_counter() < end:
                shown = self._cli("tasks", "show", str(self.task), "--json")
                info = json.loads(shown.stdout) if shown.returncode == 0 else {}
                self.state = info.get("state") if isinstance(info, dict) else None
                if self.state in FINISHED:
                    return
                time.sleep(0.5)
            self.error = f"the task was not finished after {self.timeout_s:.0f} s (state {self.state})"
        except Exception as exc:  # the probe reports it; the GUI keeps being measured
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.finished.set()


def in_app_render(ctx: Any, files: list[Path], out: Path) -> list[Any]:
    """Two jobs in the app's JobRunner, each rendering half of the files."""
    from bench.bench_export import render_one

    def job(part: list[Path]) -> Any:
        def fn(control: Any) -> int:
            for f in part:
                if control.cancelled:
                    break
                render_one(f, out, 2048, 85)
            return len(part)

        return fn

    return [ctx.runner.submit(f"Export {i + 1}/2", job(files[i::2])) for i in range(2)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["process-async", "in-app-render"], required=True)
    ap.add_argument("--files-dir", required=True)
    ap.add_argument("--export-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--limit", type=int, default=0, help="only the first N files (0: all)")
    ap.add_argument("--timeout-s", type=float, default=900.0)
    a = ap.parse_args()
    files = sorted(Path(a.files_dir).glob("*.jpg"))
    if a.limit:
        files = files[: a.limit]
    export_dir = Path(a.export_dir)
    export_dir.mkdir(parents=True, exist_ok=True)

    check_pyside_refcounts()
    app = QApplication([sys.argv[0]])
    app.setApplicationName("Shoebox")
    from desktop.core.library import Library

    lib = Library()
    ctx, w = build_main_window(lib, watch=False, smart_search=False)
    first: dict[str, bool] = {}
    w.grid.first_paint.connect(lambda: first.setdefault("painted", True))
    w.show()
    w.grid.first_paint.connect(ctx.start, Qt.ConnectionType.QueuedConnection)
    meter = StallMeter()
    meter.start()
    wait_until(lambda: "painted" in first, 30)
    wait_until(lambda: ctx.thumbnails.pending() == 0, 60)
    spin(500)

    scroller = Scroller(w.grid)
    marks = {"idle": time.perf_counter()}
    scroller.start()
    spin(3000)  # the same scrolling without an export: what the export adds
    marks["export"] = time.perf_counter()
    info: dict[str, Any] = {"mode": a.mode, "files": len(files)}
    if a.mode == "process-async":
        watcher = TaskWatcher(files, export_dir, a.timeout_s)
        watcher.thread.start()
        wait_until(watcher.finished.is_set, a.timeout_s + 60, poll_ms=50)
        info.update(task=watcher.task, state=watcher.state, error=watcher.error)
    else:
        jobs = in_app_render(ctx, files, export_dir)
        wait_until(lambda: not any(j.active for j in jobs), a.timeout_s, poll_ms=50)
        info["states"] = [j.state for j in jobs]
    marks["end"] = time.perf_counter()
    scroller.stop()
    meter.stop()
    info["export_s"] = round(marks["end"] - marks["export"], 2)
    info["written"] = len(list(export_dir.glob("*.jpg")))
    info["photos_per_s"] = round(info["written"] / info["export_s"], 2) if info["export_s"] else 0.0
    phases = {
        "scroll_idle": meter.stats(marks["idle"], marks["export"]),
        "scroll_during_export": meter.stats(marks["export"], marks["end"]),
    }
    meter.close()
    ctx.shutdown()
    lib.close()
    Path(a.out).write_text(json.dumps({"info": info, "phases": phases}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
