"""Settings → Recipes: the presets (read-only, can be duplicated) and the saved recipes.

Saved recipes can be edited (the same editor as the Export dialog), renamed,
duplicated and deleted; every change goes through
``desktop.core.processing.recipes`` (which writes through the catalog writer),
so the command line's ``process`` sees it at once.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.library import Library
from desktop.core.processing import operations, recipes
from desktop.core.processing.params import RecipeError
from desktop.core.processing.recipes import Recipe
from desktop.gui.app.jobs import JobRunner
from desktop.gui.dialogs.recipe_editor import RecipeEditor
from desktop.gui.dialogs.settings_page import ERROR_STYLE, SettingsPage


def describe(recipe: Recipe) -> str:
    """``Resize (long edge 2048) → Convert to sRGB → JPEG (quality 85); files: {stem}_{recipe}.{ext}``."""
    parts = []
    for step in recipe.steps:
        try:
            title = operations.get(step.op).title
        except RecipeError:
            title = step.op
        shown = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in step.params.items() if v is not None)
        parts.append(f"{title} ({shown})" if shown else title)
    return " → ".join(parts) + f"; files: {recipe.naming}"


class RecipeEditDialog(QDialog):
    """A saved recipe in the editor; *Save* (disabled while the recipe is invalid) saves a new version."""

    def __init__(self, library: Library, recipe: Recipe, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.recipe = recipe
        self.setWindowTitle(f"Edit recipe “{recipe.name}” — Shoebox")
        self.editor = RecipeEditor()
        self.editor.set_recipe(recipe)
        self.error_label = QLabel()
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.save_button = QPushButton("Save")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        self.editor.changed.connect(lambda: self.save_button.setEnabled(self.editor.valid))
        self.save_button.setEnabled(self.editor.valid)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(cancel)
        row.addWidget(self.save_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.editor, 1)
        lay.addWidget(self.error_label)
        lay.addLayout(row)
        self.resize(760, 520)

    def save(self) -> None:
        try:
            recipes.save(
                self.library,
                self.recipe.name,
                self.editor.steps(),
                self.editor.naming(),
                self.editor.collision(),
                slug=self.recipe.slug,
            )
        except RecipeError as exc:
            self.error_label.setText(exc.message)
            self.error_label.show()
            return
        self.accept()


class RecipesPage(SettingsPage):
    """The list of recipes and what can be done to the selected one."""

    key = "recipes"
    recipes_changed = Signal()

    def __init__(self, library: Library, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__("Export recipes", library, runner, parent)
        self.recipe_list = QListWidget()
        self.recipe_list.setMinimumHeight(120)
        self.recipe_list.setMaximumHeight(190)
        self.recipe_list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.recipe_list.itemDoubleClicked.connect(lambda _i: self.edit_selected())
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(self.edit_selected)
        self.duplicate_button = QPushButton("Duplicate…")
        self.duplicate_button.clicked.connect(self._ask_duplicate)
        self.rename_button = QPushButton("Rename…")
        self.rename_button.clicked.connect(self._ask_rename)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._ask_delete)
        col = QVBoxLayout()
        for b in (self.edit_button, self.duplicate_button, self.rename_button, self.delete_button):
            col.addWidget(b)
        col.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.recipe_list, 1)
        row.addLayout(col)
        self.summary = QLabel()  # the selected recipe's steps and file names
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        note = QLabel(
            "Presets cannot be changed: duplicate one to make your own. "
            "Recipes are used by File → Export… and by the command line's <i>process</i>."
        )
        note.setWordWrap(True)
        self.error_label = QLabel()
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.summary)
        lay.addWidget(note)
        lay.addWidget(self.error_label)
        self._dialog: RecipeEditDialog | None = None

    def refresh(self, select: str | None = None) -> None:
        current = select or self.selected_slug()
        self.recipe_list.clear()
        for r in recipes.all_recipes():
            item = QListWidgetItem(f"{r.name}  (preset)" if r.preset else r.name)
            item.setData(Qt.ItemDataRole.UserRole, r.slug)
            self.recipe_list.addItem(item)
            if r.slug == current:
                self.recipe_list.setCurrentItem(item)
        if self.recipe_list.currentItem() is None and self.recipe_list.count():
            self.recipe_list.setCurrentRow(0)
        self._update_buttons()

    def names(self) -> list[str]:
        return [self.recipe_list.item(i).text() for i in range(self.recipe_list.count())]

    def selected_slug(self) -> str | None:
        item = self.recipe_list.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def select(self, slug: str) -> None:
        for i in range(self.recipe_list.count()):
            if self.recipe_list.item(i).data(Qt.ItemDataRole.UserRole) == slug:
                self.recipe_list.setCurrentRow(i)

    def _selected(self) -> Recipe | None:
        slug = self.selected_slug()
        if slug is None:
            return None
        try:
            return recipes.find(slug)
        except RecipeError:
            return None

    def _update_buttons(self) -> None:
        r = self._selected()
        saved = r is not None and not r.preset
        self.edit_button.setEnabled(saved)
        self.rename_button.setEnabled(saved)
        self.delete_button.setEnabled(saved)
        self.duplicate_button.setEnabled(r is not None)
        self.summary.setText(describe(r) if r is not None else "")

    def _done(self, error: RecipeError | None, select: str | None = None) -> None:
        self.error_label.setText(error.message if error else "")
        self.error_label.setVisible(error is not None)
        if error is None:
            self.refresh(select)
            self.recipes_changed.emit()

    # ------------------------------------------------------------ actions
    def edit_selected(self) -> RecipeEditDialog | None:
        r = self._selected()
        if r is None or r.preset:
            return None
        dialog = RecipeEditDialog(self.library, r, self)
        dialog.accepted.connect(lambda: self._done(None, r.slug))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.show()
        self._dialog = dialog
        return dialog

    def _ask_duplicate(self) -> None:
        r = self._selected()
        if r is None:
            return
        name, ok = QInputDialog.getText(
            self, "Duplicate recipe", "Name of the copy:", text=f"{r.name} (copy)"
        )
        if ok and name.strip():
            self.duplicate(name)

    def duplicate(self, name: str) -> Recipe | None:
        r = self._selected()
        if r is None:
            return None
        try:
            saved = recipes.save(self.library, name, r.steps, r.naming, r.collision)
        except RecipeError as exc:
            self._done(exc)
            return None
        self._done(None, saved.slug)
        return saved

    def _ask_rename(self) -> None:
        r = self._selected()
        if r is None or r.preset:
            return
        name, ok = QInputDialog.getText(self, "Rename recipe", "New name:", text=r.name)
        if ok and name.strip():
            self.rename(name)

    def rename(self, name: str) -> None:
        r = self._selected()
        if r is None or r.preset:
            return
        try:
            recipes.save(self.library, name, r.steps, r.naming, r.collision, slug=r.slug)
        except RecipeError as exc:
            self._done(exc)
            return
        self._done(None, r.slug)

    def _ask_delete(self) -> None:
        r = self._selected()
        if r is None or r.preset:
            return
        answer = QMessageBox.question(
            self, "Delete recipe", f"Delete the recipe “{r.name}”? Exports already made are kept."
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete()

    def delete(self) -> None:
        r = self._selected()
        if r is None or r.preset:
            return
        try:
            recipes.delete(self.library, r.slug)
        except RecipeError as exc:
            self._done(exc)
            return
        self._done(None)
