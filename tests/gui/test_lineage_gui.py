"""Lineage and clean-up in the app: the info panel's Origin and Exports rows, Settings → Storage → Clean up…"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from desktop.core.processing import lineage
from desktop.core.processing.lineage import LineageRow
from desktop.gui.dialogs.settings_dialog import SettingsDialog
from desktop.gui.panels.info_panel import InfoPanel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers_viewer import DemoLibrary, make_demo_library  # noqa: E402

GONE = "cd" * 16


@pytest.fixture
def demo(tmp_path, monkeypatch, make_jpeg) -> Iterator[DemoLibrary]:
    d = make_demo_library(tmp_path, monkeypatch, make_jpeg, count=2)
    yield d
    d.library.close()


def _export(lib, source_id: int, output: Path, recipe: tuple[str, str]) -> None:
    src = lib.photo(source_id)
    row = LineageRow(
        output_path=str(output),
        output_hash=lineage.file_hash(output),
        source_path=str(Path(src.root.path) / src.rel_path),
        source_hash=src.content_hash,
        source_photo=src.id,
        recipe=recipe[0],
        recipe_name=recipe[1],
        recipe_version=1,
        params=[{"op": "jpeg", "version": 1, "params": {"quality": 85}}],
        task=None,
    )
    lineage.record(lib, [row])


def test_info_panel_shows_exports_and_origin(qtbot, demo):
    lib = demo.library
    source, derived = demo.ids
    derived_path = demo.folder / lib.photo(derived).rel_path  # a catalogued photo that is an output
    exports = demo.folder.parent / "exports"
    exports.mkdir()
    other = exports / "img_00_email.jpg"
    other.write_bytes(b"\xff\xd8 another output")
    _export(lib, source, derived_path, ("web-2048", "Web 2048 px"))
    _export(lib, source, other, ("email-1280", "Email 1280 px without location"))

    panel = InfoPanel(lib)
    qtbot.addWidget(panel)
    panel.resize(320, 800)
    panel.show()
    panel.set_photos([source])
    exported = panel.fields["exported"]
    assert exported.text() == "Exported 2 times" and exported.isVisible()
    assert str(other) in exported.toolTip() and "Email 1280 px without location" in exported.toolTip()
    assert not panel.fields["derived"].isVisible()

    panel.set_photos([derived])
    assert panel.fields["derived"].text() == "Derived from img_00.jpg by Web 2048 px"
    assert panel.fields["derived"].isVisible() and not panel.fields["exported"].isVisible()


def test_storage_clean_up_asks_then_deletes(qtbot, demo, runner, monkeypatch):
    lib = demo.library
    orphan = lib.thumbnails.write(GONE, b"\xff\xd8" + b"\0" * 300)
    live = lib.thumbnails.path_for(lib.photo(demo.ids[0]).content_hash)
    d = SettingsDialog(lib, runner)
    qtbot.addWidget(d)
    d.show()
    page = d.storage_page
    asked: list[str] = []

    def no(*a, **k):
        asked.append(a[2])
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "question", no)
    page.cleanup_button.click()
    assert "Thumbnails of photos no longer in the library: 1 (302 bytes)" in asked[0]
    assert orphan.exists() and "Found 1 leftover" in page.leftovers.text()

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    page.cleanup_button.click()
    assert not orphan.exists() and live.exists()
    assert page.leftovers.text() == "Cleaned up: 302 bytes freed."

    page.cleanup_button.click()
    assert page.leftovers.text().startswith("Nothing to clean up")
