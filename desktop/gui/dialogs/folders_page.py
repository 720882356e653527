"""Settings → Library folders: the folders Shoebox catalogues, each with its photos, watch flag and last scan,
and whether RAW+JPEG pairs and Live Photos show as one item (``grouping_changed``).

Adding a folder scans it on the job runner; removing one only forgets its
catalog rows (the files stay). Every change emits ``roots_changed`` so the
main window refreshes its sidebar and restarts the folder watcher.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.library import Library, LibraryError
from desktop.core.runtime.jobs import JobControl
from desktop.core.runtime.wording import counted
from desktop.gui.app.jobs import Job, JobRunner
from desktop.gui.dialogs.settings_page import ERROR_STYLE, SettingsPage
from desktop.gui.widgets.icons import icon

_COL_FOLDER, _COL_PHOTOS, _COL_WATCH, _COL_SCANNED = range(4)
_ROLE_ID = Qt.ItemDataRole.UserRole


class FoldersPage(SettingsPage):
    """The library folders: add, remove, watch, rescan."""

    key = "folders"
    roots_changed = Signal()
    grouping_changed = Signal()  # pairs shown as one item or two: the grid and the counts change

    def __init__(self, library: Library, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__("Library folders", library, runner, parent)
        self.scan_on_add = True  # a new folder is scanned at once (tests can turn it off)
        lay = QVBoxLayout(self)
        hint = QLabel(
            "Shoebox catalogues the photos in these folders. Watched folders are rescanned when files change. "
            "Removing a folder only forgets it: the files stay on disk."
        )
        hint.setWordWrap(True)
        lay.addWidget(hint)
        self.folders = QTreeWidget()
        self.folders.setRootIsDecorated(False)
        self.folders.setHeaderLabels(["Folder", "Photos", "Watch", "Last scanned"])
        self.folders.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.folders.setMinimumHeight(110)
        self.folders.setMaximumHeight(170)
        header = self.folders.header()
        header.setSectionResizeMode(_COL_FOLDER, QHeaderView.ResizeMode.Stretch)
        for c in (_COL_PHOTOS, _COL_WATCH, _COL_SCANNED):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.folders.itemChanged.connect(self._on_folder_item_changed)
        self.folders.itemSelectionChanged.connect(self._update_folder_buttons)
        lay.addWidget(self.folders)
        row = QHBoxLayout()
        self.add_button = QPushButton(icon("folder-add"), "Add folder…")
        self.add_button.clicked.connect(self._choose_folder)
        self.remove_button = QPushButton(icon("remove"), "Remove")
        self.remove_button.setToolTip(
            "Forget this folder and its photos' catalog entries; the files stay on disk"
        )
        self.remove_button.clicked.connect(self._remove_selected)
        self.rescan_button = QPushButton(icon("refresh"), "Rescan")
        self.rescan_button.setToolTip("Look for new, changed, moved and deleted files now")
        self.rescan_button.clicked.connect(self._rescan_selected)
        for b in (self.add_button, self.remove_button, self.rescan_button):
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        self.folder_message = QLabel()
        self.folder_message.setWordWrap(True)
        self.folder_message.hide()
        lay.addWidget(self.folder_message)
        self.group_pairs = QCheckBox("Show RAW+JPEG pairs and Live Photos as one photo")
        self.group_pairs.setToolTip(
            "A camera's RAW beside its JPEG, and a Live Photo's clip beside its still, show as one item "
            "(the JPEG or still, with a badge); tags, ratings and labels apply to both files. "
            "Unticked, each file is an item of its own."
        )
        self.group_pairs.toggled.connect(self._on_group_pairs)
        lay.addWidget(self.group_pairs)

    def refresh(self) -> None:
        self.group_pairs.blockSignals(True)
        self.group_pairs.setChecked(self.library.group_pairs())
        self.group_pairs.blockSignals(False)
        selected = self.selected_root_id()
        self.folders.blockSignals(True)
        self.folders.clear()
        for root in self.library.reads.roots():
            item = QTreeWidgetItem()
            item.setText(_COL_FOLDER, root.path)
            item.setToolTip(_COL_FOLDER, root.path)
            item.setIcon(_COL_FOLDER, icon("folder"))
            item.setData(_COL_FOLDER, _ROLE_ID, root.id)
            item.setText(_COL_PHOTOS, f"{root.photos:,}")
            item.setTextAlignment(_COL_PHOTOS, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(_COL_WATCH, Qt.CheckState.Checked if root.watched else Qt.CheckState.Unchecked)
            item.setToolTip(_COL_WATCH, "Rescan automatically when files in this folder change")
            item.setText(_COL_SCANNED, _when(root.last_scan_at))
            if root.is_import_target:
                item.setToolTip(_COL_FOLDER, f"{root.path}\n(the import folder)")
            self.folders.addTopLevelItem(item)
            if root.id == selected:
                item.setSelected(True)
        self.folders.blockSignals(False)
        if not self.folders.topLevelItemCount():
            self._folder_note("No folders yet: add the folder where you keep your photos.", error=False)
        elif self.folder_message.property("kind") == "empty":
            self.folder_message.hide()
        self._update_folder_buttons()

    def _on_group_pairs(self, on: bool) -> None:
        self.library.set_group_pairs(on)
        self.refresh()  # the folders' photo counts count a pair once or twice
        self.grouping_changed.emit()

    def selected_root_id(self) -> int | None:
        items = self.folders.selectedItems()
        return int(items[0].data(_COL_FOLDER, _ROLE_ID)) if items else None

    def select_root(self, root_id: int) -> None:
        for i in range(self.folders.topLevelItemCount()):
            item = self.folders.topLevelItem(i)
            if item is not None:  # i is in range; the stub allows None
                item.setSelected(int(item.data(_COL_FOLDER, _ROLE_ID)) == root_id)

    def _update_folder_buttons(self) -> None:
        has = self.selected_root_id() is not None
        self.remove_button.setEnabled(has)
        self.rescan_button.setEnabled(self.folders.topLevelItemCount() > 0)
        self.rescan_button.setText("Rescan" if has else "Rescan all")

    def _folder_note(self, text: str, error: bool) -> None:
        self.folder_message.setText(text)
        self.folder_message.setProperty("kind", "error" if error else "empty")
        self.folder_message.setStyleSheet(ERROR_STYLE if error else "")
        self.folder_message.show()

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a folder to the library", str(Path.home()))
        if path:
            self.add_folder(Path(path))

    def add_folder(self, path: Path, watched: bool = True) -> int | None:
        """Add ``path`` as a library folder and (unless ``scan_on_add`` is off) scan it; returns its id."""
        try:
            root_id = int(self.library.add_root(path, watched=watched).id)
        except LibraryError as exc:
            self._folder_note(str(exc), error=True)
            return None
        self.folder_message.hide()
        self.refresh()
        self.select_root(root_id)
        self.roots_changed.emit()
        if self.scan_on_add:
            self.rescan(root_id)
        return root_id

    def _remove_selected(self) -> None:
        root_id = self.selected_root_id()
        if root_id is not None:
            self.remove_folder(root_id, confirm=True)

    def remove_folder(self, root_id: int, confirm: bool = True) -> bool:
        """Forget a folder (files stay on disk). ``confirm`` asks first; returns whether it was removed."""
        root = next((r for r in self.library.reads.roots() if r.id == root_id), None)
        if root is None:
            return False
        if confirm:
            n = self.library.reads.root_photo_count(root_id)
            answer = QMessageBox.question(
                self,
                "Remove folder from the library?",
                f"Remove {root.path} from the library?\n\n"
                f"Its {counted(n, 'photo')} leave the catalog, with their tags and ratings. "
                "The files themselves stay on disk; adding the folder again brings the photos back "
                "(without their tags).",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
        self.library.remove_root(root_id)
        self.refresh()
        self.roots_changed.emit()
        return True

    def _on_folder_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column != _COL_WATCH:
            return
        root_id = int(item.data(_COL_FOLDER, _ROLE_ID))
        self.set_watched(root_id, item.checkState(_COL_WATCH) == Qt.CheckState.Checked)

    def set_watched(self, root_id: int, watched: bool) -> None:
        self.library.set_watched(root_id, watched)
        self.roots_changed.emit()

    def _rescan_selected(self) -> None:
        root_id = self.selected_root_id()
        if root_id is not None:
            self.rescan(root_id)
        else:
            for r in self.library.reads.roots():
                self.rescan(r.id)

    def rescan(self, root_id: int) -> Job | None:
        """Scan one folder on the job runner (progress shows in the status bar's task list)."""
        root = self.library.reads.root_entry(root_id)
        if root is None:
            return None
        library = self.library

        def _scan(control: JobControl) -> str:
            return str(library.scan_folders([root_id], control).summary())

        return self.runner.submit(
            f"Scanning {Path(root.path).name or root.path}",
            _scan,
            on_result=lambda _summary: self._after_scan(),
            on_error=self._after_scan,  # the runner's sentence names the scan ("Scanning X failed (…)")
            owner=self,
            cancel_with_owner=False,  # the scan the person asked for finishes; only this page's answer is dropped
        )

    def _after_scan(self, error: str | None = None) -> None:
        self.refresh()
        if error:
            self._folder_note(error, error=True)
        self.roots_changed.emit()  # the photo counts in the sidebar changed


def _when(moment: dt.datetime | None) -> str:
    """When a folder was last scanned, as the list shows it."""
    if moment is None:
        return "never"
    if moment.date() == dt.date.today():
        return f"today {moment:%H:%M}"
    return f"{moment:%d %b %Y %H:%M}"
