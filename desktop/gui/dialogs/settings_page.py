"""What every page of the Settings dialog shares: the library and the job runner.

A page is one group box of the dialog (folders, import folder, smart-search
model, device, storage); it writes through the ``Library`` at once and runs
anything slow on the job runner with ``owner=self``: when the dialog is deleted
on close, the runner drops the answers of the page's jobs (and cancels its reads),
so a late answer never touches a deleted widget.
"""

from __future__ import annotations

from PySide6.QtWidgets import QGroupBox, QWidget

from desktop.core.library import Library
from desktop.gui.app.jobs import JobRunner

ERROR_STYLE = "color: #b91c1c;"  # a page's error note


class SettingsPage(QGroupBox):
    """One section of the Settings dialog; ``key`` names it for ``SettingsDialog.show_page``."""

    key = ""

    def __init__(
        self, title: str, library: Library, runner: JobRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(title, parent)
        self.library = library
        self.runner = runner

    def refresh(self) -> None:
        """Read what the page shows from the library (and start its background checks)."""
