"""The timeline's zoom (Years, Months, Days) and date order: headers with whole-group counts read
page by page, oldest first, the window's controls and shortcuts, and both choices kept across a restart."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peewee as pw
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QToolButton

from desktop.core.catalog.filters import PhotoFilter
from desktop.core.catalog.schema import Photo
from desktop.core.library import Library
from desktop.core.runtime.paths import resolve_paths
from desktop.gui.grid.photo_delegate import HEADER_HEIGHT
from desktop.gui.grid.photo_model import GROUP_DAY, GROUP_MONTH, GROUP_NONE, GROUP_YEAR, SORT_DATE, PhotoModel

# (day, photos that day): 4 years, 7 days; one more photo has no date at all
DAYS = [
    (dt.datetime(2021, 5, 3, 15), 2),
    (dt.datetime(2022, 12, 24, 9), 1),
    (dt.datetime(2023, 7, 1, 10), 2),
    (dt.datetime(2023, 7, 2, 18), 1),
    (dt.datetime(2024, 3, 10, 8), 3),
    (dt.datetime(2024, 3, 11, 12), 1),
    (dt.datetime(2024, 8, 1, 20), 1),
]
YEARS = ["2024 · 5 photos", "2023 · 3 photos", "2022 · 1 photo", "2021 · 2 photos", "No date · 1 photo"]
MONTHS = [
    "August 2024 · 1 photo",
    "March 2024 · 4 photos",
    "July 2023 · 3 photos",
    "December 2022 · 1 photo",
    "May 2021 · 2 photos",
    "No date · 1 photo",
]
DAY_HEADERS = [
    "Thu 1 August 2024 · 1 photo",
    "Mon 11 March 2024 · 1 photo",
    "Sun 10 March 2024 · 3 photos",
    "Sun 2 July 2023 · 1 photo",
    "Sat 1 July 2023 · 2 photos",
    "Sat 24 December 2022 · 1 photo",
    "Mon 3 May 2021 · 2 photos",
    "No date · 1 photo",
]


@pytest.fixture
def timeline_lib(home: Path, tmp_path: Path, make_jpeg: Any) -> Iterator[Library]:
    """12 photos over 4 years and 7 days, one of them undated, scanned into a fresh library."""
    folder = tmp_path / "Timeline"
    n = 0
    for day, count in DAYS:
        for i in range(count):
            n += 1
            taken = day + dt.timedelta(minutes=i)
            make_jpeg(folder / f"{day:%Y}" / f"p{n:02}.jpg", color=(n * 15, 255 - n * 15, n * 7), taken=taken)
    make_jpeg(folder / "undated.jpg", color=(1, 2, 3), taken=dt.datetime(2020, 1, 1))
    library = Library(resolve_paths(home))
    library.scan([library.add_root(folder)], workers=1)
    undated = Photo.get(Photo.rel_path == "undated.jpg").id
    library.writer.call(lambda: Photo.update(taken_local="").where(Photo.id == undated).execute())
    yield library
    library.close()


def _headers(model: PhotoModel) -> list[str]:
    return [model.section_header(s) for s in range(len(model.sections()[0]))]


def _load_all(model: PhotoModel) -> None:
    while model.canFetchMore():
        model.fetchMore()


def test_year_month_day_headers_count_whole_groups_before_their_rows_load(timeline_lib: Library) -> None:
    model = PhotoModel(timeline_lib, page_size=3)
    model.set_grouping(GROUP_YEAR)
    model.browse()
    assert model.rowCount() == 3  # three of 2024's five photos are loaded...
    assert _headers(model) == ["2024 · 5 photos"]  # ...and its header counts all five
    _load_all(model)
    assert model.rowCount() == 12
    assert _headers(model) == YEARS
    assert model.sections()[0] == [0, 5, 8, 9, 11]
    model.set_grouping(GROUP_MONTH)
    assert _headers(model) == MONTHS
    model.set_grouping(GROUP_DAY)
    assert _headers(model) == DAY_HEADERS
    assert model.sections()[0] == [0, 1, 2, 5, 6, 8, 9, 11]
    model.set_grouping(GROUP_NONE)
    assert model.sections() == ([0], [""]) and model.section_count(0) is None


def test_headers_are_counted_one_year_at_a_time_not_over_the_whole_library(
    timeline_lib: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted: list[list[str]] = []  # per count query: the date bounds it reads between
    db = pw.SqliteDatabase.execute_sql

    def spy(self: Any, q: str, params: Any = None, *a: Any, **k: Any) -> Any:
        if "GROUP BY" in q.upper():
            assert '"taken_local" >= ?' in q or '"taken_local" = ?' in q  # a range of the date index
            counted.append([p for p in params if isinstance(p, str) and (p == "" or p[:1].isdigit())])
        return db(self, q, params, *a, **k)

    monkeypatch.setattr(pw.SqliteDatabase, "execute_sql", spy)
    model = PhotoModel(timeline_lib, page_size=3)
    model.set_grouping(GROUP_MONTH)
    model.browse()  # rows 0-2: all of 2024
    assert counted == [["2024", "2025"]]
    assert _headers(model) == ["August 2024 · 1 photo", "March 2024 · 4 photos"]
    pages = []
    while model.canFetchMore():
        counted.clear()
        model.fetchMore()
        pages.append(counted[:])
    # each page counts only the years it reaches first; the undated photos are one more "year"
    assert pages == [[["2023", "2024"]], [["2022", "2023"]], [[""], ["2021", "2022"]], []]
    assert _headers(model) == MONTHS


def test_oldest_first_pages_headers_and_results(timeline_lib: Library) -> None:
    model = PhotoModel(timeline_lib, page_size=4)
    model.set_grouping(GROUP_YEAR)
    model.browse()
    model.set_newest_first(False)
    _load_all(model)
    assert model.ids() == [p.id for p in timeline_lib.query(newest_first=False)]
    taken = [model.record(r).taken_local for r in range(model.rowCount())]
    assert taken == sorted(taken) and taken[0] == ""  # undated first, as the CLI's --oldest-first
    assert _headers(model) == YEARS[::-1]
    # a new view keeps the order chosen
    model.browse(PhotoFilter(after=dt.date(2023, 1, 1)), "Since 2023")
    assert [model.record(r).taken_local[:4] for r in range(model.rowCount())] == ["2023"] * 3 + ["2024"]
    assert _headers(model) == ["2023 · 3 photos", "2024 · 5 photos"]  # counts follow the view's filter
    # date-sorted results follow it too; relevance keeps its ranking
    ids = [p.id for p in timeline_lib.query()]
    hits = [(ids[5], 0.9), (ids[0], 0.8), (ids[10], 0.7)]
    model.set_results(hits, "r", sort=SORT_DATE)
    assert model.ids() == [ids[10], ids[5], ids[0]]
    model.set_newest_first(True)
    assert model.ids() == [ids[0], ids[5], ids[10]]
    assert _headers(model) == ["2024 · 1 photo", "2023 · 1 photo", "2021 · 1 photo"]  # of the results
    model.set_results(hits, "r")
    model.set_newest_first(False)
    assert model.ids() == [ids[5], ids[0], ids[10]] and not model.grouped


@pytest.mark.parametrize("grouping", [GROUP_YEAR, GROUP_MONTH, GROUP_DAY, GROUP_NONE])
@pytest.mark.parametrize("newest_first", [True, False])
def test_model_contract_for_each_grouping(
    timeline_lib: Library, qtmodeltester: Any, grouping: str, newest_first: bool
) -> None:
    model = PhotoModel(timeline_lib, page_size=4)
    model.set_grouping(grouping)
    model.browse(newest_first=newest_first)
    qtmodeltester.check(model)
    model.fetchMore()
    qtmodeltester.check(model)
    assert len(model.sections()[0]) >= 1


def test_window_controls_shortcuts_header_zoom_and_memory(
    timeline_lib: Library, make_window: Any, qtbot: Any
) -> None:
    window = make_window(timeline_lib)
    timeline = window.timeline
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow())
    window.grid.setFocus()
    QTest.keyClick(window.grid, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.model.grouping == GROUP_YEAR and timeline.group_actions[GROUP_YEAR].isChecked()
    year_button = window.findChild(QToolButton, "group-year")
    assert year_button is not None and year_button.isChecked()
    assert window.model.rowCount() == 12 and _headers(window.model)[0] == "2024 · 5 photos"
    QTest.keyClick(window.grid, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.model.grouping == GROUP_DAY
    QTest.keyClick(window.grid, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)

    # a click on a year's header zooms into that year's months, its first photo at the top
    grid = window.grid
    window.resize(900, 500)
    grid.set_zoom(360)  # big cells: the grid scrolls, so the clicked year can come to the top
    first_2023 = window.model.sections()[0][1]
    cell = grid.visualRect(window.model.index(first_2023))
    QTest.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(20, cell.top() - 20))
    assert window.model.grouping == GROUP_MONTH
    # July 2023's header at the very top of the grid (no sliver of 2024 above it), its first photo under it
    assert grid.visualRect(window.model.index(first_2023)).top() == HEADER_HEIGHT
    assert grid.top_visible_row() == first_2023

    timeline.sort_actions[False].trigger()
    assert timeline.sort_button is not None and timeline.sort_button.text() == "↑ Oldest first ▾"
    assert window.model.ids() == [p.id for p in timeline_lib.query(newest_first=False)]
    window.sidebar.select_key("view:all")  # another view keeps the order
    assert not window.model.newest_first and window.model.record(0).taken_local == ""
    window.close()

    again = make_window(timeline_lib)
    assert again.model.grouping == GROUP_MONTH and not again.model.newest_first
    assert (
        again.timeline.group_actions[GROUP_MONTH].isChecked()
        and again.timeline.sort_actions[False].isChecked()
    )
    assert again.model.ids() == [p.id for p in timeline_lib.query(newest_first=False)]
    assert again.timeline.sort_button is not None and again.timeline.sort_button.text() == "↑ Oldest first ▾"


def test_regrouping_keeps_the_top_photo_in_place(timeline_lib: Library, qtbot: Any) -> None:
    from desktop.gui.grid.photo_delegate import PhotoGridView
    from desktop.gui.grid.thumbnail_loader import ThumbnailLoader

    loader = ThumbnailLoader(timeline_lib.thumbnails)
    model = PhotoModel(timeline_lib)
    model.set_grouping(GROUP_DAY)
    model.browse()
    view = PhotoGridView(loader)
    qtbot.addWidget(view)
    view.setModel(model)
    view.set_zoom(300)
    view.resize(700, 400)
    view.show()
    qtbot.waitExposed(view)
    view.scroll_to_row_top(6)  # Sat 1 July 2023
    assert view.top_visible_row() == 6
    for mode in (GROUP_YEAR, GROUP_MONTH, GROUP_DAY):
        model.set_grouping(mode)
        top = view.top_visible_row()
        assert top is not None and top <= 6 < top + view.columns(), mode  # its line is the top line
        assert 0 <= view.visualRect(model.index(6)).top() <= 60, mode
    loader.shutdown()


def test_the_order_holds_for_a_view_still_being_read(timeline_lib: Library) -> None:
    """Reads land later in the app: the order asked for shows at once on the controls and applies
    to the view being read, not to the one it replaces."""
    pending: list[tuple[Any, Any, Any]] = []

    def land_all() -> None:
        while pending:
            load, done, _failed = pending.pop(0)
            done(load())

    model = PhotoModel(timeline_lib, executor=lambda load, done, failed: pending.append((load, done, failed)))
    model.browse()
    land_all()
    model.browse(PhotoFilter(after=dt.date(2023, 1, 1)), "Since 2023")  # clicked; not read yet
    model.set_newest_first(False)
    assert model.order_newest_first is False and model.newest_first is True  # rows shown: still the old
    land_all()
    assert model.title == "Since 2023" and not model.newest_first
    assert [model.record(r).taken_local[:7] for r in range(model.rowCount())] == ["2023-07"] * 3 + [
        "2024-03"
    ] * 4 + ["2024-08"]
