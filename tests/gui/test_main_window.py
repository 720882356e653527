"""The main window as a person uses it: drops, search, Find similar, keyboard, edits that persist."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop.core.catalog.filters import PhotoFilter
from desktop.core.catalog.query import parse_query
from desktop.core.library import Library, photo_tags
from desktop.core.runtime.paths import resolve_paths
from tests.conftest import run_cli

# Qt 6 keeps QDragEnterEvent's QPoint constructor (the only one) but PySide flags it deprecated
pytestmark = pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")


def _drop(widget: Any, paths: list[Path]) -> QDropEvent:
    """Deliver a real drag-enter + drop of ``paths`` (as file URLs) to ``widget``."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(20, 20)
    enter = QDragEnterEvent(
        pos.toPoint(),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, drop)
    return drop


def _select_rows(window: Any, rows: list[int]) -> list[int]:
    window.select_ids([window.model.record(r).id for r in rows])
    sm = window.grid.selectionModel()
    sm.setCurrentIndex(window.model.index(rows[0]), sm.SelectionFlag.NoUpdate)
    return window.selected_ids()


def test_starts_empty_without_a_model(empty_lib: Library, make_window: Any) -> None:
    window = make_window(empty_lib, smart_search=True)
    assert window.windowTitle() == "Shoebox"
    assert window.stack.currentWidget() is window.empty_state
    window.ctx.start()  # synchronous runner: the model check runs now (no weights in this home)
    state = window.ctx.search_state
    assert state.state == "unavailable"
    assert state.message.startswith("Smart search needs a model")
    assert "MB" in state.message  # says how big the download is
    if window.model_notice is not None:
        assert window.model_notice.isVisible()
    # a search still works on file names, and says it is not smart (the banner above says why)
    window.search_bar.set_text("beach")
    assert "Without a smart-search model" in window.notice.text()


def test_starts_with_a_broken_model_file(lib: Library, make_window: Any, tmp_path: Path) -> None:
    weights = tmp_path / "broken.safetensors"
    weights.write_bytes(b"\x00garbage" * 100)
    lib.set_setting(
        "search.model", json.dumps({"arch": "ViT-B-32", "weights": str(weights), "fingerprint": "x"})
    )
    window = make_window(lib, smart_search=True)
    window.ctx.start()
    assert window.ctx.search_state.state == "unavailable"
    assert "Smart search needs a model" in window.ctx.search_state.message
    assert "could not be loaded" in window.ctx.search_state.message
    assert window.model.rowCount() == 5  # the grid is unaffected
    notice = window.model_notice
    if notice is not None:  # says what went wrong, and offers another file rather than a download
        assert notice.isVisible() and "could not be loaded" in notice.text.text()
        assert not notice.download_button.isVisible() and notice.choose_button.isVisible()


def test_dropping_a_folder_adds_a_watched_root_and_scans_it(
    empty_lib: Library, make_window: Any, tmp_path: Path, make_jpeg: Any
) -> None:
    folder = tmp_path / "Holiday"
    for i in range(3):
        make_jpeg(folder / f"img{i}.jpg", color=(10 * i, 100, 200), taken=dt.datetime(2020, 1, i + 1, 12))
    window = make_window(empty_lib)
    assert window.stack.currentWidget() is window.empty_state
    drop = _drop(window, [folder])
    assert drop.isAccepted()
    roots = empty_lib.roots()
    assert [Path(r.path) for r in roots] == [folder.resolve()] and roots[0].watched
    assert empty_lib.count() == 3
    assert window.model.rowCount() == 3
    assert window.stack.currentWidget() is not window.empty_state
    assert window.sidebar.count_for("view:all") == 3
    scan_jobs = [j for j in window.runner.jobs if j.name.startswith("Scanning")]
    assert scan_jobs and scan_jobs[0].state == "done"


