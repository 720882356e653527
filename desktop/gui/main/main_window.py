"""The main window: sidebar | thumbnail grid | info panel, search on top, background work below.

The window wires widgets to the ``AppContext`` and holds the few flows that
span them: showing a sidebar view or a search in the grid, dropping folders
(new watched roots, scanned with progress) and files (imported, duplicates
reported), *Find similar*, and refreshing counts and the grid after the
catalog changes while keeping the selection and the scroll position.

Widgets written by other modules (viewer, info panel, settings, empty state)
are imported lazily; when one is missing the window still opens and says so
where that widget would be.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QItemSelection, QItemSelectionModel, QModelIndex, QPoint, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
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
    QTableView,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.catalog.filters import PhotoFilter, check_tags
from desktop.core.catalog.query import ParsedQuery, parse_query
from desktop.core.ingest.formats import glob_patterns, is_image_file
from desktop.core.library import LibraryError
from desktop.core.runtime.wording import counted
from desktop.gui.app.application import SEARCH_CHECKING, AppContext
from desktop.gui.dialogs.settings_dialog import SettingsDialog
from desktop.gui.grid.photo_delegate import MAX_ZOOM, MIN_ZOOM, PhotoGridView
from desktop.gui.grid.photo_model import (
    SORT_DATE,
    SORT_RELEVANCE,
    ErrorsModel,
    IdRole,
    PhotoModel,
)
from desktop.gui.grid.timeline import TimelineControls
from desktop.gui.main.context_menu import PhotoActions, confirm
from desktop.gui.main.edit_actions import EditHistory
from desktop.gui.main.empty_state import EmptyState, ModelMissingNotice
from desktop.gui.main.search_bar import SearchBar
from desktop.gui.panels.info_panel import InfoPanel
from desktop.gui.panels.sidebar import ALL_KEY, Sidebar, SidebarData, ViewSpec, gather
from desktop.gui.panels.status_panel import StatusPanel
from desktop.gui.viewer.viewer import ViewerWindow
from desktop.gui.widgets.icons import icon

log = logging.getLogger(__name__)

SEARCH_LIMIT = 1000


def _pictures_dir() -> Path:
    """Where file choosers start: the Pictures folder when there is one, else home."""
    pictures = Path.home() / "Pictures"
    return pictures if pictures.is_dir() else Path.home()


def import_dialog_filter() -> str:
    """The import dialog's name filter: every format Shoebox reads, from the formats registry."""
    return f"Images ({' '.join(glob_patterns())});;All files (*)"


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
        self.setAcceptDrops(True)
        self.resize(1280, 820)

        self.model = PhotoModel(self.library, self, executor=self._read_off_gui_thread)
        self.grid = PhotoGridView(ctx.thumbnails, self)
        self.grid.setModel(self.model)
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.actions = PhotoActions(self.library, self.runner, self)
        self.timeline = TimelineControls(self.model, self.grid, ctx.settings, self)
        self.actions.similar_available = self._similar_unavailable_reason
        self.edit_history = EditHistory(self.library, self.runner, self)
        self.search_bar = SearchBar(self)
        self.sidebar = Sidebar(self.library, self)
        self.status_panel = StatusPanel(self.runner, self)
        self.notice = NoticeBar(self)
        self.errors_model = ErrorsModel(self.library, self)
        self.viewers: list[QWidget] = []
        self._search_token = 0
        self._search_text = ""
        # what the grid shows (a sidebar key, or "search:" and the query): the notice bar belongs to it
        self._view_key = ""
        # what the shown query was answered with (see _search_key); None when it needs no model
        self._searched_with: tuple[str, Any, bool] | None = None
        self._gather_running = False
        self._gather_again = False
        self._refresh_when_idle = False
        self._sidebar_when_idle: SidebarData | None = None
        self._scan_refresh_timer = QTimer(self)
        self._scan_refresh_timer.setSingleShot(True)
        self._scan_refresh_timer.setInterval(1500)
        self._scan_refresh_timer.timeout.connect(self._refresh_during_scan)

        self._build_center()
        self._build_toolbar()
        self._build_menus()
        self.statusBar().addPermanentWidget(self.status_panel, 1)
        self.statusBar().insertPermanentWidget(0, self.edit_history.notice)
        self.statusBar().setSizeGripEnabled(True)
        self._connect()
        self._restore_state()

        self.show_view(self.sidebar.current_spec())
        self.refresh_sidebar()
        self._update_empty()
        self._on_search_state()

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
        self.empty_state.add_folder_requested.connect(self.choose_folder)

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
        self.model_notice.dismissed.connect(self._model_notice_dismissed)
        self.model_notice.hide()

        center = QWidget(self)
        ccol = QVBoxLayout(center)
        ccol.setContentsMargins(6, 6, 6, 0)
        ccol.setSpacing(6)
        if self.model_notice is not None:
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
        self.add_folder_action.triggered.connect(self.choose_folder)
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
        bar.addAction(self.settings_action)

    def _build_menus(self) -> None:
        m = self.menuBar()
        file_menu = m.addMenu("&File")
        file_menu.addAction(self.add_folder_action)
        imp = file_menu.addAction("Import files…", self.choose_import)
        imp.setShortcut(QKeySequence("Ctrl+Shift+I"))
        file_menu.addAction("Rescan all folders", self.rescan_all)
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
        zin.setShortcuts([QKeySequence.StandardKey.ZoomIn, QKeySequence("Ctrl+=")])
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
        photo.addAction("Open", self.open_current).setShortcut(QKeySequence("Ctrl+O"))
        photo.addAction("Find similar", self.find_similar_to_current)
        photo.addAction("Add tag…", lambda: self.actions.add_tag(self.selected_ids()))
        photo.addAction("Add to album…", lambda: self.actions.add_to_album(self.selected_ids()))
        rate = photo.addMenu("Rate")
        for n in range(6):
            rate.addAction(
                f"{'★' * n or 'No rating'}\t{n}", lambda n=n: self.actions.rate(self.selected_ids(), n)
            )
        self._add_photo_edit_actions(photo)

        help_menu = m.addMenu("&Help")
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
        if not hasattr(self, "trash_action"):
            self.trash_action = QAction("Move to Trash…\tDel", self)
            self.trash_action.triggered.connect(lambda: self.actions.trash(self.selected_ids()))
        return self.trash_action

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
            "Remove from library…\tShift+Del", lambda: self.actions.remove_from_library(self.selected_ids())
        )
        remove.setToolTip("Forget the photos; the files stay on disk")

    def rotate_selected(self, degrees: int) -> None:
        self.actions.rotate(self.selected_ids(), degrees)

    def _connect_edit_history(self) -> None:
        self.grid.trash_requested.connect(lambda: self.actions.trash(self.selected_ids()))
        self.actions.changed.connect(self.edit_history.after_edit)
        # photos leaving the grid (trash, remove): always say so, with Undo at hand
        self.actions.removed.connect(lambda ids: self.edit_history.after_edit(ids, offer=True))
        if hasattr(self.info_panel, "user_data_changed"):
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
        for viewer in self.viewers:
            if hasattr(viewer, "reshow"):
                viewer.reshow()

    def _connect_viewer_edits(self, viewer: QWidget) -> None:
        """Edits in a viewer show in the grid at once; Ctrl+Z there undoes like here."""
        if hasattr(viewer, "edited"):
            viewer.edited.connect(self.actions.changed)
        viewer.addActions([self.edit_history.undo_action, self.edit_history.redo_action])

    def _connect(self) -> None:
        self.sidebar.view_selected.connect(self.show_view)
        self.sidebar.add_folder_requested.connect(self.choose_folder)
        self.sidebar.rescan_requested.connect(lambda rid: self.scan_roots([rid]))
        self.sidebar.remove_root_requested.connect(self.remove_root)
        self.sidebar.delete_tag_requested.connect(self.delete_tag)
        self.sidebar.delete_album_requested.connect(self.delete_album)
        self.sidebar.watch_toggled.connect(self._set_watched)
        self.search_bar.search_changed.connect(self.run_search)
        self.search_bar.image_search_requested.connect(self.search_by_image)
        self.search_bar.sort_changed.connect(lambda _s: self._rerun_search())
        self.grid.open_requested.connect(self.open_viewer)
        self.grid.rate_requested.connect(lambda n: self.actions.rate(self.selected_ids(), n))
        self.grid.remove_requested.connect(lambda: self.actions.remove_from_library(self.selected_ids()))
        self._connect_edit_history()
        self.grid.customContextMenuRequested.connect(self._grid_context_menu)
        self.grid.zoom_changed.connect(self.zoom_slider.setValue)
        self.zoom_slider.valueChanged.connect(self.grid.set_zoom)
        self.model.loading_changed.connect(self._update_header)
        self.model.modelReset.connect(self._on_selection_changed)
        self.grid.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.actions.changed.connect(self._on_user_data_changed)
        self.actions.removed.connect(self._on_removed)
        self.actions.failed.connect(lambda msg: self.notice.show_message(msg))
        self.actions.find_similar_requested.connect(self.find_similar)
        self.ctx.catalog_changed.connect(self.refresh_all)
        self.grid.scroll_idle.connect(self._scroll_idle)
        self.ctx.started.connect(self.check_folders)
        self.ctx.search_state_changed.connect(self._on_search_state)
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
        for v in self.viewers:
            v.close()
        super().closeEvent(event)

    # --------------------------------------------------------------- views
    def show_view(self, spec: ViewSpec) -> None:
        """Show a sidebar entry (leaves any search)."""
        self.search_bar.set_text("", emit=False)
        self._search_text = ""
        self._searched_with = None
        self._search_token += 1
        self._enter_view(spec.key)
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
        self.model.browse(spec.filter, spec.title, on_done=self._update_empty)

    def _enter_view(self, key: str) -> None:
        """Notices belong to the view they describe: another view starts without them.

        ("163 weaker matches hidden" stayed above All photos and *Could not read*.)
        Showing the same view again (a refresh, a rerun of the same query) keeps them.
        """
        if key != self._view_key:
            self._view_key = key
            self.notice.hide()

    def _update_empty(self) -> None:
        if self.stack.currentWidget() is self._errors_page:
            return
        empty = not self.library.roots() and self.model.rowCount() == 0 and not self._search_text
        self.stack.setCurrentWidget(self.empty_state if empty else self._grid_page)

    def _update_header(self) -> None:
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
        cache: dict[str, int] = self.__dict__.setdefault("_count_cache", {})
        if key in cache:
            self.grid_count.setText(f"  {counted(cache[key], 'photo')}")
            return
        self.grid_count.setText(f"  {self.model.rowCount():,}+ photos")
        pending: set[str] = self.__dict__.setdefault("_count_pending", set())
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
        )

    def invalidate_counts(self) -> None:
        self.__dict__.get("_count_cache", {}).clear()

    # -------------------------------------------------------------- search
    def _similar_unavailable_reason(self) -> str | None:
        st = self.ctx.search_state
        return None if st.ready and self.ctx.search is not None else st.message

    def _rerun_search(self) -> None:
        if self._search_text:
            self.run_search(self._search_text, force=True)

    def _show_all_results(self) -> None:
        """The person asked for the matches under the relevance cutoff too (for this query only)."""
        self._everything_for = self._search_text
        self._rerun_search()

    def run_search(self, text: str, force: bool = False) -> None:
        """Show what ``text`` finds: smart search when a model is ready, else filters and file names."""
        text = text.strip()
        if text == self._search_text and not force:
            return
        self._search_text = text
        self._search_token += 1
        everything = text == getattr(self, "_everything_for", None)
        token = self._search_token
        if not text:
            self.show_view(self.sidebar.current_spec())
            return
        self._enter_view(f"search:{text}")
        self.sidebar.clear_selection()
        self.stack.setCurrentWidget(self._grid_page)
        try:
            parsed = self._parse(text)
        except ValueError as exc:
            # the query finds nothing until it is fixed: the last query's photos must not stay up
            # under this one's title
            self._searched_with = None
            self.model.browse(PhotoFilter(photo_ids=[]), f"“{text}”")
            self.notice.show_message(str(exc))
            return
        similar_to, free_text = parsed.similar, parsed.text
        sort = self.search_bar.sort_mode()
        state = self.ctx.search_state
        service = self.ctx.search if state.ready else None
        # a query that needs the model runs again when what answered it changes: see _on_search_state
        self._searched_with = self._search_key() if similar_to is not None or free_text else None
        if similar_to is not None:
            if service is None:
                self._explain_no_model("Finding similar photos")
                return
            title = self._similar_title(similar_to)
            self._submit_search(
                token,
                title,
                lambda _c: service.similar(
                    similar_to,
                    limit=SEARCH_LIMIT,
                    query=text,
                    sort="date" if sort == SORT_DATE else "score",
                    everything=everything,
                ),
            )
            return
        if free_text and service is not None:
            self._submit_search(
                token,
                f"“{text}”",
                lambda _c: service.search(
                    text,
                    limit=SEARCH_LIMIT,
                    sort="date" if sort == SORT_DATE else "score",
                    everything=everything,
                ),
            )
            return
        # no model (or no free text): the filters narrow the catalog and each word must be in a file
        # name, title, description, keyword or tag (what 'python main.py search' does without a model)
        f = parsed.keyword_filter()
        if free_text:
            showing = (
                f"Showing photos whose names, titles, descriptions, keywords or tags contain “{free_text}”."
            )
            if self._model_banner_shown():  # the banner above already says why: do not say it twice
                self.notice.show_message(f"Without a smart-search model: {showing[0].lower()}{showing[1:]}")
            else:
                self.notice.show_message(
                    f"{state.message or 'Smart search is not ready yet.'} {showing}",
                    ("Settings…", lambda: self.open_settings("model")) if self.ctx.search is None else None,
                )
        else:
            self.notice.hide()
        self.model.browse(f, f"“{text}”")

    def _parse(self, text: str) -> ParsedQuery:
        """The query parsed (``similar:``, filters, free text); raises ``QueryError`` (a ``ValueError``)
        that says how to fix it."""
        parsed = parse_query(text)
        check_tags(parsed.filter.tags)  # an unknown or ambiguous tag says so instead of showing nothing
        return parsed

    def _similar_title(self, target: int | Path) -> str:
        if isinstance(target, int):
            p = self.library.photo(target)
            return f"Like {Path(p.rel_path).name}" if p is not None else "Similar photos"
        return f"Like {target.name}"

    def _submit_search(self, token: int, title: str, fn: Any) -> None:
        sort = SORT_DATE if self.search_bar.sort_mode() == SORT_DATE else SORT_RELEVANCE

        def _done(result: Any) -> None:
            if token != self._search_token:
                return  # the person typed on; an older answer must not replace a newer one
            hits = [(h.photo_id, float(h.score)) for h in result.hits]
            self.model.set_results(hits, title, sort=sort, on_done=self._update_header)
            notes = [n for n in (getattr(result, "notice", None),) if n]
            more = getattr(result, "more", 0)
            if more:
                notes.append(f"{counted(more, 'weaker match', 'weaker matches')} hidden.")
            if notes:
                action = ("Show all", self._show_all_results) if more else None
                self.notice.show_message(" ".join(notes), action)
            else:
                self.notice.hide()

        def _failed(message: str) -> None:
            if token == self._search_token:
                self.notice.show_message(f"Search failed: {message}")

        self.runner.submit("Search", fn, on_result=_done, on_error=_failed, track=False)

    def find_similar(self, photo_id: int) -> None:
        """Right-click → Find similar: the search field shows it so the person can refine it."""
        if self.ctx.search is None or not self.ctx.search_state.ready:
            self._explain_no_model("Finding similar photos")
            return
        self.search_bar.set_text(f"similar:{photo_id} ")

    def find_similar_to_current(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.find_similar(ids[0])

    def search_by_image(self, path: Path) -> None:
        """An image dropped on the search field (from the library or anywhere)."""
        if self.ctx.search is None or not self.ctx.search_state.ready:
            self._explain_no_model("Searching by an image")
            return
        row = self.library.photo_by_path(path)
        self.search_bar.set_text(f"similar:{row.id} " if row is not None else f'similar:"{path}" ')

    def _model_banner_shown(self) -> bool:
        return self.model_notice is not None and not self.model_notice.isHidden()

    def _explain_no_model(self, doing: str) -> None:
        """Why ``doing`` needs smart search — in the notice bar, unless the model banner already says it."""
        if self._model_banner_shown():
            self.notice.show_message(f"{doing} needs the smart-search model (see above).")
        else:
            self.notice.show_message(
                self.ctx.search_state.message, ("Settings…", lambda: self.open_settings("model"))
            )

    def _search_key(self) -> tuple[str, Any, bool]:
        """What a smart query's answer depends on: the state, the serving model, every photo embedded."""
        st = self.ctx.search_state
        return st.state, self.ctx.search if st.ready else None, st.pending == 0

    def _on_search_state(self) -> None:
        """The model became ready, another one was chosen, it failed, or it finished embedding.

        A query typed before (it showed "Smart search is starting…" and file-name
        matches) runs again with what is there now. While a model is still
        loading, the results on screen stay.
        """
        self._update_model_banner()
        if (
            self._search_text
            and self._searched_with is not None
            and self.ctx.search_state.state != SEARCH_CHECKING
            and self._searched_with != self._search_key()
        ):
            self._rerun_search()

    def _update_model_banner(self) -> None:
        st = self.ctx.search_state
        if self.model_notice is None:
            return
        shown = self.ctx.settings.value("notices/model_missing_dismissed", "false") in (True, "true")
        if st.state == "unavailable" and st.model_name and not shown:
            if st.failed and hasattr(self.model_notice, "set_problem"):
                self.model_notice.set_problem(st.message)  # a broken file: say why, no download offer
            elif hasattr(self.model_notice, "set_model"):
                self.model_notice.set_model(st.model_name, st.download_bytes)
            self.model_notice.show()
        else:
            self.model_notice.hide()

    def _model_notice_dismissed(self) -> None:
        self.ctx.settings.setValue("notices/model_missing_dismissed", True)
        if self.model_notice is not None:
            self.model_notice.hide()

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
        if hasattr(self.info_panel, "set_photos"):
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
        return self.actions.build_menu(self.selected_ids(), self.selected_paths(), self)

    # --------------------------------------------------------------- viewer
    def open_current(self) -> None:
        self.open_viewer(self.grid.currentIndex())

    def open_viewer(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        ids = self.model.ids()
        viewer = ViewerWindow(self.library, self.runner, ids, index.row(), self)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        viewer.current_changed.connect(self._follow_viewer)
        viewer.destroyed.connect(lambda *_: self._viewer_closed(viewer))
        self._connect_viewer_edits(viewer)
        self.viewers.append(viewer)
        viewer.show()

    def _follow_viewer(self, photo_id: int) -> None:
        row = self.model.row_for_id(photo_id)
        if row is not None:
            idx = self.model.index(row, 0)
            self.grid.selectionModel().setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.grid.scrollTo(idx)

    def _viewer_closed(self, viewer: QWidget) -> None:
        if viewer in self.viewers:
            self.viewers.remove(viewer)
        # ratings and tags may have been edited in the viewer's info panel
        self.model.reload_user_data(self.model.ids()[:5000])
        self.refresh_sidebar()

    # ------------------------------------------------------------- settings
    def open_settings(self, page: str | None = None) -> Any:
        dialog = SettingsDialog(self.library, self.runner, self)
        dialog.roots_changed.connect(self._roots_changed)
        dialog.model_changed.connect(self.ctx.check_search)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.show()
        self._settings_dialog = dialog
        return dialog

    def _choose_weights_file(self) -> None:
        """The banner's *Choose file…*: Settings at its model section, with the file chooser open."""
        dialog = self.open_settings("model")
        if dialog is not None and hasattr(dialog, "_choose_weights"):
            QTimer.singleShot(0, dialog._choose_weights)

    def _roots_changed(self) -> None:
        self.ctx.restart_watcher()
        self.refresh_all()

    # ----------------------------------------------------------- drag & drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.source() is self.grid:
            event.ignore()  # our own photos dragged back onto the window: nothing to add
            return
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.source() is not self.grid and event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
        self.handle_dropped_paths(paths)

    def handle_dropped_paths(self, paths: Sequence[Path]) -> None:
        """Folders become watched library folders (and are scanned); image files are imported."""
        folders = [p for p in paths if p.is_dir()]
        files = [p for p in paths if p.is_file()]
        if folders:
            self.add_folders(folders)
        if files:
            images = [p for p in files if is_image_file(p)]
            others = [p for p in files if p not in images]
            if images:
                self.import_files(images)
            if others and not images and not folders:
                names = ", ".join(p.name for p in others[:3])
                self.notice.show_message(f"Not photos Shoebox can read: {names}")

    # ------------------------------------------------------------ library ops
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to the library", str(_pictures_dir()))
        if folder:
            self.add_folders([Path(folder)])

    def choose_import(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self,
            "Import photos",
            str(_pictures_dir()),
            import_dialog_filter(),
        )
        if files:
            self.import_files([Path(f) for f in files])

    def add_folders(self, folders: Sequence[Path]) -> None:
        """Folders dropped or chosen: add them as watched library folders (off the GUI thread), then scan."""
        folders = list(folders)

        def _add(_control: Any) -> tuple[list[Any], list[str]]:
            roots, problems = [], []
            for folder in folders:
                try:
                    roots.append(self.library.add_root(folder, watched=True))
                except LibraryError as exc:
                    problems.append(str(exc))
            return roots, problems

        def _added(result: tuple[list[Any], list[str]]) -> None:
            roots, problems = result
            if roots and (self.sidebar.current_spec().key != ALL_KEY or self._search_text):
                # show where the new photos arrive; All photos itself refreshes as the scan goes
                self.sidebar.select_key(ALL_KEY, emit=False)
                self.show_view(self.sidebar.current_spec())
            if problems:  # after the switch: a notice belongs to the view it is shown over
                self.notice.show_message(" ".join(problems))
            if not roots:
                return
            self.ctx.restart_watcher()
            self.refresh_sidebar()
            self.scan_roots([r.id for r in roots])

        self.runner.submit(
            "Adding folders",
            _add,
            on_result=_added,
            on_error=lambda m: self.notice.show_message(f"Could not add the folder: {m}"),
            track=False,
        )

    def check_folders(self) -> Any:
        """At start: look through the watched folders for what changed while Shoebox was closed.

        The watcher only sees changes while the app runs; this also finishes a scan
        that was cancelled or cut short by a crash. Unchanged files cost a stat each
        (100,000 photos: about 2 s), and the embedding of new photos resumes after.
        """
        if not self.ctx.watching:
            return None
        watched = [r.id for r in self.library.roots() if r.watched]
        if not watched:
            self.ctx.start_embedding()  # nothing to look at; still finish what a crash cut short
            return None
        return self.scan_roots(watched, title="Checking folders for changes")

    def scan_roots(self, root_ids: Sequence[int] | None = None, title: str | None = None) -> Any:
        roots = [r for r in self.library.roots() if root_ids is None or r.id in root_ids]
        if not roots:
            return None
        names = ", ".join(Path(r.path).name or r.path for r in roots[:2]) + ("…" if len(roots) > 2 else "")

        def _scan(control: Any) -> Any:
            return self.library.scan(roots, control)

        def _done(report: Any) -> None:
            self._scan_refresh_timer.stop()
            self._scan_refresh_timer.setInterval(1500)
            self.refresh_all()
            warnings = getattr(report, "warnings", [])
            text = report.summary() if hasattr(report, "summary") else "Scan finished."
            if warnings:
                text += " " + " ".join(warnings[:2])
            if getattr(report, "errors", 0):
                self.notice.show_message(text, ("Show", lambda: self.sidebar.select_key("view:errors")))
            elif getattr(report, "no_thumbnails", 0):  # the cache's disk is full: say which, and what to do
                self.notice.show_message(text)
            self.ctx.start_embedding()

        return self.runner.submit(
            title or f"Scanning {names}",
            _scan,
            on_result=_done,
            on_error=lambda m: self.notice.show_message(f"Scanning {names} failed: {m}"),
            on_progress=lambda _p: self._scan_refresh_timer.isActive() or self._scan_refresh_timer.start(),
        )

    def _refresh_during_scan(self) -> None:
        """Show a scan's first photos quickly, then refresh less often: each refresh re-reads
        pages and counts (off the GUI thread) and resets the grid, which is work a long scan
        need not repeat every second."""
        self.refresh_all()
        self._scan_refresh_timer.setInterval(6000)

    def rescan_all(self) -> None:
        self.scan_roots(None)

    def import_files(self, files: Sequence[Path]) -> Any:
        files = list(files)

        def _import(control: Any) -> Any:
            return self.library.import_paths(files, control)

        def _done(report: Any) -> None:
            self.ctx.restart_watcher()  # the import folder may be a new root
            self.refresh_all()
            text = report.summary()
            if report.duplicates:
                names = ", ".join(Path(src).name for src, _ in report.duplicates[:3])
                more = "…" if len(report.duplicates) > 3 else ""
                text += f". Already in the library: {names}{more}"
            self.notice.show_message(text)
            self.ctx.start_embedding()

        return self.runner.submit(
            f"Importing {counted(len(files), 'file')}",
            _import,
            on_result=_done,
            on_error=lambda m: self.notice.show_message(f"Import failed: {m}"),
        )

    def remove_root(self, root_id: int) -> None:
        root = next((r for r in self.library.roots() if r.id == root_id), None)
        if root is None:
            return
        if not confirm(self, "Remove folder", f"Stop cataloguing {root.path}?\n\nThe files stay on disk."):
            return
        self.library.remove_root(root_id)
        self.ctx.restart_watcher()
        self.sidebar.select_key(ALL_KEY, emit=True)
        self.refresh_all()

    def delete_tag(self, name: str) -> None:
        """Delete a tag (and the tags below it) from every photo, after asking; undoable."""
        info = next((t for t in self.library.tags() if t.name == name), None)
        if info is None:
            return
        below = sum(1 for t in self.library.tags() if t.name.startswith(name + "/"))
        also = f" and {counted(below, 'tag')} below it" if below else ""
        question = f"Delete the tag “{name}”{also} from {counted(info.count, 'photo')}?\n\nYou can undo this."
        if confirm(self, "Delete tag", question):
            self._delete_and_leave(f"tag:{name}", lambda: self.library.delete_tag(name))

    def delete_album(self, name: str) -> None:
        """Delete an album after asking (its photos stay in the library); undoable."""
        count = dict(self.library.albums()).get(name)
        if count is None:
            return
        question = f"Delete the album “{name}”? Its {counted(count, 'photo')} stay in the library.\n\nYou can undo this."
        if confirm(self, "Delete album", question):
            self._delete_and_leave(f"album:{name}", lambda: self.library.delete_album(name))

    def _delete_and_leave(self, key: str, delete: Callable[[], object]) -> None:
        delete()
        self.edit_history.refresh()
        if self.sidebar.current_spec().key == key:
            # its view is gone: show everything instead (that loads the grid; a refresh of the
            # view being left would race it and could show the empty view again)
            self.sidebar.select_key(ALL_KEY, emit=True)
            self.refresh_sidebar()
            if hasattr(self.info_panel, "refresh"):
                self.info_panel.refresh()
        else:
            self.refresh_all()

    def _set_watched(self, root_id: int, watched: bool) -> None:
        self.library.set_watched(root_id, watched)
        self.ctx.restart_watcher()
        self.refresh_sidebar()

    # -------------------------------------------------------------- refresh
    def refresh_sidebar(self) -> None:
        """Recount the sidebar off the GUI thread (coalesced: one count at a time)."""
        if self._gather_running:
            self._gather_again = True
            return
        self._gather_running = True

        def _done(data: SidebarData) -> None:
            self._gather_running = False
            if self.grid.is_scrolling():
                self._sidebar_when_idle = data  # rebuilding the tree costs frames: after the fling
            else:
                self.sidebar.populate(data)
            self.search_bar.set_tag_names([name for name, _ in data.tags])
            if self._gather_again:
                self._gather_again = False
                self.refresh_sidebar()

        def _failed(message: str) -> None:
            self._gather_running = False
            log.warning("sidebar counts failed: %s", message)

        self.runner.submit(
            "Count photos", lambda _c: gather(self.library), on_result=_done, on_error=_failed, track=False
        )

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
            self._update_empty()

        self.model.refresh(keep_rows=self.model.rowCount(), on_done=restore)

    def _read_off_gui_thread(
        self, load: Callable[[], Any], done: Callable[[Any], None], failed: Callable[[str], None]
    ) -> None:
        """The grid model's executor: catalog reads run on the quick pool, results land here."""
        self.runner.submit("Load photos", lambda _c: load(), on_result=done, on_error=failed, track=False)

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
        self._update_empty()
        self.refresh_sidebar()
        if hasattr(self.info_panel, "refresh"):
            self.info_panel.refresh()

    def _scroll_idle(self) -> None:
        data, self._sidebar_when_idle = self._sidebar_when_idle, None
        if data is not None:
            self.sidebar.populate(data)
        if self._refresh_when_idle:
            self.refresh_all()

    def _on_user_data_changed(self, ids: list[int]) -> None:
        self.model.reload_user_data(ids)
        if hasattr(self.info_panel, "refresh"):
            self.info_panel.refresh()
        self.refresh_sidebar()

    def _on_info_edit(self) -> None:
        self.model.reload_user_data(self.selected_ids())
        self.refresh_sidebar()

    def _on_removed(self, _ids: list[int]) -> None:
        self.refresh_grid()
        self.grid.selectionModel().clearSelection()
        self.refresh_sidebar()
        self._update_empty()

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About Shoebox",
            "<b>Shoebox</b><br>A desktop photo manager with local smart search.<br>"
            f"Library: {self.library.paths.data}",
        )


__all__ = ["MainWindow", "NoticeBar"]
