"""Settings → Storage: where thumbnails and previews are kept, how much room they take; move or clear them;
clean up what nothing uses any more (``processing.gc``).

Measuring, moving and clearing the caches and looking for leftovers are file work, so they run on the
job runner; the library owns the caches' location (``Library.picture_cache_dir``).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QWidget,
)

from desktop.core.library import SETTING_CACHE_MB, Library
from desktop.core.processing import gc
from desktop.core.processing.cache import ResultCache
from desktop.core.runtime.jobs import JobControl
from desktop.core.runtime.wording import counted, format_bytes
from desktop.gui.app.jobs import Job, JobRunner
from desktop.gui.dialogs.settings_page import SettingsPage
from desktop.gui.widgets.icons import icon


class StoragePage(SettingsPage):
    """The thumbnail and preview caches: location, size, Move…, Clear cache."""

    key = "storage"

    def __init__(self, library: Library, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__("Storage", library, runner, parent)
        form = QFormLayout(self)
        self.cache_location = QLabel(str(self.library.picture_cache_dir()))
        self.cache_location.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cache_location.setWordWrap(True)
        self.cache_location.setToolTip("Thumbnails and previews (made from your photos; safe to delete)")
        loc_row = QHBoxLayout()
        loc_row.addWidget(self.cache_location, 1)
        open_btn = QPushButton(icon("folder-open"), "Open")
        open_btn.clicked.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.library.picture_cache_dir())))
        )
        loc_row.addWidget(open_btn)
        self.move_cache_button = QPushButton("Move…")
        self.move_cache_button.setToolTip(
            "Keep thumbnails and previews in another folder, say on a bigger disk"
        )
        self.move_cache_button.clicked.connect(self._choose_cache_folder)
        loc_row.addWidget(self.move_cache_button)
        form.addRow("Thumbnail cache", loc_row)
        size_row = QHBoxLayout()
        self.cache_size = QLabel("Measuring…")
        size_row.addWidget(self.cache_size, 1)
        self.clear_cache_button = QPushButton(icon("trash"), "Clear cache")
        self.clear_cache_button.setToolTip(
            "Delete thumbnails and previews; they are made again as you browse"
        )
        self.clear_cache_button.clicked.connect(self._confirm_clear_cache)
        size_row.addWidget(self.clear_cache_button)
        form.addRow("Size", size_row)
        leftovers_row = QHBoxLayout()
        self.leftovers = QLabel("Thumbnails, previews and vectors of removed photos, unfinished exports")
        self.leftovers.setWordWrap(True)
        leftovers_row.addWidget(self.leftovers, 1)
        self.cleanup_button = QPushButton("Clean up…")
        self.cleanup_button.setToolTip(
            "Look for files nothing uses any more and delete them once you agree; "
            "photos, sidecars, tags and ratings are never touched"
        )
        self.cleanup_button.clicked.connect(self.find_leftovers)
        leftovers_row.addWidget(self.cleanup_button)
        form.addRow("Leftovers", leftovers_row)
        results_row = QHBoxLayout()
        self.results_size = QLabel("Measuring…")
        self.results_size.setToolTip(
            "Finished exports kept so that exporting the same photos with the same recipe again is a copy; "
            "the least recently used go first when it is full"
        )
        results_row.addWidget(self.results_size, 1)
        results_row.addWidget(QLabel("at most"))
        self.results_limit = QSpinBox()
        self.results_limit.setRange(0, 1_000_000)
        self.results_limit.setSingleStep(512)
        self.results_limit.setSuffix(" MB")
        self.results_limit.setValue(self.library.cache_limit_mb())
        self.results_limit.setToolTip("0 turns the export cache off")
        self.results_limit.editingFinished.connect(self._set_results_limit)
        results_row.addWidget(self.results_limit)
        form.addRow("Export cache", results_row)
        data = QLabel(f"Catalog, tags and ratings: {self.library.paths.data}")
        data.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        data.setWordWrap(True)
        data.setEnabled(False)
        form.addRow("", data)

    def refresh(self) -> None:
        lib = self.library
        self.cache_size.setText("Measuring…")
        self.runner.submit(
            "Measuring the thumbnail cache",
            lambda _c: (
                lib.thumbnails.size_bytes(),
                lib.previews.size_bytes(),
                ResultCache.for_library(lib).total_bytes(),
            ),
            on_result=self._on_cache_measured,
            track=False,
            owner=self,
        )

    def _on_cache_measured(self, sizes: tuple[int, int, int]) -> None:
        thumbs, previews, results = sizes
        self.cache_size.setText(
            f"{format_bytes(thumbs + previews)} ({format_bytes(thumbs)} thumbnails, {format_bytes(previews)} previews)"
        )
        self.results_size.setText(f"{format_bytes(results)} in {self.library.paths.results}")

    def _set_results_limit(self) -> None:
        value = self.results_limit.value()
        if value != self.library.cache_limit_mb():
            self.library.set_config(SETTING_CACHE_MB, str(value))

    def _choose_cache_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Move thumbnails and previews to", str(self.library.picture_cache_dir())
        )
        if folder:
            self.move_cache(Path(folder))

    def move_cache(self, folder: Path) -> Job:
        """Move the thumbnail and preview caches to ``folder`` on the runner, with progress."""
        lib = self.library
        self.move_cache_button.setEnabled(False)
        self.clear_cache_button.setEnabled(False)
        self.cache_size.setText(f"Moving to {folder}…")

        def _move(control: JobControl) -> str:
            n = lib.move_picture_cache(folder, control)
            return f"{n:,} cached pictures moved to {lib.picture_cache_dir()}"

        def _done(message: str) -> None:
            self.move_cache_button.setEnabled(True)
            self.clear_cache_button.setEnabled(True)
            self.cache_location.setText(str(lib.picture_cache_dir()))
            self.cache_location.setToolTip(message)
            self.refresh()

        def _failed(message: str) -> None:
            _done("")
            QMessageBox.warning(self, "The cache was not moved", f"{message}\n\nIt stays where it was.")

        return self.runner.submit(
            f"Moving the thumbnail cache to {folder}",
            _move,
            on_result=_done,
            on_error=_failed,
            owner=self,
            cancel_with_owner=False,  # a half-done move is rolled back by the Library, but let it finish
        )

    def _confirm_clear_cache(self) -> None:
        answer = QMessageBox.question(
            self,
            "Clear the thumbnail cache?",
            "Delete all thumbnails and previews? Your photos, tags and ratings are not touched; "
            "thumbnails are made again from the originals as you browse, which takes a while on a large library.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.clear_cache()

    def clear_cache(self) -> Job:
        lib = self.library
        self.clear_cache_button.setEnabled(False)
        self.cache_size.setText("Clearing…")

        def _clear(_c: JobControl) -> str:
            lib.thumbnails.clear()
            lib.previews.clear()
            return "Thumbnail cache cleared"

        def _done(*_: object) -> None:
            self.clear_cache_button.setEnabled(True)
            self.refresh()

        return self.runner.submit(
            "Clearing the thumbnail cache",
            _clear,
            on_result=_done,
            on_error=_done,
            owner=self,
            cancel_with_owner=False,
        )

    def find_leftovers(self) -> Job:
        """Look for what nothing uses (a dry run, on the runner); then show it and ask before deleting."""
        lib = self.library
        self.cleanup_button.setEnabled(False)
        self.leftovers.setText("Looking for leftovers…")

        def _failed(message: str) -> None:
            self.cleanup_button.setEnabled(True)
            self.leftovers.setText(message)

        return self.runner.submit(
            "Looking for leftovers",
            lambda c: gc.collect(lib, c),
            on_result=self._on_found,
            on_error=_failed,
            owner=self,
        )

    @staticmethod
    def describe(report: gc.GcReport) -> str:
        """What a dry run found, one kind a line: "Thumbnails of photos no longer in the library: 12 (1.2 MB)"."""
        return "\n".join(
            f"{gc.KIND_NAMES[kind][0].upper()}{gc.KIND_NAMES[kind][1:]}: {count:,} ({format_bytes(size)})"
            for kind, (count, size) in report.by_kind().items()
        )

    def _on_found(self, report: gc.GcReport) -> None:
        self.cleanup_button.setEnabled(True)
        if not report.orphans:
            self.leftovers.setText(
                "Nothing to clean up: every cached file belongs to a photo in the library."
            )
            return
        self.leftovers.setText(
            f"Found {counted(len(report.orphans), 'leftover')} ({format_bytes(report.total)}) nothing uses"
        )
        answer = QMessageBox.question(
            self,
            "Clean up?",
            f"Delete {counted(len(report.orphans), 'leftover')}, {format_bytes(report.total)} in all?\n\n"
            f"{self.describe(report)}\n\nYour photos, sidecars, tags and ratings are not touched.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.clean_up(report)

    def clean_up(self, report: gc.GcReport) -> Job:
        """Delete exactly what ``report`` found, on the runner; tells the bytes freed."""
        lib = self.library
        self.cleanup_button.setEnabled(False)
        self.leftovers.setText("Cleaning up…")

        def _done(done: gc.GcReport) -> None:
            self.cleanup_button.setEnabled(True)
            text = f"Cleaned up: {format_bytes(done.reclaimed)} freed"
            if done.failures:
                text += f"; {counted(len(done.failures), 'file')} could not be deleted (see the log)"
            self.leftovers.setText(text + ".")
            self.refresh()

        def _failed(message: str) -> None:
            self.cleanup_button.setEnabled(True)
            self.leftovers.setText(message)

        return self.runner.submit(
            "Cleaning up leftovers",
            lambda c: gc.delete(lib, report, c),
            on_result=_done,
            on_error=_failed,
            owner=self,
            cancel_with_owner=False,
        )