def test_dropping_files_imports_them_and_reports_duplicates(
    lib: Library, make_window: Any, tmp_path: Path, make_jpeg: Any, photos_dir: Path
) -> None:
    window = make_window(lib)
    new = make_jpeg(tmp_path / "outside" / "new.jpg", color=(1, 2, 3), taken=dt.datetime(2024, 2, 2, 2, 2))
    _drop(window, [new])
    assert lib.count() == 6
    assert "1 imported" in window.notice.text()
    assert any(Path(r.path) == lib.import_dir().resolve() for r in lib.roots())
    # the same picture again, under another name: skipped, and the person is told
    dup = tmp_path / "outside" / "copy of beach.jpg"
    dup.write_bytes((photos_dir / "beach.jpg").read_bytes())
    _drop(window, [dup])
    assert lib.count() == 6
    assert "already in the library" in window.notice.text()
    assert "copy of beach.jpg" in window.notice.text()


def test_image_dropped_on_the_search_field_searches_by_image(
    lib: Library, make_window: Any, fake_search: Any, photos_dir: Path
) -> None:
    search = fake_search(lib)
    window = make_window(lib, search=search)
    _drop(window.search_bar.edit, [photos_dir / "snow.jpg"])
    snow = lib.photo_by_path(photos_dir / "snow.jpg")
    assert snow is not None
    assert search.calls and search.calls[-1][0] == "similar" and search.calls[-1][1] == snow.id
    assert window.search_bar.text().startswith(f"similar:{snow.id}")
    assert window.model.is_results and window.model.ids()[0] == snow.id


@pytest.mark.parametrize("suffix", [".jfif", ".jpe", ".hif"])
def test_dropping_a_file_of_any_supported_extension_imports_it(
    lib: Library, make_window: Any, tmp_path: Path, make_jpeg: Any, suffix: str
) -> None:
    window = make_window(lib)
    # a JPEG under the rarer name: what the drop accepts is the formats registry's, the same as `main.py import`
    dropped = make_jpeg(tmp_path / "outside" / f"scan{suffix}", color=(3, 140, 7))
    assert _drop(window, [dropped]).isAccepted()
    assert lib.count() == 6
    assert "1 imported" in window.notice.text()


def test_an_outside_jfif_dropped_on_the_search_field_searches_by_image(
    lib: Library, make_window: Any, fake_search: Any, tmp_path: Path, make_jpeg: Any
) -> None:
    window = make_window(lib, search=fake_search(lib))
    outside = make_jpeg(tmp_path / "outside" / "query.JFIF", color=(9, 9, 9))
    _drop(window.search_bar.edit, [outside])
    assert window.search_bar.text().startswith(f'similar:"{outside}"')


