"""The catalog reads the desktop app needs, as plain frozen records.

The grid's pages (by keyset on the ``(taken_local, id)`` index), its date-group
counts, the rows of search results, the info panel's summary of a selection,
the sidebar's per-folder counts, the settings' folder list and the undo menu's
state. Every function returns dataclasses, dicts and tuples, never Peewee rows
or queries, so the GUI never imports the schema; a schema change shows up here,
where mypy checks it. Each runs on the calling thread (every thread has its own
WAL connection), so the app calls them from its worker pool.

``by_date`` is the one keyset ordering: ``Library.query`` (the CLI's ``ls``) and
the grid's pages both go through it, so they list the same photos in the same order.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import peewee as pw

from desktop.core.catalog import history, pairs
from desktop.core.catalog.filters import REJECTED, PhotoFilter, apply_filter, in_values
from desktop.core.catalog.schema import STATUS_ERROR, STATUS_MISSING, STATUS_OK, Photo, PhotoTag, Root, Tag

__all__ = [
    "REJECTED",
    "STATUS_ERROR",
    "STATUS_MISSING",
    "STATUS_OK",
    "CatalogReads",
    "PairFile",
    "PhotoRecord",
    "RootEntry",
    "RootInfo",
    "SelectionSummary",
    "UndoState",
    "UserData",
    "by_date",
]


@dataclass(frozen=True, slots=True)
class PhotoRecord:
    """What the grid and the viewer need of one photo (a few hundred bytes, not a Peewee row)."""

    id: int
    path: str
    taken_local: str
    content_hash: str | None
    rating: int
    color_label: str | None
    status: str
    width: int | None
    height: int | None
    score: float | None = None
    rotation: int = 0  # clockwise degrees on top of the file's EXIF orientation (catalog only)
    duration: float | None = None  # seconds, for a video (None for a photo)
    # a grouped item (RAW+JPEG pair, Live Photo): "raw+jpeg" or "live"; None for a single file
    companion: str | None = None
    motion_path: str | None = None  # a Live Photo's motion clip (absolute path), played on request

    @property
    def is_video(self) -> bool:
        return self.duration is not None

    @property
    def rejected(self) -> bool:
        """Flagged *rejected* (rating ``REJECTED``: xmp:Rating -1)."""
        return self.rating == REJECTED

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def shown_size(self) -> tuple[int, int]:
        """Width and height as the photo is shown: a quarter turn swaps them."""
        w, h = self.width or 0, self.height or 0
        return (h, w) if self.rotation % 180 else (w, h)


@dataclass(frozen=True, slots=True)
class UserData:
    """The per-photo values an edit changes and the grid paints."""

    rating: int  # REJECTED for a rejected photo
    color_label: str | None
    rotation: int

    @property
    def rejected(self) -> bool:
        return self.rating == REJECTED


@dataclass(frozen=True)
class SelectionSummary:
    """What several photos have, for the info panel (ids that no longer exist are left out)."""

    ids: tuple[int, ...]
    total_bytes: int
    first_taken: str | None
    last_taken: str | None
    ratings: frozenset[int]
    labels: frozenset[str | None]
    titles: frozenset[str | None]
    descriptions: frozenset[str | None]
    tag_counts: tuple[tuple[str, int], ...]  # (tag name, how many of the photos carry it)


@dataclass(frozen=True)
class PairFile:
    """One file of a grouped item, as the info panel lists it."""

    id: int
    path: str
    format: str | None
    size_bytes: int
    role: str  # "cover" or "companion"


@dataclass(frozen=True)
class RootInfo:
    """A library folder as the settings and the sidebar list it."""

    id: int
    path: str
    watched: bool
    is_import_target: bool
    last_scan_at: dt.datetime | None
    photos: int  # photos on disk (status ok)


@dataclass(frozen=True)
class RootEntry:
    """A library folder without its counts: what watching, scanning and removing it need."""

    id: int
    path: str
    watched: bool


@dataclass(frozen=True)
class UndoState:
    """What Undo and Redo would do now (None: nothing)."""

    undo: history.Action | None = None
    redo: history.Action | None = None


_COLUMNS = (
    Photo.id,
    Root.path,
    Photo.rel_path,
    Photo.taken_local,
    Photo.content_hash,
    Photo.rating,
    Photo.color_label,
    Photo.status,
    Photo.width,
    Photo.height,
    Photo.rotation,
    Photo.duration,
)


def by_date(
    query: pw.ModelSelect[Photo], newest_first: bool = True, after: tuple[str, int] | None = None
) -> pw.ModelSelect[Photo]:
    """``query`` in date-taken order (ties by id), from just past the key ``after`` when given.

    ``taken_local`` is never NULL (undated rows hold ""), so the tuple order
    walks the ``(taken_local, id)`` index: page 200 costs what page 1 costs,
    where an OFFSET would make SQLite walk every earlier row.
    """
    key = pw.Tuple(Photo.taken_local, Photo.id)
    if after is not None:
        query = query.where(key < pw.Tuple(*after) if newest_first else key > pw.Tuple(*after))
    if newest_first:
        return query.order_by(Photo.taken_local.desc(), Photo.id.desc())
    return query.order_by(Photo.taken_local, Photo.id)


def _tuples(query: Any) -> Iterator[tuple[Any, ...]]:
    """A query's rows as plain tuples (Peewee's stubs type them as model rows)."""
    return iter(query.tuples())


def _records(query: pw.ModelSelect[Photo]) -> list[PhotoRecord]:
    out = []
    for pid, root, rel, taken, h, rating, label, status, w, hgt, turn, seconds in _tuples(query):
        path = f"{root.rstrip('/')}/{rel}"
        out.append(
            PhotoRecord(
                pid, path, taken or "", h, rating or 0, label, status, w, hgt, None, turn or 0, seconds
            )
        )
    return _with_companions(out)


def _with_companions(records: list[PhotoRecord]) -> list[PhotoRecord]:
    """Mark the covers of grouped items (one indexed query for the page), while grouping is on."""
    if not records or not pairs.grouping_on():
        return records
    q = (
        Photo.select(Photo.companion_of, Photo.companion_kind, Root.path, Photo.rel_path)
        .join(Root)
        .where(in_values(Photo.companion_of, [r.id for r in records]))
    )
    found = {int(cover): (kind, f"{root.rstrip('/')}/{rel}") for cover, kind, root, rel in _tuples(q)}
    if not found:
        return records
    out = []
    for r in records:
        if r.id in found:
            kind, path = found[r.id]
            r = replace(r, companion=kind, motion_path=path if kind == pairs.KIND_LIVE else None)
        out.append(r)
    return out


def _prefix_range(prefix: str) -> pw.Expression:
    """``taken_local`` starts with ``prefix``, as a range the index can seek ("" is undated)."""
    if not prefix:
        same: pw.Expression = Photo.taken_local == ""
        return same
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    within: pw.Expression = (Photo.taken_local >= prefix) & (Photo.taken_local < upper)
    return within


def _moment(value: object) -> dt.datetime | None:
    """A stored time as a datetime (SQLite hands back text when a value was written by hand)."""
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _shown_on_disk() -> pw.Expression:
    """Photos on disk as the sidebar counts them: a grouped pair once, while grouping is on."""
    cond: pw.Expression = Photo.status == STATUS_OK
    return cond & pairs.not_companion() if pairs.grouping_on() else cond


class CatalogReads:
    """The reads above, reached through ``Library.reads`` so the app holds one object for the catalog."""

    def page(
        self, f: PhotoFilter, limit: int, newest_first: bool = True, after: tuple[str, int] | None = None
    ) -> list[PhotoRecord]:
        """One page of ``f`` in ``Library.query``'s order, from just past the key ``after``."""
        q = by_date(apply_filter(Photo.select(*_COLUMNS).join(Root), f), newest_first, after)
        return _records(q.limit(limit))

    def day_counts(self, f: PhotoFilter, years: Iterable[str]) -> dict[str, int]:
        """Photos of ``f`` per day (``"YYYY-MM-DD"``; ``""`` undated) over every day of ``years``.

        One range scan of the date index per year, so it costs what those years
        hold, not what the library holds.
        """
        day = pw.fn.substr(Photo.taken_local, 1, 10)
        out: dict[str, int] = {}
        for year in sorted(set(years)):
            q = apply_filter(Photo.select(day, pw.fn.COUNT(Photo.id)), f).where(_prefix_range(year))
            out.update((d or "", int(n)) for d, n in _tuples(q.group_by(day)))
        return out

    def records(self, ids: Sequence[int]) -> dict[int, PhotoRecord]:
        """The records of ``ids`` (any status) that still exist, by id."""
        if not ids:
            return {}
        q = Photo.select(*_COLUMNS).join(Root).where(in_values(Photo.id, ids))
        return {r.id: r for r in _records(q)}

    def record(self, photo_id: int) -> PhotoRecord | None:
        """One photo's record, None when it is no longer in the catalog."""
        return self.records([photo_id]).get(photo_id)

    def taken(self, ids: Sequence[int]) -> dict[int, str]:
        """``taken_local`` of each of ``ids`` that still exists ("" when undated)."""
        if not ids:
            return {}
        q = Photo.select(Photo.id, Photo.taken_local).where(in_values(Photo.id, ids))
        return {int(pid): t or "" for pid, t in _tuples(q)}

    def user_data(self, ids: Sequence[int]) -> dict[int, UserData]:
        """Rating, colour label and turn of each of ``ids`` that still exists."""
        if not ids:
            return {}
        q = Photo.select(Photo.id, Photo.rating, Photo.color_label, Photo.rotation).where(
            in_values(Photo.id, ids)
        )
        return {int(pid): UserData(rating or 0, label, turn or 0) for pid, rating, label, turn in _tuples(q)}

    def selection(self, ids: Sequence[int]) -> SelectionSummary:
        """What the photos ``ids`` have in common and apart (two queries, however many photos)."""
        found: list[int] = []
        total = 0
        first: str | None = None
        last: str | None = None
        ratings: set[int] = set()
        labels: set[str | None] = set()
        titles: set[str | None] = set()
        descriptions: set[str | None] = set()
        rows = Photo.select(
            Photo.id,
            Photo.rating,
            Photo.color_label,
            Photo.size_bytes,
            Photo.taken_local,
            Photo.title,
            Photo.description,
        ).where(in_values(Photo.id, ids))
        for pid, rating, label, size, taken, title, description in _tuples(rows):
            found.append(int(pid))
            ratings.add(rating or 0)
            labels.add(label)
            titles.add(title or None)
            descriptions.add(description or None)
            total += size or 0
            if taken:
                first = taken if first is None or taken < first else first
                last = taken if last is None or taken > last else last
        tags: Counter[str] = Counter()
        q = (
            PhotoTag.select(Tag.name, pw.fn.COUNT(PhotoTag.photo))
            .join(Tag)
            .where(in_values(PhotoTag.photo, ids))
            .group_by(Tag.name)
        )
        for name, n in _tuples(q):
            tags[str(name)] += int(n)
        return SelectionSummary(
            ids=tuple(found),
            total_bytes=total,
            first_taken=first,
            last_taken=last,
            ratings=frozenset(ratings),
            labels=frozenset(labels),
            titles=frozenset(titles),
            descriptions=frozenset(descriptions),
            tag_counts=tuple(sorted(tags.items())),
        )

    def pair_files(self, photo_id: int) -> list[PairFile]:
        """The files of the grouped item ``photo_id`` belongs to, cover first; [] for a single file."""
        ids = pairs.members([photo_id])
        if len(ids) < 2:
            return []
        q = (
            Photo.select(
                Photo.id, Root.path, Photo.rel_path, Photo.format, Photo.size_bytes, Photo.companion_of
            )
            .join(Root)
            .where(in_values(Photo.id, ids))
        )
        files = [
            PairFile(
                int(pid), f"{root.rstrip('/')}/{rel}", fmt, int(size or 0), "companion" if cover else "cover"
            )
            for pid, root, rel, fmt, size, cover in _tuples(q)
        ]
        return sorted(files, key=lambda f: (f.role != "cover", f.id))

    def companion_count(self, ids: Sequence[int]) -> int:
        """How many paired files beyond ``ids`` an action on ``ids`` reaches (trash says so first)."""
        return pairs.companion_count(ids)

    def grouping_on(self) -> bool:
        """Whether pairs show as one item (the ``library.group_pairs`` setting)."""
        return pairs.grouping_on()

    def folder_counts(self) -> dict[int, dict[str, int]]:
        """Photos on disk directly in each folder of each root: ``{root id: {relative folder: n}}``
        (``""`` is the root itself)."""
        # rtrim(p, replace(p, '/', '')) strips the file name: SQLite groups 100k paths by folder in one pass
        folder = pw.fn.rtrim(Photo.rel_path, pw.fn.replace(Photo.rel_path, "/", ""))
        per_dir: dict[int, dict[str, int]] = {}
        q = (
            Photo.select(Photo.root, folder.alias("d"), pw.fn.COUNT(Photo.id))
            .where(_shown_on_disk())
            .group_by(Photo.root, folder)
        )
        for root_id, d, n in _tuples(q):
            per_dir.setdefault(int(root_id), {})[(d or "").rstrip("/")] = int(n)
        return per_dir

    def roots(self) -> list[RootInfo]:
        """Every library folder, by path, with how many of its photos are on disk."""
        counts: dict[int, int] = {
            int(rid): int(n)
            for rid, n in _tuples(
                Photo.select(Photo.root, pw.fn.COUNT(Photo.id)).where(_shown_on_disk()).group_by(Photo.root)
            )
        }
        return [
            RootInfo(
                id=r.id,
                path=r.path,
                watched=bool(r.watched),
                is_import_target=bool(r.is_import_target),
                last_scan_at=_moment(r.last_scan_at),
                photos=counts.get(r.id, 0),
            )
            for r in Root.select().order_by(Root.path)
        ]

    def root_entries(self) -> list[RootEntry]:
        """Every library folder, by path (one small query: no photo counts)."""
        return [RootEntry(r.id, r.path, bool(r.watched)) for r in Root.select().order_by(Root.path)]

    def root_entry(self, root_id: int) -> RootEntry | None:
        """One library folder, None when it is no longer in the library."""
        r = Root.get_or_none(Root.id == root_id)
        return RootEntry(r.id, r.path, bool(r.watched)) if r is not None else None

    def root_photo_count(self, root_id: int) -> int:
        """Every photo row of a root, whatever its status (what removing the root forgets)."""
        return int(Photo.select().where(Photo.root == root_id).count())

    def undo_state(self) -> UndoState:
        """The newest action that can be undone and the oldest that can be redone (two indexed rows)."""
        done, undone = history.newest_done(), history.oldest_undone()
        return UndoState(
            history.as_action(done) if done is not None else None,
            history.as_action(undone) if undone is not None else None,
        )
