"""The Tasks window: every processing task of the catalog, its items, and the app's background jobs.

``TaskTableModel`` lists the processing tasks (``tasks.list_tasks``: queued,
running, paused and finished ones, whoever runs them: the app or a worker the
command line started) with their progress, counts, ETA, recipe, output folder
and times; ``TaskItemsModel`` the selected task's items (source → output, size,
SSIM, cache hit, and why a failed one failed). The window reads the catalog
from a timer only while it is visible (one SELECT of at most 200 rows a
second; the items again only when the selected task moved on). Pause, Resume,
Cancel and Retry change the task's state in the catalog through the app's
``TaskQueue``, so the command line sees them too. The second tab lists the
app's own background jobs (scans, embedding), as the window did before.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    QUrl,
)
from PySide6.QtGui import QColor, QDesktopServices, QHideEvent, QPainter, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QPushButton,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.core.processing import tasks
from desktop.core.runtime.jobs import format_duration
from desktop.core.runtime.wording import format_bytes, format_local_time
from desktop.gui.app.task_queue import TaskQueue, short_path

ModelIndex = QModelIndex | QPersistentModelIndex

REFRESH_MS = 1000  # how often the visible window reads the task list
TASK_LIMIT = 200  # the newest tasks shown

TaskIdRole = Qt.ItemDataRole.UserRole + 1
StateRole = Qt.ItemDataRole.UserRole + 2
FractionRole = Qt.ItemDataRole.UserRole + 3  # the progress column: 0..1

FAILED_COLOUR = QColor("#c62828")
STATE_WORDS = {
    "queued": "Queued",
    "running": "Running",
    "paused": "Paused",
    "done": "Done",
    "failed": "Done with errors",
    "cancelled": "Cancelled",
}


def details_interval(total: int) -> float:
    """Seconds between reads of a running task's items: each read decodes every item's outputs on the GUI
    thread, cheap for 40 photos, not for 20,000."""
    return min(10.0, max(0.0, total / 500))


def state_word(info: tasks.TaskInfo) -> str:
    if info.state == "failed" and info.error:
        return "Failed"
    return STATE_WORDS.get(info.state, info.state)


def counts_text(info: tasks.TaskInfo) -> str:
    parts = [f"{info.done} done"]
    if info.failed:
        parts.append(f"{info.failed} failed")
    if info.cache_hits:
        parts.append(f"{info.cache_hits} cached")
    return ", ".join(parts)


class _ColumnsModel(QAbstractTableModel):
    """A table whose columns are the names in ``COLUMNS``."""

    COLUMNS: tuple[str, ...] = ()

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self.COLUMNS)
        ):
            return self.COLUMNS[section]
        return None


class TaskTableModel(_ColumnsModel):
    """The processing tasks, newest first; ``refresh`` reads them again (rows keep their identity by id)."""

    COLUMNS = ("Task", "State", "Progress", "Items", "ETA", "Output folder", "Created", "Finished")
    PROGRESS = 2

    def __init__(self, parent: QObject | None = None, clock: Any = time.monotonic) -> None:
        super().__init__(parent)
        self._rows: list[tasks.TaskInfo] = []
        self._clock = clock
        # (when, items finished) when a task was first seen running: its rate since then gives the ETA
        self._seen_running: dict[int, tuple[float, int]] = {}
        self._eta: dict[int, float] = {}

    # ------------------------------------------------------------------ the model's contract
    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        info = self._rows[index.row()]
        col = index.column()
        if role == TaskIdRole:
            return info.id
        if role == StateRole:
            return info.state
        if role == FractionRole:
            return (info.done + info.failed) / info.total if info.total else 0.0
        if role == Qt.ItemDataRole.ForegroundRole and (info.error or (col == 3 and info.failed)):
            return FAILED_COLOUR
        if role == Qt.ItemDataRole.ToolTipRole:
            return info.error or (info.output_dir if col == 5 else None)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if col == 0:
            return f"{info.recipe_name}  (#{info.id})"
        if col == 1:
            return state_word(info)
        if col == 2:
            return f"{info.done + info.failed} of {info.total}"
        if col == 3:
            return counts_text(info)
        if col == 4:
            eta = self._eta.get(info.id)
            return format_duration(eta) + " left" if eta is not None else ""
        if col == 5:
            return short_path(info.output_dir)
        if col == 6:
            return format_local_time(info.created_at) or ""
        if col == 7:
            return format_local_time(info.finished_at) or ""
        return None

    # ------------------------------------------------------------------ reading the catalog
    def task(self, row: int) -> tasks.TaskInfo | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, task_id: int) -> int:
        for n, info in enumerate(self._rows):
            if info.id == task_id:
                return n
        return -1

    def refresh(self) -> None:
        self.set_tasks(tasks.list_tasks(limit=TASK_LIMIT))

    def set_tasks(self, rows: list[tasks.TaskInfo]) -> None:
        self._update_eta(rows)
        if [r.id for r in rows] == [r.id for r in self._rows]:
            old, self._rows = self._rows, rows
            for n, (before, now) in enumerate(zip(old, rows, strict=True)):
                if before != now or now.state == "running":  # the ETA column moves on
                    self.dataChanged.emit(self.index(n, 0), self.index(n, len(self.COLUMNS) - 1))
            return
        self.beginResetModel()  # tasks came or went: the views keep their selection by id (the dialog)
        self._rows = rows
        self.endResetModel()

    def _update_eta(self, rows: list[tasks.TaskInfo]) -> None:
        now = self._clock()
        running = {r.id for r in rows if r.state == "running"}
        for gone in set(self._seen_running) - running:
            del self._seen_running[gone]
            self._eta.pop(gone, None)
        for r in rows:
            if r.state != "running":
                continue
            finished = r.done + r.failed
            first = self._seen_running.setdefault(r.id, (now, finished))
            elapsed, moved = now - first[0], finished - first[1]
            if moved > 0 and elapsed > 0:
                self._eta[r.id] = max(0.0, (r.total - finished) * elapsed / moved)


class TaskItemsModel(_ColumnsModel):
    """The items of one task: what each source became, or why it failed."""

    COLUMNS = ("Source", "State", "Output", "Size", "SSIM", "Cached", "Reason")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._items: list[tasks.ItemInfo] = []
        self._task_state = ""

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def set_task(self, info: tasks.TaskInfo | None) -> None:
        self.beginResetModel()
        # the failed first: their reasons are what the person opened the details for
        items = list(info.items or []) if info is not None else []
        self._items = sorted(items, key=lambda i: (i.state != "failed", i.seq))
        self._task_state = info.state if info is not None else ""
        self.endResetModel()

    def item(self, row: int) -> tasks.ItemInfo | None:
        return self._items[row] if 0 <= row < len(self._items) else None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        col = index.column()
        outputs = [o for o in item.outputs if o.get("path")]
        first = outputs[0] if outputs else {}
        if role == Qt.ItemDataRole.ForegroundRole and item.state == "failed":
            return FAILED_COLOUR
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 0:
                return item.source_path
            if col == 2 and outputs:
                return "\n".join(str(o["path"]) for o in outputs)
            if col == 6:
                return item.message
            return None
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if col == 0:
            return Path(item.source_path).name
        if col == 1:
            if item.state == "pending":
                return "Not run" if self._task_state in tasks.FINISHED else "Waiting"
            return "Failed" if item.state == "failed" else "Done"
        if col == 2:
            if not outputs:
                return ""
            more = f"  (+{len(outputs) - 1} more)" if len(outputs) > 1 else ""
            return Path(str(first["path"])).name + more  # the folder is the task's (the summary says it)
        if col == 3:
            total = sum(int(o.get("size") or 0) for o in outputs)
            return format_bytes(total) if outputs else ""
        if col == 4:
            ssim = first.get("ssim")
            flag = "  ⚠" if any(o.get("flagged") for o in outputs) else ""
            return f"{float(ssim):.3f}{flag}" if isinstance(ssim, int | float) else flag.strip()
        if col == 5:
            return "yes" if item.cache_hit else ""
        if col == 6:
            if item.message:
                return item.message
            skipped = [o for o in item.outputs if o.get("code")]
            if skipped:
                return str(skipped[0].get("message") or "")
            flagged = [o for o in item.outputs if o.get("flagged")]
            return str(flagged[0].get("problems") or "") if flagged else ""
        return None


class ProgressDelegate(QStyledItemDelegate):
    """Draws the progress column as a progress bar with its "12 of 40" text."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        fraction = index.data(FractionRole)
        if not isinstance(fraction, float):
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 3, -2, -3)
        bar.minimum = 0
        bar.maximum = 1000
        bar.progress = int(round(1000 * fraction))
        bar.text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        bar.state = option.state | QStyle.StateFlag.State_Horizontal  # Qt 6: no flag draws it upright
        bar.palette = option.palette
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, widget)

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        hint = super().sizeHint(option, index)
        return QSize(max(hint.width(), 120), hint.height())


