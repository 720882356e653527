"""The Settings dialog: library folders, import folder, smart-search model, device, caches.

Changes apply at once (there is no OK/Cancel to forget): each control writes
through the ``Library`` and emits ``roots_changed`` or ``model_changed`` so the
main window can refresh its sidebar, restart the folder watcher or reload the
search model. Anything slow -- scanning a folder, checking which models are on
disk (that imports open_clip and torch), downloading weights, measuring or
clearing the caches -- runs on the job runner, so it shows up in the task list
and never freezes the dialog.

The model choice is stored with ``desktop.core.semantic.search.set_active_model`` (the
library is then re-embedded in the background by whoever runs the embedder);
device and precision are library settings under ``SETTING_DEVICE`` and
``SETTING_PRECISION`` (empty means automatic) for whoever loads the model.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import peewee as pw
from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.catalog.schema import STATUS_OK, Photo
from desktop.core.library import Library, LibraryError
from desktop.core.runtime.jobs import JobControl, Progress
from desktop.core.runtime.wording import counted
from desktop.core.semantic.search import SETTING_DEVICE, SETTING_PRECISION
from desktop.gui.app.jobs import Job, JobRunner
from desktop.gui.panels.info_panel import format_bytes
from desktop.gui.widgets.icons import app_icon, icon

log = logging.getLogger(__name__)

DEVICES = (("", "Automatic"), ("cpu", "CPU"), ("cuda", "NVIDIA GPU (CUDA)"), ("mps", "Apple GPU (Metal)"))
PRECISIONS = (("", "Automatic"), ("fp32", "fp32 (full)"), ("bf16", "bf16"), ("fp16", "fp16 (GPU only)"))

_COL_FOLDER, _COL_PHOTOS, _COL_WATCH, _COL_SCANNED = range(4)
_COL_NAME, _COL_SIZE, _COL_STATE = range(3)
_ROLE_ID = Qt.ItemDataRole.UserRole


@dataclass(frozen=True)
class ModelRow:
    """One manifest entry as the dialog shows it."""

    name: str
    arch: str
    pretrained: str
    download_mb: int
    note: str
    licence: str
    downloaded: bool | None  # None: not checked yet


def active_model_spec(library: Library) -> Any:
    """The ``ModelSpec`` smart search uses (``search.active_spec``: the chosen one, else the default).

    Raises whatever reading the manifest raises (the dialog shows it).
    """
    from desktop.core.semantic import search

    return search.active_spec(library)


def _check_models(models_dir: Path) -> tuple[list[ModelRow], str | None]:
    """Worker: the manifest with each model's on-disk state (imports open_clip, so never on the GUI thread)."""
    from desktop.core.semantic import clip_models

    manifest = clip_models.load_manifest()
    rows: list[ModelRow] = []
    for e in manifest.models:
        try:
            downloaded = bool(clip_models.model_status(e.spec(), models_dir)["downloaded"])
        except Exception as exc:  # one broken entry must not hide the others
            log.warning("model status of %s failed: %s", e.name, exc)
            downloaded = False
        rows.append(ModelRow(e.name, e.arch, e.pretrained, e.download_mb, e.note, e.licence, downloaded))
    return rows, manifest.default


def _plan_device(device: str, precision: str) -> str:
    """What the choice resolves to on this computer (asked of a child process: it imports torch)."""
    from desktop.core.semantic.device import describe_plan_elsewhere

    return describe_plan_elsewhere(device or None, precision or None)


