"""Bringing photos into the library from the main window.

``ScanFlow`` owns adding folders (chosen in a dialog or dropped) as watched
library folders and scanning them with progress, the scan at start that finds
what changed while Shoebox was closed, *Rescan all folders*, importing files
(chosen or dropped; duplicates reported), and refreshing the grid while a scan
runs. Each ends by saying what happened in the notice bar and starting the
embedding of new photos.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QFileDialog

from desktop.core.ingest.formats import glob_patterns
from desktop.core.ingest.importer import ImportReport
from desktop.core.ingest.scanner import ScanReport
from desktop.core.library import LibraryError
from desktop.core.runtime.wording import counted
from desktop.gui.app.jobs import Job
from desktop.gui.panels.sidebar import ALL_KEY

if TYPE_CHECKING:
    from desktop.gui.main.main_window import MainWindow


def _pictures_dir() -> Path:
    """Where file choosers start: the Pictures folder when there is one, else home."""
    pictures = Path.home() / "Pictures"
    return pictures if pictures.is_dir() else Path.home()


def import_dialog_filter() -> str:
    """The import dialog's name filter: every format Shoebox reads, from the formats registry."""
    return f"Images ({' '.join(glob_patterns())});;All files (*)"


class ScanFlow(QObject):
    """Adding folders, scanning and importing for the main window, which owns it."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.ctx = window.ctx
        self.library = window.library
        self.runner = window.runner
        self.notice = window.notice
        self.sidebar = window.sidebar
        self._scan_refresh_timer = QTimer(self)
        self._scan_refresh_timer.setSingleShot(True)
        self._scan_refresh_timer.setInterval(1500)
        self._scan_refresh_timer.timeout.connect(self._refresh_during_scan)
        self.ctx.started.connect(self.check_folders)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self.window, "Add a folder to the library", str(_pictures_dir())
        )
        if folder:
            self.add_folders([Path(folder)])

    def choose_import(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self.window,
            "Import photos",
            str(_pictures_dir()),
            import_dialog_filter(),
        )
        if files:
            self.import_files([Path(f) for f in files])

    def add_folders(self, folders: Sequence[Path]) -> None:
        """Folders dropped or chosen: add them as watched library folders (off the GUI thread), then scan."""
        folders = list(folders)

        def _add(_control: Any) -> tuple[list[int], list[str]]:
            roots: list[int] = []  # ids: the rows stay on the worker
            problems: list[str] = []
            for folder in folders:
                try:
                    roots.append(self.library.add_root(folder, watched=True).id)
                except LibraryError as exc:
                    problems.append(str(exc))
            return roots, problems

        def _added(result: tuple[list[int], list[str]]) -> None:
            roots, problems = result
            if roots and (self.sidebar.current_spec().key != ALL_KEY or self.window.search_flow.text):
                # show where the new photos arrive; All photos itself refreshes as the scan goes
                self.sidebar.select_key(ALL_KEY, emit=False)
                self.window.show_view(self.sidebar.current_spec())
            if problems:  # after the switch: a notice belongs to the view it is shown over
                self.notice.show_message(" ".join(problems))
            if not roots:
                return
            self.ctx.restart_watcher()
            self.window.sidebar_flow.refresh_sidebar()
            self.scan_roots(roots)

        self.runner.submit(
            "Adding folders",
            _add,
            on_result=_added,
            on_error=self.notice.show_message,  # one sentence: what failed and why
            track=False,
            owner=self,
            cancel_with_owner=False,  # the folders the person added stay added
        )

    def check_folders(self) -> Job | None:
        """At start: look through the watched folders for what changed while Shoebox was closed.

        The watcher only sees changes while the app runs; this also finishes a scan
        that was cancelled or cut short by a crash. Unchanged files cost a stat each
        (100,000 photos: about 2 s), and the embedding of new photos resumes after.
        """
        if not self.ctx.watching:
            return None
        watched = [r.id for r in self.library.reads.root_entries() if r.watched]
        if not watched:
            self.ctx.start_embedding()  # nothing to look at; still finish what a crash cut short
            return None
        return self.scan_roots(watched, title="Checking folders for changes")

    def scan_roots(self, root_ids: Sequence[int] | None = None, title: str | None = None) -> Job | None:
        roots = [r for r in self.library.reads.root_entries() if root_ids is None or r.id in root_ids]
        if not roots:
            return None
        names = ", ".join(Path(r.path).name or r.path for r in roots[:2]) + ("…" if len(roots) > 2 else "")

        def _scan(control: Any) -> ScanReport:
            return self.library.scan_folders([r.id for r in roots], control)

        def _done(report: ScanReport) -> None:
            self._scan_refresh_timer.stop()
            self._scan_refresh_timer.setInterval(1500)
            self.window.refresh_all()
            text = report.summary()
            if report.warnings:
                text += " " + " ".join(report.warnings[:2])
            if report.errors:
                self.notice.show_message(text, ("Show", lambda: self.sidebar.select_key("view:errors")))
            elif report.no_thumbnails:  # the cache's disk is full: say which, and what to do
                self.notice.show_message(text)
            self.ctx.start_embedding()

        return self.runner.submit(
            title or f"Scanning {names}",
            _scan,
            on_result=_done,
            on_error=self.notice.show_message,  # the runner's sentence names the scan ("Scanning X failed (…)")
            on_progress=lambda _p: (
                None if self._scan_refresh_timer.isActive() else self._scan_refresh_timer.start()
            ),
            owner=self,
            cancel_with_owner=False,  # a scan runs to its end; only its answer to a closed window is dropped
        )

    def _refresh_during_scan(self) -> None:
        """Show a scan's first photos quickly, then refresh less often: each refresh re-reads
        pages and counts (off the GUI thread) and resets the grid, which is work a long scan
        need not repeat every second."""
        self.window.refresh_all()
        self._scan_refresh_timer.setInterval(6000)

    def rescan_all(self) -> None:
        self.scan_roots(None)

    def import_files(self, files: Sequence[Path]) -> Job:
        files = list(files)

        def _import(control: Any) -> ImportReport:
            return self.library.import_paths(files, control)

        def _done(report: ImportReport) -> None:
            self.ctx.restart_watcher()  # the import folder may be a new root
            self.window.refresh_all()
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
            on_error=self.notice.show_message,  # "Importing N files failed (…)", or the error's own sentence
            owner=self,
            cancel_with_owner=False,  # the import the person asked for finishes
        )


__all__ = ["ScanFlow", "import_dialog_filter"]
