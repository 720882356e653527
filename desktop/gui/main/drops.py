"""Files and folders dropped on the main window.

``Drops`` owns what a drop on the window means: a folder becomes a watched
library folder and is scanned, a photo file (any format the formats registry
lists, ``.jfif`` and ``.hif`` included) is imported, and a drop of nothing
Shoebox reads says so. Photos dragged out of the grid and back are ignored. A
drop on the search field is the search field's (a search by image).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent

from desktop.core.ingest.formats import is_image_file

if TYPE_CHECKING:
    from desktop.gui.main.main_window import MainWindow


class Drops(QObject):
    """Drag-and-drop onto the main window, which owns it (it watches the window's drag events)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.grid = window.grid
        self.notice = window.notice
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self.window:
            return False
        kind = event.type()
        if kind == QEvent.Type.DragEnter:
            self.drag_enter(cast(QDragEnterEvent, event))
        elif kind == QEvent.Type.DragMove:
            self.drag_move(cast(QDragMoveEvent, event))
        elif kind == QEvent.Type.Drop:
            self.drop(cast(QDropEvent, event))
        else:
            return False
        return True

    def drag_enter(self, event: QDragEnterEvent) -> None:
        if event.source() is self.grid:
            event.ignore()  # our own photos dragged back onto the window: nothing to add
            return
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def drag_move(self, event: QDragMoveEvent) -> None:
        if event.source() is not self.grid and event.mimeData().hasUrls():
            event.acceptProposedAction()

    def drop(self, event: QDropEvent) -> None:
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
            self.window.scan_flow.add_folders(folders)
        if files:
            images = [p for p in files if is_image_file(p)]
            others = [p for p in files if p not in images]
            if images:
                self.window.scan_flow.import_files(images)
            if others and not images and not folders:
                names = ", ".join(p.name for p in others[:3])
                self.notice.show_message(f"Not photos Shoebox can read: {names}")


__all__ = ["Drops"]