def test_the_import_dialog_offers_every_supported_format(
    lib: Library, make_window: Any, tmp_path: Path, make_jpeg: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QFileDialog

    from desktop.core.ingest.formats import SUPPORTED_EXTENSIONS

    window = make_window(lib)
    chosen = make_jpeg(tmp_path / "card" / "IMG_0001.jpe", color=(250, 1, 1))
    asked: list[str] = []

    def choose(_parent: Any, _caption: str, _folder: str, name_filter: str) -> tuple[list[str], str]:
        asked.append(name_filter)
        return [str(chosen)], name_filter

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", choose)
    window.scan_flow.choose_import()
    images = asked[0].split(";;")[0]
    assert images.startswith("Images (") and set(images[len("Images (") : -1].split()) == {
        f"*{ext}" for ext in SUPPORTED_EXTENSIONS
    }
    assert lib.count() == 6 and "1 imported" in window.notice.text()


def test_find_similar_from_the_context_menu_and_refine(
    lib: Library, make_window: Any, fake_search: Any
) -> None:
    search = fake_search(lib)
    window = make_window(lib, search=search)
    ids = _select_rows(window, [2])
    menu = window.context_menu()
    action = next(a for a in menu.actions() if a.text() == "Find similar")
    action.trigger()
    assert window.model.is_results
    assert window.model.ids()[0] == ids[0]
    assert window.grid_header.text().startswith("Like ")
    # refine with a filter: the same similarity query, now with the filter
    window.search_bar.set_text(window.search_bar.text() + "camera:nikon")
    assert (
        search.calls[-1][0] == "similar"
        and parse_query(search.calls[-1][2]["query"]).filter.camera == "nikon"
    )
    # clearing the field returns to the browsed view
    window.search_bar.set_text("")
    assert not window.model.is_results and window.model.rowCount() == 5


def test_find_similar_without_a_model_says_what_is_missing(lib: Library, make_window: Any) -> None:
    window = make_window(lib)
    _select_rows(window, [0])
    menu = window.context_menu()
    action = next(a for a in menu.actions() if a.text() == "Find similar")
    assert "Smart search needs a model" in action.toolTip()
    action.trigger()
    assert "Smart search needs a model" in window.notice.text()
    assert not window.model.is_results


def test_text_search_with_filters_without_a_model(lib: Library, make_window: Any) -> None:
    window = make_window(lib)
    window.search_bar.set_text("camera:nikon")
    assert window.model.rowCount() == 3
    window.search_bar.set_text("camera:nikon car")
    assert [window.model.record(r).name for r in range(window.model.rowCount())] == ["car.jpg"]
    window.search_bar.set_text("after:2023")
    assert window.model.rowCount() == 2
    window.search_bar.set_text("")
    assert window.model.rowCount() == 5


def test_smart_text_search_uses_the_service(lib: Library, make_window: Any, fake_search: Any) -> None:
    search = fake_search(lib)
    window = make_window(lib, search=search)
    window.search_bar.set_text("a red car")
    assert search.calls[-1] == ("search", "a red car", {"sort": "score", "limit": 1000})
    assert window.model.is_results and window.model.rowCount() == 2
    # the matches under the relevance cutoff are one click away
    assert "3 weaker matches hidden" in window.notice.label.text()
    window.notice.action_button.click()
    assert window.model.rowCount() == 5


def test_keyboard_rating_select_all_delete(
    lib: Library, make_window: Any, qtbot: Any, monkeypatch: Any, xdg_trash: Path
) -> None:
    window = make_window(lib)
    grid = window.grid
    grid.setFocus()
    ids = _select_rows(window, [0, 1])
    qtbot.keyClick(grid, Qt.Key.Key_4)
    assert {p.rating for p in lib.query(PhotoFilter(photo_ids=ids))} == {4}
    assert window.sidebar.count_for("view:favourites") == 2
    qtbot.keyClick(grid, Qt.Key.Key_0)
    assert {p.rating for p in lib.query(PhotoFilter(photo_ids=ids))} == {0}

    qtbot.keyClick(grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(window.selected_ids()) == 5

    # Shift+Delete forgets the photo; the file stays on disk
    victim = _select_rows(window, [4])
    path = Path(window.model.record(4).path)
    monkeypatch.setattr("desktop.gui.main.context_menu.confirm", lambda *a: True)
    qtbot.keyClick(grid, Qt.Key.Key_Delete, Qt.KeyboardModifier.ShiftModifier)
    assert lib.photo(victim[0]) is None and lib.count() == 4
    assert path.is_file()
    assert window.model.rowCount() == 4

    # Delete moves the file to the (test's private) trash
    victim = _select_rows(window, [3])
    path = Path(window.model.record(3).path)
    qtbot.keyClick(grid, Qt.Key.Key_Delete)
    assert lib.photo(victim[0]) is None and lib.count() == 3
    assert not path.exists() and (xdg_trash / "files" / path.name).is_file()
    assert window.model.rowCount() == 3

    # declined: nothing happens
    _select_rows(window, [0])
    monkeypatch.setattr("desktop.gui.main.context_menu.confirm", lambda *a: False)
    qtbot.keyClick(grid, Qt.Key.Key_Delete)
    qtbot.keyClick(grid, Qt.Key.Key_Delete, Qt.KeyboardModifier.ShiftModifier)
    assert lib.count() == 3


def test_ctrl_f_focuses_search_and_space_opens_the_viewer(lib: Library, make_window: Any, qtbot: Any) -> None:
    window = make_window(lib)
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow())
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.search_bar.edit.hasFocus()
    _select_rows(window, [1])
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_Space)
    try:
        from desktop.gui.viewer.viewer import ViewerWindow  # noqa: F401
    except ImportError:
        pytest.skip("the viewer is not in this tree yet")
    assert window.viewers.windows
    for v in list(window.viewers.windows):
        v.close()


