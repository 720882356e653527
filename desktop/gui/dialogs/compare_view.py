"""Compare…: a few variants of a recipe side by side, on up to three of the selected photos.

The person picks one parameter of one step (the encoder's quality, by
default) and two to four values for it; each variant is the recipe with that
value. The grid has a row per photo and a column per variant; each cell shows
the output (whole, fitted to the cell, or its middle at 100 %, where
compression shows) captioned with its size and SSIM. Every cell is rendered
by its own job on the job runner, never on the GUI thread; *Use this variant*
hands the variant's steps back to the Export dialog.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.core.processing import operations
from desktop.core.processing.operations import ENCODE
from desktop.core.processing.params import Param, RecipeError
from desktop.gui.dialogs.export_preview import Sample, kb, render_sample, to_pixmap
from desktop.gui.dialogs.settings_page import ERROR_STYLE
from desktop.gui.widgets.icons import app_icon

if TYPE_CHECKING:
    from desktop.core.catalog.reads import PhotoRecord
    from desktop.core.library import Library
    from desktop.gui.app.jobs import JobRunner

MAX_PHOTOS = 3
CELL = 300  # the edge of a cell's picture in the "fit" view


def parse_values(text: str, spec: Param, name: str) -> list[Any]:
    """``"70, 80, 90"`` as the parameter's values; ``RecipeError`` unless 2–4 of them."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not 2 <= len(parts) <= 4:
        raise RecipeError(f"Give 2 to 4 values of '{name}', separated by commas.")
    out: list[Any] = []
    for p in parts:
        try:
            if spec.kind == "int":
                out.append(int(p))
            elif spec.kind == "float":
                out.append(float(p))
            elif spec.kind == "bool":
                if p.lower() not in ("on", "off", "true", "false", "yes", "no"):
                    raise ValueError(p)
                out.append(p.lower() in ("on", "true", "yes"))
            else:
                out.append(p)
        except ValueError:
            raise RecipeError(f"'{p}' is not a value of '{name}'.") from None
    return out


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def default_values(spec: Param, current: Any) -> str:
    """What the values box starts with: around the current value, or the choices."""
    if spec.kind == "bool":
        return "on, off"
    if spec.kind == "choice":
        return ", ".join(spec.choices[:4])
    if spec.kind == "int" and isinstance(current, int):
        lo = int(spec.minimum if spec.minimum is not None else current - 20)
        hi = int(spec.maximum if spec.maximum is not None else current + 20)
        if hi - lo <= 100:  # a quality-like scale: 10 either side
            vals = sorted({max(lo, min(hi, current + d)) for d in (-10, 0, 10)})
        else:
            vals = sorted({max(lo, round(current * f)) for f in (0.5, 1.0)})
        return ", ".join(str(v) for v in vals)
    if spec.kind == "float" and isinstance(current, float):
        return ", ".join(_show(round(current * f, 3)) for f in (0.5, 1.0, 1.5))
    return ""


