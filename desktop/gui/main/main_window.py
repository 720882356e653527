"""The main window: sidebar | thumbnail grid | info panel, search on top, background work below.

The window lays its widgets out, builds the menus and toolbar, keeps its
geometry, shows a sidebar view (or *Could not read*, or the first-run page) in
the grid, follows the selection into the info panel, and refreshes the grid,
the counts and the panel after the catalog changes, keeping the selection and
the scroll position. The flows that span several widgets are small controllers
it owns, each in its own module:

- ``search_flow.SearchFlow``: what a query in the search field shows;
- ``scan_flow.ScanFlow``: adding folders, scanning and importing;
- ``drops.Drops``: files and folders dropped on the window;
- ``sidebar_flow.SidebarFlow``: the sidebar's counts and its requests;
- ``viewers.Viewers``: the viewer windows.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QItemSelection, QItemSelectionModel, QPoint, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QSlider,
    QSplitter,
    QStackedWidget,
    QSystemTrayIcon,
    QTableView,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop import __version__
from desktop.core.runtime.logs import log_file
from desktop.core.runtime.wording import counted
from desktop.gui.app.application import AppContext
from desktop.gui.dialogs.export_dialog import ExportDialog
from desktop.gui.dialogs.settings_dialog import SettingsDialog
from desktop.gui.grid.photo_delegate import MAX_ZOOM, MIN_ZOOM, PhotoGridView
from desktop.gui.grid.photo_model import ErrorsModel, IdRole, PhotoModel
from desktop.gui.grid.timeline import TimelineControls
from desktop.gui.main.context_menu import PhotoActions
from desktop.gui.main.drops import Drops
from desktop.gui.main.edit_actions import EditHistory
from desktop.gui.main.empty_state import EmptyState, ModelMissingNotice
from desktop.gui.main.scan_flow import ScanFlow
from desktop.gui.main.search_bar import SearchBar
from desktop.gui.main.search_flow import SearchFlow
from desktop.gui.main.sidebar_flow import SidebarFlow
from desktop.gui.main.viewers import Viewers
from desktop.gui.panels.info_panel import InfoPanel
from desktop.gui.panels.sidebar import Sidebar, ViewSpec
from desktop.gui.panels.status_panel import StatusPanel
from desktop.gui.widgets.icons import icon

log = logging.getLogger(__name__)


class NoticeBar(QFrame):
    """A one-line message over the grid (import summaries, search explanations), dismissable."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.setStyleSheet(
            "QFrame#noticeBar { background: palette(alternate-base); border: 1px solid palette(mid);"
            " border-radius: 6px; }"
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 4, 4, 4)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.label, 1)
        self.action_button = QPushButton(self)
        self.action_button.hide()
        row.addWidget(self.action_button)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        row.addWidget(close)
        self._action: Any = None
        self.action_button.clicked.connect(self._run_action)
        self.hide()

    def show_message(self, text: str, action: tuple[str, Any] | None = None) -> None:
        self.label.setText(text)
        if action is not None:
            self.action_button.setText(action[0])
            self._action = action[1]
            self.action_button.show()
        else:
            self._action = None
            self.action_button.hide()
        self.show()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def _run_action(self) -> None:
        if self._action is not None:
            self._action()


