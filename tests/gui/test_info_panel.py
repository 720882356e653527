"""The info panel: metadata display, tag chips, rating stars and colour labels that persist."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import QApplication

from desktop.core.library import photo_tags
from desktop.gui.panels.info_panel import (
    InfoPanel,
    format_bytes,
    format_coordinates,
    format_exposure,
    format_taken,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers_viewer import DemoLibrary, make_demo_library  # noqa: E402


@pytest.fixture
def demo(tmp_path, monkeypatch, make_jpeg) -> Iterator[DemoLibrary]:
    d = make_demo_library(tmp_path, monkeypatch, make_jpeg, count=4)
    yield d
    d.library.close()


def make_panel(qtbot, library) -> InfoPanel:
    panel = InfoPanel(library)
    qtbot.addWidget(panel)
    panel.resize(320, 700)
    panel.show()
    return panel


def test_formatting():
    assert format_exposure(1 / 250, 2.8, 400, 50.0) == "1/250 s · f/2.8 · ISO 400 · 50 mm"
    assert format_exposure(2.0, 11.0, None, 4.25) == "2 s · f/11 · 4.2 mm"
    assert format_exposure(None, None, None, None) is None
    assert format_bytes(3_400_000) == "3.4 MB"
    assert format_bytes(453_000) == "453 KB"
    assert format_coordinates(48.8584, -2.2945, 35.0) == "48.85840° N, 2.29450° W · 35 m"
    taken = format_taken("2023-05-01T12:30:00+02:00", "DateTimeOriginal")
    assert taken is not None and "2023" in taken and "UTC+02:00" in taken and "camera" in taken


def test_single_photo_metadata(qtbot, demo):
    panel = make_panel(qtbot, demo.library)
    panel.set_photos([demo.ids[0]])
    assert panel.title.text() == "img_00.jpg"
    f = panel.fields
    assert f["camera"].text() == "Canon EOS R5"  # the make is not repeated
    assert "2023" in f["date"].text() and "DateTimeOriginal" in f["date"].text()
    assert f["pixels"].text().startswith("320 × 240 px")
    assert "JPEG" in f["file"].text()
    assert f["place"].text().startswith("48.858")
    assert f["path"].toolTip() == str(demo.folder / "img_00.jpg")
    assert not f["lens"].isVisible()  # rows without a value are hidden
    assert panel.no_tags.isVisible()


def test_no_selection(qtbot, demo):
    panel = make_panel(qtbot, demo.library)
    panel.set_photos([])
    assert panel.title.text() == "No photo selected"
    assert not panel.tag_edit.isVisible()


def test_tag_chips_add_and_remove_persist(qtbot, demo):
    pid = demo.ids[1]
    panel = make_panel(qtbot, demo.library)
    panel.set_photos([pid])
    with qtbot.waitSignal(panel.user_data_changed):
        qtbot.keyClicks(panel.tag_edit, "Family, Places/Paris")
        qtbot.keyClick(panel.tag_edit, Qt.Key.Key_Return)
    assert panel.tag_edit.text() == ""
    assert set(panel.tag_chips()) == {"Family", "Places/Paris"}

    # survives a restart
    lib = demo.reopen()
    assert photo_tags(pid) == ["Family", "Places/Paris"]
    panel = make_panel(qtbot, lib)
    panel.set_photos([pid])
    chips = panel.tag_chips()
    assert set(chips) == {"Family", "Places/Paris"}

    with qtbot.waitSignal(panel.user_data_changed):
        qtbot.mouseClick(chips["Family"].remove_button, Qt.MouseButton.LeftButton)
    assert set(panel.tag_chips()) == {"Places/Paris"}
    lib = demo.reopen()
    assert photo_tags(pid) == ["Places/Paris"]


def test_bad_tag_name_shows_an_error(qtbot, demo):
    panel = make_panel(qtbot, demo.library)
    panel.set_photos([demo.ids[0]])
    assert not panel.add_tags("  /  ")  # nothing usable: ignored, not an error
    assert not panel.add_tags("//")
    assert panel.tag_error.isVisible() and "not a usable tag name" in panel.tag_error.text()
    panel.tag_edit.setText("/")
    qtbot.keyClick(panel.tag_edit, Qt.Key.Key_Return)
    assert panel.tag_chips() == {}


def test_tag_completion_offers_existing_tags(qtbot, demo):
    demo.library.add_tag("Places/Lisbon", [demo.ids[0]])
    demo.library.add_tag("beach", [demo.ids[1]])
    panel = make_panel(qtbot, demo.library)
    panel.set_photos([demo.ids[2]])
    QApplication.sendEvent(panel.tag_edit, QFocusEvent(QEvent.Type.FocusIn))
    assert set(panel.completer.model().stringList()) >= {"Places", "Places/Lisbon", "beach"}


def test_multi_selection_summary_and_common_tags(qtbot, demo):
    lib = demo.library
    lib.add_tag("holiday", demo.ids[:3])
    lib.add_tag("beach", demo.ids[:1])
    panel = make_panel(qtbot, lib)
    panel.set_photos(demo.ids[:3])
    assert panel.title.text() == "3 photos selected"
    assert set(panel.tag_chips()) == {"holiday"}  # common tags are removable chips
    assert panel.fields["dates"].text() == "2023-05-01 – 2023-05-03"
    # a tag added to a selection goes on every photo
    panel.add_tags("Lisbon")
    for pid in demo.ids[:3]:
        assert "Lisbon" in photo_tags(pid)
    assert "Lisbon" not in photo_tags(demo.ids[3])
    panel.remove_tag("holiday")
    assert all("holiday" not in photo_tags(pid) for pid in demo.ids[:3])


def test_rating_clicks_persist(qtbot, demo):
    ids = demo.ids[:2]
    panel = make_panel(qtbot, demo.library)
    panel.set_photos(ids)
    with qtbot.waitSignal(panel.user_data_changed):
        qtbot.mouseClick(panel.stars, Qt.MouseButton.LeftButton, pos=panel.stars.star_center(4))
    assert panel.stars.rating() == 4
    lib = demo.reopen()
    assert [lib.photo(i).rating for i in ids] == [4, 4]

    panel = make_panel(qtbot, lib)
    panel.set_photos([ids[0]])
    assert panel.stars.rating() == 4
    qtbot.mouseClick(panel.stars, Qt.MouseButton.LeftButton, pos=panel.stars.star_center(4))  # again: clear
    assert lib.photo(ids[0]).rating == 0
    panel.set_photos(ids)
    assert panel.stars.rating() is None  # mixed


def test_colour_label_persists(qtbot, demo):
    pid = demo.ids[0]
    panel = make_panel(qtbot, demo.library)
    panel.set_photos([pid])
    qtbot.mouseClick(panel.colors.buttons["blue"], Qt.MouseButton.LeftButton)
    assert panel.colors.buttons["blue"].isChecked()
    lib = demo.reopen()
    assert lib.photo(pid).color_label == "blue"
    panel = make_panel(qtbot, lib)
    panel.set_photos([pid])
    qtbot.mouseClick(panel.colors.buttons[None], Qt.MouseButton.LeftButton)
    assert lib.photo(pid).color_label is None


def test_missing_file_is_flagged(qtbot, demo):
    (demo.folder / "img_00.jpg").unlink()
    demo.library.scan(workers=1)
    panel = make_panel(qtbot, demo.library)
    panel.set_photos([demo.ids[0]])
    assert panel.status_label.isVisible()
    assert "missing" in panel.status_label.text()


def test_the_info_panel_shows_a_photos_albums(lib, qtbot) -> None:
    from desktop.gui.panels.info_panel import InfoPanel

    pid = lib.query()[0].id
    lib.add_to_album("Trip 2008", [pid])
    panel = InfoPanel(lib)
    qtbot.addWidget(panel)
    panel.set_photos([pid])
    assert panel.fields["albums"].text() == "Trip 2008"


def test_mixed_ratings_look_neither_unrated_nor_rated(qtbot) -> None:
    from desktop.gui.panels.info_panel import StarRating

    stars = StarRating()
    qtbot.addWidget(stars)
    stars.resize(stars.sizeHint())
    looks = {}
    for rating in (0, None, 5):
        stars.set_rating(rating)
        looks[rating] = stars.grab().toImage()
    assert looks[None] != looks[0] and looks[None] != looks[5]
