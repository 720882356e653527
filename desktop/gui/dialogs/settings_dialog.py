"""The Settings dialog: one scrolling window holding a page per subject.

Pages (each its own class and module): library folders (``folders_page``),
import folder (``import_page``), writing XMP sidecars (``metadata_page``), smart-search model (``model_page``), its device
and precision (``device_page``), the thumbnail cache (``storage_page``), export recipes (``recipes_page``).
Changes apply at once (there is no OK/Cancel to forget): each page writes
through the ``Library``; the dialog re-emits the pages' ``roots_changed`` and
``model_changed`` so the main window can refresh its sidebar, restart the
folder watcher or reload the search model. Anything slow runs on the job
runner, so it shows up in the task list and never freezes the dialog.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QScrollArea, QVBoxLayout, QWidget

from desktop.core.library import Library
from desktop.core.semantic.search import SETTING_DEVICE, SETTING_PRECISION
from desktop.gui.app.jobs import JobRunner
from desktop.gui.app.sidecar_writes import SidecarWrites
from desktop.gui.dialogs.device_page import DevicePage
from desktop.gui.dialogs.folders_page import FoldersPage
from desktop.gui.dialogs.import_page import ImportPage
from desktop.gui.dialogs.metadata_page import MetadataPage
from desktop.gui.dialogs.model_page import ModelPage
from desktop.gui.dialogs.recipes_page import RecipesPage
from desktop.gui.dialogs.settings_page import SettingsPage
from desktop.gui.dialogs.storage_page import StoragePage
from desktop.gui.widgets.icons import app_icon


class SettingsDialog(QDialog):
    """Library, model and cache settings; everything applies immediately."""

    roots_changed = Signal()
    model_changed = Signal()
    grouping_changed = Signal()  # RAW+JPEG pairs and Live Photos shown as one item, or as two

    def __init__(
        self,
        library: Library,
        runner: JobRunner,
        parent: QWidget | None = None,
        sidecar_writes: SidecarWrites | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        self.setWindowTitle("Settings — Shoebox")
        self.setWindowIcon(app_icon())
        self.resize(self.sizeHint())

        self.folders_page = FoldersPage(library, runner)
        self.import_page = ImportPage(library, runner)
        self.metadata_page = MetadataPage(library, runner, sidecar_writes)
        self.model_page = ModelPage(library, runner)
        self.device_page = DevicePage(library, runner)
        self.storage_page = StoragePage(library, runner)
        self.recipes_page = RecipesPage(library, runner)
        self.pages: dict[str, SettingsPage] = {
            p.key: p
            for p in (
                self.folders_page,
                self.import_page,
                self.metadata_page,
                self.model_page,
                self.device_page,
                self.storage_page,
                self.recipes_page,
            )
        }
        self.folders_page.roots_changed.connect(self.roots_changed)
        self.folders_page.grouping_changed.connect(self.grouping_changed)
        self.model_page.model_changed.connect(self.model_changed)
        self.device_page.model_changed.connect(self.model_changed)

        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        content = QWidget()
        self._scroll.setWidget(content)
        col = QVBoxLayout(content)
        col.setContentsMargins(4, 4, 4, 4)
        for page in self.pages.values():
            col.addWidget(page)
        col.addStretch(1)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        outer = QVBoxLayout(self)
        outer.addWidget(self._scroll, 1)
        outer.addWidget(buttons)

        for page in self.pages.values():
            page.refresh()

    def show_page(self, key: str) -> SettingsPage | None:
        """Scroll to the page named ``key`` ("folders", "import", "metadata", "model", "device", "storage", "recipes")."""
        page = self.pages.get(key)
        if page is not None:
            self._scroll.ensureWidgetVisible(page, 0, 0)
        return page

    def _choose_weights(self) -> None:
        """The main window's *Choose file…*: the model page's file chooser."""
        self.show_page(ModelPage.key)
        self.model_page.choose_weights()

    def sizeHint(self) -> QSize:  # noqa: N802
        # 880 px tall where the screen has room; on a smaller screen (a 900 px laptop, whose panels and
        # the window's title bar take their share) it fits, and the sections scroll
        screen = self.screen() or QGuiApplication.primaryScreen()
        room = screen.availableGeometry().height() - 80 if screen is not None else 880
        return QSize(820, max(480, min(880, room)))


__all__ = ["SETTING_DEVICE", "SETTING_PRECISION", "SettingsDialog"]