def test_tags_and_ratings_survive_reopening(
    lib: Library, make_window: Any, home: Path, monkeypatch: Any
) -> None:
    window = make_window(lib)
    ids = _select_rows(window, [0, 2])
    monkeypatch.setattr("desktop.gui.main.context_menu.ask_text", lambda *a, **k: "Trips/Road")
    menu = window.context_menu()
    next(a for a in menu.actions() if a.text() == "Add tag…").trigger()
    rate = next(a for a in menu.actions() if a.text() == "Rate").menu()
    next(a for a in rate.actions() if a.text().startswith("★★★\t")).trigger()
    assert window.sidebar.count_for("tag:Trips/Road") == 2
    assert window.sidebar.count_for("tag:Trips") == 2

    window.ctx.shutdown()
    window.close()
    lib.close()
    again = Library(resolve_paths(home))
    try:
        for pid in ids:
            assert photo_tags(pid) == ["Trips/Road"]
            photo = again.photo(pid)
            assert photo is not None and photo.rating == 3
    finally:
        again.close()


def test_refresh_keeps_selection_and_window_state_is_remembered(
    lib: Library, make_window: Any, make_jpeg: Any, photos_dir: Path
) -> None:
    window = make_window(lib)
    ids = _select_rows(window, [3])
    make_jpeg(photos_dir / "later.jpg", color=(5, 5, 5), taken=dt.datetime(2025, 1, 1, 8))
    window.scan_flow.scan_roots()
    assert window.model.rowCount() == 6
    assert window.selected_ids() == ids
    window.zoom_slider.setValue(240)
    window.resize(900, 640)
    window.close()  # saves geometry, splitter and zoom under the library's data dir
    assert (lib.paths.data / "gui.ini").is_file()
    second = make_window(lib)
    assert second.grid.zoom() == 240
    assert second.size().height() == 640  # (the offscreen screen is narrower than the window)


def test_could_not_read_lists_reasons_and_back_to_the_grid(
    lib: Library, make_window: Any, photos_dir: Path
) -> None:
    (photos_dir / "broken.jpg").write_bytes(b"")
    window = make_window(lib)
    window.scan_flow.scan_roots()
    window.sidebar.select_key("view:errors")
    assert window.stack.currentWidget() is window._errors_page
    assert window.errors_model.rowCount() == 1 and window.errors_model.index(0, 1).data()
    window.sidebar.select_key("view:all")
    assert window.stack.currentWidget() is window._grid_page and window.model.rowCount() == 5