class CompareView(QDialog):
    """Variants of a recipe on a few photos; ``chosen`` carries the steps of the variant picked."""

    chosen = Signal(list)

    def __init__(
        self,
        library: Library,
        runner: JobRunner,
        records: list[PhotoRecord],
        steps: list[dict[str, Any]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        self.records = list(records)[:MAX_PHOTOS]
        self.steps = operations.validate_steps(steps, "recipe")
        self.setWindowTitle("Compare variants — Shoebox")
        self.setWindowIcon(app_icon())
        self._token = 0
        self.samples: dict[tuple[int, int], Sample] = {}  # (row, column) -> its sample
        self.variants: list[tuple[str, list[dict[str, Any]]]] = []  # (label, steps)
        self.cells: dict[tuple[int, int], tuple[QLabel, QLabel]] = {}  # picture and caption

        self.param_combo = QComboBox()
        for i, s in enumerate(self.steps):
            op = operations.get(s.op)
            for name, spec in op.params.items():
                if spec.kind in ("int", "float", "bool", "choice"):
                    self.param_combo.addItem(f"{op.title}: {name.replace('_', ' ')}", f"{i}:{name}")
        encoder = len(self.steps) - 1
        start = self.param_combo.findData(f"{encoder}:quality")
        self.param_combo.setCurrentIndex(max(0, start))
        self.param_combo.currentIndexChanged.connect(self._param_chosen)
        self.values_edit = QLineEdit()
        self.values_edit.returnPressed.connect(self.render_variants)
        self.render_button = QPushButton("Render")
        self.render_button.clicked.connect(self.render_variants)
        self.fit_button = QRadioButton("Fit")
        self.actual_button = QRadioButton("100 %")
        self.fit_button.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.fit_button)
        group.addButton(self.actual_button)
        self.fit_button.toggled.connect(lambda _on: self._refresh_pictures())

        row = QHBoxLayout()
        row.addWidget(QLabel("Vary:"))
        row.addWidget(self.param_combo)
        row.addWidget(QLabel("Values:"))
        row.addWidget(self.values_edit, 1)
        row.addWidget(self.render_button)
        row.addSpacing(16)
        row.addWidget(self.fit_button)
        row.addWidget(self.actual_button)

        self.error_label = QLabel()
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.error_label.hide()

        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setSpacing(8)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.grid_host)

        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(close)

        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.error_label)
        lay.addWidget(scroll, 1)
        lay.addLayout(bottom)
        screen = self.screen() or QGuiApplication.primaryScreen()
        room = screen.availableGeometry().height() - 80 if screen is not None else 820
        self.resize(1180, max(480, min(820, room)))  # a 900 px screen shows it whole, and the grid scrolls

        self._param_chosen()
        self.render_variants()

    def varied(self) -> tuple[int, str] | None:
        """The step (its index) and the parameter the variants change."""
        data = self.param_combo.currentData()
        if not data:
            return None
        index, _, name = str(data).partition(":")
        return int(index), name

    def _param_chosen(self) -> None:
        varied = self.varied()
        if varied is None:
            return
        index, name = varied
        step = self.steps[index]
        spec = operations.get(step.op).params[name]
        self.values_edit.setText(default_values(spec, step.params.get(name)))

    def make_variants(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """The variants the values box asks for, validated; ``RecipeError`` with a sentence otherwise."""
        varied = self.varied()
        if varied is None:
            raise RecipeError("This recipe has no setting to vary.")
        index, name = varied
        step = self.steps[index]
        spec = operations.get(step.op).params[name]
        out = []
        for value in parse_values(self.values_edit.text(), spec, name):
            steps = [copy.deepcopy(s.as_dict()) for s in self.steps]
            steps[index]["params"][name] = value
            operations.validate_steps(steps, f"{name} = {_show(value)}")
            label = f"{name.replace('_', ' ')} {_show(value)}"
            if operations.get(step.op).stage == ENCODE and name == "quality":
                label = f"{step.op.upper()} q{_show(value)}"
            out.append((label, steps))
        return out

    def render_variants(self) -> None:
        try:
            variants = self.make_variants()
        except RecipeError as exc:
            self.error_label.setText(exc.message)
            self.error_label.show()
            return
        self.error_label.hide()
        self._token += 1
        token = self._token
        self.variants = variants
        self.samples.clear()
        self._build_grid()
        for col, (_label, steps) in enumerate(variants):
            checked = operations.validate_steps(steps, "recipe")
            for row, rec in enumerate(self.records):
                self._render_cell(token, row, col, rec, checked)

    def _render_cell(self, token: int, row: int, col: int, rec: PhotoRecord, steps: Any) -> None:
        lib = self.library

        def done(sample: Sample) -> None:
            if token == self._token:
                self.samples[(row, col)] = sample
                self._show_cell(row, col)

        def failed(message: str) -> None:
            if token == self._token:
                self.cells[(row, col)][1].setText(message)

        self.runner.submit(
            "Compare variants",
            lambda _c: render_sample(lib, rec, steps),
            on_result=done,
            on_error=failed,
            track=False,
            owner=self,
        )

    def _build_grid(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.deleteLater()
        self.cells.clear()
        for col, (label, steps) in enumerate(self.variants, 1):
            head = QWidget()
            hl = QVBoxLayout(head)
            hl.setContentsMargins(0, 0, 0, 0)
            title = QLabel(label)
            title.setStyleSheet("font-weight: bold;")
            title.setAlignment(Qt.AlignmentFlag.AlignCenter)
            use = QPushButton("Use this variant")
            use.clicked.connect(lambda _=False, s=steps: self.use_variant(s))
            hl.addWidget(title)
            hl.addWidget(use)
            self.grid.addWidget(head, 0, col)
        for row, rec in enumerate(self.records, 1):
            name = QLabel(Path(rec.path).name)
            name.setWordWrap(True)
            name.setMaximumWidth(120)
            self.grid.addWidget(name, row, 0, Qt.AlignmentFlag.AlignTop)
            for col in range(1, len(self.variants) + 1):
                cell = QWidget()
                cl = QVBoxLayout(cell)
                cl.setContentsMargins(0, 0, 0, 0)
                pic = QLabel("Rendering…")
                pic.setAlignment(Qt.AlignmentFlag.AlignCenter)
                pic.setMinimumSize(CELL, CELL * 3 // 4)
                caption = QLabel()
                caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
                caption.setWordWrap(True)
                cl.addWidget(pic, 1)
                cl.addWidget(caption)
                self.grid.addWidget(cell, row, col)
                self.cells[(row - 1, col - 1)] = (pic, caption)

    def caption(self, row: int, col: int) -> str:
        s = self.samples.get((row, col))
        if s is None:
            return ""
        parts = [kb(s.size)]
        if s.ssim is not None:
            parts.append(f"SSIM {s.ssim:.4f}")
        if s.width and s.height:
            parts.append(f"{s.width} × {s.height}")
        return " · ".join(parts)

    def _show_cell(self, row: int, col: int) -> None:
        pic, caption = self.cells[(row, col)]
        s = self.samples[(row, col)]
        caption.setText(self.caption(row, col))
        img = s.crop if self.actual_button.isChecked() else s.picture
        if img is None:
            pic.setText(f"No picture ({s.mime}).")
            return
        pix = to_pixmap(img)
        if not self.actual_button.isChecked():
            pix = pix.scaled(
                CELL, CELL, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        pic.setPixmap(pix)

    def _refresh_pictures(self) -> None:
        for key in self.samples:
            if key in self.cells:
                self._show_cell(*key)

    def use_variant(self, steps: list[dict[str, Any]]) -> None:
        self.chosen.emit(copy.deepcopy(steps))
        self.accept()
