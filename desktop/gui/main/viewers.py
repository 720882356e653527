"""The viewer windows opened from the main window.

``Viewers`` owns the open ``ViewerWindow``s: opening one on the current photo of
the grid (over the grid's photos, in its order), keeping the grid's current
photo on the viewer's, carrying edits made in a viewer back to the grid
(Ctrl+Z there undoes like in the main window), showing each again after an undo
or redo, and closing them with the window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QObject, Qt

from desktop.gui.viewer.viewer import ViewerWindow

if TYPE_CHECKING:
    from desktop.gui.main.main_window import MainWindow


class Viewers(QObject):
    """The main window's viewer windows; the window owns it."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.library = window.library
        self.runner = window.runner
        self.model = window.model
        self.grid = window.grid
        self.windows: list[ViewerWindow] = []  # open, oldest first
        self.grid.open_requested.connect(self.open_viewer)

    def open_current(self) -> None:
        self.open_viewer(self.grid.currentIndex())

    def open_viewer(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        ids = self.model.ids()
        viewer = ViewerWindow(self.library, self.runner, ids, index.row(), self.window)
        viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        viewer.current_changed.connect(self._follow_viewer)
        viewer.destroyed.connect(lambda *_: self._viewer_closed(viewer))
        self._connect_viewer_edits(viewer)
        self.windows.append(viewer)
        viewer.show()

    def _connect_viewer_edits(self, viewer: ViewerWindow) -> None:
        """Edits in a viewer show in the grid at once; Ctrl+Z there undoes like here."""
        edit_history = self.window.edit_history
        viewer.edited.connect(self.window.photo_actions.changed)
        viewer.addActions([edit_history.undo_action, edit_history.redo_action])

    def _follow_viewer(self, photo_id: int) -> None:
        row = self.model.row_for_id(photo_id)
        if row is not None:
            idx = self.model.index(row, 0)
            self.grid.selectionModel().setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.grid.scrollTo(idx)

    def _viewer_closed(self, viewer: ViewerWindow) -> None:
        if viewer in self.windows:
            self.windows.remove(viewer)
        # ratings and tags may have been edited in the viewer's info panel
        self.model.reload_user_data(self.model.ids()[:5000])
        self.window.sidebar_flow.refresh_sidebar()

    def reshow_all(self) -> None:
        """An undo or redo changed the catalog: each viewer shows its photo as it is now."""
        for viewer in self.windows:
            viewer.reshow()

    def close_all(self) -> None:
        for viewer in list(self.windows):
            viewer.close()


__all__ = ["Viewers"]
