"""Undo, redo, Move to Trash and Rotate in the app: the Edit menu, the keys, the status bar notice,
what the grid, viewer and info panel show, and a history that outlives the window."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMenu

from desktop.core.catalog.db import database
from desktop.core.catalog.filters import PhotoFilter
from desktop.core.catalog.history import raw_rows
from desktop.core.imaging.thumbnails import ThumbnailCache
from desktop.core.library import Library, TrashReport, photo_tags
from desktop.core.runtime.paths import resolve_paths
from desktop.gui.grid.thumbnail_loader import FIT, SQUARE, load_cell
from desktop.gui.main.context_menu import trash_failure_text
from desktop.gui.main.edit_actions import BULK
from tests.conftest import REPO


def _select(window: Any, rows: list[int]) -> list[int]:
    window.select_ids([window.model.record(r).id for r in rows])
    sm = window.grid.selectionModel()
    sm.setCurrentIndex(window.model.index(rows[0]), sm.SelectionFlag.NoUpdate)
    return window.selected_ids()


def _edit_menu(window: Any) -> QMenu:
    for action in window.menuBar().actions():
        if action.text() == "&Edit":
            menu = action.menu()
            assert isinstance(menu, QMenu)
            return menu
    raise AssertionError("no Edit menu")


def _ratings(lib: Library, ids: list[int]) -> set[int]:
    return {p.rating for p in lib.query(PhotoFilter(photo_ids=ids))}


def test_edit_menu_undoes_and_redoes_a_rating(lib: Library, make_window: Any, qtbot: Any) -> None:
    window = make_window(lib)
    history = window.edit_history
    menu_actions = _edit_menu(window).actions()
    assert menu_actions[0] is history.undo_action and menu_actions[1] is history.redo_action
    assert history.undo_action.text() == "Undo" and not history.undo_action.isEnabled()
    assert not history.redo_action.isEnabled()

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.grid.setFocus()
    ids = _select(window, [0, 1])
    qtbot.keyClick(window.grid, Qt.Key.Key_2)
    assert _ratings(lib, ids) == {2}
    assert history.undo_action.text() == "Undo Rated 2 photos 2 stars"
    assert history.undo_action.isEnabled() and not history.redo_action.isEnabled()
    assert not history.notice.isVisible()  # two photos: no notice, the menu says it

    qtbot.keyClick(window.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert _ratings(lib, ids) == {0}
    assert {window.model.record(r).rating for r in range(2)} == {0}  # the grid shows it
    assert history.notice.text() == "Undid: Rated 2 photos 2 stars"
    assert history.redo_action.text() == "Redo Rated 2 photos 2 stars"
    assert history.undo_action.text() == "Undo" and not history.undo_action.isEnabled()

    qtbot.keyClick(
        window.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert _ratings(lib, ids) == {2}
    assert history.notice.text() == "Redid: Rated 2 photos 2 stars"
    assert {window.model.record(r).rating for r in range(2)} == {2}
    assert history.undo_action.text() == "Undo Rated 2 photos 2 stars"


def test_undo_a_tag_refreshes_the_info_panel_and_sidebar(lib: Library, make_window: Any) -> None:
    window = make_window(lib)
    ids = _select(window, [0, 1])
    window._push_selection()
    window.photo_actions.add_tag(ids, "Family")
    assert window.edit_history.undo_action.text() == "Undo Tagged 2 photos “Family”"
    assert "Family" in window.info_panel.tag_chips()
    window.edit_history.undo_action.trigger()
    assert all(photo_tags(i) == [] for i in ids)
    assert window.info_panel.tag_chips() == {}
    assert "Family" not in [name for name, _count in window.sidebar.data.tags]
    window.edit_history.redo_action.trigger()
    assert all(photo_tags(i) == ["Family"] for i in ids)
    assert "Family" in window.info_panel.tag_chips()


def test_move_to_trash_asks_once_and_undo_brings_the_files_back(
    lib: Library, make_window: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch, xdg_trash: Path
) -> None:
    window = make_window(lib)
    asked: list[str] = []
    monkeypatch.setattr(
        "desktop.gui.main.context_menu.confirm", lambda _p, _t, text: asked.append(text) or True
    )
    ids = _select(window, [0, 1])
    paths = [Path(window.model.record(r).path) for r in (0, 1)]
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_Delete)
    assert asked == ["Move 2 photos to the trash? You can undo this."]
    assert not any(p.exists() for p in paths)
    assert sorted(f.name for f in (xdg_trash / "files").iterdir()) == sorted(p.name for p in paths)
    assert window.model.rowCount() == 3 and lib.photo(ids[0]) is None
    assert window.edit_history.undo_action.text() == "Undo Moved 2 photos to the trash"
    notice = window.edit_history.notice  # any removal says so, with Undo at hand
    assert notice.text() == "Moved 2 photos to the trash" and notice.button.text() == "Undo"

    window.edit_history.undo_action.trigger()
    assert all(p.is_file() for p in paths)
    assert list((xdg_trash / "files").iterdir()) == []
    assert window.model.rowCount() == 5
    assert {lib.photo(i).status for i in ids} == {"ok"}  # type: ignore[union-attr]
    assert window.edit_history.notice.text() == "Undid: Moved 2 photos to the trash"


def test_undo_says_where_a_file_is_that_cannot_come_back(
    lib: Library, make_window: Any, monkeypatch: pytest.MonkeyPatch, xdg_trash: Path
) -> None:
    window = make_window(lib)
    monkeypatch.setattr("desktop.gui.main.context_menu.confirm", lambda *_a: True)
    _select(window, [0])
    name = Path(window.model.record(0).path).name
    window.trash_action.trigger()  # the Edit menu's Move to Trash…
    for f in (xdg_trash / "files").iterdir():
        f.unlink()  # the trash was emptied meanwhile
    window.edit_history.undo_action.trigger()
    notice = window.edit_history.notice.text()
    assert notice == (
        f"Undid: Moved 1 photo to the trash. {name} is no longer in the trash (it was emptied?)."
    )


def test_a_file_that_cannot_be_trashed_is_reported_in_one_sentence(
    lib: Library, make_window: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(lib)
    monkeypatch.setattr("desktop.gui.main.context_menu.confirm", lambda *_a: True)
    ids = _select(window, [0, 1])
    stuck = Path(window.model.record(0).path)

    def refuse(path: Path) -> None:
        if path == stuck:
            raise PermissionError(13, "Permission denied")
        path.unlink()

    monkeypatch.setattr("desktop.core.ingest.trash.move_to_trash", refuse)
    window.photo_actions.trash(ids)
    assert window.notice.text() == (
        f"{stuck.name} could not be moved to the trash "
        "(permission denied: the folder is read-only for you); it stays in the library."
    )
    assert stuck.is_file() and lib.photo(ids[0]) is not None and lib.photo(ids[1]) is None
    assert window.model.rowCount() == 4


def test_trash_failure_text_for_several_files() -> None:
    report = TrashReport(0, [("/p/a.jpg", "read-only file system"), ("/p/b.jpg", "read-only file system")])
    assert trash_failure_text(report) == (
        "2 photos could not be moved to the trash (a.jpg: read-only file system); they stay in the library."
    )


def test_remove_from_library_is_a_separate_action_and_undoable(
    lib: Library, make_window: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(lib)
    monkeypatch.setattr("desktop.gui.main.context_menu.confirm", lambda *_a: True)
    ids = _select(window, [2])
    path = Path(window.model.record(2).path)
    texts = [a.text() for a in window.context_menu().actions()]
    assert "Move to Trash…\tDel" in texts and "Remove from library…\tShift+Del" in texts
    window.photo_actions.remove_from_library(ids)
    assert path.is_file() and lib.photo(ids[0]) is None
    assert window.edit_history.undo_action.text() == "Undo Removed 1 photo from the library"
    window.edit_history.undo_action.trigger()
    assert lib.photo(ids[0]) is not None and window.model.rowCount() == 5


def test_changing_many_photos_at_once_offers_undo_in_the_status_bar(
    lib: Library, make_window: Any, qtbot: Any
) -> None:
    # more than BULK rows: copies of one scanned photo under other names (they share its thumbnail)
    row = raw_rows("SELECT * FROM photo ORDER BY id LIMIT 1", [])[0]

    def _copies() -> None:
        for i in range(BULK + 20):
            data = {k: v for k, v in row.items() if k != "id"}
            data["rel_path"] = f"copies/{i:03d}.jpg"
            cols = ", ".join(f'"{c}"' for c in data)
            marks = ", ".join("?" for _ in data)
            database.execute_sql(f"INSERT INTO photo ({cols}) VALUES ({marks})", list(data.values()))

    lib.writer.call(_copies)
    total = lib.count()
    window = make_window(lib)
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(window.selected_ids()) == total
    qtbot.keyClick(window.grid, Qt.Key.Key_2)
    notice = window.edit_history.notice
    assert notice.isVisible()
    assert notice.text() == f"Rated {total:,} photos 2 stars"
    assert notice.button.isVisible() and notice.button.text() == "Undo"
    assert window.statusBar().isAncestorOf(notice)
    qtbot.mouseClick(notice.button, Qt.MouseButton.LeftButton)
    assert lib.count(PhotoFilter(rating_min=1)) == 0
    assert notice.text() == f"Undid: Rated {total:,} photos 2 stars"
    assert notice.button.text() == "Redo"
    assert {window.model.record(r).rating for r in range(window.model.rowCount())} == {0}


def _write_halves(path: Path, size: tuple[int, int]) -> None:
    """A JPEG whose left half is red and right half blue."""
    img = Image.new("RGB", size, (220, 20, 20))
    img.paste((20, 20, 220), (size[0] // 2, 0, size[0], size[1]))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=95)


def _is(colour: QColor, red: bool) -> bool:
    return colour.red() > 150 > colour.blue() if red else colour.blue() > 150 > colour.red()


def test_a_turned_cell_image_is_turned(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path / "thumbs")
    h = "ab" * 16
    _write_halves(cache.path_for(h), (128, 64))
    upright = load_cell(cache, h, "", 64, SQUARE, 0.0)
    assert _is(upright.pixelColor(8, 32), red=True) and _is(upright.pixelColor(56, 32), red=False)
    right = load_cell(cache, h, "", 64, SQUARE, 0.0, rotation=90)  # left half goes to the top
    assert _is(right.pixelColor(32, 8), red=True) and _is(right.pixelColor(32, 56), red=False)
    left = load_cell(cache, h, "", 64, SQUARE, 0.0, rotation=270)
    assert _is(left.pixelColor(32, 8), red=False) and _is(left.pixelColor(32, 56), red=True)
    whole = load_cell(cache, h, "", 64, FIT, 0.0, rotation=90)
    assert (whole.width(), whole.height()) == (32, 64)


def test_rotate_turns_the_grid_the_viewer_and_the_info_panel(
    lib: Library, make_window: Any, qtbot: Any
) -> None:
    window = make_window(lib)
    window.whole_action.setChecked(True)  # whole photos: a turn shows in the cell's shape
    window._toggle_whole()
    ids = _select(window, [0])
    rec = window.model.record(0)
    assert (rec.width, rec.height) == (96, 64)
    window.rotate_right_action.trigger()
    assert lib.photo(ids[0]).rotation == 90  # type: ignore[union-attr]
    assert window.model.record(0).rotation == 90
    assert window.edit_history.undo_action.text() == "Undo Turned 1 photo right"
    window._push_selection()
    assert window.info_panel.fields["pixels"].text() == "64 × 96 px, turned right in Shoebox"

    loader = window.ctx.thumbnails
    window.grid.viewport().repaint()
    qtbot.waitUntil(lambda: any(k[0] == rec.content_hash and k[3] == 90 for k in loader._lru), timeout=5000)
    turned = [img for k, img in loader._lru.items() if k[0] == rec.content_hash and k[3] == 90]
    assert all(img.height() > img.width() for img in turned)

    window.viewers.open_viewer(window.model.index(0))
    viewer = window.viewers.windows[-1]
    qtbot.waitUntil(lambda: viewer.canvas.has_picture() and not viewer.canvas.busy(), timeout=10000)
    size = viewer.canvas.picture_size()
    assert size.height() > size.width()
    viewer.close()

    # L turns it back (the grid's key), and undo turns it right again
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_L)
    assert lib.photo(ids[0]).rotation == 0  # type: ignore[union-attr]
    window.edit_history.undo_action.trigger()
    assert lib.photo(ids[0]).rotation == 90  # type: ignore[union-attr]
    assert window.model.record(0).rotation == 90


def test_title_and_caption_are_edited_in_the_info_panel_one_step_each(lib: Library, make_window: Any) -> None:
    window = make_window(lib)
    ids = _select(window, [0])
    window._push_selection()
    panel = window.info_panel
    panel.title_edit.setFocus()
    panel.title_edit.setText("")
    for ch in "Sunset":  # typed, not set: one undo step for the whole word
        panel.title_edit.insert(ch)
    panel.title_edit.editingFinished.emit()  # Enter
    panel.title_edit.editingFinished.emit()  # and then leaving the field: still one edit
    assert lib.photo(ids[0]).title == "Sunset"  # type: ignore[union-attr]
    assert [a.label for a in lib.history(5)] == ["Titled 1 photo"]
    assert window.edit_history.undo_action.text() == "Undo Titled 1 photo"

    panel.description_edit.insert("On the beach")
    _select(window, [1])  # selecting another photo commits the caption to the first one
    window._push_selection()
    assert lib.photo(ids[0]).description == "On the beach"  # type: ignore[union-attr]
    assert panel.description_edit.text() == ""

    window.edit_history.undo_action.trigger()
    window.edit_history.undo_action.trigger()
    first = lib.photo(ids[0])
    assert first is not None and first.title is None and first.description is None


def test_undo_survives_a_restart_and_sees_the_command_line(
    home: Path, photos_dir: Path, make_window: Any, qtbot: Any
) -> None:
    library = Library(resolve_paths(home), source="app")
    library.scan([library.add_root(photos_dir)], workers=1)
    window = make_window(library)
    ids = _select(window, [0])
    window.photo_actions.rate(ids, 4)
    window.ctx.shutdown()
    window.close()
    library.close()

    library = Library(resolve_paths(home), source="app")
    try:
        window = make_window(library)
        assert window.edit_history.undo_action.text() == "Undo Rated 1 photo 4 stars"

        # the command line rates another photo; the Edit menu says so when it opens
        other = window.model.record(1)
        env = {**os.environ, "SHOEBOX_HOME": str(home)}
        subprocess.run(
            [sys.executable, str(REPO / "main.py"), "rate", "3", other.path],
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        _edit_menu(window).aboutToShow.emit()
        assert window.edit_history.undo_action.text() == "Undo Rated 1 photo 3 stars (from the command line)"
        window.edit_history.undo_action.trigger()
        assert library.photo(other.id).rating == 0  # type: ignore[union-attr]
        window.edit_history.undo_action.trigger()
        assert library.photo(ids[0]).rating == 0  # type: ignore[union-attr]
    finally:
        library.close()


def test_the_viewer_turns_with_r_and_undoes_with_ctrl_z(lib: Library, make_window: Any, qtbot: Any) -> None:
    window = make_window(lib)
    window.viewers.open_viewer(window.model.index(0))
    viewer = window.viewers.windows[-1]
    photo_id = viewer.current_id()
    viewer.activateWindow()
    qtbot.waitUntil(viewer.isActiveWindow)

    def shown_portrait() -> bool:
        size = viewer.canvas.picture_size()
        return viewer.canvas.has_picture() and not viewer.canvas.busy() and size.height() > size.width()

    qtbot.waitUntil(lambda: viewer.canvas.has_picture() and not viewer.canvas.busy(), timeout=10000)
    assert not shown_portrait()
    qtbot.keyClick(viewer, Qt.Key.Key_R)
    assert lib.photo(photo_id).rotation == 90  # type: ignore[union-attr]
    assert window.model.record(0).rotation == 90  # the grid behind follows at once
    qtbot.waitUntil(shown_portrait, timeout=10000)
    assert window.edit_history.undo_action.text() == "Undo Turned 1 photo right"

    qtbot.keyClick(viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert lib.photo(photo_id).rotation == 0  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: not shown_portrait() and viewer.canvas.has_picture(), timeout=10000)
    viewer.close()


def test_removing_a_folder_can_be_undone_at_once(
    lib: Library, make_window: Any, monkeypatch: pytest.MonkeyPatch, photos_dir: Path
) -> None:
    window = make_window(lib)
    monkeypatch.setattr("desktop.gui.main.context_menu.confirm", lambda *_a: True)
    root = lib.roots()[0]
    window.sidebar_flow.remove_root(root.id)
    assert lib.count() == 0
    # Ctrl+Z works straight away: the action was enabled without opening the menu first
    assert window.edit_history.undo_action.isEnabled()
    assert (
        window.edit_history.undo_action.text()
        == f"Undo Removed folder {root.path} (5 photos) from the library"
    )
    window.edit_history.undo_action.trigger()
    assert [r.path for r in lib.roots()] == [str(photos_dir.resolve())]
    assert lib.count() == 5 and window.model.rowCount() == 5


def test_the_app_opens_its_library_as_the_app(home: Path, monkeypatch: pytest.MonkeyPatch, qapp: Any) -> None:
    """The history marks the app's edits as the app's (the CLI's say "from the command line")."""
    from desktop.gui.app import application

    class Opened(Exception):
        pass

    seen: list[str] = []

    def _build(library: Library, **_kw: Any) -> Any:
        seen.append(library.source)
        library.close()
        raise Opened

    monkeypatch.setattr(application, "build_main_window", _build)
    with pytest.raises(Opened):
        application.run_gui([])
    assert seen == ["app"]


def test_deleting_a_tag_and_an_album_from_the_sidebar_can_be_undone(
    lib: Library, make_window: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(lib)
    ids = _select(window, [0, 1])
    lib.add_tag("Places/Paris", ids)
    lib.add_to_album("Trip", ids)
    window.refresh_all()
    asked: list[str] = []
    monkeypatch.setattr(
        "desktop.gui.main.context_menu.confirm", lambda _p, _t, text: asked.append(text) or True
    )
    window.sidebar.select_key("tag:Places", emit=True)
    window.sidebar.delete_tag_requested.emit("Places")
    assert asked[-1].startswith("Delete the tag “Places” and 1 tag below it from 2 photos?")
    assert all(photo_tags(i) == [] for i in ids)
    assert window.sidebar.current_spec().key == "view:all"  # its view went with it
    window.sidebar.delete_album_requested.emit("Trip")
    assert "Trip" not in dict(lib.albums())
    assert window.edit_history.undo_action.text() == "Undo Deleted album “Trip” (2 photos)"
    window.edit_history.undo_action.trigger()
    assert dict(lib.albums())["Trip"] == 2
    window.edit_history.undo_action.trigger()
    assert all(photo_tags(i) == ["Places/Paris"] for i in ids)
    assert "Places/Paris" in [name for name, _count in window.sidebar.data.tags]
