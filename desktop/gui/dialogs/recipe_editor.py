"""The recipe editor: a recipe's steps as a list, a form for the selected step, its naming and collisions.

The form is made from the operation's ``Param`` schema (``desktop.core.processing.params``): a
spin box with the declared range for a required number, a line edit for an optional one (empty
means "not set"), a check box for a flag, a combo box for choices, a line edit for text and, for a
file parameter, a line edit with a *Choose…* button. Every change is validated at once through
``operations.validate_steps`` and ``naming.check_template``; the sentence of the first problem is
shown under the form and ``valid`` turns false, so the dialogs around the editor can disable
their Run and Save buttons. The editor never writes anything: it hands out raw steps.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMenu,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.processing import naming, operations
from desktop.core.processing.operations import ENCODE
from desktop.core.processing.params import Param, RecipeError
from desktop.core.processing.recipes import Recipe
from desktop.gui.dialogs.settings_page import ERROR_STYLE

COLLISION_TEXT = {
    "counter": "Keep both: add a number (name (2).jpg)",
    "overwrite": "Overwrite the existing file",
    "skip": "Skip: keep the existing file",
}
_BIG = 1_000_000_000


def _label(name: str) -> str:
    """``ssim_floor`` -> ``SSIM floor``, ``target_kb`` -> ``Target KB``."""
    words = [{"ssim": "SSIM", "kb": "KB", "crf": "CRF"}.get(w, w) for w in name.split("_")]
    words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words)


def _fmt_number(value: Any) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _parse_number(text: str, spec: Param, name: str) -> float | int | None:
    text = text.strip()
    if not text:
        if spec.optional:
            return None
        raise RecipeError(f"'{name}' needs a value.")
    try:
        return int(text) if spec.kind == "int" else float(text)
    except ValueError:
        whole = "a whole number" if spec.kind == "int" else "a number"
        raise RecipeError(f"'{name}' must be {whole}, not '{text}'.") from None


def _parse_list(text: str, spec: Param, name: str) -> list[float] | None:
    text = text.strip()
    if not text:
        if spec.optional:
            return None
        raise RecipeError(f"'{name}' needs {spec.length or 'some'} numbers separated by commas.")
    try:
        return [float(part) for part in text.replace(";", ",").split(",")]
    except ValueError:
        raise RecipeError(f"'{name}' must be numbers separated by commas, like 0.5, 0.5.") from None


class ParamForm(QWidget):
    """The form of one step's parameters, made from its operation's schema."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.fields: dict[str, QWidget] = {}  # parameter name -> its editing widget (tests read them)
        self.errors: dict[str, str] = {}  # parameter name -> why its text cannot be a value
        self.values: dict[str, Any] = {}
        self.schema: dict[str, Param] = {}

    def load(self, op_name: str, values: dict[str, Any]) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields.clear()
        self.errors.clear()
        op = operations.get(op_name)
        self.schema = dict(op.params)
        self.values = dict(values)
        if not self.schema:
            note = QLabel(f"{op.title} has no settings.")
            note.setWordWrap(True)
            self.form.addRow(note)
        for name, spec in self.schema.items():
            widget = self._widget(name, spec, values.get(name, spec.default))
            label = QLabel(_label(name) + ":")
            if spec.help:
                label.setToolTip(spec.help)
                widget.setToolTip(spec.help)
            self.form.addRow(label, widget)

    def _set(self, name: str, value: Any) -> None:
        self.errors.pop(name, None)
        self.values[name] = value
        self.changed.emit()

    def _parsed(self, name: str, parse: Callable[[str], Any]) -> Callable[[str], None]:
        def on_text(text: str) -> None:
            try:
                value = parse(text)
            except RecipeError as exc:
                self.errors[name] = exc.message
                self.changed.emit()
                return
            self._set(name, value)

        return on_text

    def _widget(self, name: str, spec: Param, value: Any) -> QWidget:
        widget: QWidget
        lo = spec.minimum if spec.minimum is not None else -_BIG
        hi = spec.maximum if spec.maximum is not None else _BIG
        if spec.kind == "bool":
            box = QCheckBox()
            box.setChecked(bool(value))
            box.toggled.connect(lambda on: self._set(name, bool(on)))
            widget = box
        elif spec.kind == "choice":
            combo = QComboBox()
            combo.addItems(list(spec.choices))
            combo.setCurrentText(str(value))
            combo.currentTextChanged.connect(lambda text: self._set(name, text))
            widget = combo
        elif spec.kind == "int" and not spec.optional:
            spin = QSpinBox()
            spin.setRange(int(max(lo, -(2**31) + 1)), int(min(hi, 2**31 - 1)))
            spin.setValue(int(value))
            spin.valueChanged.connect(lambda v: self._set(name, int(v)))
            widget = spin
        elif spec.kind == "float" and not spec.optional:
            dspin = QDoubleSpinBox()
            dspin.setDecimals(3)
            dspin.setRange(lo, hi)
            dspin.setSingleStep(0.05 if hi - lo <= 10 else 1.0)
            dspin.setValue(float(value))
            dspin.valueChanged.connect(lambda v: self._set(name, float(v)))
            widget = dspin
        elif spec.kind in ("int", "float"):
            edit = QLineEdit(_fmt_number(value))
            edit.setPlaceholderText("not set")
            edit.textChanged.connect(self._parsed(name, lambda t: _parse_number(t, spec, name)))
            widget = edit
        elif spec.kind == "list":
            edit = QLineEdit("" if value is None else ", ".join(_fmt_number(v) for v in value))
            edit.setPlaceholderText("not set" if spec.optional else "numbers, separated by commas")
            edit.textChanged.connect(self._parsed(name, lambda t: _parse_list(t, spec, name)))
            widget = edit
        elif spec.kind == "path":
            widget = self._path_widget(name, str(value or ""))
        else:
            edit = QLineEdit("" if value is None else str(value))
            if spec.optional:
                edit.setPlaceholderText("not set")
            edit.textChanged.connect(
                lambda t: self._set(name, None if spec.optional and not t.strip() else t)
            )
            widget = edit
        self.fields[name] = widget
        return widget

    def _path_widget(self, name: str, value: str) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        edit = QLineEdit(value)
        edit.setObjectName("path")
        edit.setPlaceholderText("an image file")
        edit.textChanged.connect(lambda t: self._set(name, t))
        choose = QPushButton("Choose…")

        def pick() -> None:
            path, _ = QFileDialog.getOpenFileName(
                self,
                "Choose the watermark image",
                edit.text(),
                "Images (*.png *.jpg *.jpeg *.webp *.tif *.tiff)",
            )
            if path:
                edit.setText(path)

        choose.clicked.connect(pick)
        row.addWidget(edit, 1)
        row.addWidget(choose)
        return box


