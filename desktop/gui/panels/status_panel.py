"""Background work in the status bar: the running job's progress, rate and ETA, pause/cancel, and the task list.

Everything here reads the one ``JobRunner``: its ``jobs`` list is the
"Background work" of the Tasks window (``task_list``, which also lists the
processing tasks of the catalog), and the panel follows the most recent
running job, saying how many others run beside it. Progress signals arrive
many times a second from a scan; the panel repaints from a 4 Hz timer instead
of on every signal so a fast job cannot flood the GUI thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QToolButton,
    QWidget,
)

from desktop.core.runtime.jobs import format_duration
from desktop.gui.app.jobs import CANCELLED, DONE, FAILED, RUNNING, Job, JobRunner
from desktop.gui.panels.task_list import TaskListDialog

if TYPE_CHECKING:
    from desktop.gui.app.task_queue import TaskQueue

ModelIndex = QModelIndex | QPersistentModelIndex

# How long a finished task's outcome stays in the status bar (the Tasks list keeps every outcome);
# a failure stays until the next task, since for some jobs the status bar is the only place it shows.
FINISHED_SHOWN_MS = 8000


def outcome(job: Job) -> str:
    """A finished job for the status bar, in the past tense.

    Its result's own summary when it has one ("Scanned: 150 files, … in 2.0s"):
    the job's name ("Scanning lib150") is what it was doing, and after the scan
    "Scanning lib150: …" read as if it still ran. Otherwise "Name: done" (or failed, cancelled).
    """
    result = job.result
    if job.state == DONE and hasattr(result, "summary"):
        return str(result.summary())
    return describe(job)


def describe(job: Job) -> str:
    """One line for a job: progress while it runs, its outcome after."""
    p = job.last_progress
    if job.state == RUNNING:
        if p is None:
            return f"{job.name}…"
        if p.total:
            text = f"{job.name}: {p.done:,} of {p.total:,}"
            if p.rate > 0 and not job.paused:
                text += (
                    f" · {p.rate:.1f}/s" if p.rate < 10 else f" · {p.rate:.0f}/s"
                )  # exports: 1.3/s, not 1/s
            if p.eta_s is not None and p.done < p.total and not job.paused:
                text += f" · {format_duration(p.eta_s)} left"
        else:
            text = f"{job.name}: {p.message or 'starting'}…"
        if job.paused:
            text += " (paused)"
        return text
    if job.state == FAILED:
        return f"{job.name}: failed — {job.error}"
    if job.state == CANCELLED:
        return f"{job.name}: cancelled"
    if job.state == DONE:
        result = job.result
        summary = (
            result.summary() if hasattr(result, "summary") else result if isinstance(result, str) else None
        )
        return f"{job.name}: {summary}" if summary else f"{job.name}: done"
    return f"{job.name}: waiting"


class JobListModel(QAbstractListModel):
    """The task list: every tracked job, newest first."""

    def __init__(self, runner: JobRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        # our own copy, so the row count changes only between begin/endInsertRows
        self._list: list[Job] = runner.jobs[::-1]
        runner.job_added.connect(self._on_added)
        runner.job_changed.connect(self._on_changed)

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._list)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._list):
            return None
        job = self._list[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return describe(job)
        if role == Qt.ItemDataRole.ForegroundRole and job.state == FAILED:
            return QColor("#c62828")
        if role == Qt.ItemDataRole.UserRole:
            return job.state
        return None

    def _on_added(self, job: Job) -> None:
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._list.insert(0, job)
        self.endInsertRows()

    def _on_changed(self, job: Job) -> None:
        try:
            row = self._list.index(job)
        except ValueError:
            return
        self.dataChanged.emit(self.index(row), self.index(row))


class StatusPanel(QWidget):
    """Progress of the current background job with pause/resume and cancel, and a Tasks button."""

    def __init__(
        self, runner: JobRunner, parent: QWidget | None = None, queue: TaskQueue | None = None
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.queue = queue  # the processing tasks the Tasks window lists (with the jobs)
        self.jobs_model = JobListModel(runner, self)
        self.label = QLabel(self)
        self.label.setMinimumWidth(200)
        self.bar = QProgressBar(self)
        self.bar.setFixedWidth(160)
        self.bar.setTextVisible(False)
        self.pause_button = QToolButton(self)
        self.pause_button.setText("Resume")
        # as wide as its longer label, so Pause ↔ Resume does not shift the buttons beside it
        self.pause_button.setMinimumWidth(self.pause_button.sizeHint().width())
        self.pause_button.setText("Pause")
        self.pause_button.setToolTip("Pause or resume this task")
        self.pause_button.clicked.connect(self._toggle_pause)
        self.cancel_button = QToolButton(self)
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop this task (what it finished is kept)")
        self.cancel_button.clicked.connect(self._cancel)
        self.tasks_button = QToolButton(self)
        self.tasks_button.setText("Tasks")
        self.tasks_button.setToolTip("Every background task and how it ended")
        self.tasks_button.clicked.connect(self.show_tasks)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 4, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.bar)
        layout.addWidget(self.pause_button)
        layout.addWidget(self.cancel_button)
        layout.addWidget(self.tasks_button)
        self._dialog: TaskListDialog | None = None
        self._last_finished: Job | None = None
        self._finished_timer = QTimer(self)
        self._finished_timer.setSingleShot(True)
        self._finished_timer.setInterval(FINISHED_SHOWN_MS)
        self._finished_timer.timeout.connect(self._forget_finished)
        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.update_view)
        runner.job_added.connect(self._on_job_added)
        runner.job_changed.connect(self._on_job_changed)
        self.update_view()

    def current_job(self) -> Job | None:
        active = self.runner.active_jobs()
        return active[-1] if active else None

    def _on_job_added(self, _job: Job) -> None:
        self._timer.start()
        self.update_view()

    def _on_job_changed(self, job: Job) -> None:
        if not job.active and job in self.runner.jobs:  # untracked jobs (counts, edits) stay quiet
            self._last_finished = job
            if job.state == FAILED:
                self._finished_timer.stop()
            else:
                self._finished_timer.start()
            self.update_view()

    def _forget_finished(self) -> None:
        self._last_finished = None
        self.update_view()

    def update_view(self) -> None:
        job = self.current_job()
        running = job is not None
        for w in (self.bar, self.pause_button, self.cancel_button):
            w.setVisible(running)
        if job is None:
            self._timer.stop()
            last = self._last_finished
            self.label.setText(outcome(last) if last is not None else "")
            return
        others = len(self.runner.active_jobs()) - 1
        text = describe(job) + (f"  (+{others} more)" if others > 0 else "")
        self.label.setText(text)
        p = job.last_progress
        if p is not None and p.total:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * p.done / p.total))
        else:
            self.bar.setRange(0, 0)  # busy indicator while the total is unknown
        self.pause_button.setText("Resume" if job.paused else "Pause")

    def _toggle_pause(self) -> None:
        job = self.current_job()
        if job is None:
            return
        if job.paused:
            job.resume()
        else:
            job.pause()
        self.update_view()

    def _cancel(self) -> None:
        job = self.current_job()
        if job is not None:
            job.stop()
            self.update_view()

    def show_tasks(self) -> None:
        if self._dialog is None:
            self._dialog = TaskListDialog(self.jobs_model, self.queue, self.window())
        self._dialog.show()
        self._dialog.raise_()


__all__ = ["JobListModel", "StatusPanel", "TaskListDialog", "describe", "outcome"]
