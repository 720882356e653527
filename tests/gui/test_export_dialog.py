"""Export…, its recipe editor, Compare…, and Settings → Recipes, over a real scanned library."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from desktop.core.catalog.reads import PhotoRecord
from desktop.core.catalog.schema import Task
from desktop.core.library import Library
from desktop.core.processing import recipes
from desktop.core.processing.recipes import Recipe
from desktop.gui.dialogs.compare_view import CompareView, parse_values
from desktop.gui.dialogs.export_dialog import ExportDialog, overrides
from desktop.gui.dialogs.recipe_editor import RecipeEditor
from desktop.gui.dialogs.settings_dialog import SettingsDialog


def _records(lib: Library) -> list[PhotoRecord]:
    out = [lib.reads.record(p.id) for p in lib.query()]
    return [r for r in out if r is not None]


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def dialog(
    qtbot: Any, lib: Library, runner: Any, settings: QSettings, tmp_path: Path
) -> Iterator[ExportDialog]:
    settings.setValue("export/output_dir", str(tmp_path / "out"))
    d = ExportDialog(lib, runner, _records(lib), settings)
    qtbot.addWidget(d)
    d.show()
    yield d
    d.close()


def test_editor_builds_the_form_from_the_schema(qtbot: Any) -> None:
    editor = RecipeEditor()
    qtbot.addWidget(editor)
    editor.set_recipe(recipes.PRESETS["web-2048"])
    assert [editor.step_list.item(i).text() for i in range(editor.step_list.count())] == [
        "Resize",
        "Convert to sRGB",
        "Metadata",
        "JPEG",
    ]
    editor.step_list.setCurrentRow(3)  # jpeg
    fields = editor.param_form.fields
    quality = fields["quality"]
    assert isinstance(quality, QSpinBox)
    assert (quality.minimum(), quality.maximum(), quality.value()) == (1, 100, 85)
    assert isinstance(fields["progressive"], QCheckBox)
    assert isinstance(fields["subsampling"], QComboBox)
    assert [fields["subsampling"].itemText(i) for i in range(3)] == ["4:4:4", "4:2:2", "4:2:0"]
    assert isinstance(fields["target_kb"], QLineEdit)  # optional: empty means "not set"
    assert isinstance(fields["ssim_floor"], QDoubleSpinBox)
    quality.setValue(70)
    assert editor.steps()[3]["params"]["quality"] == 70
    assert editor.valid

    editor.add_step("sharpen")  # goes before the encoder
    assert [s["op"] for s in editor.steps()] == ["resize", "srgb", "metadata_policy", "sharpen", "jpeg"]
    editor.add_step("png")  # an encoder replaces the encoder
    assert editor.steps()[-1]["op"] == "png"
    editor.step_list.setCurrentRow(3)
    editor.move_step(-1)
    assert [s["op"] for s in editor.steps()][2:4] == ["sharpen", "metadata_policy"]
    editor.remove_step()
    assert "sharpen" not in [s["op"] for s in editor.steps()]

    editor.add_step("watermark_image")  # its file parameter has a line edit and a Choose… button
    row = [s["op"] for s in editor.steps()].index("watermark_image")
    editor.step_list.setCurrentRow(row)
    assert editor.param_form.fields["path"].findChild(QLineEdit, "path") is not None


def test_an_invalid_value_shows_the_sentence_and_disables_export(
    dialog: ExportDialog, tmp_path: Path
) -> None:
    assert dialog.export_button.isEnabled()
    not_image = tmp_path / "notes.txt"
    not_image.write_text("not a picture")
    dialog.editor.add_step("watermark_image")
    row = [s["op"] for s in dialog.editor.steps()].index("watermark_image")
    dialog.editor.step_list.setCurrentRow(row)
    dialog.editor.param_form.fields["path"].findChild(QLineEdit, "path").setText(str(not_image))
    assert not dialog.editor.valid
    assert dialog.editor.error_label.isVisible()
    assert "notes.txt" in dialog.editor.error_label.text()
    assert not dialog.export_button.isEnabled()
    assert not dialog.save_button.isEnabled()

    # a number that is not one says so too
    dialog.editor.remove_step()
    assert dialog.editor.valid and dialog.export_button.isEnabled()
    dialog.editor.step_list.setCurrentRow(len(dialog.editor.steps()) - 1)
    dialog.editor.param_form.fields["target_kb"].setText("lots")
    assert "'target_kb' must be a whole number" in dialog.editor.error_label.text()
    assert not dialog.export_button.isEnabled()
    dialog.editor.param_form.fields["target_kb"].setText("")
    assert dialog.export_button.isEnabled()

    dialog.editor.naming_edit.setText("{stem}_{nope}.{ext}")
    assert "nope" in dialog.editor.error_label.text()
    assert not dialog.export_button.isEnabled()


def test_preview_renders_and_shows_size_dimensions_ssim_and_estimate(
    dialog: ExportDialog, qtbot: Any
) -> None:
    dialog.refresh_preview()
    qtbot.waitUntil(lambda: dialog.sample is not None and dialog.estimate is not None, timeout=10_000)
    sample = dialog.sample
    assert sample is not None and sample.size > 0
    assert (sample.width, sample.height) == (96, 64)  # never enlarged
    assert sample.ssim is not None and 0.5 < sample.ssim <= 1.0
    assert dialog.picture.pixmap() is not None and not dialog.picture.pixmap().isNull()
    facts = dialog.facts.text()
    assert "96 × 64 px" in facts and "KB" in facts and "SSIM" in facts
    assert "for 5 photos" in dialog.estimate_label.text()
    assert dialog.estimate is not None and dialog.estimate > sample.size

    # an edit renders again (debounced) with the new recipe
    dialog.editor.step_list.setCurrentRow(0)
    dialog.editor.param_form.fields["long_edge"].setText("48")
    dialog.editor.param_form.fields["mode"].setCurrentText("long_edge")
    qtbot.waitUntil(lambda: dialog.sample is not None and dialog.sample.width == 48, timeout=10_000)


def test_export_submits_a_task_with_the_recipe_params_and_folder(
    dialog: ExportDialog, qtbot: Any, tmp_path: Path, settings: QSettings
) -> None:
    dialog.select_recipe("email-1280")
    dialog.editor.step_list.setCurrentRow(3)
    dialog.editor.param_form.fields["quality"].setValue(70)
    out = tmp_path / "elsewhere"
    dialog.output_edit.setText(str(out))
    assert dialog.export_button.text() == "Export 5 photos"
    with qtbot.waitSignal(dialog.submitted, timeout=10_000) as sig:
        dialog.export_button.click()
    task = Task.get_by_id(sig.args[0])
    assert task.cmd == "email-1280" and task.origin == "app"
    assert task.output_dir == str(out)
    assert json.loads(task.notify) == "desktop"
    body = json.loads(task.recipe)
    assert body["slug"] == "email-1280"
    jpeg = [s for s in body["steps"] if s["op"] == "jpeg"][0]
    assert jpeg["params"]["quality"] == 70
    assert task.total == 5
    assert settings.value("export/output_dir") == str(out)
    assert settings.value("export/recipe") == "email-1280"


def test_export_with_a_step_added_sends_the_whole_steps(dialog: ExportDialog, qtbot: Any) -> None:
    dialog.editor.add_step("greyscale")
    req = dialog.request()
    assert [s["op"] for s in req["params"]["steps"]][-2:] == ["greyscale", "jpeg"]
    with qtbot.waitSignal(dialog.submitted, timeout=10_000) as sig:
        dialog.export()
    body = json.loads(Task.get_by_id(sig.args[0]).recipe)
    assert "greyscale" in [s["op"] for s in body["steps"]]


def test_overrides_are_empty_for_an_unchanged_recipe() -> None:
    base = recipes.PRESETS["web-2048"]
    steps = [s.as_dict() for s in base.steps]
    assert overrides(base, steps, base.naming, base.collision) == {}
    assert overrides(base, steps, "{stem}.{ext}", "skip") == {"naming": "{stem}.{ext}", "collision": "skip"}


def test_videos_with_a_picture_recipe_are_announced(
    qtbot: Any, lib: Library, runner: Any, settings: QSettings, photos_dir: Path, make_video: Any
) -> None:
    make_video(photos_dir / "clip.mp4", seconds=1)
    lib.scan(lib.roots(), workers=1)
    records = _records(lib)
    assert sum(r.is_video for r in records) == 1
    d = ExportDialog(lib, runner, records, settings)
    qtbot.addWidget(d)
    assert not d.media_note.isHidden()
    assert d.media_note.text().startswith("1 video in the selection will fail")
    assert len(d.request()["input_files"]) == 5
    d.select_recipe("video-frames")
    assert d.media_note.text().startswith("5 photos in the selection will fail")
    assert d.export_button.isEnabled()
    d.close()


def test_compare_renders_each_variant_with_its_size(dialog: ExportDialog, qtbot: Any) -> None:
    view = dialog.open_compare()
    assert isinstance(view, CompareView)
    view.values_edit.setText("30, 95")
    view.render_variants()
    qtbot.waitUntil(lambda: len(view.samples) == 3 * 2, timeout=20_000)
    assert [label for label, _ in view.variants] == ["JPEG q30", "JPEG q95"]
    for row in range(3):
        assert view.samples[(row, 0)].size <= view.samples[(row, 1)].size
        caption = view.cells[(row, 1)][1].text()
        assert "KB" in caption and "SSIM" in caption
    view.actual_button.setChecked(True)  # 100 %: the crop of the middle
    assert not view.cells[(0, 0)][0].pixmap().isNull()
    with qtbot.waitSignal(view.chosen):
        view.use_variant(view.variants[0][1])
    assert dialog.editor.steps()[-1]["params"]["quality"] == 30


def test_compare_refuses_bad_values() -> None:
    spec = recipes.operations.get("jpeg").params["quality"]
    with pytest.raises(recipes.RecipeError, match="2 to 4 values"):
        parse_values("80", spec, "quality")
    with pytest.raises(recipes.RecipeError, match="'x' is not a value"):
        parse_values("80, x", spec, "quality")


def test_saved_recipe_appears_in_settings_and_in_the_export_list(
    dialog: ExportDialog, qtbot: Any, lib: Library, runner: Any
) -> None:
    dialog.editor.step_list.setCurrentRow(3)
    dialog.editor.param_form.fields["quality"].setValue(72)
    saved = dialog.save_as("My web 72")
    assert isinstance(saved, Recipe) and saved.slug == "my-web-72"
    assert "My web 72" in dialog.recipe_names() and dialog.slug == "my-web-72"

    settings_dialog = SettingsDialog(lib, runner)
    qtbot.addWidget(settings_dialog)
    page = settings_dialog.recipes_page
    assert "My web 72" in page.names() and "Web 2048 px  (preset)" in page.names()
    page.select("web-2048")
    assert not page.edit_button.isEnabled() and page.duplicate_button.isEnabled()
    assert page.summary.text().startswith("Resize (mode long_edge, long edge 2048) → Convert to sRGB")
    copy = page.duplicate("Web copy")
    assert copy is not None and "Web copy" in page.names()
    page.select("my-web-72")
    page.rename("Web seventy-two")
    assert recipes.find("my-web-72").name == "Web seventy-two"
    editor = page.edit_selected()
    assert editor is not None
    editor.editor.step_list.setCurrentRow(3)
    editor.editor.param_form.fields["quality"].setValue(60)
    editor.save_button.click()
    assert recipes.find("my-web-72").steps[-1].params["quality"] == 60
    assert recipes.find("my-web-72").version == 3
    page.select("web-copy")
    page.delete()
    assert "Web copy" not in page.names()

    dialog.fill_recipes()
    assert "Web seventy-two" in dialog.recipe_names() and "Web copy" not in dialog.recipe_names()


def test_ctrl_e_and_the_context_menu_open_export(qtbot: Any, lib: Library, make_window: Any) -> None:
    window = make_window(lib)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow())
    window.select_all()
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: getattr(window, "_export_dialog", None) is not None, timeout=5_000)
    d = window._export_dialog
    assert d.isVisible() and len(d.records) == 5
    d.close()
    actions = [a.text() for a in window.context_menu().actions()]
    assert "Export…\tCtrl+E" in actions


def test_export_without_a_selection_says_so(qtbot: Any, lib: Library, make_window: Any) -> None:
    window = make_window(lib)
    window.grid.clearSelection()
    assert window.open_export() is None
    assert "Select the photos to export" in window.notice.text()
