"""Settings → Smart search: the model list, downloading weights, choosing a weights file.

The list is core's (``search.model_choices``, what ``model list`` prints),
checked on the job runner because telling what is downloaded may import
open_clip. The choice is stored with ``search.set_active_model`` (the library
is then re-embedded in the background by whoever runs the embedder) and
announced with ``model_changed``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.library import Library
from desktop.core.runtime.jobs import JobControl, Progress
from desktop.core.runtime.wording import format_bytes
from desktop.core.semantic import clip_models, search
from desktop.core.semantic.embedder import pending_count
from desktop.core.semantic.search import ModelChoice
from desktop.gui.app.jobs import Job, JobRunner
from desktop.gui.dialogs.settings_page import ERROR_STYLE, SettingsPage
from desktop.gui.widgets.icons import icon

log = logging.getLogger(__name__)

_COL_NAME, _COL_SIZE, _COL_STATE = range(3)
_ROLE_ID = Qt.ItemDataRole.UserRole


class ModelPage(SettingsPage):
    """Which CLIP model smart search uses: pick, download or bring your own weights."""

    key = "model"
    model_changed = Signal()

    def __init__(self, library: Library, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__("Smart search", library, runner, parent)
        self._model_rows: list[ModelChoice] = []
        self._model_error: str | None = None
        self._download_job: Job | None = None
        lay = QVBoxLayout(self)
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
        self.choose_file_button.clicked.connect(self.choose_weights)
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

    def refresh(self) -> None:
        """Re-check the manifest and which weights are on disk (off the GUI thread)."""
        library = self.library
        self.runner.submit(
            "Checking smart-search models",
            lambda _c: [c for c in search.model_choices(library) if c.in_manifest],
            on_result=self._on_models_checked,
            on_error=self._on_models_failed,
            track=False,
            owner=self,
        )

    def _on_models_checked(self, rows: list[ModelChoice]) -> None:
        self._model_rows = rows
        self._model_error = None
        self._render_models()

    def _on_models_failed(self, message: str) -> None:
        self._model_rows = []
        self._model_error = message
        self._render_models()

    def _active(self) -> tuple[Any, str | None]:
        """The active spec and an error reading it (never raises)."""
        try:
            return search.active_spec(self.library), None
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
        self.model_status.setStyleSheet(ERROR_STYLE if (self._model_error or spec_error) else "")
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
        items = self.models.selectedItems()
        return str(items[0].data(_COL_NAME, _ROLE_ID)) if items else None

    def select_model(self, name: str) -> None:
        for i in range(self.models.topLevelItemCount()):
            item = self.models.topLevelItem(i)
            if item is not None:  # i is in range; the stub allows None
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
        self.model_message.setStyleSheet(ERROR_STYLE if error else "")
        self.model_message.setVisible(bool(text))

    def _download_selected(self) -> None:
        name = self._selected_model_name()
        if name:
            self.download_model(name)

    def download_model(self, name: str) -> Job | None:
        """Fetch ``name``'s weights on the runner with a progress bar; it becomes the active model."""
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
            owner=self,
            cancel_with_owner=False,  # a download the person started goes on when Settings closes
        )
        self._update_model_buttons()
        return self._download_job

    def _on_download_progress(self, p: Progress) -> None:
        if p.total:
            self.download_progress.setRange(0, 1000)
            self.download_progress.setValue(int(1000 * p.fraction))
        self.download_progress.setFormat(f"{p.message} — %p%" if p.total else p.message)

    def _on_downloaded(self, spec: Any) -> None:
        self._download_job = None
        self.download_progress.hide()
        self._model_note(f"{spec.label()} is downloaded and now used for smart search.", error=False)
        self._set_active(spec)
        self.refresh()

    def _on_download_failed(self, message: str) -> None:
        self._download_job = None
        self.download_progress.hide()
        self._model_note(message, error=True)
        self._update_model_buttons()

    def _use_selected(self) -> None:
        name = self._selected_model_name()
        if name:
            self.use_model(name)

    def use_model(self, name: str) -> None:
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

    def choose_weights(self) -> None:
        """Ask for a weights file (the main window's *Choose file…* opens the dialog here)."""
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
        hint = self._selected_model_name()
        self._model_note(f"Checking {path.name}…", error=False)
        return self.runner.submit(
            f"Checking weights file {path.name}",
            lambda _c: clip_models.spec_from_options(hint, path),
            on_result=self._on_weights_checked,
            on_error=lambda msg: self._model_note(msg, error=True),
            track=False,
            owner=self,
        )

    def _on_weights_checked(self, spec: Any) -> None:
        self._set_active(spec)
        self._model_note(
            f"Smart search now uses {spec.label()}; it loads in the background and the main window says "
            "when it is ready, or what went wrong.",
            error=False,
        )
        self._render_models()

    def _set_active(self, spec: Any) -> None:
        search.set_active_model(self.library, spec)
        self.model_changed.emit()
