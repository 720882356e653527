"""What every page of the Settings dialog shares: the library, the job runner and the closed flag.

A page is one group box of the dialog (folders, import folder, smart-search
model, device, storage); it writes through the ``Library`` at once and runs
anything slow on the job runner. ``_closed`` is set when the dialog closes, so
an answer that arrives later is dropped instead of touching deleted widgets.
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
        self._closed = False

    def refresh(self) -> None:
        """Read what the page shows from the library (and start its background checks)."""

    def mark_closed(self) -> None:
        """The dialog closed: late job answers are dropped from now on."""
        self._closed = True
