"""The sidebar's counts and the changes asked for from it.

``SidebarFlow`` owns recounting the sidebar off the GUI thread (one count at a
time; a count that lands during a fling waits for its end, since rebuilding the
tree costs frames) and what the sidebar's menus ask for: rescanning, removing
or (un)watching a library folder, and deleting a tag or an album, each asked
first and undoable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from desktop.core.runtime.wording import counted
from desktop.gui.main import context_menu
from desktop.gui.panels.sidebar import ALL_KEY, SidebarData, gather

if TYPE_CHECKING:
    from desktop.gui.main.main_window import MainWindow

log = logging.getLogger(__name__)


class SidebarFlow(QObject):
    """The sidebar's counts and requests, for the main window that owns it."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.ctx = window.ctx
        self.library = window.library
        self.runner = window.runner
        self.sidebar = window.sidebar
        self.grid = window.grid
        self.search_bar = window.search_bar
        self.edit_history = window.edit_history
        self.info_panel = window.info_panel
        self._gather_running = False
        self._gather_again = False
        self._sidebar_when_idle: SidebarData | None = None

        self.sidebar.view_selected.connect(window.show_view)
        self.sidebar.add_folder_requested.connect(window.scan_flow.choose_folder)
        self.sidebar.rescan_requested.connect(lambda rid: window.scan_flow.scan_roots([rid]))
        self.sidebar.remove_root_requested.connect(self.remove_root)
        self.sidebar.delete_tag_requested.connect(self.delete_tag)
        self.sidebar.delete_album_requested.connect(self.delete_album)
        self.sidebar.watch_toggled.connect(self._set_watched)
        self.grid.scroll_idle.connect(self._scroll_idle)

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
            "Count photos",
            lambda _c: gather(self.library),
            on_result=_done,
            on_error=_failed,
            track=False,
            owner=self,
        )

    def _scroll_idle(self) -> None:
        data, self._sidebar_when_idle = self._sidebar_when_idle, None
        if data is not None:
            self.sidebar.populate(data)

    def remove_root(self, root_id: int) -> None:
        root = self.library.reads.root_entry(root_id)
        if root is None:
            return
        if not context_menu.confirm(
            self.window, "Remove folder", f"Stop cataloguing {root.path}?\n\nThe files stay on disk."
        ):
            return
        self.library.remove_root(root_id)
        self.ctx.restart_watcher()
        self.sidebar.select_key(ALL_KEY, emit=True)
        self.window.refresh_all()

    def delete_tag(self, name: str) -> None:
        """Delete a tag (and the tags below it) from every photo, after asking; undoable."""
        info = next((t for t in self.library.tags() if t.name == name), None)
        if info is None:
            return
        below = sum(1 for t in self.library.tags() if t.name.startswith(name + "/"))
        also = f" and {counted(below, 'tag')} below it" if below else ""
        question = f"Delete the tag “{name}”{also} from {counted(info.count, 'photo')}?\n\nYou can undo this."
        if context_menu.confirm(self.window, "Delete tag", question):
            self._delete_and_leave(f"tag:{name}", lambda: self.library.delete_tag(name))

    def delete_album(self, name: str) -> None:
        """Delete an album after asking (its photos stay in the library); undoable."""
        count = dict(self.library.albums()).get(name)
        if count is None:
            return
        question = f"Delete the album “{name}”? Its {counted(count, 'photo')} stay in the library.\n\nYou can undo this."
        if context_menu.confirm(self.window, "Delete album", question):
            self._delete_and_leave(f"album:{name}", lambda: self.library.delete_album(name))

    def _delete_and_leave(self, key: str, delete: Callable[[], object]) -> None:
        delete()
        self.edit_history.refresh()
        if self.sidebar.current_spec().key == key:
            # its view is gone: show everything instead (that loads the grid; a refresh of the
            # view being left would race it and could show the empty view again)
            self.sidebar.select_key(ALL_KEY, emit=True)
            self.refresh_sidebar()
            self.info_panel.refresh()
        else:
            self.window.refresh_all()

    def _set_watched(self, root_id: int, watched: bool) -> None:
        self.library.set_watched(root_id, watched)
        self.ctx.restart_watcher()
        self.refresh_sidebar()


__all__ = ["SidebarFlow"]