class MainWindow(QMainWindow):
    """Shoebox's one main window over an ``AppContext``."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.library = ctx.library
        self.runner = ctx.runner
        self.setWindowTitle("Shoebox")
        self.resize(1280, 820)

        self.model = PhotoModel(self.library, self, executor=self._read_off_gui_thread)
        self.grid = PhotoGridView(ctx.thumbnails, self)
        self.grid.setModel(self.model)
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.photo_actions = PhotoActions(self.library, self.runner, self)
        self.timeline = TimelineControls(self.model, self.grid, ctx.settings, self)
        self.edit_history = EditHistory(self.library, self.runner, self)
        self.search_bar = SearchBar(self)
        self.sidebar = Sidebar(self.library, self)
        self.status_panel = StatusPanel(self.runner, self, queue=ctx.task_queue)
        self.notice = NoticeBar(self)
        ctx.messages.posted.connect(self.notice.show_message)  # what any layer tells the person
        ctx.task_queue.notice.connect(self._task_finished)  # "Exported 40 photos to ~/Exports."
        self._tray: QSystemTrayIcon | None = None  # made the first time a finished task is told there
        self.errors_model = ErrorsModel(self.library, self)
        self.trash_action: QAction | None = None  # made by the first menu that shows it
        # what the grid shows (a sidebar key, or "search:" and the query): the notice bar belongs to it
        self._view_key = ""
        self._refresh_when_idle = False
        # the browsed views' sizes, counted off the GUI thread (see _show_total_count)
        self._count_cache: dict[str, int] = {}
        self._count_pending: set[str] = set()

        self._build_center()
        self.search_flow = SearchFlow(self)
        self.scan_flow = ScanFlow(self)
        self.drops = Drops(self)
        self.sidebar_flow = SidebarFlow(self)
        self.viewers = Viewers(self)
        self._build_toolbar()
        self._build_menus()
        self.statusBar().addPermanentWidget(self.status_panel, 1)
        self.statusBar().insertPermanentWidget(0, self.edit_history.notice)
        self.statusBar().setSizeGripEnabled(True)
        self._connect()
        self._restore_state()

        self.show_view(self.sidebar.current_spec())
        self.sidebar_flow.refresh_sidebar()
        self.update_empty()
        self.search_flow.on_search_state()

    # ------------------------------------------------------------- building
    def _build_center(self) -> None:
        self.grid_header = QLabel(self)
        self.grid_header.setObjectName("gridHeader")
        font = self.grid_header.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.grid_header.setFont(font)
        self.grid_count = QLabel(self)
        self.grid_count.setEnabled(False)
        head = QHBoxLayout()
        head.setContentsMargins(12, 8, 12, 0)
        head.addWidget(self.grid_header)
        head.addWidget(self.grid_count, 1, Qt.AlignmentFlag.AlignBottom)

        grid_page = QWidget(self)
        col = QVBoxLayout(grid_page)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
        col.addLayout(head)
        col.addWidget(self.grid, 1)

        self.errors_view = QTableView(self)
        self.errors_view.setModel(self.errors_model)
        self.errors_view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.errors_view.horizontalHeader().setStretchLastSection(True)
        self.errors_view.horizontalHeader().resizeSection(0, 300)
        self.errors_view.verticalHeader().hide()
        self.errors_view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.errors_view.setWordWrap(False)
        self.errors_view.setAlternatingRowColors(True)
        errors_page = QWidget(self)
        ecol = QVBoxLayout(errors_page)
        ecol.setContentsMargins(8, 8, 8, 8)
        self.errors_header = QLabel("Files Shoebox could not read, and why", self)
        ecol.addWidget(self.errors_header)
        ecol.addWidget(self.errors_view, 1)

        self.empty_state = EmptyState(self)

        self.stack = QStackedWidget(self)
        self.stack.addWidget(grid_page)
        self.stack.addWidget(errors_page)
        self.stack.addWidget(self.empty_state)
        self._grid_page, self._errors_page = grid_page, errors_page

        self.info_panel = InfoPanel(self.library, self)
        self.info_panel.user_data_changed.connect(self._on_info_edit)
        self.info_panel.setMinimumWidth(240)

        self.model_notice = ModelMissingNotice(parent=self)
        self.model_notice.download_requested.connect(lambda: self.open_settings("model"))
        self.model_notice.choose_file_requested.connect(self._choose_weights_file)
        self.model_notice.hide()

        center = QWidget(self)
        ccol = QVBoxLayout(center)
        ccol.setContentsMargins(6, 6, 6, 0)
        ccol.setSpacing(6)
        ccol.addWidget(self.model_notice)
        ccol.addWidget(self.notice)
        ccol.addWidget(self.stack, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(center)
        self.splitter.addWidget(self.info_panel)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setCollapsible(1, False)
        self.splitter.setSizes([240, 760, 300])
        self.setCentralWidget(self.splitter)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main", self)
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(bar)
        self.add_folder_action = QAction("Add folder…", self)
        self.add_folder_action.setIcon(icon("folder-add"))
        self.add_folder_action.triggered.connect(self.scan_flow.choose_folder)
        bar.addAction(self.add_folder_action)
        bar.addSeparator()
        bar.addWidget(self.search_bar)
        spacer = QWidget(self)
        spacer.setFixedWidth(12)
        bar.addWidget(spacer)
        bar.addWidget(self.timeline.toolbar_widget(self))
        self.zoom_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.zoom_slider.setRange(MIN_ZOOM, MAX_ZOOM)
        self.zoom_slider.setValue(self.grid.zoom())
        self.zoom_slider.setFixedWidth(140)
        self.zoom_slider.setToolTip("Thumbnail size (Ctrl + / Ctrl −)")
        bar.addWidget(QLabel(" Size ", self))
        bar.addWidget(self.zoom_slider)
        bar.addSeparator()
        self.info_action = QAction("Info", self)
        self.info_action.setCheckable(True)
        self.info_action.setChecked(True)
        self.info_action.setShortcut(QKeySequence("Ctrl+I"))
        self.info_action.setToolTip("Show or hide the info panel (Ctrl+I)")
        self.info_action.toggled.connect(self.info_panel.setVisible)
        bar.addAction(self.info_action)
        self.settings_action = QAction("Settings", self)
        self.settings_action.setShortcut(QKeySequence.StandardKey.Preferences)
        self.settings_action.triggered.connect(lambda: self.open_settings())
        self.export_action = QAction("Export…", self)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.triggered.connect(lambda: self.open_export())
        bar.addAction(self.settings_action)

    def _build_menus(self) -> None:
        m = self.menuBar()
        file_menu = m.addMenu("&File")
        file_menu.addAction(self.add_folder_action)
        imp = file_menu.addAction("Import files…", self.scan_flow.choose_import)
        imp.setShortcut(QKeySequence("Ctrl+Shift+I"))
        file_menu.addAction("Rescan all folders", self.scan_flow.rescan_all)
        file_menu.addAction(self.export_action)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        quit_action = file_menu.addAction("Quit", self.close)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)

        edit = m.addMenu("&Edit")
        self._add_history_actions(edit)
        select_all = edit.addAction("Select all", self.select_all)
        select_all.setShortcut(QKeySequence.StandardKey.SelectAll)
        select_all.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.grid.addAction(select_all)
        edit.addAction(self._trash_action())
        edit.addSeparator()
        self.find_action = edit.addAction("Find", self.search_bar.focus)
        self.find_action.setShortcut(QKeySequence.StandardKey.Find)
        edit.addAction("Clear search", lambda: self.search_bar.set_text(""))

        view = m.addMenu("&View")
        self.timeline.fill_view_menu(view)
        view.addSeparator()
        zin = view.addAction(
            "Larger thumbnails", lambda: self.zoom_slider.setValue(self.zoom_slider.value() + 32)
        )
        zin.setShortcuts([QKeySequence(QKeySequence.StandardKey.ZoomIn), QKeySequence("Ctrl+=")])
        zout = view.addAction(
            "Smaller thumbnails", lambda: self.zoom_slider.setValue(self.zoom_slider.value() - 32)
        )
        zout.setShortcut(QKeySequence.StandardKey.ZoomOut)
        self.whole_action = view.addAction("Show whole photos", self._toggle_whole)
        self.whole_action.setCheckable(True)
        self.whole_action.setToolTip("Letterbox photos in their cells instead of cropping them to squares")
        view.addAction(self.info_action)
        view.addAction("Tasks…", self.status_panel.show_tasks)

        photo = m.addMenu("&Photo")
        photo.addAction("Open", self.viewers.open_current).setShortcut(QKeySequence("Ctrl+O"))
        photo.addAction("Find similar", self.search_flow.find_similar_to_current)
        photo.addAction("Add tag…", lambda: self.photo_actions.add_tag(self.selected_ids()))
        photo.addAction("Add to album…", lambda: self.photo_actions.add_to_album(self.selected_ids()))
        photo.addAction(
            "Adjust date and time…", lambda: self.photo_actions.adjust_dates(self.selected_ids())
        ).setShortcut(QKeySequence("Ctrl+Shift+D"))
        photo.addAction("Set place…", lambda: self.photo_actions.set_place(self.selected_ids()))
        rate = photo.addMenu("Rate")
        for n in range(6):
            rate.addAction(f"{'★' * n or 'No rating'}\t{n}", functools.partial(self._rate_selection, n))
        self._add_reject_action(photo)
        self._add_photo_edit_actions(photo)
        photo.addSeparator()
        photo.addAction(self.export_action)

        help_menu = m.addMenu("&Help")
        help_menu.addAction("Show log", self.show_log)
        help_menu.addAction("About Shoebox", self._about)

    # ------------------------------------------------ undo, trash, rotate
    def _add_history_actions(self, edit: QMenu) -> None:
        """Undo and Redo at the top of the Edit menu, named after what they would do."""
        edit.addAction(self.edit_history.undo_action)
        edit.addAction(self.edit_history.redo_action)
        edit.addSeparator()
        # the CLI may have changed the history since the last look
        edit.aboutToShow.connect(self.edit_history.refresh)

    def _trash_action(self) -> QAction:
        """*Move to Trash…*, in the Edit and Photo menus (Delete in the grid; no window-wide key,
        so Delete in the search field or the sidebar never trashes the grid's selection)."""
        if self.trash_action is None:
            self.trash_action = QAction("Move to Trash…\tDel", self)
            self.trash_action.triggered.connect(lambda: self.photo_actions.trash(self.selected_ids()))
        return self.trash_action

    def _add_reject_action(self, photo: QMenu) -> None:
        """*Reject* (X, as in Lightroom), named *Unreject* while the selection is all rejected."""
        self.reject_action = photo.addAction(
            "Reject", lambda: self.photo_actions.toggle_rejected(self.selected_ids())
        )
        self.reject_action.setShortcut(QKeySequence("X"))
        # the letter belongs to the grid alone (typing in a field must stay typing)
        self.reject_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.grid.addAction(self.reject_action)

        def name_it() -> None:
            ids = self.selected_ids()
            self.reject_action.setText("Unreject" if self.photo_actions.all_rejected(ids) else "Reject")

        photo.aboutToShow.connect(name_it)

    def _add_photo_edit_actions(self, photo: QMenu) -> None:
        photo.addSeparator()
        self.rotate_left_action = photo.addAction("Rotate left", lambda: self.rotate_selected(-90))
        self.rotate_left_action.setShortcuts([QKeySequence("Ctrl+["), QKeySequence("L")])
        self.rotate_right_action = photo.addAction("Rotate right", lambda: self.rotate_selected(90))
        self.rotate_right_action.setShortcuts([QKeySequence("Ctrl+]"), QKeySequence("R")])
        for action in (self.rotate_left_action, self.rotate_right_action):
            # the letters belong to the grid alone (typing in a field must stay typing)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.grid.addAction(action)
        photo.addSeparator()
        photo.addAction(self._trash_action())
        remove = photo.addAction(
            "Remove from library…\tShift+Del",
            lambda: self.photo_actions.remove_from_library(self.selected_ids()),
        )
        remove.setToolTip("Forget the photos; the files stay on disk")

    def _rate_selection(self, stars: int) -> None:
        self.photo_actions.rate(self.selected_ids(), stars)

    def rotate_selected(self, degrees: int) -> None:
        self.photo_actions.rotate(self.selected_ids(), degrees)

    def _connect_edit_history(self) -> None:
        self.grid.trash_requested.connect(lambda: self.photo_actions.trash(self.selected_ids()))
        self.photo_actions.changed.connect(self.edit_history.after_edit)
        self.photo_actions.dates_changed.connect(self.edit_history.after_edit)
        # photos leaving the grid (trash, remove): always say so, with Undo at hand
        self.photo_actions.removed.connect(lambda ids: self.edit_history.after_edit(ids, offer=True))
        self.info_panel.user_data_changed.connect(lambda: self.edit_history.refresh())
        self.ctx.catalog_changed.connect(lambda: self.edit_history.refresh())
        self.edit_history.replayed.connect(self._after_replay)
        self.edit_history.failed.connect(lambda msg: self.notice.show_message(msg))
        self.edit_history.refresh()

    def _after_replay(self, result: Any) -> None:
        """An undo or redo changed the catalog: show the library as it is now."""
        if result.action.kind == "remove_root":
            self.ctx.restart_watcher()  # a folder came back (or left again)
        self.refresh_all()
        self.viewers.reshow_all()

    def _connect(self) -> None:
        self.empty_state.add_folder_requested.connect(self.scan_flow.choose_folder)
        self.grid.rate_requested.connect(lambda n: self.photo_actions.rate(self.selected_ids(), n))
        self.grid.remove_requested.connect(
            lambda: self.photo_actions.remove_from_library(self.selected_ids())
        )
        self._connect_edit_history()
        self.grid.customContextMenuRequested.connect(self._grid_context_menu)
        self.grid.zoom_changed.connect(self.zoom_slider.setValue)
        self.zoom_slider.valueChanged.connect(self.grid.set_zoom)
        self.model.loading_changed.connect(self.update_header)
        self.model.modelReset.connect(self._on_selection_changed)
        self.grid.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.photo_actions.changed.connect(self._on_user_data_changed)
        self.photo_actions.removed.connect(self._on_removed)
        self.photo_actions.dates_changed.connect(lambda _ids: self.refresh_all())  # order and groups move
        self.photo_actions.failed.connect(lambda msg: self.notice.show_message(msg))
        self.photo_actions.export_requested.connect(lambda: self.open_export())
        self.ctx.catalog_changed.connect(self.refresh_all)
        self.grid.scroll_idle.connect(self._scroll_idle)
        self._selection_timer = QTimer(self)
        self._selection_timer.setSingleShot(True)
        self._selection_timer.setInterval(60)  # a rubber band over 5,000 photos updates the panel once
        self._selection_timer.timeout.connect(self._push_selection)

    # ------------------------------------------------------------ settings
    def _restore_state(self) -> None:
        s = self.ctx.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        elif (screen := self.screen()) is not None:
            # first run: most of the screen, centred, rather than a fixed size that fits nobody
            area = screen.availableGeometry()
            w, h = max(900, int(area.width() * 0.85)), max(600, int(area.height() * 0.85))
            self.resize(min(w, area.width()), min(h, area.height()))
            self.move(area.center() - self.rect().center())
        state = s.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        splitter = s.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        zoom = s.value("grid/zoom")
        if zoom is not None:
            try:
                self.zoom_slider.setValue(int(zoom))
                self.grid.set_zoom(int(zoom))
            except (TypeError, ValueError):
                pass
        self.timeline.restore()
        self.info_action.setChecked(s.value("window/info", "true") in (True, "true"))
        self.whole_action.setChecked(s.value("grid/whole", "false") in (True, "true"))
        self._toggle_whole()

    def _toggle_whole(self) -> None:
        self.grid.delegate.fill_cells = not self.whole_action.isChecked()
        self.grid.viewport().update()

    def save_state(self) -> None:
        s = self.ctx.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/splitter", self.splitter.saveState())
        s.setValue("grid/zoom", self.grid.zoom())
        self.timeline.save()
        s.setValue("window/info", self.info_action.isChecked())
        s.setValue("grid/whole", self.whole_action.isChecked())
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        self.viewers.close_all()
        super().closeEvent(event)

    # --------------------------------------------------------------- views
    def show_view(self, spec: ViewSpec) -> None:
        """Show a sidebar entry (leaves any search)."""
        self.search_flow.leave()
        self.enter_view(spec.key)
        if spec.errors:
            self.errors_model.reload()
            self.errors_header.setText(
                f"{counted(self.errors_model.rowCount(), 'file or folder', 'files or folders')} "
                "Shoebox could not read, and why"
                if self.errors_model.rowCount()
                else "Every file was read. Nothing to report."
            )
            self.stack.setCurrentWidget(self._errors_page)
            return
        self.stack.setCurrentWidget(self._grid_page)
        self.model.browse(spec.filter, spec.title, on_done=self.update_empty)

    def show_grid(self) -> None:
        """The grid page (rather than *Could not read* or the first-run page)."""
        self.stack.setCurrentWidget(self._grid_page)

    def enter_view(self, key: str) -> None:
        """Notices belong to the view they describe: another view starts without them.

        ("163 weaker matches hidden" stayed above All photos and *Could not read*.)
        Showing the same view again (a refresh, a rerun of the same query) keeps them.
        """
        if key != self._view_key:
            self._view_key = key
            self.notice.hide()

    def update_empty(self) -> None:
        if self.stack.currentWidget() is self._errors_page:
            return
        empty = (
            not self.library.reads.root_entries() and self.model.rowCount() == 0 and not self.search_flow.text
        )
        self.stack.setCurrentWidget(self.empty_state if empty else self._grid_page)

    def update_header(self) -> None:
        self.grid_header.setText(self.model.title)
        n = self.model.rowCount()
        if self.model.is_results:
            total = self.model.total_count()
            self.grid_count.setText(f"  {counted(total, 'photo')}")
        elif self.model.canFetchMore():
            self._show_total_count()
        else:
            self.grid_count.setText(f"  {counted(n, 'photo')}")

    def _show_total_count(self) -> None:
        """The browsed view's size: a COUNT over 100k rows takes 100+ ms, so it runs off the GUI thread."""
        key = repr(self.model.filter)
        cache = self._count_cache
        if key in cache:
            self.grid_count.setText(f"  {counted(cache[key], 'photo')}")
            return
        self.grid_count.setText(f"  {self.model.rowCount():,}+ photos")
        pending = self._count_pending
        if key in pending:
            return
        pending.add(key)
        f = self.model.filter

        def _done(n: int) -> None:
            pending.discard(key)
            cache[key] = int(n)
            if repr(self.model.filter) == key and not self.model.is_results and self.model.canFetchMore():
                self.grid_count.setText(f"  {counted(int(n), 'photo')}")

        self.runner.submit(
            "Count photos",
            lambda _c: self.library.count(f),
            on_result=_done,
            on_error=lambda _m: pending.discard(key),
            track=False,
            owner=self,
        )

    def invalidate_counts(self) -> None:
        self._count_cache.clear()

    # ------------------------------------------------------------ selection
    def selected_ids(self) -> list[int]:
        return [self.model.record(r).id for r in self.grid.selected_rows()]

    def selected_paths(self) -> list[Path]:
        return [Path(self.model.record(r).path) for r in self.grid.selected_rows()]

    def select_all(self) -> None:
        # Ctrl+A means every photo of the view, so load the rest first (records cost ~30 MB at 100k)
        self.model.fetch_all(on_done=self.grid.selectAll)

    def select_ids(self, ids: Sequence[int]) -> None:
        sm = self.grid.selectionModel()
        selection = QItemSelection()
        for pid in ids:
            row = self.model.row_for_id(pid)
            if row is not None:
                idx = self.model.index(row, 0)
                selection.select(idx, idx)
        sm.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def _on_selection_changed(self, *_args: object) -> None:
        self._selection_timer.start()

    def _push_selection(self) -> None:
        self.info_panel.set_photos(self.selected_ids())

    def _grid_context_menu(self, pos: QPoint) -> None:
        index = self.grid.indexAt(pos)
        if not index.isValid():
            return
        sm = self.grid.selectionModel()
        if not sm.isSelected(index):
            sm.select(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            sm.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
        menu = self.context_menu()
        menu.exec(self.grid.viewport().mapToGlobal(pos))

    def context_menu(self) -> Any:
        """The menu for the current selection (tests trigger its actions directly)."""
        return self.photo_actions.build_menu(self.selected_ids(), self.selected_paths(), self)

    # ------------------------------------------------------------- settings
    def open_settings(self, page: str | None = None) -> SettingsDialog:
        dialog = SettingsDialog(self.library, self.runner, self, self.ctx.sidecar_writes)
        dialog.roots_changed.connect(self._roots_changed)
        dialog.grouping_changed.connect(self.refresh_all)
        dialog.model_changed.connect(self.ctx.check_search)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.show()
        if page is not None:
            dialog.show_page(page)
        self._settings_dialog = dialog
        return dialog

    def open_export(self) -> ExportDialog | None:
        """Export… for the selected photos (Ctrl+E, File and Photo menus, the grid's right-click menu)."""
        records = [self.model.record(r) for r in self.grid.selected_rows()]
        if not records:
            self.notice.show_message("Select the photos to export first.")
            return None
        dialog = ExportDialog(self.library, self.runner, records, self.ctx.settings, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.show()
        self._export_dialog = dialog
        return dialog

    def _choose_weights_file(self) -> None:
        """The banner's *Choose file…*: Settings at its model section, with the file chooser open."""
        dialog = self.open_settings("model")
        QTimer.singleShot(0, dialog._choose_weights)

    def _roots_changed(self) -> None:
        self.ctx.restart_watcher()
        self.refresh_all()

    # -------------------------------------------------------------- refresh
    def refresh_grid(self) -> None:
        """Reload the grid's rows, keeping the selection, the current photo and the scroll position."""
        selected = self.selected_ids()
        current = self.grid.currentIndex().data(IdRole) if self.grid.currentIndex().isValid() else None
        top_row = self.grid.top_visible_row()
        top_id = self.model.record(top_row).id if top_row is not None and top_row > 0 else None

        def restore() -> None:
            if selected:
                self.select_ids(selected)
            if current is not None and (row := self.model.row_for_id(current)) is not None:
                self.grid.selectionModel().setCurrentIndex(
                    self.model.index(row, 0), QItemSelectionModel.SelectionFlag.NoUpdate
                )
            if top_id is not None and (row := self.model.row_for_id(top_id)) is not None:
                self.grid.scroll_to_row_top(row)
            self.update_empty()

        self.model.refresh(keep_rows=self.model.rowCount(), on_done=restore)

    def _read_off_gui_thread(
        self, load: Callable[[], Any], done: Callable[[Any], None], failed: Callable[[str], None]
    ) -> None:
        """The grid model's executor: catalog reads run on the quick pool, results land here."""
        self.runner.submit(
            "Load photos", lambda _c: load(), on_result=done, on_error=failed, track=False, owner=self
        )

    def refresh_all(self) -> None:
        """Reload what the catalog changed under: the grid, the counts, the info panel.

        During a fling it waits until the fling is over: a reload mid-fling moves
        the grid under the person's hand and costs the frames they are looking at.
        """
        self.edit_history.refresh()  # whatever changed the catalog may be undoable (a folder removed)
        if self.grid.is_scrolling():
            self._refresh_when_idle = True
            return
        self._refresh_when_idle = False
        self.invalidate_counts()  # the catalog changed under the cached counts
        if self.stack.currentWidget() is self._errors_page:
            self.errors_model.reload()
        else:
            self.refresh_grid()
        self.update_empty()
        self.sidebar_flow.refresh_sidebar()
        self.info_panel.refresh()

    def _scroll_idle(self) -> None:
        if self._refresh_when_idle:
            self.refresh_all()

    def _on_user_data_changed(self, ids: list[int]) -> None:
        self.model.reload_user_data(ids)
        self.info_panel.refresh()
        self.sidebar_flow.refresh_sidebar()

    def _on_info_edit(self) -> None:
        self.model.reload_user_data(self.selected_ids())
        self.sidebar_flow.refresh_sidebar()

    def _on_removed(self, _ids: list[int]) -> None:
        self.refresh_grid()
        self.grid.selectionModel().clearSelection()
        self.sidebar_flow.refresh_sidebar()
        self.update_empty()

    def _task_finished(self, text: str, failed: bool) -> None:
        """A task for the app has finished: say so over the grid, and on the desktop when the window is not
        in front and the platform has a tray."""
        self.notice.show_message(text, ("Show tasks", self.status_panel.show_tasks) if failed else None)
        if self.isActiveWindow() or not QSystemTrayIcon.isSystemTrayAvailable():
            return
        if self._tray is None:
            self._tray = QSystemTrayIcon(self.windowIcon(), self)
            self._tray.messageClicked.connect(self.status_panel.show_tasks)
        self._tray.show()
        self._tray.showMessage("Shoebox", text, QSystemTrayIcon.MessageIcon.Information, 8000)

    def show_log(self) -> None:
        """Open the log file (where the details of every failure are) in the system's viewer."""
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        path = log_file() or self.library.paths.log_file
        if not path.exists():
            self.notice.show_message(f"There is no log file yet: Shoebox writes one to {path} when it runs.")
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
            # no program to open files with (a minimal system): at least say where the log is
            self.notice.show_message(f"No program here opens text files; the log is {path}.")

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About Shoebox",
            f"<b>Shoebox {__version__}</b><br>A desktop photo manager with local smart search.<br>"
            f"Library: {self.library.paths.data}<br>Log: {log_file() or self.library.paths.log_file}",
        )


__all__ = ["MainWindow", "NoticeBar"]