def test_smart_search_runs_in_a_model_process_and_stops_with_the_app(
    lib: Library, make_window: Any, tiny_clip_file: Path, qtbot: Any
) -> None:
    """The real engine: the app's search service starts a model process, embeds the library through
    it, answers a query typed before it started (issue 9: that one stayed empty) with it, and stops it
    on quit (no torch in the app's process needed)."""
    from desktop.core.semantic import clip_models as cm
    from desktop.core.semantic.embedder import pending_count
    from desktop.core.semantic.search import set_active_model

    spec = cm.spec_from_options(None, tiny_clip_file)
    assert spec is not None
    set_active_model(lib, spec)
    lib.set_setting("smart_search.precision", "fp32")
    window = make_window(lib, smart_search=True)
    window.search_bar.set_text("a photo of a sunset")  # typed while the model is still starting
    assert not window.model.is_results and "Smart search is starting" in window.notice.text()
    window.ctx.start()  # synchronous runner: loads the model (in its process) and embeds now
    ctx = window.ctx
    assert ctx.search_state.ready, ctx.search_state.message
    proc = ctx.search.model_process(spec)
    assert proc.alive and proc.pid != os.getpid()
    assert pending_count(spec.model_id) == 0  # the 5 photos were embedded through it
    qtbot.waitUntil(lambda: window.model.is_results and window.model.rowCount() > 0, timeout=10_000)
    assert window.model.title == "“a photo of a sunset”"
    ctx.shutdown()
    assert not proc.alive


def test_switching_models_cancels_the_old_embedding_then_restarts_it(lib: Library, make_window: Any) -> None:
    """Settings → another model or device: the job using the old model process stops first, the old
    service is closed after it, and embedding starts again with the new one."""
    from desktop.gui.app.jobs import RUNNING, Job

    window = make_window(lib)
    ctx = window.ctx
    closed: list[str] = []

    class Service:
        def __init__(self, name: str) -> None:
            self.name = name

        def close(self) -> None:
            closed.append(self.name)

    old, new = Service("old"), Service("new")
    job = Job("Understanding photos")
    job.state = RUNNING
    job.service = old  # type: ignore[attr-defined]
    ctx._embed_job = job
    ctx.search = old
    restarted: list[bool] = []
    ctx.start_embedding = lambda: restarted.append(True)  # type: ignore[method-assign]
    ctx._retire(old)
    assert job.control.cancelled and closed == []  # still in use: the job is stopped first
    job.state = "cancelled"
    job.finished.emit()
    assert closed == ["old"] and restarted == [True]
    ctx._retire(new)  # nothing uses it: closed at once (off the GUI thread in the app)
    assert closed == ["old", "new"]


def test_without_a_model_words_match_tags_titles_and_names(lib: Library, make_window: Any) -> None:
    """The CLI's fallback, in the search field too: a tag word finds the tagged photos, not file names."""
    ids = [p.id for p in lib.query()]
    lib.add_tag("family", ids[:2])
    window = make_window(lib)
    window.search_bar.set_text("family")
    assert window.model.rowCount() == 2 and {window.model.record(r).id for r in range(2)} == set(ids[:2])
    assert "tags contain" in window.notice.text()
    window.search_bar.set_text("beach")  # a file name still works
    assert [window.model.record(r).name for r in range(window.model.rowCount())] == ["beach.jpg"]


def test_escape_in_the_search_field_goes_back_to_browsing(lib: Library, make_window: Any, qtbot: Any) -> None:
    window = make_window(lib)
    window.search_bar.set_text("beach")
    assert window.model.rowCount() == 1
    window.search_bar.edit.setFocus()
    QTest.keyClick(window.search_bar.edit, Qt.Key.Key_Escape)
    assert window.search_bar.text() == ""
    qtbot.waitUntil(lambda: window.model.rowCount() == 5, timeout=3000)


def test_at_start_watched_folders_are_checked_for_what_changed_while_closed(
    lib: Library, make_window: Any, photos_dir: Path, make_jpeg: Any
) -> None:
    """The watcher only sees changes while the app runs; a scan cut short (cancel, crash) resumes too."""
    make_jpeg(photos_dir / "while-closed.jpg", color=(1, 2, 3), taken=dt.datetime(2024, 2, 2, 9, 0))
    (photos_dir / "snow.jpg").unlink()
    window = make_window(lib)
    window.ctx._watch = True  # the fixture's context does not watch; the app's does
    window.ctx.started.emit()  # what AppContext.start() ends with
    assert lib.photo_by_path(photos_dir / "while-closed.jpg") is not None
    snow = lib.photo_by_path(photos_dir / "snow.jpg")
    assert snow is not None and snow.status == "missing"
    assert any(j.name == "Checking folders for changes" for j in window.runner.jobs)


