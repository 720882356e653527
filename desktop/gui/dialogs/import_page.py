"""Settings → Import folder: where dropped and imported files are copied."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from desktop.core.library import Library
from desktop.gui.app.jobs import JobRunner
from desktop.gui.dialogs.settings_page import SettingsPage
from desktop.gui.widgets.icons import icon


class ImportPage(SettingsPage):
    """The import folder and a button to change it."""

    key = "import"

    def __init__(self, library: Library, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__("Import folder", library, runner, parent)
        lay = QHBoxLayout(self)
        self.import_label = QLabel()
        self.import_label.setWordWrap(True)
        self.import_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.import_label.setToolTip("Files dropped onto Shoebox are copied here (duplicates are skipped)")
        lay.addWidget(self.import_label, 1)
        change = QPushButton(icon("folder-open"), "Change…")
        change.clicked.connect(self._choose_import_dir)
        lay.addWidget(change)

    def refresh(self) -> None:
        self.import_label.setText(f"Dropped and imported files are copied to\n{self.library.import_dir()}")

    def _choose_import_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Choose the import folder", str(self.library.import_dir())
        )
        if path:
            self.set_import_dir(Path(path))

    def set_import_dir(self, path: Path) -> None:
        self.library.set_import_dir(path)
        self.refresh()
