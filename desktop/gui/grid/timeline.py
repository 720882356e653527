"""The timeline's two view choices: how photos are grouped (Years, Months, Days) and which come first.

``TimelineControls`` owns the actions for both, so the toolbar's segmented
control, the View menu and the keyboard (Ctrl+1/2/3, Ctrl+4 for no headers)
stay in step; it applies a choice to the grid's model and remembers it in the
app's settings (``grid/grouping``, ``grid/newest_first``), read back before the
first view is shown. Clicking a year's or a month's header zooms into it.
The order applies to every view sorted by date (All photos, folders, tags,
albums, date-sorted results); results ranked by relevance keep their rank and
have no date headers.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QMenu, QToolButton, QWidget

from desktop.gui.grid.photo_delegate import PhotoGridView
from desktop.gui.grid.photo_model import GROUP_DAY, GROUP_MONTH, GROUP_NONE, GROUP_YEAR, GROUPINGS, PhotoModel

_GROUP_LABELS = {GROUP_YEAR: "Years", GROUP_MONTH: "Months", GROUP_DAY: "Days", GROUP_NONE: "No date headers"}
_GROUP_KEYS = {GROUP_YEAR: "Ctrl+1", GROUP_MONTH: "Ctrl+2", GROUP_DAY: "Ctrl+3", GROUP_NONE: "Ctrl+4"}
_SORT_LABELS = {True: "Newest first", False: "Oldest first"}
_SORT_ARROWS = {True: "↓", False: "↑"}

# the segmented control's look: joined buttons, the chosen one highlighted (any style, light or dark)
_SEGMENT_STYLE = """
QToolButton { border: 1px solid palette(mid); border-left: none; padding: 3px 10px; background: palette(button); }
QToolButton#group-year { border-left: 1px solid palette(mid); border-top-left-radius: 5px;
    border-bottom-left-radius: 5px; }
QToolButton#group-day { border-top-right-radius: 5px; border-bottom-right-radius: 5px; }
QToolButton:checked { background: palette(highlight); color: palette(highlighted-text); }
QToolButton:hover:!checked { background: palette(midlight); }
"""


class TimelineControls(QObject):
    """Grouping and date order of ``model`` shown in ``grid``, remembered in ``settings``."""

    def __init__(self, model: PhotoModel, grid: PhotoGridView, settings: QSettings, parent: QWidget) -> None:
        super().__init__(parent)
        self.model = model
        self.grid = grid
        self.settings = settings
        self.group_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for mode, label in _GROUP_LABELS.items():
            action = QAction(label, parent)
            action.setCheckable(True)
            action.setShortcut(QKeySequence(_GROUP_KEYS[mode]))
            action.setToolTip(f"{self._group_tip(mode)} ({_GROUP_KEYS[mode]})")
            action.triggered.connect(lambda _checked=False, m=mode: self.set_grouping(m))
            group.addAction(action)
            parent.addAction(action)  # the shortcut works wherever the focus is in the window
            self.group_actions[mode] = action
        self.sort_actions: dict[bool, QAction] = {}
        order = QActionGroup(self)
        for newest, label in _SORT_LABELS.items():
            action = QAction(label, parent)
            action.setCheckable(True)
            action.triggered.connect(lambda _checked=False, n=newest: self.set_newest_first(n))
            order.addAction(action)
            self.sort_actions[newest] = action
        self.sort_button: QToolButton | None = None
        grid.header_clicked.connect(self.zoom_into)
        self._sync()

    @staticmethod
    def _group_tip(mode: str) -> str:
        if mode == GROUP_NONE:
            return "Photos in date order without headers"
        return f"Group photos by {_GROUP_LABELS[mode].lower()[:-1]}"

    # -------------------------------------------------------------- widgets
    def toolbar_widget(self, parent: QWidget) -> QWidget:
        """Years | Months | Days, then the order (a button with a menu), for the main toolbar."""
        box = QWidget(parent)
        box.setObjectName("timelineControls")
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        segments = QWidget(box)
        segments.setStyleSheet(_SEGMENT_STYLE)
        seg_row = QHBoxLayout(segments)
        seg_row.setContentsMargins(0, 0, 0, 0)
        seg_row.setSpacing(0)
        for mode in GROUPINGS:
            button = QToolButton(segments)
            button.setDefaultAction(self.group_actions[mode])
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setObjectName(f"group-{mode}")
            seg_row.addWidget(button)
        row.addWidget(segments)
        row.addSpacing(8)
        self.sort_button = QToolButton(box)
        self.sort_button.setObjectName("sortOrder")
        self.sort_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.sort_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.sort_button.setToolTip("Show the newest or the oldest photos first")
        # the style's corner arrow overlaps the text; the label carries its own ▾
        self.sort_button.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0px; }")
        menu = QMenu(self.sort_button)
        menu.addActions(list(self.sort_actions.values()))
        self.sort_button.setMenu(menu)
        row.addWidget(self.sort_button)
        self._sync()
        return box

    def fill_view_menu(self, view: QMenu) -> None:
        """View → Group by (Years, Months, Days, No date headers) and View → Sort (Newest/Oldest first)."""
        group_menu = view.addMenu("Group by")
        for mode in GROUPINGS:
            group_menu.addAction(self.group_actions[mode])
        group_menu.addSeparator()
        group_menu.addAction(self.group_actions[GROUP_NONE])
        sort_menu = view.addMenu("Sort")
        sort_menu.addActions(list(self.sort_actions.values()))

    # ------------------------------------------------------------- choices
    def set_grouping(self, mode: str) -> None:
        self.model.set_grouping(mode)
        self._sync()
        self.save()  # at once, not only at quit: a crash or a kill keeps the choice too

    def set_newest_first(self, newest_first: bool) -> None:
        self.model.set_newest_first(newest_first)
        self._sync()
        self.save()

    def zoom_into(self, row: int) -> None:
        """A year's or month's header was clicked: show it one level finer, from its first photo."""
        if self.model.grouping not in GROUPINGS[:-1]:
            return
        self.set_grouping(GROUPINGS[GROUPINGS.index(self.model.grouping) + 1])
        self.grid.scroll_to_row_top(row)

    # ---------------------------------------------------------- persistence
    def restore(self) -> None:
        """The choices saved last time, set on the model before its first view is read."""
        mode = self.settings.value("grid/grouping")
        if mode in _GROUP_LABELS:
            self.model.grouping = str(mode)
        newest = self.settings.value("grid/newest_first", "true") in (True, "true")
        self.model.order_newest_first = self.model.newest_first = newest
        self._sync()

    def save(self) -> None:
        self.settings.setValue("grid/grouping", self.model.grouping)
        self.settings.setValue("grid/newest_first", self.model.order_newest_first)

    def _sync(self) -> None:
        """Check the actions (and label the order button) after the model's current choices."""
        if (action := self.group_actions.get(self.model.grouping)) is not None:
            action.setChecked(True)
        self.sort_actions[self.model.order_newest_first].setChecked(True)
        if self.sort_button is not None:
            newest = self.model.order_newest_first
            self.sort_button.setText(f"{_SORT_ARROWS[newest]} {_SORT_LABELS[newest]} ▾")


__all__ = ["TimelineControls"]
