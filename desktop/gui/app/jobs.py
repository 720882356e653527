"""The one way the GUI runs long work: off the GUI thread, with progress, pause and cancel.

``JobRunner.submit(name, fn)`` runs ``fn(control)`` on a worker thread of the
runner's pool; ``control`` is a core ``JobControl`` whose progress reports,
result and exception come back to the GUI thread as Qt signals on the
returned ``Job``. The runner keeps the list of jobs for the task list and
shuts every pool down in order when the app closes (the pattern of Picard's
``picard/util/thread.py`` and vorta's jobs manager).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from desktop.core.runtime.jobs import Cancelled, JobControl, Progress, lower_thread_priority

log = logging.getLogger(__name__)

RUNNING, DONE, FAILED, CANCELLED, QUEUED = "running", "done", "failed", "cancelled", "queued"


class Job(QObject):
    """A submitted unit of work; its signals are delivered on the GUI thread."""

    progress = Signal(object)  # Progress
    succeeded = Signal(object)  # the function's return value
    failed = Signal(str)  # a user-facing message
    finished = Signal()  # after succeeded/failed/cancelled
    changed = Signal()  # state or progress changed (for the task list)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.state = QUEUED
        self.last_progress: Progress | None = None
        self.error: str | None = None
        self.result: Any = None
        self.control = JobControl(name, self._progress_from_worker)

    # called on the worker thread: emitting a signal queues it to the GUI thread
    def _progress_from_worker(self, p: Progress) -> None:
        self.progress.emit(p)

    def cancel(self) -> None:
        self.control.cancel()

    def pause(self) -> None:
        self.control.pause()
        self.changed.emit()

    def resume(self) -> None:
        self.control.resume()
        self.changed.emit()

    @property
    def paused(self) -> bool:
        return self.control.paused

    @property
    def active(self) -> bool:
        return self.state in (QUEUED, RUNNING)

    def describe(self) -> str:
        if self.state == RUNNING and self.last_progress is not None:
            return self.last_progress.describe()
        if self.state == FAILED:
            return f"{self.name}: failed — {self.error}"
        if self.state == DONE and isinstance(self.result, str):
            return self.result
        return f"{self.name}: {self.state}"


class _Bridge(QObject):
    """Lives on the GUI thread; worker threads emit into it."""

    started = Signal()
    ok = Signal(object)
    err = Signal(str, bool)  # message, cancelled


class _Runnable(QRunnable):
    def __init__(
        self, fn: Callable[[JobControl], Any], job: Job, bridge: _Bridge, background: bool = False
    ) -> None:
        super().__init__()
        self.fn = fn
        self.job = job
        self.bridge = bridge
        self.background = background
        self.setAutoDelete(True)

    def run(self) -> None:
        if self.background:
            # scans, imports and embedding must not take CPU from painting and scrolling
            lower_thread_priority()
        self.bridge.started.emit()
        try:
            self.job.control.checkpoint()
            result = self.fn(self.job.control)
        except Cancelled:
            self.bridge.err.emit("cancelled", True)
        except Exception as exc:  # handed to the GUI thread, shown to the user
            log.error("job %s failed:\n%s", self.job.name, traceback.format_exc())
            message = str(exc) or type(exc).__name__
            self.bridge.err.emit(message, False)
        else:
            self.bridge.ok.emit(result)


class JobRunner(QObject):
    """Owns the worker pools; every background job in the GUI goes through here."""

    job_added = Signal(object)  # Job
    job_changed = Signal(object)  # Job

    def __init__(
        self, max_threads: int = 2, parent: QObject | None = None, synchronous: bool = False
    ) -> None:
        super().__init__(parent)
        # synchronous: run each job inline on the calling thread (tests where order matters)
        self.synchronous = synchronous
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        # quick interactive work (a preview, a search) must not queue behind a long scan
        self.quick_pool = QThreadPool(self)
        self.quick_pool.setMaxThreadCount(2)
        self.jobs: list[Job] = []  # tracked jobs: the task list
        # every job not finished yet, tracked or not: shutdown cancels them all
        self._unfinished: set[Job] = set()
        self._bridges: set[_Bridge] = set()
        self._closing = False

    def submit(
        self,
        name: str,
        fn: Callable[[JobControl], Any],
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        track: bool = True,
        interactive: bool | None = None,
    ) -> Job:
        """Run ``fn(control)`` in a pool.

        ``track=False`` keeps it out of the task list; untracked jobs count as interactive
        unless told otherwise and run in a separate pool, so they never wait behind a scan.
        """
        if self._closing:
            raise RuntimeError("the app is closing")
        job = Job(name, self)
        bridge = _Bridge(self)
        self._bridges.add(bridge)

        def on_started() -> None:
            job.state = RUNNING
            job.changed.emit()
            self.job_changed.emit(job)

        def on_ok(result: Any) -> None:
            job.state = DONE
            job.result = result
            self._finish(job, bridge)
            job.succeeded.emit(result)
            if on_result is not None:
                on_result(result)
            job.finished.emit()

        def on_err(message: str, cancelled: bool) -> None:
            job.state = CANCELLED if cancelled else FAILED
            job.error = None if cancelled else message
            self._finish(job, bridge)
            if not cancelled:
                job.failed.emit(message)
                if on_error is not None:
                    on_error(message)
            job.finished.emit()

        def on_prog(p: Progress) -> None:
            job.last_progress = p
            job.changed.emit()
            self.job_changed.emit(job)
            if on_progress is not None:
                on_progress(p)

        bridge.started.connect(on_started)
        bridge.ok.connect(on_ok)
        bridge.err.connect(on_err)
        job.progress.connect(on_prog)
        self._unfinished.add(job)
        if track:
            self.jobs.append(job)
            self.job_added.emit(job)
        quick = (not track) if interactive is None else interactive
        runnable = _Runnable(fn, job, bridge, background=not quick and not self.synchronous)
        if self.synchronous:
            runnable.setAutoDelete(False)
            runnable.run()
        else:
            (self.quick_pool if quick else self.pool).start(runnable)
        return job

    def _finish(self, job: Job, bridge: _Bridge) -> None:
        self._unfinished.discard(job)
        self._bridges.discard(bridge)
        bridge.deleteLater()
        job.changed.emit()
        self.job_changed.emit(job)

    def active_jobs(self) -> list[Job]:
        return [j for j in self.jobs if j.active]

    def wait(self, msecs: int = -1) -> bool:
        """Block until every job has finished (tests; shutdown)."""
        return bool(self.pool.waitForDone(msecs)) and bool(self.quick_pool.waitForDone(msecs))

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        self._closing = True
        for job in [*self.jobs, *self._unfinished]:
            job.cancel()
        self.pool.waitForDone(timeout_ms)
        self.quick_pool.waitForDone(timeout_ms)
