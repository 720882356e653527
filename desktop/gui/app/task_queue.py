"""The app's end of the processing queue: while the app is open it is the worker that runs queued tasks.

``TaskQueue`` holds the engine's worker lock (``runner.worker_lock``) for as
long as the app is open, so ``process --async`` from a terminal sees a worker
running and queues its task for the app instead of starting a detached one.
(When a detached worker already holds the lock, the app leaves the queue to it
and takes the lock once that worker has exited.) A timer looks at the queue
once a second (one cheap COUNT); a queued task, from the app's own Export
dialog or from the command line, is claimed and run on the one ``JobRunner``
at background priority, one task at a time, its progress in the status bar
like a scan's. At start, tasks a crash left "running" are queued again and
resumed (their finished items are kept).

Pause, resume and cancel from the status bar change the task's state in the
catalog (``tasks.pause`` ...), so the command line sees them too; the engine
reads that state between items. A paused task keeps its job waiting for a
resume, unless another task is queued: then the paused one waits in the Tasks
window. Closing the app cancels the job: the engine stops between items and
puts the task back in the queue, and the next start resumes it.

When a task meant for the app finishes (its notify is ``"desktop"``, or the
app submitted it) ``notice`` carries one sentence for the notice bar:
"Exported 40 photos to ~/Exports." Tasks another worker finished for the
desktop are announced the next time the app looks (``notify.pending_desktop``).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.core.processing import notify, runner, tasks
from desktop.core.runtime.jobs import JobControl
from desktop.core.runtime.wording import counted

if TYPE_CHECKING:
    from collections.abc import Callable

    from desktop.core.library import Library
    from desktop.gui.app.jobs import Job, JobRunner

log = logging.getLogger(__name__)

POLL_MS = 1000  # how often the app looks for queued tasks (one COUNT on the GUI thread's connection)
NOTIFY_EVERY = 5  # polls between looks for tasks another worker finished for the desktop
PAUSED_WAIT_S = 0.3  # how often a paused task's job looks for its resume


def short_path(path: str) -> str:
    """``~/Exports`` for a folder under the home folder: shorter to read in a sentence."""
    home = os.path.expanduser("~")
    if home and home != "/" and (path == home or path.startswith(home + os.sep)):
        return "~" + path[len(home) :]
    return path


def finished_text(info: tasks.TaskInfo) -> str:
    """What the person reads when a task the app announces has finished; one or two sentences."""
    where = short_path(info.output_dir)
    if info.error:
        return f"The export with {info.recipe_name} failed: {info.error}"
    if info.state == "cancelled":
        return f"Export cancelled: {counted(info.done, 'photo')} exported to {where} before it stopped."
    text = f"Exported {counted(info.done, 'photo')} to {where}."
    if info.failed:
        text += f" {info.failed} could not be exported: see Tasks."
    return text


def announced(info: tasks.TaskInfo) -> bool:
    """Whether the app tells the person when ``info`` finishes."""
    return info.notify == notify.DESKTOP or info.origin == "app"


@dataclass(frozen=True)
class TaskOutcome:
    """What a task's job returns: the status bar's line for it afterwards (``summary``)."""

    task_id: int
    state: str | None
    text: str
    info: tasks.TaskInfo | None = None  # as it ended, with its items

    def summary(self) -> str:
        return self.text


class TaskHandle:
    """The status bar's pause, resume and cancel of a task's job, as changes of the task in the catalog."""

    def __init__(self, queue: TaskQueue) -> None:
        self.queue = queue
        self.task_id: int | None = None  # set once the job has claimed its task
        self.state = "running"

    @property
    def paused(self) -> bool:
        return self.state == "paused"

    def pause(self) -> None:
        if self.task_id is not None:
            self.state = "paused"
            self.queue.change(self.task_id, "pause")

    def resume(self) -> None:
        if self.task_id is not None:
            self.state = "running"
            self.queue.change(self.task_id, "resume")

    def stop(self) -> None:
        if self.task_id is not None:
            self.queue.change(self.task_id, "cancel")


CHANGES: dict[str, Callable[[Library, int], tasks.TaskInfo]] = {
    "pause": tasks.pause,
    "resume": tasks.resume,
    "cancel": tasks.cancel,
    "retry": tasks.retry,
}


class TaskQueue(QObject):
    """Runs the processing queue in the app (see the module's docstring)."""

    notice = Signal(str, bool)  # the sentence for a finished task, whether some of its items failed
    changed = Signal()  # a task changed through the app, or one the app ran has finished

    def __init__(self, library: Library, jobs: JobRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.jobs = jobs
        self._lock = runner.worker_lock(library)
        self._held = False
        self._started = False
        self._closed = False
        self.job: Job | None = None
        self._polls = 0
        self._requeuing = False
        self._announced: set[int] = set()
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)

    # ---------------------------------------------------------------- state
    @property
    def holding(self) -> bool:
        """Whether the app is the worker now (it holds the worker lock)."""
        return self._held

    @property
    def running_task(self) -> int | None:
        job = self.job
        if job is None or not job.active or not isinstance(job.handle, TaskHandle):
            return None
        return job.handle.task_id

    # ---------------------------------------------------------------- start and stop
    def start(self) -> None:
        if self._started or self._closed:
            return
        self._started = True
        self._timer.start()
        self.poll()

    def stop(self) -> None:
        """Take no more tasks (the app is closing); the running one is stopped by the runner's shutdown."""
        self._closed = True
        self._timer.stop()

    def release(self) -> None:
        """Let go of the worker lock, once the job runner has stopped (a later ``process --async`` starts
        its own worker then)."""
        self.stop()
        if self._held:
            self._lock.release()
            self._held = False

    # ---------------------------------------------------------------- the queue
    def poll(self) -> None:
        """Run the next queued task unless one runs; announce what other workers finished for the desktop."""
        if self._closed or not self._started:
            return
        self._polls += 1
        if self._polls % NOTIFY_EVERY == 1:
            self._announce_pending()
        if self.job is not None and self.job.active:
            return
        if self._requeuing:
            return
        if not self._held:
            self._held = self._lock.acquire()
            if not self._held:
                return  # a detached worker drains the queue: the app takes over once it has exited
            self._requeue_stale()
            return
        if tasks.queued_count():
            self._run_job()

    def _requeue_stale(self) -> None:
        """Queue again the tasks a crash left running (off the GUI thread: a catalog write), then run them.
        Untracked: the status bar says nothing when there were none."""
        self._requeuing = True

        def _requeue(_control: JobControl) -> list[int]:
            return tasks.requeue_stale(self.library)

        def _done(stale: list[int] | None = None) -> None:
            self._requeuing = False
            if stale:
                log.info("tasks %s were left running by a worker that is gone: resumed", stale)
            self.poll()

        self.jobs.submit(
            "Resuming tasks",
            _requeue,
            on_result=_done,
            on_error=lambda _m: _done(),
            track=False,
            interactive=False,
        )

    def _run_job(self) -> None:
        handle = TaskHandle(self)

        def _work(control: JobControl) -> TaskOutcome | None:
            worker = tasks.this_worker()
            task_id = tasks.claim_next(self.library, worker)
            if task_id is None:
                return None
            handle.task_id = task_id
            return self._run_task(handle, task_id, worker, control)

        job = self.jobs.submit("Processing", _work, on_result=self._job_done, interactive=False)
        job.handle = handle
        self.job = job

    def _run_task(self, handle: TaskHandle, task_id: int, worker: str, control: JobControl) -> TaskOutcome:
        """On the job's thread: run the claimed task, wait while it is paused, go on when resumed."""
        info = tasks.task_info(task_id)
        assert info is not None
        for job in list(self.jobs.jobs):
            if job.control is control:  # the status bar reads the name: a plain attribute swap
                job.name = f"Exporting ({info.recipe_name})"
        done = info.done + info.failed
        while True:
            control.resume_from(done)
            control.report(done, info.total, force=True)
            runner.run_task(self.library, task_id, worker, control)
            state = tasks.state(task_id)
            handle.state = state or "cancelled"
            if state == "paused":
                state = self._wait_paused(task_id, control)
                if state == "queued" and not control.cancelled and tasks.claim(self.library, task_id, worker):
                    handle.state = "running"
                    current = tasks.task_info(task_id)
                    done = (current.done + current.failed) if current is not None else done
                    continue
            break
        final = tasks.task_info(task_id)
        if final is None:
            return TaskOutcome(task_id, None, f"Task {task_id} was removed.")
        if final.state in tasks.FINISHED:
            text = finished_text(final) if announced(final) else notify.callback(final)["message"]
        elif final.state == "paused":
            text = f"{final.recipe_name}: paused after {final.done + final.failed} of {final.total}; resume it in Tasks."
        else:
            text = f"{final.recipe_name}: {final.done + final.failed} of {final.total}, waiting for the next start."
        return TaskOutcome(task_id, final.state, text, final)

    @staticmethod
    def _wait_paused(task_id: int, control: JobControl) -> str | None:
        """Wait while the task is paused; its state after (still "paused" when another task is queued)."""
        while True:
            state = tasks.state(task_id)
            if state != "paused" or control.cancelled or tasks.queued_count():
                return state
            time.sleep(PAUSED_WAIT_S)

    def _job_done(self, outcome: TaskOutcome | None) -> None:
        if self._closed:
            return
        if outcome is not None:
            self.changed.emit()
            info = outcome.info
            if info is not None and info.state in tasks.FINISHED and announced(info):
                self._announce(info)
        QTimer.singleShot(0, self.poll)  # the next queued task at once

    # ---------------------------------------------------------------- changes from the app
    def change(self, task_id: int, action: str, on_done: Callable[[], None] | None = None) -> None:
        """``action`` (pause, resume, cancel, retry) on the task, off the GUI thread (a catalog write);
        a task that cannot (any more) says why in the notice bar."""

        def _done(_info: Any) -> None:
            self.changed.emit()
            if on_done is not None:
                on_done()
            if action in ("resume", "retry"):
                QTimer.singleShot(0, self.poll)

        self.jobs.submit(
            f"Task {task_id}: {action}",
            lambda _c: CHANGES[action](self.library, task_id),
            on_result=_done,
            track=False,
        )

    # ---------------------------------------------------------------- notices
    def _announce(self, info: tasks.TaskInfo) -> None:
        if info.id in self._announced:
            return
        self._announced.add(info.id)
        self.notice.emit(finished_text(info), bool(info.failed or info.error))
        if not info.notified:
            self.jobs.submit(
                f"Task {info.id}: notified",
                lambda _c: notify.mark_notified(self.library, info.id),
                track=False,
            )

    def _announce_pending(self) -> None:
        for info in notify.pending_desktop():
            self._announce(info)


__all__ = ["TaskHandle", "TaskOutcome", "TaskQueue", "announced", "finished_text", "short_path"]
