"""Grouped items in the app: the cover's badge, the info panel's two files, the setting, the trash question."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QRect

from desktop.core.catalog.reads import STATUS_OK, PhotoRecord
from desktop.core.imaging.thumbnails import ThumbnailCache
from desktop.core.library import Library
from desktop.core.runtime.paths import resolve_paths
from desktop.gui.grid.photo_delegate import PhotoDelegate, pair_badge
from desktop.gui.grid.thumbnail_loader import ThumbnailLoader
from tests.gui.test_video_grid import _cell, _darkened

TAKEN = dt.datetime(2023, 5, 1, 9, 30)


@pytest.fixture
def paired(
    tmp_path: Path, shoebox_home: Path, make_jpeg: Any, make_dng: Any, make_video: Any
) -> Iterator[Any]:
    folder = tmp_path / "pics"
    make_jpeg(folder / "IMG_1.JPG", taken=TAKEN)
    make_dng(folder / "IMG_1.CR2.dng", taken=TAKEN)  # not the same stem: no pair
    make_dng(folder / "IMG_1.DNG", taken=TAKEN)
    make_jpeg(folder / "IMG_2.HEIC.jpg", taken=TAKEN, color=(9, 90, 9))
    make_jpeg(folder / "LIVE_3.jpg", taken=TAKEN, color=(30, 30, 160))
    make_video(folder / "LIVE_3.mov", seconds=2)
    library = Library(resolve_paths())
    library.scan([library.add_root(folder)])
    yield library, folder
    library.close()


def test_a_covers_cell_carries_its_pair_badge_in_the_top_left(qtbot: Any, tmp_path: Path) -> None:
    loader = ThumbnailLoader(ThumbnailCache(tmp_path / "thumbs"))
    delegate = PhotoDelegate(loader)
    plain = PhotoRecord(1, "/p/a.jpg", "", None, 0, None, STATUS_OK, 160, 90)
    raw_pair = PhotoRecord(2, "/p/b.jpg", "", None, 0, None, STATUS_OK, 160, 90, companion="raw+jpeg")
    live = PhotoRecord(
        3, "/p/c.jpg", "", None, 0, None, STATUS_OK, 160, 90, companion="live", motion_path="/p/c.mov"
    )
    assert (pair_badge(None), pair_badge("raw+jpeg"), pair_badge("live")) == (None, "RAW+JPEG", "LIVE")
    blank = _cell(delegate, plain)
    corner, rest = QRect(4, 4, 40, 14), QRect(4, 60, 150, 90)
    for rec in (raw_pair, live):
        badged = _cell(delegate, rec)
        assert _darkened(badged, blank, corner) > 100
        assert _darkened(badged, blank, rest) == 0  # only the corner changes
    assert _darkened(_cell(delegate, raw_pair), blank, QRect(60, 4, 40, 14)) > _darkened(
        _cell(delegate, live), blank, QRect(60, 4, 40, 14)
    )  # "RAW+JPEG" reaches further than "LIVE"
    loader.shutdown()


def test_the_info_panel_lists_both_files_of_a_pair(qtbot: Any, paired: Any) -> None:
    from desktop.gui.panels.info_panel import InfoPanel

    library, folder = paired
    panel = InfoPanel(library)
    qtbot.addWidget(panel)
    panel.resize(320, 700)
    panel.show()
    panel.set_photos([library.info(folder / "IMG_1.JPG")["id"]])
    text = panel.fields["pair"].text()
    lines = text.splitlines()
    assert lines[0] == "RAW+JPEG pair:"
    assert lines[1].startswith("IMG_1.JPG · JPEG · ") and lines[2].startswith("IMG_1.DNG · DNG · ")
    panel.set_photos([library.info(folder / "LIVE_3.jpg")["id"]])
    assert panel.fields["pair"].text().splitlines()[0] == "Live Photo:"
    panel.set_photos([library.info(folder / "IMG_2.HEIC.jpg")["id"]])
    assert not panel.fields["pair"].isVisible()


def test_the_settings_checkbox_shows_pairs_as_two_items(qtbot: Any, paired: Any, runner: Any) -> None:
    from desktop.gui.dialogs.settings_dialog import SettingsDialog

    library, _folder = paired
    assert library.count() == 4
    dialog = SettingsDialog(library, runner)
    qtbot.addWidget(dialog)
    dialog.show()
    box = dialog.folders_page.group_pairs
    assert box.isChecked()
    with qtbot.waitSignal(dialog.grouping_changed):
        box.setChecked(False)
    assert not library.group_pairs() and library.count() == 6
    assert dialog.folders_page.folders.topLevelItem(0).text(1) == "6"
    box.setChecked(True)
    assert library.count() == 4


def test_trash_asks_with_the_paired_file_named(
    qtbot: Any, paired: Any, runner: Any, monkeypatch: Any
) -> None:
    from desktop.gui.main import context_menu

    library, folder = paired
    asked: list[str] = []
    monkeypatch.setattr(context_menu, "confirm", lambda _parent, _title, text: asked.append(text) or False)
    actions = context_menu.PhotoActions(library, runner, None)
    assert not actions.trash([library.info(folder / "IMG_1.JPG")["id"]])
    assert "IMG_1.DNG (its RAW) and their sidecars go with it." in asked[0]
    assert not actions.trash([library.info(folder / "IMG_2.HEIC.jpg")["id"]])
    assert "paired" not in asked[1] and "sidecars" not in asked[1]
    assert not actions.trash([library.info(folder / "LIVE_3.jpg")["id"]])
    assert "LIVE_3.mov (its Live Photo clip) and their sidecars go with it." in asked[2]
