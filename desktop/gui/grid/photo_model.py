"""Item models over the catalog: the photo grid's rows, the errors list, the task list.

``PhotoModel`` never holds the whole library: rows arrive a page at a time
through ``canFetchMore``/``fetchMore``, each page read by keyset
(``(taken_local, id) < last key``) so page 200 costs what page 1 costs, where
an OFFSET would make SQLite walk every earlier row. The same model also shows
search results (a list of ids with scores), paged the same way, so the grid,
its selection and its delegate do not care where the rows came from.

Date groups (year, month or day) are kept as a list of ``(first row, title)``
that grows as pages arrive, so the view lays out headers in O(groups), not
O(rows). A header also says how many photos its group holds, though most of
them may not be loaded yet: each page read also counts, per day, the photos of
the years it reaches that were not counted yet (a range scan of the
``(status, taken_local, id)`` index, bounded by those years), so the counts of
every grouping come from the same day counts and a full count of the library
is never needed to show a header. The pages, counts and records come from
core's typed reads (``Library.reads``), the same keyset ordering ``ls`` uses.

With an ``executor`` (the app gives it the job runner's quick pool) every
SQLite read happens off the GUI thread: a page, a refresh or a new view is
read by a worker and only swapped in on the GUI thread, so a catalog busy with
a scan never freezes scrolling. A generation number drops answers that
arrive after a newer view replaced the one they were read for. Without an
executor (tests, scripts) the same code runs inline.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QAbstractTableModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QUrl,
    Signal,
)

from desktop.core.catalog.filters import PhotoFilter
from desktop.core.catalog.reads import STATUS_ERROR, STATUS_OK, CatalogReads, PhotoRecord
from desktop.core.library import Library

log = logging.getLogger(__name__)

PAGE_SIZE = 400

IdRole = Qt.ItemDataRole.UserRole + 1
PathRole = Qt.ItemDataRole.UserRole + 2
HashRole = Qt.ItemDataRole.UserRole + 3
TakenRole = Qt.ItemDataRole.UserRole + 4
RatingRole = Qt.ItemDataRole.UserRole + 5
ColorLabelRole = Qt.ItemDataRole.UserRole + 6
StatusRole = Qt.ItemDataRole.UserRole + 7
ScoreRole = Qt.ItemDataRole.UserRole + 8
SizeRole = Qt.ItemDataRole.UserRole + 9
RotationRole = Qt.ItemDataRole.UserRole + 10  # the catalog-only clockwise turn: 0, 90, 180 or 270

GROUP_NONE, GROUP_DAY, GROUP_MONTH, GROUP_YEAR = "none", "day", "month", "year"
GROUPINGS = (GROUP_YEAR, GROUP_MONTH, GROUP_DAY)  # coarse to fine: the timeline's zoom levels
_KEY_LENGTH = {GROUP_YEAR: 4, GROUP_MONTH: 7, GROUP_DAY: 10}
SORT_DATE, SORT_RELEVANCE = "date", "relevance"

_ROLE_NAMES = {
    IdRole: b"photoId",
    PathRole: b"path",
    HashRole: b"contentHash",
    TakenRole: b"taken",
    RatingRole: b"rating",
    ColorLabelRole: b"colorLabel",
    StatusRole: b"status",
    ScoreRole: b"score",
    SizeRole: b"pixelSize",
    RotationRole: b"rotation",
}

ModelIndex = QModelIndex | QPersistentModelIndex
# runs work() off the GUI thread, then done(result) or failed(message) on the GUI thread
Executor = Callable[[Callable[[], Any], Callable[[Any], None], Callable[[str], None]], None]


def group_title(taken_local: str, mode: str) -> str:
    """A header for the year, month or day ``taken_local`` falls in ("" means no date)."""
    if not taken_local:
        return "No date"
    if mode == GROUP_YEAR:
        return taken_local[:4]
    try:
        d = dt.date.fromisoformat(taken_local[:10])
    except ValueError:
        return _group_key(taken_local, mode)
    if mode == GROUP_MONTH:
        return f"{d:%B %Y}"
    return f"{d:%a} {d.day} {d:%B %Y}"


def _group_key(taken_local: str, mode: str) -> str:
    return taken_local[: _KEY_LENGTH.get(mode, 7)]


def photo_count(n: int) -> str:
    return f"{n:,} photo{'s' if n != 1 else ''}"


def _years(records: Iterable[PhotoRecord], known: Iterable[str] = ()) -> set[str]:
    """The year keys (``""`` undated) of ``records`` not in ``known``."""
    return {r.taken_local[:4] for r in records} - set(known)


def result_page(
    reads: CatalogReads, results: Sequence[tuple[int, float]], pos: int, size: int
) -> tuple[list[PhotoRecord], int]:
    """Up to ``size`` records of ``results`` from ``pos`` on, and the position after them.

    Ids deleted since the search ran are skipped; it keeps reading until the page is full.
    """
    page: list[PhotoRecord] = []
    while len(page) < size and pos < len(results):
        chunk = results[pos : pos + size - len(page)]
        pos += len(chunk)
        found = reads.records([pid for pid, _ in chunk])
        page.extend(replace(found[pid], score=score) for pid, score in chunk if pid in found)
    return page, pos


def sort_by_date(
    results: Sequence[tuple[int, float]], taken: dict[int, str], newest_first: bool = True
) -> list[tuple[int, float]]:
    """Search results newest first (undated last) or oldest first, ties by id, as a browsed view."""
    return sorted(results, key=lambda r: (taken.get(r[0], ""), r[0]), reverse=newest_first)


def _results_day_counts(results: Sequence[tuple[int, float]], taken: dict[int, str]) -> dict[str, int]:
    return dict(Counter(taken[pid][:10] for pid, _ in results if pid in taken))


class PhotoModel(QAbstractListModel):
    """The grid's rows: a browsed view (filter, by date) or search results (ids with scores)."""

    loading_changed = Signal()  # rows, title or mode changed (the header label listens)

    def __init__(
        self,
        library: Library,
        parent: QObject | None = None,
        page_size: int = PAGE_SIZE,
        executor: Executor | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.page_size = page_size
        self.executor = executor
        self._generation = 0  # bumped by every request for new content
        self._reset_pending = False  # new content is being read: no pages of the old one
        self._fetching = False
        self.filter = PhotoFilter()
        self.title = "All photos"
        self.newest_first = True  # the order of the rows shown
        # the order asked for: the next view and date-sorted results use it (it holds while a view
        # is still being read, when newest_first is still the old view's)
        self.order_newest_first = True
        # the newest request for content, to read again in another order: (its sort, the request)
        self._redo: tuple[str, Callable[[], None]] | None = None
        self.grouping = GROUP_MONTH
        self.result_sort = SORT_DATE  # not "sort": that would hide QAbstractItemModel.sort()
        self._records: list[PhotoRecord] = []
        self._row_of: dict[int, int] = {}
        self._exhausted = True
        # search results: every (id, score), in display order; rows load from it a page at a time
        self._results: list[tuple[int, float]] | None = None
        self._result_pos = 0
        self._section_starts: list[int] = []
        self._section_titles: list[str] = []
        self._section_keys: list[str] = []
        # photos per day over every day of the years in _counted_years (all of them for results)
        self._day_counts: dict[str, int] = {}
        self._counted_years: set[str] = set()
        self._mode_counts: dict[str, dict[str, int]] = {}  # per grouping, summed from _day_counts

    # ------------------------------------------------------------- Qt API
    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._records)

    def roleNames(self) -> dict[int, QByteArray]:
        names = dict(super().roleNames())
        names.update({role: QByteArray(name) for role, name in _ROLE_NAMES.items()})
        return names

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.column() != 0 or not 0 <= index.row() < len(self._records):
            return None
        rec = self._records[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return rec.name
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [rec.path]
            if rec.taken_local:
                lines.append(rec.taken_local[:19].replace("T", " "))
            if rec.width and rec.height:
                lines.append("{} × {}".format(*rec.shown_size))
            if rec.rejected:
                lines.append("Rejected")
            elif rec.rating > 0:
                lines.append("★" * rec.rating)
            if rec.status != STATUS_OK:
                lines.append(f"Status: {rec.status}")
            if rec.score is not None:
                lines.append(f"Score: {rec.score:.3f}")
            return "\n".join(lines)
        if role == IdRole:
            return rec.id
        if role == PathRole:
            return rec.path
        if role == HashRole:
            return rec.content_hash
        if role == TakenRole:
            return rec.taken_local
        if role == RatingRole:
            return rec.rating
        if role == ColorLabelRole:
            return rec.color_label
        if role == StatusRole:
            return rec.status
        if role == ScoreRole:
            return rec.score
        if role == SizeRole:
            return rec.shown_size
        if role == RotationRole:
            return rec.rotation
        return None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled

    def canFetchMore(self, parent: ModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted and not self._reset_pending

    def fetchMore(self, parent: ModelIndex = QModelIndex()) -> None:  # noqa: B008
        """Read the next page (off the GUI thread with an executor); rows are appended when it lands."""
        if parent.isValid() or self._exhausted or self._reset_pending or self._fetching:
            return
        self._fetching = True
        load = self._page_loader()

        def apply(result: tuple[list[PhotoRecord], int, dict[str, int]]) -> None:
            self._fetching = False
            page, pos, counts = result
            if self._results is not None:
                self._result_pos = pos
                self._exhausted = pos >= len(self._results)
            if not page:
                self._exhausted = True
                return
            if self._results is None and len(page) < self.page_size:
                self._exhausted = True
            first = len(self._records)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self._add_counts(counts, page)
            self._append(page)
            self.endInsertRows()
            self.loading_changed.emit()

        self._run(load, apply, new_content=False)

    def fetch_all(self, on_done: Callable[[], None] | None = None) -> None:
        """Load every remaining row of the view (Ctrl+A selects the whole view), then ``on_done``."""
        if self._exhausted or self._reset_pending:
            if on_done is not None and not self._reset_pending:
                on_done()
            return
        self._fetching = True
        results, pos, newest_first, f = self._results, self._result_pos, self.newest_first, self.filter
        after, counted = self._last_key(), frozenset(self._counted_years)
        reads = self.library.reads

        def load() -> tuple[list[PhotoRecord], int, dict[str, int]]:
            if results is not None:
                return (*result_page(reads, results, pos, len(results)), {})
            page = reads.page(f, 10_000_000, newest_first, after)
            return page, 0, reads.day_counts(f, _years(page, counted))

        def apply(result: tuple[list[PhotoRecord], int, dict[str, int]]) -> None:
            self._fetching = False
            page, _pos, counts = result
            if results is not None:
                self._result_pos = len(results)
            self._exhausted = True
            if page:
                first = len(self._records)
                self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
                self._add_counts(counts, page)
                self._append(page)
                self.endInsertRows()
                self.loading_changed.emit()
            if on_done is not None:
                on_done()

        self._run(load, apply, new_content=False)

    # drag out: the files themselves, so other apps receive real files
    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        rows = sorted({i.row() for i in indexes if i.isValid()})
        paths = [self._records[r].path for r in rows if 0 <= r < len(self._records)]
        mime.setUrls([QUrl.fromLocalFile(p) for p in paths])
        mime.setText("\n".join(paths))
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    # -------------------------------------------------------------- modes
    @property
    def is_results(self) -> bool:
        return self._results is not None

    def browse(
        self,
        f: PhotoFilter | None = None,
        title: str = "All photos",
        newest_first: bool | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        """Show the catalog through ``f`` from its first page (read off the GUI thread).

        In ``newest_first`` order, or the order asked for with ``set_newest_first`` when it is None.
        """
        f = f or PhotoFilter()
        size = self.page_size
        newest = self.order_newest_first if newest_first is None else newest_first
        self._redo = (SORT_DATE, lambda: self.browse(f, title, None, on_done))

        reads = self.library.reads

        def load() -> tuple[list[PhotoRecord], dict[str, int]]:
            page = reads.page(f, size, newest)
            return page, reads.day_counts(f, _years(page))

        def apply(result: tuple[list[PhotoRecord], dict[str, int]]) -> None:
            page, counts = result
            self.beginResetModel()
            self.filter = f
            self.title = title
            self.newest_first = newest
            self.result_sort = SORT_DATE
            self._results = None
            self._clear()
            self._add_counts(counts, page)
            self._append(page)
            self._exhausted = len(page) < size
            self.endResetModel()
            self.loading_changed.emit()
            if on_done is not None:
                on_done()

        self._run(load, apply, new_content=True)

    def set_results(
        self,
        results: Sequence[tuple[int, float]],
        title: str,
        sort: str = SORT_RELEVANCE,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        """Show search results ``[(photo id, score), ...]`` (best first) in relevance or date order."""
        given = list(results)
        size, newest = self.page_size, self.order_newest_first
        self._redo = (sort, lambda: self.set_results(given, title, sort, on_done))

        reads = self.library.reads

        def load() -> tuple[list[tuple[int, float]], list[PhotoRecord], int, dict[str, int]]:
            ordered, counts = given, {}
            if sort == SORT_DATE and given:
                taken = reads.taken([pid for pid, _ in given])
                ordered = sort_by_date(given, taken, newest)
                counts = _results_day_counts(ordered, taken)
            page, pos = result_page(reads, ordered, 0, size)
            return ordered, page, pos, counts

        def apply(result: tuple[list[tuple[int, float]], list[PhotoRecord], int, dict[str, int]]) -> None:
            ordered, page, pos, counts = result
            self.beginResetModel()
            self.filter = PhotoFilter()
            self.title = title
            self.result_sort = sort
            self._results = ordered
            self._result_pos = pos
            self.newest_first = newest
            self._clear()
            self._set_all_counts(counts)
            self._append(page)
            self._exhausted = pos >= len(ordered)
            self.endResetModel()
            self.loading_changed.emit()
            if on_done is not None:
                on_done()

        self._run(load, apply, new_content=True)

    def set_grouping(self, mode: str) -> None:
        """Group under year, month or day headers (or none); rows stay as they are, no read."""
        if mode == self.grouping:
            return
        self.layoutAboutToBeChanged.emit()
        self.grouping = mode
        self._rebuild_sections()
        self.layoutChanged.emit()
        self.loading_changed.emit()

    def set_newest_first(self, newest_first: bool) -> None:
        """Newest or oldest photos first: the view (the one being read, if any) is read again from
        its new first page; results in relevance order keep it (the order is for later views)."""
        if newest_first == self.order_newest_first:
            return
        self.order_newest_first = newest_first
        if self._redo is not None and self._redo[0] == SORT_DATE:
            self._redo[1]()

    def refresh(self, keep_rows: int | None = None, on_done: Callable[[], None] | None = None) -> None:
        """Reload after the catalog changed, keeping about as many rows as were loaded.

        Capped, so a refresh after scrolling deep into a huge library costs a
        few pages rather than everything. The rows are read off the GUI thread
        and swapped in at once; ``on_done`` then restores selection and scroll
        position by photo id.
        """
        want = max(self.page_size, min(keep_rows if keep_rows is not None else len(self._records), 5_000))
        results, f, newest_first, sort = self._results, self.filter, self.newest_first, self.result_sort
        reads = self.library.reads

        def load() -> tuple[list[tuple[int, float]] | None, list[PhotoRecord], int, dict[str, int]]:
            if results is None:
                page = reads.page(f, want, newest_first)
                return None, page, 0, reads.day_counts(f, _years(page))
            taken = reads.taken([pid for pid, _ in results])
            kept = [r for r in results if r[0] in taken]
            page, pos = result_page(reads, kept, 0, want)
            return kept, page, pos, _results_day_counts(kept, taken) if sort == SORT_DATE else {}

        def apply(
            result: tuple[list[tuple[int, float]] | None, list[PhotoRecord], int, dict[str, int]],
        ) -> None:
            kept, page, pos, counts = result
            self.beginResetModel()
            self._clear()
            if kept is None:
                self._add_counts(counts, page)
            else:
                self._set_all_counts(counts)
            self._append(page)
            if kept is not None:
                self._results = kept
                self._result_pos = pos
                self._exhausted = pos >= len(kept)
            else:
                self._exhausted = len(page) < want
            self.endResetModel()
            self.loading_changed.emit()
            if on_done is not None:
                on_done()

        self._run(load, apply, new_content=True)

    def reload_user_data(self, photo_ids: Sequence[int]) -> None:
        """Re-read rating, colour label and turn of loaded rows (after an edit) without a reset."""
        rows = [self._row_of[i] for i in photo_ids if i in self._row_of]
        if not rows:
            return
        fresh = self.library.reads.user_data([self._records[r].id for r in rows])
        for r in rows:
            rec = self._records[r]
            if rec.id in fresh:
                new = fresh[rec.id]
                self._records[r] = replace(
                    rec, rating=new.rating, color_label=new.color_label, rotation=new.rotation
                )
        lo, hi = min(rows), max(rows)
        self.dataChanged.emit(
            self.index(lo), self.index(hi), [RatingRole, ColorLabelRole, RotationRole, SizeRole]
        )

    # ---------------------------------------------------------- accessors
    def record(self, row: int) -> PhotoRecord:
        return self._records[row]

    def ids(self) -> list[int]:
        return [r.id for r in self._records]

    def row_for_id(self, photo_id: int) -> int | None:
        return self._row_of.get(photo_id)

    def total_count(self) -> int:
        """Every row this view will show once fully loaded (one COUNT query)."""
        if self._results is not None:
            return len(self._results)
        return self.library.count(self.filter)

    def sections(self) -> tuple[list[int], list[str]]:
        """First row and title of each date group (a single untitled group when not grouped)."""
        if not self.grouped:
            return ([0] if self._records else []), ([""] if self._records else [])
        return self._section_starts, self._section_titles

    @property
    def grouped(self) -> bool:
        return self.grouping != GROUP_NONE and self.result_sort == SORT_DATE

    def section_of(self, row: int) -> int:
        starts, _ = self.sections()
        return max(0, bisect.bisect_right(starts, row) - 1)

    def section_count(self, section: int) -> int | None:
        """Photos in date group ``section``, loaded or not (None when not grouped or not known)."""
        if not self.grouped or not 0 <= section < len(self._section_keys):
            return None
        counts = self._mode_counts.get(self.grouping)
        if counts is None:
            counts = self._mode_counts[self.grouping] = self._sum_counts(self.grouping)
        return counts.get(self._section_keys[section])

    def section_header(self, section: int) -> str:
        """A group's header as one line: "2024 · 312 photos"."""
        _, titles = self.sections()
        n = self.section_count(section)
        return titles[section] if n is None else f"{titles[section]} · {photo_count(n)}"

    # ----------------------------------------------------------- internals
    def _clear(self) -> None:
        self._records = []
        self._row_of = {}
        self._section_starts, self._section_titles, self._section_keys = [], [], []
        self._day_counts, self._counted_years, self._mode_counts = {}, set(), {}

    def _add_counts(self, counts: dict[str, int], page: Sequence[PhotoRecord]) -> None:
        """Day counts read with ``page`` for its years not counted before."""
        self._counted_years |= _years(page)
        self._day_counts.update(counts)
        self._mode_counts = {}

    def _set_all_counts(self, counts: dict[str, int]) -> None:
        """Day counts of every row of search results (all of them are known up front)."""
        self._day_counts = dict(counts)
        self._counted_years = {d[:4] for d in counts}
        self._mode_counts = {}

    def _sum_counts(self, mode: str) -> dict[str, int]:
        out: Counter[str] = Counter()
        n = _KEY_LENGTH.get(mode, 7)
        for day, count in self._day_counts.items():
            out[day[:n]] += count
        return dict(out)

    def _append(self, page: list[PhotoRecord]) -> None:
        base = len(self._records)
        self._records.extend(page)
        for i, rec in enumerate(page):
            self._row_of[rec.id] = base + i
        if self.grouping != GROUP_NONE:
            self._add_sections(base)

    def _add_sections(self, start: int) -> None:
        mode = self.grouping
        last = self._section_keys[-1] if self._section_keys else None
        for row in range(start, len(self._records)):
            key = _group_key(self._records[row].taken_local, mode)
            if key != last:
                self._section_starts.append(row)
                self._section_keys.append(key)
                self._section_titles.append(group_title(self._records[row].taken_local, mode))
                last = key

    def _rebuild_sections(self) -> None:
        self._section_starts, self._section_titles, self._section_keys = [], [], []
        if self.grouping != GROUP_NONE:
            self._add_sections(0)

    def _last_key(self) -> tuple[str, int] | None:
        if not self._records:
            return None
        last = self._records[-1]
        return (last.taken_local, last.id)

    def _page_loader(self) -> Callable[[], tuple[list[PhotoRecord], int, dict[str, int]]]:
        """A function (safe on any thread) reading the page after what is loaded now, with the day
        counts of the years it reaches that are not counted yet."""
        size, results, pos, reads = self.page_size, self._results, self._result_pos, self.library.reads
        if results is not None:
            return lambda: (*result_page(reads, results, pos, size), {})
        f, newest_first, after, counted = (
            self.filter,
            self.newest_first,
            self._last_key(),
            frozenset(self._counted_years),
        )

        def load() -> tuple[list[PhotoRecord], int, dict[str, int]]:
            page = reads.page(f, size, newest_first, after)
            return page, 0, reads.day_counts(f, _years(page, counted))

        return load

    def _run(self, load: Callable[[], Any], apply: Callable[[Any], None], new_content: bool) -> None:
        """``apply(load())``: the load on the executor's thread when there is one."""
        if new_content:
            self._generation += 1
            self._reset_pending = True
            self._fetching = False
        generation = self._generation

        def done(result: Any) -> None:
            if generation != self._generation:
                return  # newer content was asked for meanwhile; this answer is stale
            if new_content:
                self._reset_pending = False
            apply(result)

        def failed(message: str) -> None:
            if generation != self._generation:
                return
            log.warning("could not read photos for the grid: %s", message)
            self._reset_pending = False
            self._fetching = False
            self.loading_changed.emit()

        if self.executor is None:
            try:
                result = load()
            except Exception as exc:  # same outcome as a worker failing
                failed(str(exc) or type(exc).__name__)
                raise
            done(result)
        else:
            self.executor(load, done, failed)


class ErrorsModel(QAbstractTableModel):
    """The 'Could not read' view: every file that failed, with its reason."""

    HEADERS = ("File", "Reason")

    def __init__(self, library: Library, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self._rows: list[dict[str, Any]] = []

    def reload(self) -> None:
        self.beginResetModel()
        self._rows = self.library.errors()
        self.endResetModel()

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if role == Qt.ItemDataRole.DisplayRole and horizontal and 0 <= section < len(self.HEADERS):
            return self.HEADERS[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return row["path"] if index.column() == 0 else row["reason"]
        if role == IdRole:
            return row["id"]
        if role == PathRole:
            return row["path"]
        return None

    def path(self, row: int) -> Path:
        return Path(self._rows[row]["path"])


def error_count(library: Library) -> int:
    return library.count(PhotoFilter(statuses=(STATUS_ERROR,)))


__all__ = [
    "ErrorsModel",
    "GROUPINGS",
    "GROUP_DAY",
    "GROUP_MONTH",
    "GROUP_NONE",
    "GROUP_YEAR",
    "PhotoModel",
    "PhotoRecord",
    "SORT_DATE",
    "SORT_RELEVANCE",
    "group_title",
]
