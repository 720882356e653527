"""Export…: choose a recipe, adjust it, see what it gives, and queue the selected photos.

The dialog shows the recipe editor (``recipe_editor``) beside a live preview:
the first selected photo rendered with the recipe as it stands (on the job
runner, 300 ms after the last edit; the newest request wins), its output
dimensions, size and SSIM, and an estimate for the whole selection (the
average of the first few photos times their number). *Export N photos* sends a
request through ``desktop.core.processing.gateway.submit`` (notify "desktop"):
the app's queue runner picks the task up and the Tasks window shows it. The
request names the chosen recipe and carries what the person changed as
overrides (whole steps when steps were added, removed or moved), so the task
and the lineage name the recipe it came from. The output folder and the
recipe are remembered in the app's settings.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QHideEvent, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop.core.processing import gateway, notify, operations, recipes
from desktop.core.processing.operations import Step
from desktop.core.processing.params import RecipeError
from desktop.core.processing.recipes import Recipe
from desktop.gui.dialogs.export_preview import Sample, accepts, kb, render_sample, to_pixmap
from desktop.gui.dialogs.recipe_editor import RecipeEditor
from desktop.gui.dialogs.settings_page import ERROR_STYLE
from desktop.gui.widgets.icons import app_icon

if TYPE_CHECKING:
    from desktop.core.catalog.reads import PhotoRecord
    from desktop.core.library import Library
    from desktop.gui.app.jobs import JobRunner

log = logging.getLogger(__name__)

DEBOUNCE_MS = 300
ESTIMATE_SAMPLES = 3  # photos rendered for the estimate of the whole selection
SETTING_DIR = "export/output_dir"
SETTING_RECIPE = "export/recipe"
DEFAULT_RECIPE = "web-2048"


def default_output_dir() -> str:
    pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return str(Path(pictures or Path.home()) / "Shoebox exports")


def overrides(base: Recipe, steps: list[dict[str, Any]], template: str, collision: str) -> dict[str, Any]:
    """What a request must say to turn ``base`` into the edited recipe (``{}`` when unchanged)."""
    out: dict[str, Any] = {}
    base_steps = [s.as_dict() for s in operations.validate_steps(base.steps, "recipe")]
    edited = [s.as_dict() for s in operations.validate_steps(steps, "recipe")]
    ops = [s["op"] for s in edited]
    if ops == [s["op"] for s in base_steps] and len(set(ops)) == len(ops):
        for was, now in zip(base_steps, edited, strict=True):
            changed = {k: v for k, v in now["params"].items() if was["params"].get(k) != v}
            if changed:
                out[now["op"]] = changed
    else:
        out["steps"] = edited
    if template != base.naming:
        out["naming"] = template
    if collision != base.collision:
        out["collision"] = collision
    return out


class ExportDialog(QDialog):
    """Export the selected photos with a recipe; ``submitted`` carries the queued task's id."""

    submitted = Signal(int)

    def __init__(
        self,
        library: Library,
        runner: JobRunner,
        records: list[PhotoRecord],
        settings: QSettings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        self.records = list(records)
        self.settings = settings
        self.setWindowTitle("Export — Shoebox")
        self.setWindowIcon(app_icon())
        self._token = 0  # the newest preview request; older answers are dropped
        self.sample: Sample | None = None  # the preview's, once rendered
        self.estimate: int | None = None  # bytes for the whole selection
        self._compare: QDialog | None = None

        self.recipe_combo = QComboBox()
        self.recipe_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.recipe_combo.currentIndexChanged.connect(self._recipe_chosen)
        self.save_button = QPushButton("Save as recipe…")
        self.save_button.clicked.connect(self._ask_save)
        self.compare_button = QPushButton("Compare…")
        self.compare_button.setToolTip("Render a few variants of this recipe side by side")
        self.compare_button.clicked.connect(self.open_compare)
        top = QHBoxLayout()
        top.addWidget(QLabel("Recipe:"))
        top.addWidget(self.recipe_combo, 1)
        top.addWidget(self.save_button)
        top.addWidget(self.compare_button)

        self.editor = RecipeEditor()
        self.editor.changed.connect(self._edited)

        self.picture = QLabel("Rendering the preview…")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(360, 270)
        self.picture.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.picture.setFrameShape(QFrame.Shape.StyledPanel)
        self.facts = QLabel()
        self.facts.setWordWrap(True)
        self.facts.setTextFormat(Qt.TextFormat.PlainText)
        self.estimate_label = QLabel()
        self.estimate_label.setWordWrap(True)
        self.estimate_label.setTextFormat(Qt.TextFormat.PlainText)
        preview = QVBoxLayout()
        preview.addWidget(self.picture, 1)
        preview.addWidget(self.facts)
        preview.addWidget(self.estimate_label)

        middle = QHBoxLayout()
        middle.addWidget(self.editor, 3)
        middle.addLayout(preview, 2)

        self.output_edit = QLineEdit(self._setting(SETTING_DIR) or default_output_dir())
        self.output_edit.textChanged.connect(self._update_buttons)
        choose = QPushButton("Choose…")
        choose.clicked.connect(self._choose_folder)
        out_row = QHBoxLayout()
        out_row.addWidget(QLabel("Save to:"))
        out_row.addWidget(self.output_edit, 1)
        out_row.addWidget(choose)

        self.media_note = QLabel()
        self.media_note.setWordWrap(True)
        self.media_note.setStyleSheet("color: #b45309;")
        self.media_note.hide()
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.hide()

        self.export_button = QPushButton()
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.export)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.export_button)

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(middle, 1)
        lay.addLayout(out_row)
        lay.addWidget(self.media_note)
        lay.addWidget(self.error_label)
        lay.addLayout(buttons)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.refresh_preview)

        self.fill_recipes(self._setting(SETTING_RECIPE) or DEFAULT_RECIPE)
        screen = self.screen() or QGuiApplication.primaryScreen()
        room = screen.availableGeometry().height() - 80 if screen is not None else 680
        self.resize(1100, max(480, min(680, room)))

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802
        self._timer.stop()  # a closed dialog renders no preview (the runner may be shutting down)
        super().hideEvent(event)

    # ------------------------------------------------------------ settings
    def _setting(self, key: str) -> str:
        if self.settings is None:
            return ""
        value = self.settings.value(key, "")
        return str(value) if value else ""

    def _remember(self) -> None:
        if self.settings is not None:
            self.settings.setValue(SETTING_DIR, self.output_edit.text().strip())
            self.settings.setValue(SETTING_RECIPE, self.slug)

    # ------------------------------------------------------------ recipes
    def fill_recipes(self, select: str | None = None) -> None:
        """The presets, then the saved recipes by name; ``select`` (a slug) becomes current."""
        select = select or self.slug
        self.recipe_combo.blockSignals(True)
        self.recipe_combo.clear()
        every = recipes.all_recipes()
        for i, r in enumerate(every):
            if i and r.preset != every[i - 1].preset:
                self.recipe_combo.insertSeparator(self.recipe_combo.count())
            self.recipe_combo.addItem(r.name, r.slug)
        index = self.recipe_combo.findData(select)
        self.recipe_combo.setCurrentIndex(
            index if index >= 0 else max(0, self.recipe_combo.findData(DEFAULT_RECIPE))
        )
        self.recipe_combo.blockSignals(False)
        self._recipe_chosen()

    @property
    def slug(self) -> str:
        data = self.recipe_combo.currentData() if hasattr(self, "recipe_combo") else None
        return str(data) if data else ""

    def recipe_names(self) -> list[str]:
        return [
            self.recipe_combo.itemText(i)
            for i in range(self.recipe_combo.count())
            if self.recipe_combo.itemData(i)
        ]

    def select_recipe(self, slug: str) -> None:
        index = self.recipe_combo.findData(slug)
        if index >= 0:
            self.recipe_combo.setCurrentIndex(index)

    def _recipe_chosen(self) -> None:
        try:
            recipe = recipes.find(self.slug)
        except RecipeError as exc:
            self._show_error(exc.message)
            return
        self.editor.set_recipe(recipe)

    def _ask_save(self) -> None:
        name, ok = QInputDialog.getText(self, "Save as recipe", "Name of the new recipe:")
        if ok and name.strip():
            self.save_as(name)

    def save_as(self, name: str) -> Recipe | None:
        """Save the recipe as edited under ``name`` and make it the chosen one."""
        try:
            saved = recipes.save(
                self.library, name, self.editor.steps(), self.editor.naming(), self.editor.collision()
            )
        except RecipeError as exc:
            self._show_error(exc.message)
            return None
        self._show_error(None)
        self.fill_recipes(saved.slug)
        return saved

    # ------------------------------------------------------------ state
    def _edited(self) -> None:
        self._update_buttons()
        self.sample = None
        self._timer.start()

    def accepted_records(self) -> list[PhotoRecord]:
        steps = self.editor.steps()
        takes = {True: accepts(steps, True), False: accepts(steps, False)}  # once, not per photo
        return [r for r in self.records if takes[r.is_video]]

    def _update_buttons(self) -> None:
        n = len(self.records)
        self.export_button.setText(f"Export {n:,} photo" + ("" if n == 1 else "s"))
        ok = self.editor.valid
        self.save_button.setEnabled(ok)
        good = self.accepted_records() if ok else []
        self.compare_button.setEnabled(ok and any(not r.is_video for r in good))
        failing = n - len(good) if ok else 0
        if failing:
            taken = {r.id for r in good}
            videos = sum(1 for r in self.records if r.is_video and r.id not in taken)
            pictures = failing - videos
            parts = []
            if videos:
                parts.append(
                    f"{videos:,} video{'s' if videos != 1 else ''} in the selection will fail: "
                    "this recipe makes pictures from pictures only (the recipe “Contact frames from a video” "
                    "takes videos)."
                )
            if pictures:
                parts.append(
                    f"{pictures:,} photo{'s' if pictures != 1 else ''} in the selection will fail: "
                    "this recipe works on videos only."
                )
            self.media_note.setText(" ".join(parts))
        self.media_note.setVisible(bool(failing))
        self.export_button.setEnabled(ok and bool(good) and bool(self.output_edit.text().strip()))

    def _show_error(self, message: str | None) -> None:
        self.error_label.setText(message or "")
        self.error_label.setVisible(bool(message))

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose where the exports go", self.output_edit.text())
        if path:
            self.output_edit.setText(path)

    # ------------------------------------------------------------ preview
    def refresh_preview(self) -> None:
        """Render the first photo the recipe takes (and then a few more for the estimate)."""
        self._token += 1
        token = self._token
        self.sample = None
        self.estimate = None
        if not self.editor.valid:
            self.picture.setPixmap(_empty())
            self.picture.setText("Fix the recipe to see a preview.")
            self.facts.clear()
            self.estimate_label.clear()
            return
        good = self.accepted_records()
        if not good:
            self.picture.setPixmap(_empty())
            self.picture.setText("This recipe cannot process the selection.")
            self.facts.clear()
            self.estimate_label.clear()
            return
        steps = operations.validate_steps(self.editor.steps(), "recipe")
        self.facts.setText("Rendering…")
        lib, first = self.library, good[0]
        self.runner.submit(
            "Export preview",
            lambda _c: render_sample(lib, first, steps),
            on_result=lambda s: self._preview_done(token, s, good, steps),
            on_error=lambda m: self._preview_failed(token, m),
            track=False,
            owner=self,
        )

    def _preview_failed(self, token: int, message: str) -> None:
        if token == self._token:
            self.picture.setPixmap(_empty())
            self.picture.setText("No preview.")
            self.facts.setText(message)

    def _preview_done(self, token: int, sample: Sample, good: list[PhotoRecord], steps: list[Step]) -> None:
        if token != self._token:
            return
        self.sample = sample
        if sample.picture is not None:
            pix = to_pixmap(sample.picture)
            box = self.picture.contentsRect().size()
            self.picture.setPixmap(
                pix.scaled(
                    box, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
                if pix.width() > box.width() or pix.height() > box.height()
                else pix
            )
        else:
            self.picture.setPixmap(_empty())
            self.picture.setText(f"No picture to show ({sample.mime}).")
        parts = [Path(good[0].path).name]
        if sample.width and sample.height:
            parts.append(f"{sample.width:,} × {sample.height:,} px")
        parts.append(kb(sample.size) + (f" (first of {sample.outputs} files)" if sample.outputs > 1 else ""))
        if sample.ssim is not None:
            parts.append(f"SSIM {sample.ssim:.4f}")
        self.facts.setText(" · ".join(parts))
        self._estimate([sample], good, steps, token)

    def _estimate(
        self, samples: list[Sample], good: list[PhotoRecord], steps: list[Step], token: int
    ) -> None:
        n = len(good)
        if len(samples) < min(ESTIMATE_SAMPLES, n):
            self.estimate_label.setText(f"Estimating {n:,} photos…")
            lib, rec = self.library, good[len(samples)]

            def more(s: Sample) -> None:
                if token == self._token:
                    self._estimate([*samples, s], good, steps, token)

            self.runner.submit(
                "Export estimate",
                lambda _c: render_sample(lib, rec, steps),
                on_result=more,
                # a photo that cannot be rendered is left out of the average; the task will say why it failed
                on_error=lambda _m: self._estimate_done(samples, n) if token == self._token else None,
                track=False,
                owner=self,
            )
            return
        self._estimate_done(samples, n)

    def _estimate_done(self, samples: list[Sample], n: int) -> None:
        per_photo = sum(s.size * s.outputs for s in samples) / len(samples)
        self.estimate = round(per_photo * n)
        how = "" if len(samples) == 1 else f" (the average of {len(samples)} photos × {n:,})"
        self.estimate_label.setText(f"About {kb(self.estimate)} for {n:,} photo{'s' if n != 1 else ''}{how}.")

    # ------------------------------------------------------------ compare
    def open_compare(self) -> QDialog | None:
        from desktop.gui.dialogs.compare_view import CompareView

        if not self.editor.valid:
            return None
        pictures = [r for r in self.accepted_records() if not r.is_video][:3]
        view = CompareView(self.library, self.runner, pictures, self.editor.steps(), self)
        view.chosen.connect(self.editor.set_steps)
        view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        view.show()
        self._compare = view
        return view

    # ------------------------------------------------------------ export
    def request(self) -> dict[str, Any]:
        """The request *Export* sends (the recipe by slug, the person's changes as overrides)."""
        base = recipes.find(self.slug)
        params = overrides(base, self.editor.steps(), self.editor.naming(), self.editor.collision())
        return {
            "cmd": self.slug,
            "params": params,
            "input_files": [r.path for r in self.accepted_records()],
            "output_dir": str(Path(self.output_edit.text().strip()).expanduser()),
            "notify": notify.DESKTOP,
        }

    def export(self) -> None:
        if not self.export_button.isEnabled():
            return
        try:
            req = self.request()
        except RecipeError as exc:
            self._show_error(exc.message)
            return
        self.export_button.setEnabled(False)
        lib = self.library
        self.runner.submit(
            "Queue export",
            lambda _c: gateway.submit(lib, req, origin="app"),
            on_result=self._submitted,
            on_error=self._submit_failed,
            track=False,
            owner=self,
            cancel_with_owner=False,
        )

    def _submitted(self, response: gateway.Response) -> None:
        if not response.success or response.task is None:
            self._submit_failed(response.error_msg or "The export could not be queued.")
            return
        self._remember()
        self.submitted.emit(response.task)
        self.accept()

    def _submit_failed(self, message: str) -> None:
        self._show_error(message)
        self._update_buttons()


def _empty() -> QPixmap:
    return QPixmap()
