"""The one way the GUI runs long work: off the GUI thread, with progress, pause and cancel.

``JobRunner.submit(name, fn, owner=widget)`` runs ``fn(control)`` on a worker
thread of the runner's pool; ``control`` is a core ``JobControl`` whose
progress reports, result and exception come back to the GUI thread as Qt
signals on the returned ``Job``. The runner keeps the list of jobs for the
task list and shuts every pool down in order when the app closes (the
pattern of Picard's ``picard/util/thread.py`` and vorta's jobs manager).

A job belongs to the widget that asked for it (``owner``, as Picard's
``run_task(..., parent=...)``): when that widget is destroyed the job is
cancelled and its callbacks are dropped, so a late result never calls into
a deleted Qt object and no widget needs a "was I closed?" flag.

A job that fails with a ``ShoeboxError`` hands its sentence to ``on_error``
(or, without one, to the message bridge). Any other exception is a bug: its
traceback goes to the log file and the person is shown one sentence that
says what failed and where the log is (``desktop.core.runtime.messages``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from desktop.core.runtime import messages
from desktop.core.runtime.errors import ShoeboxError
from desktop.core.runtime.jobs import Cancelled, JobControl, Progress, lower_thread_priority
from desktop.core.runtime.wording import brief

log = logging.getLogger(__name__)

RUNNING, DONE, FAILED, CANCELLED, QUEUED = "running", "done", "failed", "cancelled", "queued"


class JobHandle(Protocol):
    """Pause, resume and stop for work whose state lives elsewhere (a processing task in the catalog)."""

    @property
    def paused(self) -> bool: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def stop(self) -> None: ...


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
        self.error: str | None = None  # why it failed, in brief (the task list shows it)
        self.result: Any = None
        self.control = JobControl(name, self._progress_from_worker)
        # its owner was destroyed: the callbacks it was given are not called any more
        self.dropped = False
        # set for work paused and stopped through its own state (a processing task: the catalog's, so the
        # command line sees it too); ``cancel`` still only stops this job (the app closing)
        self.handle: JobHandle | None = None

    # called on the worker thread: emitting a signal queues it to the GUI thread
    def _progress_from_worker(self, p: Progress) -> None:
        self.progress.emit(p)

    def cancel(self) -> None:
        self.control.cancel()

    def stop(self) -> None:
        """Stop as the person asked (the status bar's Cancel)."""
        if self.handle is not None:
            self.handle.stop()
        else:
            self.cancel()
        self.changed.emit()

    def pause(self) -> None:
        if self.handle is not None:
            self.handle.pause()
        else:
            self.control.pause()
        self.changed.emit()

    def resume(self) -> None:
        if self.handle is not None:
            self.handle.resume()
        else:
            self.control.resume()
        self.changed.emit()

    @property
    def paused(self) -> bool:
        return self.handle.paused if self.handle is not None else self.control.paused

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
    err = Signal(object)  # the exception (Cancelled when the job stopped on request)


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
        except Exception as exc:  # handed to the GUI thread: logged there and shown to the person
            self.bridge.err.emit(exc)
        else:
            self.bridge.ok.emit(result)


def _brief_reason(exc: BaseException) -> str:
    return brief(str(exc) or type(exc).__name__, limit=200)


def _owner_destroyed(jobs: dict[Job, bool]) -> None:
    for job, cancel in jobs.items():
        job.dropped = True
        if cancel:
            job.control.cancel()


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
        # unfinished owned jobs (and whether to cancel them) by their owner's address; one connection each
        self._owned: dict[int, dict[Job, bool]] = {}
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
        owner: QObject | None = None,
        cancel_with_owner: bool = True,
    ) -> Job:
        """Run ``fn(control)`` in a pool.

        ``track=False`` keeps it out of the task list; untracked jobs count as interactive
        unless told otherwise and run in a separate pool, so they never wait behind a scan.

        ``owner`` is the widget the callbacks belong to: once it is destroyed they are never
        called, and the job is cancelled, unless ``cancel_with_owner=False`` (a change the
        person asked for, such as a turn or a move, completes even if its window has closed).

        ``on_error`` receives one sentence fit to show: a ``ShoeboxError``'s message, or for
        any other exception what failed and where the log is (already shown through the
        message bridge, with the traceback in the log file).
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
            if not job.dropped:
                job.succeeded.emit(result)
                if on_result is not None:
                    on_result(result)
            job.finished.emit()

        def on_err(exc: BaseException) -> None:
            cancelled = isinstance(exc, Cancelled)
            message = None if cancelled else self._failure_sentence(job, exc, tell=on_error is None)
            job.state = CANCELLED if cancelled or job.dropped else FAILED
            # the task list's short "name: failed — why"; the sentence (with the log's path) goes to the notice
            job.error = (
                None if cancelled else (exc.message if isinstance(exc, ShoeboxError) else _brief_reason(exc))
            )
            self._finish(job, bridge)
            if message is not None and not job.dropped:
                job.failed.emit(message)
                if on_error is not None:
                    on_error(message)
            job.finished.emit()

        def on_prog(p: Progress) -> None:
            job.last_progress = p
            job.changed.emit()
            self.job_changed.emit(job)
            if on_progress is not None and not job.dropped:
                on_progress(p)

        bridge.started.connect(on_started)
        bridge.ok.connect(on_ok)
        bridge.err.connect(on_err)
        job.progress.connect(on_prog)
        self._unfinished.add(job)
        if owner is not None:
            self._adopt(owner, job, cancel_with_owner)
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

    def _failure_sentence(self, job: Job, exc: BaseException, tell: bool) -> str:
        """What the person reads about a failed job; a bug is logged with its traceback and shown."""
        if isinstance(exc, ShoeboxError):
            if tell and not job.dropped:
                messages.error(exc.message, exc)  # nobody else will say it
            else:
                log.info("%s failed: %s", job.name, exc.message, exc_info=exc)
            return exc.message
        message = messages.unexpected(job.name, exc)
        if job.dropped:  # the window that asked is gone; most likely the bug is its going
            log.error("%s (its window had closed)", message, exc_info=exc)
        else:
            messages.error(message, exc)
        return message

    def _adopt(self, owner: QObject, job: Job, cancel: bool) -> None:
        """Tie ``job`` to ``owner``: when ``owner`` is destroyed, drop its callbacks (and cancel it)."""
        key = int(shiboken6.getCppPointer(owner)[0])  # not id(): a wrapper may be made again
        jobs = self._owned.get(key)
        if jobs is None:
            jobs = self._owned[key] = {}
            # a closure, not a bound method: the runner's Python side outlives its Qt object at exit
            owned = self._owned
            owner.destroyed.connect(lambda *_: _owner_destroyed(owned.pop(key, {})))
        jobs[job] = cancel

    def _finish(self, job: Job, bridge: _Bridge) -> None:
        self._unfinished.discard(job)
        for jobs in self._owned.values():
            jobs.pop(job, None)
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
