"""The grid's models and view geometry: Qt model contracts, keyset paging, date groups, search results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import peewee as pw
import pytest
from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, QRect, Qt
from PySide6.QtWidgets import QApplication

from desktop.core.catalog.filters import PhotoFilter
from desktop.core.library import Library
from desktop.gui.app.jobs import JobRunner
from desktop.gui.grid.photo_delegate import PhotoGridView
from desktop.gui.grid.photo_model import (
    GROUP_DAY,
    GROUP_MONTH,
    GROUP_NONE,
    SORT_DATE,
    ErrorsModel,
    IdRole,
    PhotoModel,
    RatingRole,
)
from desktop.gui.grid.thumbnail_loader import FAILED, ThumbnailLoader
from desktop.gui.panels.status_panel import JobListModel


def test_photo_model_contract_browsing(lib: Library, qtmodeltester: Any) -> None:
    model = PhotoModel(lib, page_size=2)
    model.browse()
    qtmodeltester.check(model)


def test_photo_model_contract_results_and_grouping(lib: Library, qtmodeltester: Any) -> None:
    model = PhotoModel(lib, page_size=2)
    ids = [p.id for p in lib.query()]
    model.set_results([(i, 1.0 / (n + 1)) for n, i in enumerate(ids)], "results")
    qtmodeltester.check(model)
    model.set_grouping(GROUP_MONTH)
    qtmodeltester.check(model)


def test_errors_and_jobs_models_contract(lib: Library, qtmodeltester: Any, tmp_path: Path) -> None:
    bad = lib.roots()[0].path + "/broken.jpg"
    Path(bad).write_bytes(b"not a jpeg at all")
    lib.scan(workers=1)
    errors = ErrorsModel(lib)
    errors.reload()
    assert errors.rowCount() == 1
    assert errors.index(0, 1).data()  # a reason is given
    qtmodeltester.check(errors)

    runner = JobRunner(synchronous=True)
    jobs = JobListModel(runner)
    runner.submit("one", lambda c: "ok")
    runner.submit("two", lambda c: 1 / 0)
    assert jobs.rowCount() == 2
    assert "failed" in jobs.index(0).data()
    qtmodeltester.check(jobs)


def test_pages_arrive_by_keyset_in_date_order(lib: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    sql: list[str] = []
    db = pw.SqliteDatabase.execute_sql
    monkeypatch.setattr(
        pw.SqliteDatabase, "execute_sql", lambda self, q, *a, **k: (sql.append(q), db(self, q, *a, **k))[1]
    )
    model = PhotoModel(lib, page_size=2)
    model.browse()
    assert model.rowCount() == 2 and model.canFetchMore()
    while model.canFetchMore():
        model.fetchMore()
    assert model.rowCount() == 5
    assert model.ids() == [p.id for p in lib.query()]
    taken = [model.record(r).taken_local for r in range(5)]
    assert taken == sorted(taken, reverse=True)
    pages = [q for q in sql if "LIMIT" in q.upper() and '"photo"' in q]
    assert pages and not any("OFFSET" in q.upper() for q in pages)


def test_date_groups_follow_the_grouping(lib: Library) -> None:
    model = PhotoModel(lib)
    model.browse()
    model.set_grouping(GROUP_DAY)
    starts, titles = model.sections()
    assert titles == ["Sat 1 July 2023", "Sat 24 December 2022", "Mon 3 May 2021"]
    assert starts == [0, 2, 3]
    model.set_grouping(GROUP_MONTH)
    assert model.sections()[1] == ["July 2023", "December 2022", "May 2021"]
    model.set_grouping(GROUP_NONE)
    assert model.sections() == ([0], [""])
    model.set_grouping(GROUP_DAY)
    assert model.section_of(4) == 2
    model.set_grouping(GROUP_MONTH)


def test_results_keep_relevance_order_or_sort_by_date(lib: Library) -> None:
    model = PhotoModel(lib)
    ids = [p.id for p in lib.query()]
    results = [(ids[3], 0.9), (ids[0], 0.8), (ids[4], 0.7)]
    model.set_results(results, "r")
    assert model.ids() == [ids[3], ids[0], ids[4]]
    assert model.index(0).data(IdRole) == ids[3]
    assert not model.grouped  # relevance order has no date groups
    model.set_results(results, "r", sort=SORT_DATE)
    assert model.ids() == [ids[0], ids[3], ids[4]]
    lib.remove_photos([ids[0]])
    model.refresh()
    assert model.ids() == [ids[3], ids[4]]


def test_user_data_reload_and_filters(lib: Library) -> None:
    model = PhotoModel(lib)
    model.browse(PhotoFilter(camera="nikon"), "Nikon")
    assert model.rowCount() == 3
    pid = model.ids()[0]
    lib.set_rating([pid], 5)
    model.reload_user_data([pid])
    assert model.index(0).data(RatingRole) == 5
    mime = model.mimeData([model.index(0), model.index(1)])
    assert len(mime.urls()) == 2 and all(
        u.isLocalFile() and Path(u.toLocalFile()).is_file() for u in mime.urls()
    )


def test_thumbnails_load_off_the_gui_thread(lib: Library, qtbot: Any) -> None:
    loader = ThumbnailLoader(lib.thumbnails)
    rec = PhotoModel(lib)
    rec.browse()
    r = rec.record(0)
    assert loader.image(r.content_hash, r.path, 128) is None  # queued; the cell paints a placeholder
    qtbot.waitUntil(lambda: loader.image(r.content_hash, r.path, 128) not in (None, FAILED), timeout=5000)
    img = loader.image(r.content_hash, r.path, 128)
    assert not img.isNull() and max(img.width(), img.height()) <= 128
    # the cache lost the file: the loader remakes it from the original
    lib.thumbnails.remove(rec.record(1).content_hash)
    r1 = rec.record(1)
    loader.image(r1.content_hash, r1.path, 128)
    qtbot.waitUntil(lambda: loader.image(r1.content_hash, r1.path, 128) not in (None,), timeout=5000)
    assert loader.image(r1.content_hash, r1.path, 128) != FAILED
    assert loader.image(None, "/nope.jpg", 128) == FAILED
    loader.shutdown()


def _grid(
    lib: Library, qtbot: Any, width: int, height: int, zoom: int | None = None
) -> tuple[ThumbnailLoader, PhotoModel, PhotoGridView]:
    """A shown grid over the whole library, with its own thumbnail loader."""
    loader = ThumbnailLoader(lib.thumbnails)
    model = PhotoModel(lib)
    model.browse()
    view = PhotoGridView(loader)
    qtbot.addWidget(view)
    view.setModel(model)
    if zoom is not None:
        view.set_zoom(zoom)
    view.resize(width, height)
    view.show()
    qtbot.waitExposed(view)
    return loader, model, view


def test_grid_geometry_round_trips(lib: Library, qtbot: Any) -> None:
    loader, model, view = _grid(lib, qtbot, 700, 500)
    for row in range(model.rowCount()):
        idx = model.index(row)
        rect = view.visualRect(idx)
        assert rect.isValid()
        assert view.indexAt(rect.center()) == idx
    # the date header above the first cell is not a photo
    top = view.visualRect(model.index(0)).topLeft()
    assert not view.indexAt(top - QPoint(0, 10)).isValid()
    first, last = view.visualRect(model.index(0)), view.visualRect(model.index(1))
    view.setSelection(
        QRect(first.topLeft(), last.bottomRight()), QItemSelectionModel.SelectionFlag.ClearAndSelect
    )
    assert view.selected_rows() == [0, 1]
    model.set_grouping(GROUP_DAY)
    view.setCurrentIndex(model.index(0))
    down = view.moveCursor(view.CursorAction.MoveDown, Qt.KeyboardModifier.NoModifier)
    assert down.row() == 2  # the next date group starts a new line
    assert view.moveCursor(view.CursorAction.MoveEnd, Qt.KeyboardModifier.NoModifier).row() == 4
    view.set_zoom(300)
    assert view.columns() >= 1 and view.indexAt(view.visualRect(model.index(4)).center()).row() == 4
    assert view.indexAt(view.rect().bottomRight() * 10) == QModelIndex()
    loader.shutdown()


class DeferredReads:
    """An executor that holds each read until the test lets it land, in any order (like a pool)."""

    def __init__(self) -> None:
        self.pending: list[tuple[Any, Any, Any]] = []

    def __call__(self, load: Any, done: Any, failed: Any) -> None:
        self.pending.append((load, done, failed))

    def land(self, i: int = 0) -> None:
        load, done, failed = self.pending.pop(i)
        try:
            result = load()
        except Exception as exc:
            failed(str(exc))
        else:
            done(result)


def test_reads_run_on_the_executor_and_stale_answers_are_dropped(lib: Library, qtmodeltester: Any) -> None:
    reads = DeferredReads()
    model = PhotoModel(lib, page_size=2, executor=reads)
    model.browse(PhotoFilter(camera="nikon"), "Nikon")
    assert model.rowCount() == 0 and len(reads.pending) == 1  # nothing read on the calling thread
    model.browse(title="All photos")  # the person clicked elsewhere before the first answer came
    reads.land(1)  # the newer view lands first...
    reads.land(0)  # ...and the older answer, arriving late, must not replace it
    assert model.title == "All photos" and model.rowCount() == 2
    assert model.ids() == [p.id for p in lib.query()][:2]

    assert model.canFetchMore()
    model.fetchMore()
    model.fetchMore()  # already reading: no second read of the same page
    assert len(reads.pending) == 1
    reads.land()
    assert model.rowCount() == 4

    model.fetchMore()
    model.browse(PhotoFilter(camera="nikon"), "Nikon")
    assert not model.canFetchMore()  # no pages of the old view while the new one is read
    reads.land(0)  # the old view's page: dropped
    assert model.rowCount() == 4 and model.title == "All photos"
    reads.land(0)
    assert model.title == "Nikon" and model.rowCount() == 2
    while model.canFetchMore():
        model.fetchMore()
        reads.land()
    assert model.rowCount() == 3
    qtmodeltester.check(model)


def test_refresh_and_select_all_read_off_the_gui_thread(lib: Library) -> None:
    reads = DeferredReads()
    model = PhotoModel(lib, page_size=2, executor=reads)
    ids = [p.id for p in lib.query()]
    model.set_results([(i, 1.0) for i in ids], "results")
    reads.land()
    assert model.rowCount() == 2 and model.total_count() == 5
    lib.remove_photos([ids[1]])
    restored: list[int] = []
    model.refresh(on_done=lambda: restored.append(model.rowCount()))
    assert model.rowCount() == 2 and not restored  # the old rows stay until the new ones are read
    reads.land()
    assert restored == [2] and model.ids() == [ids[0], ids[2]]
    done: list[bool] = []
    model.fetch_all(on_done=lambda: done.append(True))
    reads.land()
    assert done and model.ids() == [ids[0], ids[2], ids[3], ids[4]] and not model.canFetchMore()


def test_a_failed_read_leaves_the_grid_usable(lib: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = DeferredReads()
    model = PhotoModel(lib, page_size=2, executor=reads)
    model.browse()
    reads.land()

    def boom(*_a: Any, **_k: Any) -> Any:
        raise pw.OperationalError("database is locked")

    monkeypatch.setattr(lib.reads, "page", boom)
    model.fetchMore()
    reads.land()
    assert model.rowCount() == 2 and model.canFetchMore()  # the next scroll tries again
    monkeypatch.undo()
    model.fetchMore()
    reads.land()
    assert model.rowCount() == 4


def test_square_cells_arrive_cropped_to_the_exact_size(lib: Library, qtbot: Any) -> None:
    from desktop.gui.grid.thumbnail_loader import SQUARE

    loader = ThumbnailLoader(lib.thumbnails)
    model = PhotoModel(lib)
    model.browse()
    r = model.record(0)  # a 96x64 photo: its middle square is cropped
    assert loader.image(r.content_hash, r.path, 150, SQUARE) is None
    qtbot.waitUntil(lambda: loader.image(r.content_hash, r.path, 150, SQUARE) is not None, timeout=5000)
    img = loader.image(r.content_hash, r.path, 150, SQUARE)
    assert (img.width(), img.height()) == (150, 150)  # painted with one unscaled blit
    assert img.pixelColor(0, 0).alpha() < 32 and img.pixelColor(75, 75).alpha() == 255  # rounded corner
    # another zoom: the 150 px image stands in (scaled by the painter) until the 200 px one is ready
    assert loader.image(r.content_hash, r.path, 200, SQUARE) is img
    qtbot.waitUntil(lambda: loader.image(r.content_hash, r.path, 200, SQUARE).width() == 200, timeout=5000)
    loader.shutdown()


def test_a_fling_loads_quarter_size_cells_then_exact_ones_when_it_settles(lib: Library, qtbot: Any) -> None:
    """Decoding every cell that flies past cost a core; a fling loads small images instead."""
    from desktop.gui.grid.photo_delegate import LOW_RES_DIVISOR, SETTLE_MS
    from desktop.gui.grid.thumbnail_loader import SQUARE

    loader, model, view = _grid(lib, qtbot, 420, 150, zoom=360)  # one cell a row: five photos scroll
    bar = view.verticalScrollBar()
    assert bar.maximum() > view.viewport().height()
    requested: list[int] = []
    real_image = loader.image

    def spy(h: Any, src: str, size: int, shape: str = SQUARE, rotation: int = 0) -> Any:
        requested.append(size)
        return real_image(h, src, size, shape, rotation)

    loader.image = spy  # type: ignore[method-assign]
    for v in (bar.maximum() // 2, bar.maximum()):  # more than a screen within a few ms
        bar.setValue(v)
        QApplication.processEvents()
    assert view.delegate.low_res
    cell = int(view.cell_size() - 8)
    assert requested and max(requested) <= max(24, cell // LOW_RES_DIVISOR)
    requested.clear()
    qtbot.wait(SETTLE_MS + 100)
    QApplication.processEvents()
    assert not view.delegate.low_res and cell in requested  # settled: the exact size is loaded
    loader.shutdown()