def test_tag_counts_in_the_sidebar_match_the_views(lib: Library, make_window: Any, photos_dir: Path) -> None:
    """A tagged photo whose file went missing keeps its tag, but no longer counts in the tag's view."""
    from desktop.gui.panels.sidebar import gather

    beach = lib.photo_by_path(photos_dir / "beach.jpg")
    dune = lib.photo_by_path(photos_dir / "dune.jpg")
    assert beach is not None and dune is not None
    lib.add_tag("Places/Paris", [beach.id, dune.id])
    (photos_dir / "beach.jpg").unlink()
    lib.scan(lib.roots(), workers=1)
    data = dict(gather(lib).tags)
    assert data["Places/Paris"] == 1 and data["Places"] == 1
    assert lib.count(PhotoFilter(tags=["Places"])) == 1


def test_add_tag_starts_with_an_empty_field(qtbot: Any, lib: Library) -> None:
    from PySide6.QtWidgets import QInputDialog

    from desktop.gui.main.context_menu import ask_text

    lib.add_tag("Places", [lib.query()[0].id])
    seen: list[str] = []

    def answer() -> None:
        dialog = next(
            w for w in QApplication.topLevelWidgets() if isinstance(w, QInputDialog) and w.isVisible()
        )
        seen.append(dialog.textValue())
        dialog.reject()

    QTimer.singleShot(50, answer)
    assert ask_text(None, "Add tag", "Tag:", ["Places", "family"]) is None
    assert seen == [""]


def test_a_reload_waits_for_the_end_of_a_fling(
    lib: Library, make_window: Any, make_jpeg: Any, photos_dir: Path, qtbot: Any
) -> None:
    """New photos from a scan must not reshuffle the grid under a person who is flinging through it."""
    window = make_window(lib)
    make_jpeg(photos_dir / "later.jpg", color=(5, 5, 5), taken=dt.datetime(2025, 1, 1, 8))
    lib.scan(lib.roots(), workers=1)
    window.grid.delegate.low_res = True  # what a fling sets (more than a screen in 150 ms)
    window.refresh_all()
    assert window.model.rowCount() == 5  # not yet
    window.grid._settled()  # the fling is over
    qtbot.waitUntil(lambda: window.model.rowCount() == 6, timeout=3000)


# words from a title, a tag and file names; a stop word alone (matched as typed); filters with a word
@pytest.mark.parametrize("query", ["holiday car", "Zurich", "the", "camera:nikon trip"])
def test_search_without_a_model_finds_what_the_command_line_finds(
    lib: Library, make_window: Any, home: Path, query: str
) -> None:
    snow = lib.photo_by_path(Path(lib.roots()[0].path) / "snow.jpg")
    car = next(p for p in lib.query() if p.rel_path.endswith("car.jpg"))
    assert snow is not None
    lib.add_tag("Places/Zürich", [snow.id])
    lib.set_title([car.id], "The holiday car")
    window = make_window(lib)  # no smart search: the grid shows keyword and filter matches
    window.search_bar.set_text(query)
    window.model.fetch_all()
    in_window = set(window.model.ids())
    out = run_cli(home, "search", "--json", "--all", query, check=True)
    on_command_line = {hit["id"] for hit in json.loads(out.stdout)}
    assert in_window == on_command_line and in_window


