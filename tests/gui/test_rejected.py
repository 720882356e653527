"""The rejected flag in the app: X rejects and unrejects (undoable), the menus name it, the grid
dims the photo with a ✕, the info panel says so and the sidebar has a Rejected view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtWidgets import QMenu, QStyleOptionViewItem

from desktop.core.catalog.filters import PhotoFilter
from desktop.core.catalog.reads import REJECTED, STATUS_OK, PhotoRecord
from desktop.core.imaging.thumbnails import ThumbnailCache
from desktop.core.library import Library
from desktop.gui.grid.photo_delegate import PhotoDelegate
from desktop.gui.grid.thumbnail_loader import ThumbnailLoader


def _select(window: Any, rows: list[int]) -> list[int]:
    window.select_ids([window.model.record(r).id for r in rows])
    sm = window.grid.selectionModel()
    sm.setCurrentIndex(window.model.index(rows[0]), sm.SelectionFlag.NoUpdate)
    return window.selected_ids()


def _ratings(lib: Library, ids: list[int]) -> set[int]:
    return {p.rating for p in lib.query(PhotoFilter(photo_ids=ids))}


def _texts(menu: QMenu) -> list[str]:
    return [a.text().split("\t")[0] for a in menu.actions()]


def test_x_rejects_and_unrejects_and_undo_brings_the_stars_back(
    lib: Library, make_window: Any, qtbot: Any
) -> None:
    window = make_window(lib)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.grid.setFocus()
    ids = _select(window, [0, 1])
    window._push_selection()
    lib.set_rating(ids[:1], 3)
    assert window.sidebar.count_for("view:rejected") == 0

    qtbot.keyClick(window.grid, Qt.Key.Key_X)
    assert _ratings(lib, ids) == {REJECTED}
    assert {window.model.record(r).rejected for r in (0, 1)} == {True}  # the grid shows it
    assert window.sidebar.count_for("view:rejected") == 2
    assert not window.info_panel.rejected_label.isHidden()
    assert window.edit_history.undo_action.text() == "Undo Rejected 2 photos"
    menu = window.photo_actions.build_menu(ids, [Path(window.model.record(0).path)])
    assert "Unreject" in _texts(menu) and "Reject" not in _texts(menu)

    window.edit_history.undo_action.trigger()
    assert {p.id: p.rating for p in lib.query(PhotoFilter(photo_ids=ids))} == {ids[0]: 3, ids[1]: 0}
    assert window.info_panel.rejected_label.isHidden()
    window.edit_history.redo_action.trigger()

    qtbot.keyClick(window.grid, Qt.Key.Key_X)  # all of them rejected: X unrejects
    assert _ratings(lib, ids) == {0}
    assert window.sidebar.count_for("view:rejected") == 0
    menu = window.photo_actions.build_menu(ids, [Path(window.model.record(0).path)])
    assert "Reject" in _texts(menu)


def test_the_rejected_view_lists_only_rejected_photos(lib: Library, make_window: Any) -> None:
    window = make_window(lib)
    ids = _select(window, [2])
    window.photo_actions.set_rejected(ids, True)
    window.sidebar.select_key("view:rejected")
    assert [window.model.record(r).id for r in range(window.model.rowCount())] == ids
    window.sidebar.select_key("view:all")
    assert window.model.rowCount() == 5  # All photos keeps showing rejected ones, dimmed


def _cell(delegate: PhotoDelegate, rec: PhotoRecord) -> QImage:
    img = QImage(160, 160, QImage.Format.Format_ARGB32)
    img.fill(QColor(20, 20, 20))
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, 160, 160)
    option.palette = QPalette()
    option.palette.setColor(QPalette.ColorRole.Base, QColor("white"))
    painter = QPainter(img)
    delegate.paint_record(painter, option, rec)
    painter.end()
    return img


def test_a_rejected_cell_is_dimmed_with_a_red_cross(qtbot: Any, tmp_path: Path) -> None:
    loader = ThumbnailLoader(ThumbnailCache(tmp_path / "thumbs"))
    delegate = PhotoDelegate(loader)
    kept = PhotoRecord(1, "/p/a.jpg", "", None, 0, None, STATUS_OK, 160, 90)
    rejected = PhotoRecord(1, "/p/a.jpg", "", None, REJECTED, None, STATUS_OK, 160, 90)
    plain, dimmed = _cell(delegate, kept), _cell(delegate, rejected)
    middle = (80, 60)
    assert dimmed.pixelColor(*middle).lightness() > plain.pixelColor(*middle).lightness() + 60
    corner = QRect(4, 130, 26, 26)  # bottom-left, where stars would be
    reds = sum(
        1
        for x in range(corner.left(), corner.right())
        for y in range(corner.top(), corner.bottom())
        if (c := dimmed.pixelColor(x, y)).red() > 150 and c.green() < 100
    )
    assert reds > 40
    loader.shutdown()