class ProcessingTasks(QWidget):
    """The processing tasks with their controls and the selected task's items."""

    def __init__(self, queue: TaskQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue = queue
        self.model = TaskTableModel(self)
        self.items_model = TaskItemsModel(self)
        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setItemDelegateForColumn(TaskTableModel.PROGRESS, ProgressDelegate(self.view))
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        self.view.setWordWrap(False)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # the recipe's name takes what is left
        for col, width in enumerate((0, 120, 120, 160, 80, 150, 140, 140)):
            if width:
                self.view.setColumnWidth(col, width)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.view.doubleClicked.connect(lambda _i: self.open_folder())

        self.pause_button = QPushButton("Pause", self)
        self.resume_button = QPushButton("Resume", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.retry_button = QPushButton("Retry", self)
        self.open_button = QPushButton("Open folder", self)
        self.pause_button.setToolTip("Stop after the photos being processed; Resume goes on from there")
        self.cancel_button.setToolTip("Stop this task for good (what it finished is kept)")
        self.retry_button.setToolTip("Run the failed photos (and those a cancel left) again")
        self.open_button.setToolTip("Show the output folder")
        self.pause_button.clicked.connect(lambda: self._act("pause"))
        self.resume_button.clicked.connect(lambda: self._act("resume"))
        self.cancel_button.clicked.connect(lambda: self._act("cancel"))
        self.retry_button.clicked.connect(lambda: self._act("retry"))
        self.open_button.clicked.connect(self.open_folder)
        buttons = QHBoxLayout()
        for b in (self.pause_button, self.resume_button, self.cancel_button, self.retry_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)

        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.items_view = QTableView(self)
        self.items_view.setModel(self.items_model)
        self.items_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.items_view.setAlternatingRowColors(True)
        self.items_view.verticalHeader().hide()
        self.items_view.setWordWrap(False)
        self.items_view.horizontalHeader().setStretchLastSection(True)
        for col, width in enumerate((190, 70, 230, 80, 60, 60)):
            self.items_view.setColumnWidth(col, width)

        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.view, 1)
        top_layout.addLayout(buttons)
        bottom = QWidget(self)
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.summary)
        bottom_layout.addWidget(self.items_view, 1)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setSizes([260, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self._selected: int | None = None
        self._shown_key: tuple[Any, ...] | None = None  # what the items pane shows: reloaded when it moves on
        self._shown_at = 0.0
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        queue.changed.connect(self.refresh)
        self._update_buttons()

    # ------------------------------------------------------------------ reading
    def refresh(self) -> None:
        if not self.isVisible() and not self.timer.isActive():
            return
        self.model.refresh()
        row = self.model.row_of(self._selected) if self._selected is not None else -1
        if row < 0 and self.model.rowCount() and self._selected is None:
            row = 0  # the newest task, the first time
        if row >= 0 and self.view.currentIndex().row() != row:
            self.view.selectRow(row)
        self._show_details()

    def selected_task(self) -> tasks.TaskInfo | None:
        if self._selected is None:
            return None
        return self.model.task(self.model.row_of(self._selected))

    def _selection_changed(self, _new: QItemSelection, _old: QItemSelection) -> None:
        rows = self.view.selectionModel().selectedRows()
        info = self.model.task(rows[0].row()) if rows else None
        self._selected = info.id if info is not None else self._selected
        self._show_details()

    def _show_details(self) -> None:
        info = self.selected_task()
        self._update_buttons()
        if info is None:
            self.items_model.set_task(None)
            self.summary.setText("")
            self._shown_key = None
            return
        key = (info.id, info.state, info.done, info.failed, info.total)
        if key == self._shown_key:
            return
        now = time.monotonic()
        if (
            self._shown_key is not None
            and key[:2] == self._shown_key[:2]
            and now - self._shown_at < details_interval(info.total)
        ):
            return  # the same running task moved on: a big one's items are read again less often
        self._shown_key, self._shown_at = key, now
        full = tasks.task_info(info.id)
        self.items_model.set_task(full)
        lines = [f"{info.recipe_name} → {info.output_dir}"]
        took = f"; CPU {info.cpu_seconds:.1f} s" if info.cpu_seconds else ""
        lines.append(f"{state_word(info)}: {counts_text(info)} of {info.total}{took}")
        if info.error:
            lines.append(info.error)
        elif info.failed:
            lines.append(f"{info.failed} could not be processed: the Reason column says why.")
        self.summary.setText("\n".join(lines))

    def _update_buttons(self) -> None:
        info = self.selected_task()
        state = info.state if info is not None else ""
        self.pause_button.setEnabled(state in ("queued", "running"))
        self.resume_button.setEnabled(state == "paused")
        self.cancel_button.setEnabled(state in ("queued", "running", "paused"))
        self.retry_button.setEnabled(
            info is not None and (state in ("failed", "cancelled") or (state == "done" and info.failed > 0))
        )
        self.open_button.setEnabled(info is not None and Path(info.output_dir).is_dir())

    # ------------------------------------------------------------------ acting
    def _act(self, action: str) -> None:
        info = self.selected_task()
        if info is not None:
            self.queue.change(info.id, action)

    def open_folder(self) -> None:
        info = self.selected_task()
        if info is not None and Path(info.output_dir).is_dir():
            QDesktopServices.openUrl(QUrl.fromLocalFile(info.output_dir))

    # ------------------------------------------------------------------ only while visible
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.timer.start()
        self.refresh()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.timer.stop()


class TaskListDialog(QDialog):
    """View → Tasks…: the processing tasks (with a queue) and the app's background jobs."""

    def __init__(
        self, jobs_model: Any, queue: TaskQueue | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Tasks")
        self.resize(1180, 640 if queue is not None else 320)
        jobs_view = QListView(self)
        jobs_view.setModel(jobs_model)
        jobs_view.setWordWrap(True)
        jobs_view.setAlternatingRowColors(True)
        self.jobs_view = jobs_view
        self.processing: ProcessingTasks | None = None
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if queue is not None:
            self.processing = ProcessingTasks(queue, self)
            self.tabs = QTabWidget(self)
            self.tabs.addTab(self.processing, "Processing")
            self.tabs.addTab(jobs_view, "Background work")
            layout.addWidget(self.tabs)
        else:
            layout.addWidget(jobs_view)
        layout.addWidget(buttons)


__all__ = ["ProcessingTasks", "ProgressDelegate", "TaskItemsModel", "TaskListDialog", "TaskTableModel"]
