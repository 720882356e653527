"""The Settings dialog: library folders, import folder, smart-search model, device, cache."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from desktop.core.semantic import clip_models, search
from desktop.core.semantic.search import SETTING_MODEL
from desktop.gui.dialogs.settings_dialog import SETTING_DEVICE, SETTING_PRECISION, SettingsDialog

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers_viewer import DemoLibrary, make_demo_library  # noqa: E402


@pytest.fixture
def demo(tmp_path, monkeypatch, make_jpeg) -> Iterator[DemoLibrary]:
    d = make_demo_library(tmp_path, monkeypatch, make_jpeg, count=3)
    yield d
    d.library.close()


def make_dialog(qtbot, library, runner) -> SettingsDialog:
    d = SettingsDialog(library, runner)
    qtbot.addWidget(d)
    d.show()
    return d


def test_add_folder_scans_it_and_persists(qtbot, demo, runner, tmp_path, make_jpeg):
    other = tmp_path / "more"
    make_jpeg(other / "a.jpg")
    make_jpeg(other / "b.jpg", color=(10, 200, 10))
    d = make_dialog(qtbot, demo.library, runner)
    assert d.folders_page.folders.topLevelItemCount() == 1
    with qtbot.waitSignal(d.roots_changed):
        root_id = d.folders_page.add_folder(other)
    assert root_id is not None
    assert d.folders_page.folders.topLevelItemCount() == 2
    assert d.folders_page.selected_root_id() == root_id
    lib = demo.reopen()
    assert str(other.resolve()) in [r.path for r in lib.roots()]
    assert lib.count() == 5  # the new folder was scanned
    d = make_dialog(qtbot, lib, runner)
    row = next(
        d.folders_page.folders.topLevelItem(i)
        for i in range(2)
        if d.folders_page.folders.topLevelItem(i).text(0) == str(other.resolve())
    )
    assert row.text(1) == "2"


def test_adding_a_missing_folder_says_why(qtbot, demo, runner, tmp_path):
    d = make_dialog(qtbot, demo.library, runner)
    with qtbot.assertNotEmitted(d.roots_changed):
        assert d.folders_page.add_folder(tmp_path / "nope") is None
    assert (
        d.folders_page.folder_message.isVisible() and "does not exist" in d.folders_page.folder_message.text()
    )


def test_remove_folder_keeps_files(qtbot, demo, runner, monkeypatch):
    d = make_dialog(qtbot, demo.library, runner)
    root_id = demo.library.roots()[0].id
    # the confirmation is asked and Cancel keeps the folder
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    d.folders_page.select_root(root_id)
    d.folders_page.remove_button.click()
    assert len(demo.library.roots()) == 1
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(d.roots_changed):
        d.folders_page.remove_button.click()
    assert d.folders_page.folders.topLevelItemCount() == 0
    lib = demo.reopen()
    assert lib.roots() == [] and lib.count() == 0
    assert len(list(demo.folder.glob("*.jpg"))) == 3  # files stay on disk


def test_watch_toggle_persists(qtbot, demo, runner):
    d = make_dialog(qtbot, demo.library, runner)
    item = d.folders_page.folders.topLevelItem(0)
    assert item.checkState(2) == Qt.CheckState.Checked
    with qtbot.waitSignal(d.roots_changed):
        item.setCheckState(2, Qt.CheckState.Unchecked)
    lib = demo.reopen()
    assert lib.roots()[0].watched is False
    d = make_dialog(qtbot, lib, runner)
    assert d.folders_page.folders.topLevelItem(0).checkState(2) == Qt.CheckState.Unchecked


def test_rescan_finds_new_files(qtbot, demo, runner, make_jpeg):
    d = make_dialog(qtbot, demo.library, runner)
    make_jpeg(demo.folder / "new.jpg", color=(1, 2, 3))
    d.folders_page.select_root(demo.library.roots()[0].id)
    with qtbot.waitSignal(d.roots_changed):
        d.folders_page.rescan_button.click()
    assert demo.library.count() == 4
    assert d.folders_page.folders.topLevelItem(0).text(1) == "4"


def test_import_folder(qtbot, demo, runner, tmp_path):
    d = make_dialog(qtbot, demo.library, runner)
    target = tmp_path / "imports"
    target.mkdir()
    d.import_page.set_import_dir(target)
    assert demo.library.import_dir() == target.resolve()
    assert str(target.resolve()) in d.import_page.import_label.text()


def test_model_section_without_a_model(qtbot, demo, runner, monkeypatch):
    d = make_dialog(qtbot, demo.library, runner)
    manifest = clip_models.load_manifest()
    assert d.model_page.models.topLevelItemCount() == len(manifest.models)
    default = manifest.default_entry()
    text = d.model_page.model_status.text()
    assert "No smart-search model is on this computer yet" in text
    assert f"{default.download_mb} MB" in text and "Everything else works" in text
    assert d.model_page.download_button.isEnabled()
    assert d.model_page.download_button.text() == f"Download ({default.download_mb} MB)"

    # the download goes through the runner and its failure is shown as the core words it
    def offline(cfg, cache_dir):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(clip_models, "_fetch_pretrained", offline)
    # the hub answers the first look (online or not here), then the download itself fails
    monkeypatch.setattr(clip_models, "hub_reachable", lambda timeout=1.5: True)
    job = d.model_page.download_model(default.name)
    assert job is not None and job.state == "failed"
    assert d.model_page.model_message.isVisible()
    assert "could not be downloaded" in d.model_page.model_message.text()
    assert "Network is unreachable" in d.model_page.model_message.text()
    assert not d.model_page.download_progress.isVisible()

    with qtbot.waitSignal(d.model_changed):
        d.model_page.use_model("vit-b-16")
    spec = clip_models.ModelSpec.from_json(demo.library.get_setting(SETTING_MODEL))
    assert spec.name == "vit-b-16"
    assert "not downloaded yet" in d.model_page.model_message.text()
    active = [
        d.model_page.models.topLevelItem(i).text(2) for i in range(d.model_page.models.topLevelItemCount())
    ]
    assert sum("active" in s for s in active) == 1


def test_unreadable_manifest_is_reported(qtbot, demo, runner, monkeypatch):
    def broken(*_a, **_k):
        raise ValueError("manifest.json: Expecting value: line 1 column 1")

    monkeypatch.setattr(clip_models, "load_manifest", broken)
    monkeypatch.setattr(search, "load_manifest", broken)  # the model list is core's (search.model_choices)
    d = make_dialog(qtbot, demo.library, runner)
    assert d.model_page.models.topLevelItemCount() == 0
    assert "Smart search is not available" in d.model_page.model_status.text()
    assert "Expecting value" in d.model_page.model_status.text()


def test_bad_weights_file_is_refused(qtbot, demo, runner, tmp_path):
    d = make_dialog(qtbot, demo.library, runner)
    bad = tmp_path / "model.txt"
    bad.write_text("hello")
    with qtbot.assertNotEmitted(d.model_changed):
        d.model_page.use_weights_file(bad)
    assert "not a checkpoint" in d.model_page.model_message.text()
    assert demo.library.get_setting(SETTING_MODEL) is None


def test_device_and_precision_persist(qtbot, demo, runner):
    d = make_dialog(qtbot, demo.library, runner)
    assert d.device_page.device_plan.text() and "Checking" not in d.device_page.device_plan.text()
    with qtbot.waitSignal(d.model_changed):
        d.device_page.device_combo.setCurrentIndex(d.device_page.device_combo.findData("cpu"))
    d.device_page.precision_combo.setCurrentIndex(d.device_page.precision_combo.findData("fp32"))
    assert d.device_page.device_plan.text().startswith("cpu fp32")
    lib = demo.reopen()
    assert lib.get_setting(SETTING_DEVICE) == "cpu" and lib.get_setting(SETTING_PRECISION) == "fp32"
    d = make_dialog(qtbot, lib, runner)
    assert (
        d.device_page.device_combo.currentData() == "cpu"
        and d.device_page.precision_combo.currentData() == "fp32"
    )


def test_cache_size_and_clear(qtbot, demo, runner):
    lib = demo.library
    photo = lib.photo(demo.ids[0])
    lib.previews.get_or_make(photo.content_hash, demo.folder / photo.rel_path)
    d = make_dialog(qtbot, lib, runner)
    assert str(lib.paths.cache) == d.storage_page.cache_location.text()  # holds thumbnails/ and previews/
    assert "thumbnails" in d.storage_page.cache_size.text() and "previews" in d.storage_page.cache_size.text()
    assert lib.thumbnails.size_bytes() > 0
    d.storage_page.clear_cache()
    assert lib.thumbnails.size_bytes() == 0 and lib.previews.size_bytes() == 0
    assert d.storage_page.cache_size.text().startswith("0 bytes")


def test_cache_moves_to_another_folder_and_stays_there(qtbot, demo, runner, tmp_path):
    from desktop.core.library import Library

    lib = demo.library
    photo = lib.photo(demo.ids[0])
    lib.previews.get_or_make(photo.content_hash, demo.folder / photo.rel_path)
    before = sorted(p.name for p in lib.thumbnails.files())
    old_root = lib.thumbnails.root
    d = make_dialog(qtbot, lib, runner)
    target = tmp_path / "bigger-disk" / "shoebox-cache"
    job = d.storage_page.move_cache(target)
    assert job.state == "done", job.error
    assert d.storage_page.cache_location.text() == str(target.resolve())
    assert sorted(p.name for p in lib.thumbnails.files()) == before and lib.thumbnails.has(photo.content_hash)
    assert lib.previews.files() and not old_root.exists()
    paths = lib.paths
    lib.close()
    again = Library(paths)  # a restart keeps the new place
    try:
        assert again.thumbnails.root == target.resolve() / "thumbnails"
        assert again.thumbnails.has(photo.content_hash)
    finally:
        again.close()
    demo.library = Library(paths)  # the fixture closes it


def test_cache_cannot_move_into_itself(qtbot, demo, runner, monkeypatch):
    lib = demo.library
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warnings.append(a[2]))
    d = make_dialog(qtbot, lib, runner)
    job = d.storage_page.move_cache(lib.thumbnails.root / "ab")
    assert job.state == "failed" and "inside the cache" in warnings[0]
    assert lib.thumbnails.files() and d.storage_page.move_cache_button.isEnabled()


def test_first_run_widgets(qtbot):
    from desktop.gui.main.empty_state import EmptyState, ModelMissingNotice

    empty = EmptyState()
    qtbot.addWidget(empty)
    with qtbot.waitSignal(empty.add_folder_requested):
        qtbot.mouseClick(empty.add_button, Qt.MouseButton.LeftButton)
    notice = ModelMissingNotice("vit-b-32", 605_000_000)
    qtbot.addWidget(notice)
    notice.show()
    assert "605 MB" in notice.text.text() and "vit-b-32" in notice.text.text()
    with qtbot.waitSignal(notice.download_requested):
        qtbot.mouseClick(notice.download_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(notice.choose_file_requested):
        qtbot.mouseClick(notice.choose_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(notice.dismissed):
        qtbot.mouseClick(notice.close_button, Qt.MouseButton.LeftButton)
    assert notice.isHidden()


def test_each_subject_is_its_own_page_and_open_settings_scrolls_to_it(qtbot, demo, runner, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QScrollArea

    d = make_dialog(qtbot, demo.library, runner)
    assert list(d.pages) == ["folders", "import", "metadata", "model", "device", "storage", "recipes"]
    assert d.pages["storage"] is d.storage_page and d.storage_page.title() == "Storage"
    d.resize(820, 300)  # too short to show every page at once
    qtbot.waitUntil(lambda: d.findChild(QScrollArea).verticalScrollBar().maximum() > 0)
    bar = d.findChild(QScrollArea).verticalScrollBar()
    assert bar.value() == 0
    assert d.show_page("storage") is d.storage_page
    at_storage = bar.value()
    assert at_storage > 0 and not d.storage_page.visibleRegion().isEmpty()
    assert d.show_page("nope") is None
    # the main window's "Choose file…" opens the model page's file chooser
    asked: list[str] = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (asked.append(a[1]), ("", ""))[1])
    d._choose_weights()
    assert asked == ["Choose a CLIP weights file"]
    assert bar.value() < at_storage  # scrolled back up to the model page


def test_the_dialog_fits_a_screen_smaller_than_its_usual_size(qtbot, demo, runner):
    """880 px tall did not fit a 900 px screen once the title bar and panels took their share; on the
    offscreen platform's 800 px screen the dialog keeps 80 px of room and its sections scroll."""
    d = make_dialog(qtbot, demo.library, runner)
    room = d.screen().availableGeometry().height()
    assert d.height() <= room - 80 and d.sizeHint().height() <= room - 80


def test_the_export_cache_shows_its_size_and_its_limit_is_a_setting(qtbot, demo, runner, tmp_path):
    from desktop.core.processing import gateway

    lib = demo.library
    photo = lib.photo(demo.ids[0])
    gateway.run_now(
        lib,
        {
            "cmd": "email-1280",
            "input_files": [str(demo.folder / photo.rel_path)],
            "output_dir": str(tmp_path),
        },
    )
    d = make_dialog(qtbot, lib, runner)
    page = d.storage_page
    qtbot.waitUntil(lambda: page.results_size.text() != "Measuring…")
    assert (
        not page.results_size.text().startswith("0 bytes")
        and str(lib.paths.results) in page.results_size.text()
    )
    assert page.results_limit.value() == 2048
    page.results_limit.setValue(4096)
    page.results_limit.editingFinished.emit()
    assert lib.config()["processing.cache_mb"] == "4096"