class RecipeEditor(QWidget):
    """Edits a recipe in memory; ``changed`` fires on every edit, ``error`` says what is wrong (or None)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._steps: list[dict[str, Any]] = []
        self.error: str | None = None
        self._loading = False

        self.step_list = QListWidget()
        self.step_list.setMinimumWidth(170)
        self.step_list.currentRowChanged.connect(self._show_step)

        self.add_button = QToolButton()
        self.add_button.setText("Add step")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.add_menu = QMenu(self.add_button)
        stage = ""
        for op in sorted(operations.all_operations(), key=lambda o: (o.stage == ENCODE, o.title)):
            if stage and op.stage != stage:
                self.add_menu.addSeparator()  # the encoders, apart: a recipe ends with exactly one
            stage = op.stage
            action = QAction(op.title + (" (writes the output)" if op.stage == ENCODE else ""), self.add_menu)
            action.setData(op.name)
            action.setToolTip(op.help)
            action.triggered.connect(lambda _=False, n=op.name: self.add_step(n))
            self.add_menu.addAction(action)
        self.add_button.setMenu(self.add_menu)
        self.remove_button = QToolButton()
        self.remove_button.setText("Remove")
        self.remove_button.clicked.connect(self.remove_step)
        self.up_button = QToolButton()
        self.up_button.setText("↑")
        self.up_button.setToolTip("Move the step up")
        self.up_button.clicked.connect(lambda: self.move_step(-1))
        self.down_button = QToolButton()
        self.down_button.setText("↓")
        self.down_button.setToolTip("Move the step down")
        self.down_button.clicked.connect(lambda: self.move_step(1))

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for b in (self.add_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(b)
        buttons.addStretch(1)

        left = QVBoxLayout()
        left.addWidget(QLabel("Steps, in order:"))
        left.addWidget(self.step_list, 1)
        left.addLayout(buttons)

        self.step_title = QLabel()
        self.step_title.setStyleSheet("font-weight: bold;")
        self.step_help = QLabel()
        self.step_help.setWordWrap(True)
        self.step_help.setStyleSheet("color: palette(placeholder-text);")
        self.param_form = ParamForm()
        self.param_form.changed.connect(self._form_changed)

        right = QVBoxLayout()
        right.addWidget(self.step_title)
        right.addWidget(self.step_help)
        right.addWidget(self.param_form)
        right.addStretch(1)

        top = QHBoxLayout()
        top.addLayout(left, 2)
        top.addLayout(right, 3)

        self.naming_edit = QLineEdit()
        self.naming_edit.setToolTip(
            "Fields: " + ", ".join("{" + f + "}" for f in naming.FIELDS) + "; a date like {date:%Y/%m}"
        )
        self.naming_edit.textChanged.connect(self._validate)
        self.collision_combo = QComboBox()
        for key, text in COLLISION_TEXT.items():
            self.collision_combo.addItem(text, key)
        self.collision_combo.currentIndexChanged.connect(self._validate)
        names = QFormLayout()
        names.setContentsMargins(0, 0, 0, 0)
        names.addRow("File names:", self.naming_edit)
        names.addRow("If the file exists:", self.collision_combo)

        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.hide()

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(top, 1)
        outer.addLayout(names)
        outer.addWidget(self.error_label)

    # ------------------------------------------------------------ the recipe
    def set_recipe(self, recipe: Recipe) -> None:
        """Show ``recipe``'s steps (completed with their defaults), naming and collision policy."""
        self._loading = True
        try:
            steps = operations.validate_steps(recipe.steps, "recipe")
            self._steps = [s.as_dict() for s in steps]
        except RecipeError:
            self._steps = [copy.deepcopy(s.as_dict()) for s in recipe.steps]
        self.naming_edit.setText(recipe.naming)
        index = self.collision_combo.findData(recipe.collision)
        self.collision_combo.setCurrentIndex(max(0, index))
        self._fill_list(0)
        self._loading = False
        self._validate()

    def steps(self) -> list[dict[str, Any]]:
        """The steps as raw dicts (``{"op", "params"}``), as edited."""
        return copy.deepcopy(self._steps)

    def naming(self) -> str:
        return self.naming_edit.text()

    def collision(self) -> str:
        return str(self.collision_combo.currentData())

    @property
    def valid(self) -> bool:
        return self.error is None

    def set_param(self, index: int, name: str, value: Any) -> None:
        """Change one parameter of step ``index`` (the compare view's *Use this variant*)."""
        self._steps[index]["params"][name] = value
        self._fill_list(self.step_list.currentRow())
        self._validate()

    def set_steps(self, steps: list[dict[str, Any]]) -> None:
        self._steps = copy.deepcopy(steps)
        self._fill_list(self.step_list.currentRow())
        self._validate()

    # ------------------------------------------------------------ steps
    def _fill_list(self, row: int) -> None:
        self.step_list.blockSignals(True)
        self.step_list.clear()
        for s in self._steps:
            try:
                title = operations.get(s["op"]).title
            except RecipeError:
                title = s["op"]
            self.step_list.addItem(title)
        self.step_list.blockSignals(False)
        if self._steps:
            row = min(max(row, 0), len(self._steps) - 1)
            self.step_list.setCurrentRow(row)
            self._show_step(row)
        else:
            self._show_step(-1)

    def _show_step(self, row: int) -> None:
        self.remove_button.setEnabled(row >= 0)
        self.up_button.setEnabled(row > 0)
        self.down_button.setEnabled(0 <= row < len(self._steps) - 1)
        if row < 0 or row >= len(self._steps):
            self.step_title.setText("No step selected")
            self.step_help.clear()
            self.param_form.load("greyscale", {})
            self.param_form.hide()
            return
        step = self._steps[row]
        try:
            op = operations.get(step["op"])
        except RecipeError:
            self.param_form.hide()
            return
        self.step_title.setText(op.title)
        self.step_help.setText(op.help)
        self.step_help.setVisible(bool(op.help))
        self.param_form.load(op.name, step["params"])
        self.param_form.show()

    def add_step(self, op_name: str) -> None:
        """Add ``op_name`` with its defaults: an encoder replaces the last one; other steps go before it."""
        op = operations.get(op_name)
        params = {n: copy.deepcopy(p.default) for n, p in op.params.items()}
        step = {"op": op_name, "params": params}
        encoder_last = bool(self._steps) and operations.get(self._steps[-1]["op"]).stage == ENCODE
        if op.stage == ENCODE:
            if encoder_last:
                self._steps[-1] = step
            else:
                self._steps.append(step)
            row = len(self._steps) - 1
        else:
            row = len(self._steps) - 1 if encoder_last else len(self._steps)
            self._steps.insert(row, step)
        self._fill_list(row)
        self._validate()

    def remove_step(self) -> None:
        row = self.step_list.currentRow()
        if 0 <= row < len(self._steps):
            del self._steps[row]
            self._fill_list(row)
            self._validate()

    def move_step(self, delta: int) -> None:
        row = self.step_list.currentRow()
        to = row + delta
        if 0 <= row < len(self._steps) and 0 <= to < len(self._steps):
            self._steps[row], self._steps[to] = self._steps[to], self._steps[row]
            self._fill_list(to)
            self._validate()

    def _form_changed(self) -> None:
        row = self.step_list.currentRow()
        if 0 <= row < len(self._steps):
            self._steps[row]["params"] = dict(self.param_form.values)
        self._validate()

    # ------------------------------------------------------------ validation
    def _problem(self) -> str | None:
        if self.param_form.errors:
            row = self.step_list.currentRow()
            name, sentence = next(iter(self.param_form.errors.items()))
            op = self._steps[row]["op"] if 0 <= row < len(self._steps) else name
            return f"Step {row + 1} ({op}): {sentence}"
        try:
            operations.validate_steps(self._steps, "This recipe")
            naming.check_template(self.naming_edit.text(), "File names")
        except RecipeError as exc:
            return exc.message
        return None

    def _validate(self) -> None:
        if self._loading:
            return
        self.error = self._problem()
        self.error_label.setText(self.error or "")
        self.error_label.setVisible(self.error is not None)
        self.changed.emit()