def test_a_scan_after_settings_moved_the_cache_puts_thumbnails_in_the_new_folder(
    lib: Library, make_window: Any, tmp_path: Path, make_jpeg: Any, photos_dir: Path
) -> None:
    window = make_window(lib)
    old = lib.thumbnails.root
    dialog = window.open_settings()  # Settings → Storage → Move…, once the folder is chosen
    target = tmp_path / "bigger disk"
    assert dialog.storage_page.move_cache(target).state == "done"
    dialog.close()
    new = target.resolve() / "thumbnails"
    made = [make_jpeg(photos_dir / f"new{i}.jpg", color=(5, 60 + 40 * i, 9)) for i in range(2)]
    window.scan_flow.rescan_all()  # File → Rescan all folders
    hashes = {p.content_hash for p in (lib.photo_by_path(m) for m in made) if p is not None}
    assert len(hashes) == 2
    assert all((new / h[:2] / h[2:4] / f"{h}.jpg").is_file() for h in hashes)
    assert not old.exists()  # nothing written to the old folder
    assert window.model.rowCount() == 7


def test_similar_typed_without_a_model_leaves_no_earlier_results_under_its_title(
    lib: Library, make_window: Any
) -> None:
    window = make_window(lib)
    window.search_bar.set_text("camera:nikon")
    assert window.model.rowCount() == 3
    window.search_bar.set_text("similar:1")
    assert window.model.rowCount() == 0  # before, the three Nikon photos stayed under “similar:1”
    assert (
        "Smart search needs a model" in window.notice.text()
        or "needs the smart-search model" in window.notice.text()
    )


def test_adjust_date_shifts_the_selection_reorders_the_grid_and_undoes(
    lib: Library, make_window: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desktop.gui.dialogs import date_dialog

    window = make_window(lib)
    last_row = window.model.rowCount() - 1
    oldest = _select_rows(window, [last_row])  # newest first: the bottom row is the oldest photo
    asked: list[tuple[int, Any]] = []

    def answer(_parent: Any, count: int, earliest: Any) -> date_dialog.DateChange:
        asked.append((count, earliest))
        return date_dialog.DateChange(shift=dt.timedelta(days=365 * 30))  # thirty years on: now the newest

    monkeypatch.setattr(date_dialog, "ask_date_change", answer)
    photo_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Photo")
    next(a for a in photo_menu.actions() if a.text() == "Adjust date and time…").trigger()
    assert asked and asked[0][0] == 1 and asked[0][1] is not None  # the dialog starts at the photo's date
    assert window.model.record(0).id == oldest[0]  # the grid was reordered
    assert "Shifted the dates of 1 photo" in window.edit_history.undo_action.text()
    window.edit_history.undo_action.trigger()
    assert window.model.record(last_row).id == oldest[0]


def test_adjust_date_dialog_gives_a_shift_or_a_date(qtbot: Any) -> None:
    from desktop.gui.dialogs.date_dialog import AdjustDateDialog

    dialog = AdjustDateDialog(3, dt.datetime(2024, 7, 3, 8, 5))
    qtbot.addWidget(dialog)
    assert dialog.change() is None  # nothing to shift yet
    dialog.hours.setValue(-6)
    assert dialog.change() is not None and dialog.change().shift == dt.timedelta(hours=-6)  # type: ignore[union-attr]
    dialog.when_edit.setDateTime(dialog.when_edit.dateTime().addDays(1))
    change = dialog.change()
    assert change is not None and change.when == dt.datetime(2024, 7, 4, 8, 5) and change.keep_intervals


def test_set_place_from_the_photo_menu_and_a_bad_answer_says_how(
    lib: Library, make_window: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(lib)
    ids = _select_rows(window, [0, 1])
    answers = iter(["48.8584, 2.2945", "Paris"])
    monkeypatch.setattr("desktop.gui.main.context_menu.ask_text", lambda *a, **k: next(answers))
    photo_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Photo")
    set_place = next(a for a in photo_menu.actions() if a.text() == "Set place…")
    set_place.trigger()
    assert {(lib.photo_info(i) or {}).get("gps_lat") for i in ids} == {48.8584}
    assert "Set the place of 2 photos" in window.edit_history.undo_action.text()
    set_place.trigger()
    assert "latitude,longitude" in window.notice.text()
