"""What can be done to selected photos: the right-click menu and the actions behind it.

``PhotoActions`` is shared by the context menu, the keyboard (digits rate,
Delete moves to the trash, Shift+Delete removes from the library, L and R
turn) and the main window's menus, so every path does the same thing. Writes go through the ``Library`` (and so through its single writer),
run by the job runner so the GUI never waits behind a scan's batch commit;
``changed`` fires on the GUI thread once the catalog has the edit.

Dialogs go through ``ask_text`` and ``confirm`` so tests can answer them.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Signal, SignalInstance
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox, QWidget

from desktop.core.catalog.pairs import KIND_LIVE
from desktop.core.catalog.query import QueryError, parse_coordinates
from desktop.core.library import Library, TrashReport, photo_tags
from desktop.gui.app.jobs import JobRunner
from desktop.gui.dialogs import date_dialog

STARS = ["No rating", "★", "★★", "★★★", "★★★★", "★★★★★"]


def ask_text(parent: QWidget | None, title: str, label: str, choices: Sequence[str] = ()) -> str | None:
    """Ask for a name, offering ``choices`` in a list to pick from; None when cancelled.

    The field starts empty: pre-filled with the first tag, Enter would have
    tagged a whole selection with a tag nobody chose.
    """
    dialog = QInputDialog(parent)
    dialog.setWindowTitle(title)
    dialog.setLabelText(label)
    if choices:
        dialog.setComboBoxItems(list(choices))
        dialog.setComboBoxEditable(True)
    dialog.setTextValue("")
    if not dialog.exec():
        return None
    text = str(dialog.textValue()).strip()
    return text or None


def confirm(parent: QWidget | None, title: str, text: str) -> bool:
    answer = QMessageBox.question(
        parent,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes


def inform(parent: QWidget | None, title: str, text: str) -> None:
    QMessageBox.information(parent, title, text)


class PhotoActions(QObject):
    """Edits and file operations on a set of photos."""

    changed = Signal(list)  # photo ids whose rating/tags/albums/turn changed (catalog already updated)
    removed = Signal(list)  # photo ids forgotten by the library (removed, or moved to the trash)
    dates_changed = Signal(list)  # photo ids whose date moved: the grid's order and groups change
    find_similar_requested = Signal(int)  # photo id
    export_requested = Signal()  # the main window opens Export… for its selection
    failed = Signal(str)  # a user-facing message

    def __init__(self, library: Library, runner: JobRunner, parent_widget: QWidget | None = None) -> None:
        super().__init__(parent_widget)
        self.library = library
        self.runner = runner
        self.parent_widget = parent_widget
        self.similar_available: Callable[[], str | None] = lambda: None  # None, or why it is not

    # ----------------------------------------------------------- edits
    def _write(
        self, name: str, ids: list[int], fn: Callable[[], object], signal: SignalInstance | None = None
    ) -> None:
        out = signal if signal is not None else self.changed
        self.runner.submit(
            name,
            lambda _c: fn(),
            on_result=lambda _r: out.emit(ids),
            on_error=self.failed.emit,
            track=False,
            owner=self,
            cancel_with_owner=False,  # an edit the person asked for completes even if the window closes
        )

    def rate(self, ids: Sequence[int], rating: int) -> None:
        ids = list(ids)
        if ids:
            self._write("Rate", ids, lambda: self.library.set_rating(ids, rating))

    def set_rejected(self, ids: Sequence[int], rejected: bool) -> None:
        ids = list(ids)
        if ids:
            name = "Reject" if rejected else "Unreject"
            self._write(name, ids, lambda: self.library.set_rejected(ids, rejected))

    def all_rejected(self, ids: Sequence[int]) -> bool:
        """Whether every one of ``ids`` is flagged rejected (then X and the menus offer *Unreject*)."""
        data = self.library.reads.user_data(list(ids))
        return bool(data) and all(d.rejected for d in data.values())

    def toggle_rejected(self, ids: Sequence[int]) -> None:
        """X: reject the photos, or unreject them when all of them are rejected already (as Lightroom's X)."""
        self.set_rejected(ids, not self.all_rejected(ids))

    def add_tag(self, ids: Sequence[int], name: str | None = None) -> None:
        ids = list(ids)
        if not ids:
            return
        if name is None:
            names = [t.name for t in self.library.tags()]
            label = f"Tag {len(ids)} photo{'s' if len(ids) != 1 else ''} with (use / for nesting, e.g. Places/Paris):"
            name = ask_text(self.parent_widget, "Add tag", label, names)
        if name:
            tag = name
            self._write("Add tag", ids, lambda: self.library.add_tag(tag, ids))

    def remove_tag(self, ids: Sequence[int], name: str) -> None:
        ids = list(ids)
        if ids:
            self._write("Remove tag", ids, lambda: self.library.remove_tag(name, ids))

    def add_to_album(self, ids: Sequence[int], name: str | None = None) -> None:
        ids = list(ids)
        if not ids:
            return
        if name is None:
            name = ask_text(
                self.parent_widget, "Add to album", "Album:", [n for n, _ in self.library.albums()]
            )
        if name:
            album = name
            self._write("Add to album", ids, lambda: self.library.add_to_album(album, ids))

    def remove_from_library(self, ids: Sequence[int], ask: bool = True) -> bool:
        ids = list(ids)
        if not ids:
            return False
        n = len(ids)
        what = "this photo" if n == 1 else f"these {n:,} photos"
        files = (
            "The file stays on disk; its tags, rating and album places"
            if n == 1
            else ("The files stay on disk; their tags, ratings and album places")
        )
        text = (
            f"Remove {what} from the library?\n\n{files} are forgotten. "
            "A rescan of a watched folder brings them back."
        )
        if ask and not confirm(self.parent_widget, "Remove from library", text):
            return False
        self._write("Remove from library", ids, lambda: self.library.remove_photos(ids), self.removed)
        return True

    def trash(self, ids: Sequence[int], ask: bool = True) -> bool:
        """Move the photos' files to the system trash (asked once, with the count); undoable."""
        ids = list(ids)
        if not ids:
            return False
        n = len(ids)
        what = "this photo" if n == 1 else f"{n:,} photos"
        paired = self.library.reads.companion_count(ids)
        # a pair's files go together (a RAW or a Live Photo's clip left behind would show up on its own)
        if not paired:
            also = ""
        elif n == 1:
            also = f" {self._companion_words(ids[0])} and their sidecars go with it."
        else:
            also = f" Their {paired:,} paired files and the sidecars go with them."
        if ask and not confirm(
            self.parent_widget, "Move to Trash", f"Move {what} to the trash?{also} You can undo this."
        ):
            return False

        def _done(report: TrashReport) -> None:
            if report.trashed:
                self.removed.emit(ids)
            if report.failed:
                self.failed.emit(trash_failure_text(report))

        self.runner.submit(
            "Move to Trash",
            lambda _c: self.library.trash_photos(ids),
            on_result=_done,
            on_error=self.failed.emit,
            track=False,
            owner=self,
            cancel_with_owner=False,  # the person asked for it: the files go even if the window closes
        )
        return True

    def _companion_words(self, photo_id: int) -> str:
        """The paired file of one photo by name, for the trash question: "IMG_1.DNG (its RAW)"."""
        info = self.library.photo_info(photo_id) or {}
        companions = info.get("companions") or []
        if not companions:
            return "Its paired file"
        names = [
            f"{Path(c['path']).name} ({'its Live Photo clip' if c['kind'] == KIND_LIVE else 'its RAW'})"
            for c in companions
        ]
        return " and ".join(names)

    def rotate(self, ids: Sequence[int], degrees: int) -> None:
        """Turn the photos a quarter turn (clockwise for positive ``degrees``), in the catalog only."""
        ids = list(ids)
        if ids:
            self._write("Rotate", ids, lambda: self.library.rotate(ids, degrees % 360))

    def adjust_dates(self, ids: Sequence[int]) -> None:
        """*Adjust date and time…*: shift or set the dates of the photos (one undoable change)."""
        ids = list(ids)
        if not ids:
            self.failed.emit("Select the photos whose date to change first.")
            return
        dated = sorted(t for t in self.library.reads.taken(ids).values() if t)
        earliest = dt.datetime.fromisoformat(dated[0]) if dated else None
        change = date_dialog.ask_date_change(self.parent_widget, len(ids), earliest)
        if change is None:
            return
        if change.shift is not None:
            shift = change.shift
            self._write("Shift dates", ids, lambda: self.library.shift_dates(ids, shift), self.dates_changed)
        elif change.when is not None:
            when, keep = change.when, change.keep_intervals
            self._write(
                "Set dates",
                ids,
                lambda: self.library.set_dates(ids, when, keep_intervals=keep),
                self.dates_changed,
            )

    def set_place(self, ids: Sequence[int]) -> None:
        """*Set place…*: latitude and longitude as maps copy them (one undoable change)."""
        ids = list(ids)
        if not ids:
            self.failed.emit("Select the photos to give a place first.")
            return
        text = ask_text(
            self.parent_widget, "Set place", "Latitude, longitude in degrees (e.g. 48.8584, 2.2945):"
        )
        if text is None:
            return
        try:
            place = parse_coordinates(text)
        except QueryError as exc:
            self.failed.emit(exc.message)
            return
        self._write("Set place", ids, lambda: self.library.set_place(ids, place))

    # ---------------------------------------------------------- files
    def open_default(self, paths: Sequence[Path]) -> None:
        for p in list(paths)[:10]:  # opening hundreds of viewers is never what was meant
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(p)))

    def show_in_file_manager(self, paths: Sequence[Path]) -> None:
        if not paths:
            return
        path = Path(paths[0])
        if sys.platform == "darwin":
            import subprocess

            subprocess.Popen(["open", "-R", str(path)])
        elif sys.platform == "win32":
            import subprocess

            subprocess.Popen(["explorer", "/select,", str(path)])
        elif not self._show_item_dbus(path):
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))

    @staticmethod
    def _show_item_dbus(path: Path) -> bool:
        """Ask the desktop's file manager to select the file (freedesktop FileManager1)."""
        try:
            from PySide6.QtDBus import QDBusConnection, QDBusInterface

            bus = QDBusConnection.sessionBus()
            if not bus.isConnected():
                return False
            iface = QDBusInterface(
                "org.freedesktop.FileManager1",
                "/org/freedesktop/FileManager1",
                "org.freedesktop.FileManager1",
                bus,
            )
            if not iface.isValid():
                return False
            reply = iface.call("ShowItems", [QUrl.fromLocalFile(str(path)).toString()], "")
            return not reply.errorName()
        except Exception:
            return False

    def copy_paths(self, paths: Sequence[Path]) -> None:
        QGuiApplication.clipboard().setText("\n".join(str(p) for p in paths))

    # ----------------------------------------------------------- menu
    def build_menu(self, ids: Sequence[int], paths: Sequence[Path], parent: QWidget | None = None) -> QMenu:
        """The right-click menu for the photos ``ids`` (files ``paths``)."""
        ids, paths = list(ids), list(paths)
        menu = QMenu(parent)
        n = len(ids)
        similar = menu.addAction("Find similar", lambda: self.find_similar_requested.emit(ids[0]))
        why = self.similar_available()
        if why:
            similar.setToolTip(why)
            similar.setStatusTip(why)
        menu.setToolTipsVisible(True)
        menu.addSeparator()
        menu.addAction("Add tag…", lambda: self.add_tag(ids))
        current_tags = sorted({t for pid in ids[:500] for t in photo_tags(pid)})
        remove_menu = menu.addMenu("Remove tag")
        remove_menu.setEnabled(bool(current_tags))
        for name in current_tags:
            remove_menu.addAction(name, functools.partial(self.remove_tag, ids, name))
        album_menu = menu.addMenu("Add to album")
        for name, _count in self.library.albums():
            album_menu.addAction(name, functools.partial(self.add_to_album, ids, name))
        if self.library.albums():
            album_menu.addSeparator()
        album_menu.addAction("New album…", lambda: self.add_to_album(ids))
        rate_menu = menu.addMenu("Rate")
        for stars in range(6):
            rate_menu.addAction(f"{STARS[stars]}\t{stars}", functools.partial(self.rate, ids, stars))
        rejected = self.all_rejected(ids)
        menu.addAction(
            "Unreject\tX" if rejected else "Reject\tX", lambda: self.set_rejected(ids, not rejected)
        )
        menu.addAction("Adjust date and time…\tCtrl+Shift+D", lambda: self.adjust_dates(ids))
        menu.addAction("Set place…", lambda: self.set_place(ids))
        menu.addAction("Rotate left\tL", lambda: self.rotate(ids, -90))
        menu.addAction("Rotate right\tR", lambda: self.rotate(ids, 90))
        menu.addSeparator()
        menu.addAction("Export…\tCtrl+E", self.export_requested.emit)
        menu.addAction("Show in file manager", lambda: self.show_in_file_manager(paths))
        menu.addAction("Open with default application", lambda: self.open_default(paths))
        menu.addAction("Copy path" if n == 1 else f"Copy {n} paths", lambda: self.copy_paths(paths))
        menu.addSeparator()
        trash_label = "Move to Trash…" if n == 1 else f"Move {n:,} photos to Trash…"
        menu.addAction(f"{trash_label}\tDel", lambda: self.trash(ids))
        label = "Remove from library…" if n == 1 else f"Remove {n:,} photos from library…"
        menu.addAction(f"{label}\tShift+Del", lambda: self.remove_from_library(ids))
        return menu


def trash_failure_text(report: TrashReport) -> str:
    """One sentence for the files that could not go to the trash: how many, why, and that they stay."""
    path, reason = report.failed[0]
    name = Path(path).name
    if len(report.failed) == 1:
        return f"{name} could not be moved to the trash ({reason}); it stays in the library."
    return (
        f"{len(report.failed):,} photos could not be moved to the trash ({name}: {reason}); "
        "they stay in the library."
    )


__all__ = ["PhotoActions", "ask_text", "confirm", "inform", "trash_failure_text"]