class SettingsDialog(QDialog):
    """Library, model and cache settings; everything applies immediately."""

    roots_changed = Signal()
    model_changed = Signal()

    def __init__(self, library: Library, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        self.scan_on_add = True  # a new folder is scanned at once (tests can turn it off)
        self._closed = False
        self._model_rows: list[ModelRow] = []
        self._model_error: str | None = None
        self._download_job: Job | None = None
        self.setWindowTitle("Settings — Shoebox")
        self.setWindowIcon(app_icon())
        self.resize(820, 880)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        page = QWidget()
        scroll.setWidget(page)
        col = QVBoxLayout(page)
        col.setContentsMargins(4, 4, 4, 4)
        col.addWidget(self._build_folders())
        col.addWidget(self._build_import())
        col.addWidget(self._build_model())
        col.addWidget(self._build_storage())
        col.addStretch(1)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        outer = QVBoxLayout(self)
        outer.addWidget(scroll, 1)
        outer.addWidget(buttons)

        self.refresh_folders()
        self.refresh_import_dir()
        self.refresh_models()
        self.refresh_device()
        self.refresh_storage()

    # ================================================================ folders
    def _build_folders(self) -> QGroupBox:
        box = QGroupBox("Library folders")
        lay = QVBoxLayout(box)
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
        return box

    def refresh_folders(self) -> None:
        selected = self.selected_root_id()
        counts = dict(
            Photo.select(Photo.root, pw.fn.COUNT(Photo.id))
            .where(Photo.status == STATUS_OK)
            .group_by(Photo.root)
            .tuples()
        )
        self.folders.blockSignals(True)
        self.folders.clear()
        for root in self.library.roots():
            item = QTreeWidgetItem()
            item.setText(_COL_FOLDER, root.path)
            item.setToolTip(_COL_FOLDER, root.path)
            item.setIcon(_COL_FOLDER, icon("folder"))
            item.setData(_COL_FOLDER, _ROLE_ID, root.id)
            item.setText(_COL_PHOTOS, f"{counts.get(root.id, 0):,}")
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

    def selected_root_id(self) -> int | None:
        items = self.folders.selectedItems() if hasattr(self, "folders") else []
        return int(items[0].data(_COL_FOLDER, _ROLE_ID)) if items else None

    def select_root(self, root_id: int) -> None:
        for i in range(self.folders.topLevelItemCount()):
            item = self.folders.topLevelItem(i)
            item.setSelected(int(item.data(_COL_FOLDER, _ROLE_ID)) == root_id)

    def _update_folder_buttons(self) -> None:
        has = self.selected_root_id() is not None
        self.remove_button.setEnabled(has)
        self.rescan_button.setEnabled(self.folders.topLevelItemCount() > 0)
        self.rescan_button.setText("Rescan" if has else "Rescan all")

    def _folder_note(self, text: str, error: bool) -> None:
        self.folder_message.setText(text)
        self.folder_message.setProperty("kind", "error" if error else "empty")
        self.folder_message.setStyleSheet("color: #b91c1c;" if error else "")
        self.folder_message.show()

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a folder to the library", str(Path.home()))
        if path:
            self.add_folder(Path(path))

    def add_folder(self, path: Path, watched: bool = True) -> int | None:
        """Add ``path`` as a library folder and (unless ``scan_on_add`` is off) scan it; returns its id."""
        try:
            root = self.library.add_root(path, watched=watched)
        except LibraryError as exc:
            self._folder_note(str(exc), error=True)
            return None
        self.folder_message.hide()
        self.refresh_folders()
        self.select_root(root.id)
        self.roots_changed.emit()
        if self.scan_on_add:
            self.rescan(root.id)
        return int(root.id)

    def _remove_selected(self) -> None:
        root_id = self.selected_root_id()
        if root_id is not None:
            self.remove_folder(root_id, confirm=True)

    def remove_folder(self, root_id: int, confirm: bool = True) -> bool:
        """Forget a folder (files stay on disk). ``confirm`` asks first; returns whether it was removed."""
        root = next((r for r in self.library.roots() if r.id == root_id), None)
        if root is None:
            return False
        if confirm:
            n = Photo.select().where(Photo.root == root_id).count()
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
        self.refresh_folders()
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
            for r in self.library.roots():
                self.rescan(r.id)

    def rescan(self, root_id: int) -> Job | None:
        """Scan one folder on the job runner (progress shows in the status bar's task list)."""
        root = next((r for r in self.library.roots() if r.id == root_id), None)
        if root is None:
            return None
        library = self.library

        def _scan(control: JobControl) -> str:
            return str(library.scan([root], control).summary())

        return self.runner.submit(
            f"Scanning {Path(root.path).name or root.path}",
            _scan,
            on_result=lambda _summary: self._after_scan(),
            on_error=lambda msg: self._after_scan(f"Scanning {root.path} failed: {msg}"),
        )

    def _after_scan(self, error: str | None = None) -> None:
        if self._closed:
            return
        self.refresh_folders()
        if error:
            self._folder_note(error, error=True)
        self.roots_changed.emit()  # the photo counts in the sidebar changed

    # ================================================================ import folder
    def _build_import(self) -> QGroupBox:
        box = QGroupBox("Import folder")
        lay = QHBoxLayout(box)
        self.import_label = QLabel()
        self.import_label.setWordWrap(True)
        self.import_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.import_label.setToolTip("Files dropped onto Shoebox are copied here (duplicates are skipped)")
        lay.addWidget(self.import_label, 1)
        change = QPushButton(icon("folder-open"), "Change…")
        change.clicked.connect(self._choose_import_dir)
        lay.addWidget(change)
        return box

    def refresh_import_dir(self) -> None:
        self.import_label.setText(f"Dropped and imported files are copied to\n{self.library.import_dir()}")

    def _choose_import_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Choose the import folder", str(self.library.import_dir())
        )
        if path:
            self.set_import_dir(Path(path))

    def set_import_dir(self, path: Path) -> None:
        self.library.set_import_dir(path)
        self.refresh_import_dir()

    # ================================================================ smart-search model
    def _build_model(self) -> QGroupBox:
        box = QGroupBox("Smart search")
        lay = QVBoxLayout(box)
        self.model_status = QLabel("Checking which models are on this computer…")
        self.model_status.setWordWrap(True)
        self.model_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.model_status)
        self.models = QTreeWidget()
        self.models.setRootIsDecorated(False)
        self.models.setHeaderLabels(["Model", "Download", "On this computer"])
        self.models.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.models.setMinimumHeight(100)
        self.models.setMaximumHeight(125)
        self.models.setWordWrap(True)
        header = self.models.header()
        header.setSectionResizeMode(_COL_NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(_COL_SIZE, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(_COL_STATE, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.models.itemSelectionChanged.connect(self._update_model_buttons)
        lay.addWidget(self.models)
        self.model_note = QLabel()
        self.model_note.setWordWrap(True)
        self.model_note.setStyleSheet("color: palette(placeholder-text);")
        lay.addWidget(self.model_note)
        row = QHBoxLayout()
        self.download_button = QPushButton(icon("download"), "Download")
        self.download_button.clicked.connect(self._download_selected)
        self.use_button = QPushButton("Use this model")
        self.use_button.clicked.connect(self._use_selected)
        self.choose_file_button = QPushButton(icon("file"), "Choose weights file…")
        self.choose_file_button.setToolTip(
            "Use a checkpoint you already have (.safetensors, or a torch file holding only tensors). "
            "If the file does not name its architecture, the selected model's is used."
        )
        self.choose_file_button.clicked.connect(self._choose_weights)
        for b in (self.download_button, self.use_button, self.choose_file_button):
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        self.download_progress = QProgressBar()
        self.download_progress.setTextVisible(True)
        self.download_progress.hide()
        lay.addWidget(self.download_progress)
        self.model_message = QLabel()
        self.model_message.setWordWrap(True)
        self.model_message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model_message.hide()
        lay.addWidget(self.model_message)

        form = QFormLayout()
        self.device_combo = QComboBox()
        for key, label in DEVICES:
            self.device_combo.addItem(label, key)
        self.precision_combo = QComboBox()
        for key, label in PRECISIONS:
            self.precision_combo.addItem(label, key)
        self.device_combo.currentIndexChanged.connect(self._on_device_changed)
        self.precision_combo.currentIndexChanged.connect(self._on_device_changed)
        dev_row = QHBoxLayout()
        dev_row.addWidget(self.device_combo)
        dev_row.addWidget(QLabel("Precision"))
        dev_row.addWidget(self.precision_combo)
        dev_row.addStretch(1)
        form.addRow("Run on", dev_row)
        self.device_plan = QLabel("…")
        self.device_plan.setWordWrap(True)
        form.addRow("Will use", self.device_plan)
        lay.addLayout(form)
        return box

    def refresh_models(self) -> None:
        """Re-check the manifest and which weights are on disk (off the GUI thread)."""
        models_dir = self.library.paths.models
        self.runner.submit(
            "Checking smart-search models",
            lambda _c: _check_models(models_dir),
            on_result=self._on_models_checked,
            on_error=self._on_models_failed,
            track=False,
        )

    def _on_models_checked(self, result: tuple[list[ModelRow], str | None]) -> None:
        if self._closed:
            return
        self._model_rows, _default = result
        self._model_error = None
        self._render_models()

    def _on_models_failed(self, message: str) -> None:
        if self._closed:
            return
        self._model_rows = []
        self._model_error = message
        self._render_models()

    def _active(self) -> tuple[Any, str | None]:
        """The active spec and an error reading it (never raises)."""
        try:
            return active_model_spec(self.library), None
        except Exception as exc:
            return None, str(exc) or type(exc).__name__

    def _render_models(self) -> None:
        selected = self._selected_model_name()
        spec, spec_error = self._active()
        self.models.clear()
        bold = QFont(self.models.font())
        bold.setBold(True)
        active_name = getattr(spec, "name", None) if spec is not None and not spec.weights else None
        for r in self._model_rows:
            item = QTreeWidgetItem()
            item.setText(_COL_NAME, f"{r.name}  ({r.arch})")
            item.setToolTip(_COL_NAME, f"{r.note}\nLicence: {r.licence}")
            item.setData(_COL_NAME, _ROLE_ID, r.name)
            item.setText(_COL_SIZE, f"{r.download_mb} MB")
            item.setTextAlignment(_COL_SIZE, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            state = "downloaded" if r.downloaded else "not downloaded"
            if r.name == active_name:
                state = f"active, {state}"
                for c in range(3):
                    item.setFont(c, bold)
            item.setText(_COL_STATE, state)
            self.models.addTopLevelItem(item)
            if r.name == (selected or active_name):
                item.setSelected(True)
        self.model_status.setText(self._model_summary(spec, spec_error))
        self.model_status.setStyleSheet("color: #b91c1c;" if (self._model_error or spec_error) else "")
        self._update_model_buttons()

    def _model_summary(self, spec: Any, spec_error: str | None) -> str:
        if self._model_error:
            return (
                f"Smart search is not available: the model list could not be read ({self._model_error}). "
                "Everything else works without it."
            )
        if spec_error or spec is None:
            return f"Smart search is not available: {spec_error}. Everything else works without it."
        if spec.weights:
            present = Path(spec.weights).is_file()
            where = f"the file {spec.weights}"
            if not present:
                return (
                    f"The chosen weights file is gone ({spec.weights}). Choose it again, or download a model below. "
                    "Everything else works without it."
                )
            return f"Active model: {spec.label()}, from {where}.{self._indexed(spec)}"
        row = next((r for r in self._model_rows if r.name == spec.name), None)
        if row is not None and not row.downloaded:
            return (
                f"No smart-search model is on this computer yet. Download {row.name} ({row.download_mb} MB) "
                "or choose a weights file you already have. Everything else works without it."
            )
        return f"Active model: {spec.label()} ({spec.arch}).{self._indexed(spec)}"

    def _indexed(self, spec: Any) -> str:
        from desktop.core.semantic.embedder import pending_count

        try:
            pending = pending_count(spec.model_id)  # distinct contents: exact duplicates share one
        except Exception:
            return ""
        if not self.library.count():
            return ""
        if not pending:
            return " Every photo is indexed for it."
        return (
            f" {pending:,} photo{'s' if pending != 1 else ''} still to index (this runs in the background)."
        )

    def _selected_model_name(self) -> str | None:
        items = self.models.selectedItems() if hasattr(self, "models") else []
        return str(items[0].data(_COL_NAME, _ROLE_ID)) if items else None

    def select_model(self, name: str) -> None:
        for i in range(self.models.topLevelItemCount()):
            item = self.models.topLevelItem(i)
            item.setSelected(item.data(_COL_NAME, _ROLE_ID) == name)

    def _update_model_buttons(self) -> None:
        name = self._selected_model_name()
        row = next((r for r in self._model_rows if r.name == name), None)
        busy = self._download_job is not None and self._download_job.active
        self.download_button.setEnabled(row is not None and not row.downloaded and not busy)
        self.use_button.setEnabled(row is not None)
        self.choose_file_button.setEnabled(not busy)
        self.model_note.setText(f"{row.note} Licence: {row.licence}." if row is not None else "")
        if row is not None:
            self.download_button.setText(f"Download ({row.download_mb} MB)")

    def _model_note(self, text: str, error: bool) -> None:
        self.model_message.setText(text)
        self.model_message.setStyleSheet("color: #b91c1c;" if error else "")
        self.model_message.setVisible(bool(text))

    def _download_selected(self) -> None:
        name = self._selected_model_name()
        if name:
            self.download_model(name)

    def download_model(self, name: str) -> Job | None:
        """Fetch ``name``'s weights on the runner with a progress bar; it becomes the active model."""
        from desktop.core.semantic import clip_models

        try:
            entry = clip_models.load_manifest().get(name)
        except Exception as exc:
            self._model_note(f"The model list could not be read: {exc}", error=True)
            return None
        if entry is None:
            self._model_note(f"There is no model called {name} in the manifest.", error=True)
            return None
        spec = entry.spec()
        models_dir = self.library.paths.models

        def _download(control: JobControl) -> str:
            def progress(done: int, total: int) -> None:
                control.report(
                    done, max(total, done), f"{format_bytes(done)} of {format_bytes(total) or '?'}"
                )

            return str(clip_models.download_weights(spec, models_dir, progress))

        self.download_progress.setRange(0, 0)  # busy until the first bytes arrive
        self.download_progress.setFormat(f"Downloading {name}…")
        self.download_progress.show()
        self._model_note("", error=False)
        self._download_job = self.runner.submit(
            f"Downloading smart-search model {name}",
            _download,
            on_result=lambda _path: self._on_downloaded(spec),
            on_error=self._on_download_failed,
            on_progress=self._on_download_progress,
        )
        self._update_model_buttons()
        return self._download_job

    def _on_download_progress(self, p: Progress) -> None:
        if self._closed:
            return
        if p.total:
            self.download_progress.setRange(0, 1000)
            self.download_progress.setValue(int(1000 * p.fraction))
        self.download_progress.setFormat(f"{p.message} — %p%" if p.total else p.message)

    def _on_downloaded(self, spec: Any) -> None:
        if self._closed:
            return
        self._download_job = None
        self.download_progress.hide()
        self._model_note(f"{spec.label()} is downloaded and now used for smart search.", error=False)
        self._set_active(spec)
        self.refresh_models()

    def _on_download_failed(self, message: str) -> None:
        if self._closed:
            return
        self._download_job = None
        self.download_progress.hide()
        self._model_note(message, error=True)
        self._update_model_buttons()

    def _use_selected(self) -> None:
        name = self._selected_model_name()
        if name:
            self.use_model(name)

    def use_model(self, name: str) -> None:
        from desktop.core.semantic import clip_models

        try:
            entry = clip_models.load_manifest().get(name)
        except Exception as exc:
            self._model_note(f"The model list could not be read: {exc}", error=True)
            return
        if entry is None:
            self._model_note(f"There is no model called {name} in the manifest.", error=True)
            return
        row = next((r for r in self._model_rows if r.name == name), None)
        self._set_active(entry.spec())
        if row is not None and not row.downloaded:
            self._model_note(
                f"{name} is chosen but not downloaded yet: press Download ({row.download_mb} MB).",
                error=False,
            )
        else:
            self._model_note(
                f"Smart search now uses {name}; it loads in the background and the main window says "
                "when it is ready, or what went wrong.",
                error=False,
            )
        self._render_models()

    def _choose_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Choose a CLIP weights file",
            str(Path.home()),
            "Model weights (*.safetensors *.pt *.pth *.bin *.ckpt);;All files (*)",
        )
        if path:
            self.use_weights_file(Path(path))

    def use_weights_file(self, path: Path) -> Job:
        """Check a local checkpoint off the GUI thread (it may import torch) and make it active."""
        from desktop.core.semantic import clip_models

        hint = self._selected_model_name()
        self._model_note(f"Checking {path.name}…", error=False)
        return self.runner.submit(
            f"Checking weights file {path.name}",
            lambda _c: clip_models.spec_from_options(hint, path),
            on_result=self._on_weights_checked,
            on_error=lambda msg: self._model_note(msg, error=True) if not self._closed else None,
            track=False,
        )

    def _on_weights_checked(self, spec: Any) -> None:
        if self._closed:
            return
        self._set_active(spec)
        self._model_note(
            f"Smart search now uses {spec.label()}; it loads in the background and the main window says "
            "when it is ready, or what went wrong.",
            error=False,
        )
        self._render_models()

    def _set_active(self, spec: Any) -> None:
        from desktop.core.semantic import search

        search.set_active_model(self.library, spec)
        self.model_changed.emit()

    # ---------------------------------------------------------------- device
    def refresh_device(self) -> None:
        device = self.library.get_setting(SETTING_DEVICE, "") or ""
        precision = self.library.get_setting(SETTING_PRECISION, "") or ""
        for combo, value in ((self.device_combo, device), (self.precision_combo, precision)):
            combo.blockSignals(True)
            i = combo.findData(value)
            combo.setCurrentIndex(i if i >= 0 else 0)
            combo.blockSignals(False)
        self._plan()

    def _on_device_changed(self) -> None:
        self.set_device(str(self.device_combo.currentData()), str(self.precision_combo.currentData()))

    def set_device(self, device: str, precision: str) -> None:
        """Store the device/precision choice ('' = automatic) and show what it resolves to."""
        self.library.set_setting(SETTING_DEVICE, device)
        self.library.set_setting(SETTING_PRECISION, precision)
        self.model_changed.emit()
        self._plan()

    def _plan(self) -> None:
        device, precision = str(self.device_combo.currentData()), str(self.precision_combo.currentData())
        self.device_plan.setText("Checking this computer…")
        self.runner.submit(
            "Checking the smart-search device",
            lambda _c: _plan_device(device, precision),
            on_result=lambda text: self.device_plan.setText(str(text)) if not self._closed else None,
            on_error=lambda msg: (
                self.device_plan.setText(f"Cannot tell: {msg}") if not self._closed else None
            ),
            track=False,
        )

    # ================================================================ storage
    def _build_storage(self) -> QGroupBox:
        box = QGroupBox("Storage")
        form = QFormLayout(box)
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
        data = QLabel(f"Catalog, tags and ratings: {self.library.paths.data}")
        data.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        data.setWordWrap(True)
        data.setEnabled(False)
        form.addRow("", data)
        return box

    def refresh_storage(self) -> None:
        lib = self.library
        self.cache_size.setText("Measuring…")
        self.runner.submit(
            "Measuring the thumbnail cache",
            lambda _c: (lib.thumbnails.size_bytes(), lib.previews.size_bytes()),
            on_result=self._on_cache_measured,
            track=False,
        )

    def _on_cache_measured(self, sizes: tuple[int, int]) -> None:
        if self._closed:
            return
        thumbs, previews = sizes
        self.cache_size.setText(
            f"{format_bytes(thumbs + previews)} ({format_bytes(thumbs)} thumbnails, {format_bytes(previews)} previews)"
        )

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
            if self._closed:
                return
            self.move_cache_button.setEnabled(True)
            self.clear_cache_button.setEnabled(True)
            self.cache_location.setText(str(lib.picture_cache_dir()))
            self.cache_location.setToolTip(message)
            self.refresh_storage()

        def _failed(message: str) -> None:
            if self._closed:
                return
            _done("")
            QMessageBox.warning(self, "The cache was not moved", f"{message}\n\nIt stays where it was.")

        return self.runner.submit(
            f"Moving the thumbnail cache to {folder}", _move, on_result=_done, on_error=_failed
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
            if not self._closed:
                self.clear_cache_button.setEnabled(True)
                self.refresh_storage()

        return self.runner.submit("Clearing the thumbnail cache", _clear, on_result=_done, on_error=_done)

    # ================================================================ lifetime
    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(820, 880)

    def done(self, result: int) -> None:
        self._closed = True
        super().done(result)


def _when(moment: Any) -> str:
    if not moment:
        return "never"
    if isinstance(moment, str):
        try:
            moment = dt.datetime.fromisoformat(moment)
        except ValueError:
            return moment
    if isinstance(moment, dt.datetime):
        today = dt.date.today()
        if moment.date() == today:
            return f"today {moment:%H:%M}"
        return f"{moment:%d %b %Y %H:%M}"
    return str(moment)


__all__ = ["SETTING_DEVICE", "SETTING_PRECISION", "SettingsDialog", "active_model_spec"]
