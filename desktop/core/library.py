"""The library facade: what the CLI and the GUI call to read and change the catalog.

``Library`` owns the database connection and the single ``Writer``; every
mutation goes through ``self.writer``. Reads run on the calling thread (each
thread gets its own WAL connection, so readers never block the writer).
Long work (scan, import) takes a ``JobControl`` for progress and cancel.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import peewee as pw

from desktop.core.catalog import edits, history, pairs, sidecar_queue
from desktop.core.catalog.db import catalog_full_message, close_db, database, init_db, is_disk_full
from desktop.core.catalog.filters import REJECTED, PhotoFilter, apply_filter, fold, in_values
from desktop.core.catalog.reads import CatalogReads, PhotoRecord, by_date
from desktop.core.catalog.schema import (
    STATUS_ERROR,
    STATUS_MISSING,
    STATUS_OK,
    Album,
    AlbumPhoto,
    Embedding,
    Lineage,
    Photo,
    PhotoTag,
    Root,
    Setting,
    Tag,
)
from desktop.core.catalog.writer import Writer
from desktop.core.imaging.thumbnails import PREVIEWS_DIR, THUMBNAILS_DIR, PreviewCache, ThumbnailCache
from desktop.core.ingest import pairing, sidecars, trash
from desktop.core.ingest.importer import ImportReport, import_paths
from desktop.core.ingest.scanner import Scanner, ScanReport
from desktop.core.runtime.errors import ShoeboxError
from desktop.core.runtime.jobs import JobControl
from desktop.core.runtime.paths import DataFolderError, Paths, resolve_paths
from desktop.core.runtime.wording import SHOEBOX, counted

log = logging.getLogger(__name__)
T = TypeVar("T")

COLOR_LABELS = ("red", "orange", "yellow", "green", "blue", "purple", "grey")
SETTING_IMPORT_DIR = "import_dir"
SETTING_PICTURE_CACHE = "picture_cache_dir"  # thumbnails and previews, when moved from the default
SETTING_CACHE_MB = "processing.cache_mb"  # the processing result cache's limit, in MiB
# Photo.xmp_mtime that no sidecar has: the next scan reads the photo's sidecars again and merges them
# as an outside change (unlike schema.UNREAD, a first read, which only fills empty fields)
REREAD = -2.0


class LibraryError(ShoeboxError):
    """A user-facing error: the message says what happened and what to do."""


@dataclass
class TrashReport:
    trashed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


@dataclass(frozen=True)
class UndoResult:
    action: history.Action
    notes: list[str]  # what could not be put back, and where it is


def _immediate(fn: Callable[[], T]) -> Callable[[], T]:
    """Mark a write to run under BEGIN IMMEDIATE (see ``Writer``): undo reads the history, then moves
    files; no other process may commit in between, or the catalog and the disk would disagree."""
    fn.immediate = True  # type: ignore[attr-defined]
    return fn


def _trash_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError) or getattr(exc, "errno", None) in (1, 13):
        return "permission denied: the folder is read-only for you"
    return str(exc.strerror or exc)


@dataclass(frozen=True)
class TagInfo:
    id: int
    name: str
    count: int


def photo_path(photo: Photo) -> Path:
    return Path(photo.root.path) / photo.rel_path


def photo_to_dict(
    photo: Photo,
    tags: list[str] | None = None,
    albums: list[str] | None = None,
    companions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The record ``info --json`` prints and the GUI's info panel shows (``tags``, ``albums``,
    ``companions``: when the caller read them for many photos at once)."""
    keywords: list[str] = json.loads(photo.keywords) if photo.keywords else []
    return {
        "id": photo.id,
        "path": str(photo_path(photo)),
        "status": photo.status,
        "error": photo.error,
        "width": photo.width,
        "height": photo.height,
        "orientation": photo.orientation,
        "format": photo.format,
        "color_space": photo.color_space,
        "taken_at": photo.taken_at,
        "taken_at_source": photo.taken_at_source,
        "camera_make": photo.camera_make,
        "camera_model": photo.camera_model,
        "lens": photo.lens,
        "focal_length": photo.focal_length,
        "f_number": photo.f_number,
        "exposure_time": photo.exposure_time,
        "iso": photo.iso,
        "gps_lat": photo.gps_lat,
        "gps_lon": photo.gps_lon,
        "gps_alt": photo.gps_alt,
        "title": photo.title,
        "description": photo.description,
        "keywords": keywords,
        "file_rating": photo.file_rating,
        "rating": photo.rating,  # REJECTED (-1) for a photo flagged rejected
        "rejected": photo.rating == REJECTED,
        "color_label": photo.color_label,
        "rotation": photo.rotation,
        # video columns
        "kind": photo.media_kind,
        "duration": photo.duration,
        "codec": photo.video_codec,
        "frame_rate": photo.frame_rate,
        # grouping: a cover lists its companion (the RAW, the Live Photo's clip); a companion names its cover
        "companions": companions if companions is not None else photo_companions(photo.id),
        "companion_of": photo.companion_of,
        "companion_kind": photo.companion_kind,
        "tags": tags if tags is not None else photo_tags(photo.id),
        "albums": albums if albums is not None else photo_albums(photo.id),
        "content_hash": photo.content_hash,
        "size_bytes": photo.size_bytes,
        "mtime": photo.mtime,
        "added_at": photo.added_at.isoformat() if isinstance(photo.added_at, dt.datetime) else photo.added_at,
    }


def _iso(value: object) -> str:
    return value.isoformat(timespec="seconds") if isinstance(value, dt.datetime) else str(value)


def lineage_of(path: str, content_hash: str | None, photo_id: int | None) -> dict[str, list[dict[str, Any]]]:
    """What the file at ``path`` was made from and what was made from it, from the ``Lineage`` rows.

    An output is recognised by its content (``content_hash`` = a row's output hash), so one that was moved
    or renamed since is still known, or by the path it was written to; a source by its photo id, its
    content or its path. ``processing.lineage`` shapes this for ``lineage PATH``; the info panel reads it
    here because the library sits below the processing layer.
    """
    as_output = Lineage.output_path == path
    as_source = Lineage.source_path == path
    if content_hash:
        as_output |= Lineage.output_hash == content_hash
        as_source |= Lineage.source_hash == content_hash
    if photo_id is not None:
        as_source |= Lineage.source_photo == photo_id
    # a file is never derived from itself, nor its own output: an *Original* export is a byte-identical
    # copy, so matching by content alone would make the source "derived from" itself
    made_from = [
        r
        for r in Lineage.select().where(as_output).order_by(Lineage.created_at, Lineage.id)
        if r.source_path != path and (photo_id is None or r.source_photo != photo_id)
    ]
    # the same bytes made again (another export of the photo by the recipe, served from the cache) match
    # by content too: one source made it, so it is listed once (the row written for this path first)
    made_from.sort(key=lambda r: r.output_path != path)
    firsts: dict[tuple[str, str, str], Lineage] = {}
    for r in made_from:
        firsts.setdefault((r.source_hash, r.recipe, r.params), r)
    made_from = list(firsts.values())
    made_from.sort(key=lambda r: (r.created_at, r.id))
    made = [
        r
        for r in Lineage.select().where(as_source).order_by(Lineage.created_at, Lineage.id)
        if r.output_path != path
    ]
    # a source photo moved since the export is named where it is now
    sources = {r.source_photo for r in made_from if r.source_photo is not None}
    now_at: dict[int | None, str] = {}
    if sources:
        for p in Photo.select(Photo, Root).join(Root).where(Photo.id.in_(sorted(sources))):
            now_at[p.id] = str(photo_path(p))
    return {
        "derived_from": [
            {
                "path": now_at.get(r.source_photo, r.source_path),
                "content_hash": r.source_hash,
                "recipe": r.recipe,
                "recipe_name": r.recipe_name,
                "params": json.loads(r.params),
                "time": _iso(r.created_at),
            }
            for r in made_from
        ],
        "outputs": [
            {
                "path": r.output_path,
                "content_hash": r.output_hash,
                "recipe": r.recipe,
                "recipe_name": r.recipe_name,
                "params": json.loads(r.params),
                "time": _iso(r.created_at),
                "task": r.task,
            }
            for r in made
        ],
    }


def _with_lineage(record: dict[str, Any]) -> dict[str, Any]:
    record["lineage"] = lineage_of(record["path"], record["content_hash"], record["id"])
    return record


def _companion(c: Photo) -> dict[str, Any]:
    return {
        "id": c.id,
        "path": str(photo_path(c)),
        "format": c.format,
        "size_bytes": c.size_bytes,
        "kind": c.companion_kind,
        "duration": c.duration,
    }


def photo_companions(photo_id: int) -> list[dict[str, Any]]:
    """The files grouped under the cover ``photo_id`` (one indexed query; [] for most photos)."""
    q = Photo.select(Photo, Root).join(Root).where(Photo.companion_of == photo_id).order_by(Photo.id)
    return [_companion(c) for c in q]


def photo_records(photo_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """``photo_to_dict`` of many photos in four queries, not four per photo (without lineage): an export
    served from its cache reads a record per photo, and 200 photos at 300 a second leave ~3 ms each."""
    ids = sorted(set(photo_ids))
    if not ids:
        return {}
    tags: dict[int, list[str]] = {i: [] for i in ids}
    albums: dict[int, list[str]] = {i: [] for i in ids}
    companions: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    q_tags = (
        PhotoTag.select(PhotoTag.photo, Tag.name).join(Tag).where(PhotoTag.photo.in_(ids)).order_by(Tag.name)
    )
    for pid, name in history.tuples(q_tags):
        tags[int(pid)].append(name)
    q_albums = (
        AlbumPhoto.select(AlbumPhoto.photo, Album.name)
        .join(Album)
        .where(AlbumPhoto.photo.in_(ids))
        .order_by(Album.name)
    )
    for pid, name in history.tuples(q_albums):
        albums[int(pid)].append(name)
    q_comp = Photo.select(Photo, Root).join(Root).where(Photo.companion_of.in_(ids)).order_by(Photo.id)
    for c in q_comp:
        companions[int(c.companion_of or 0)].append(_companion(c))
    rows = Photo.select(Photo, Root).join(Root).where(Photo.id.in_(ids))
    return {p.id: photo_to_dict(p, tags[p.id], albums[p.id], companions[p.id]) for p in rows}


# Photo's bookkeeping columns, which a re-read moves without changing what people see
_BOOKKEEPING = frozenset({"updated_at", "xmp_mtime", "xmp_state"})


def _catalog_values() -> dict[int, tuple[Any, ...]]:
    """Every photo's catalog values (bookkeeping aside) with its tags, to tell what a re-read changed."""
    columns = [f for name, f in Photo._meta.fields.items() if name not in _BOOKKEEPING]
    tags: dict[int, list[int]] = {}
    for pid, tid in history.tuples(PhotoTag.select(PhotoTag.photo, PhotoTag.tag)):
        tags.setdefault(int(pid), []).append(int(tid))
    out: dict[int, tuple[Any, ...]] = {}
    for row in history.tuples(Photo.select(*columns)):
        pid = int(row[0])
        out[pid] = (*row, tuple(sorted(tags.get(pid, ()))))
    return out


def photo_tags(photo_id: int) -> list[str]:
    q = Tag.select(Tag.name).join(PhotoTag).where(PhotoTag.photo == photo_id).order_by(Tag.name)
    return [t.name for t in q]


def photo_albums(photo_id: int) -> list[str]:
    q = Album.select(Album.name).join(AlbumPhoto).where(AlbumPhoto.photo == photo_id).order_by(Album.name)
    return [a.name for a in q]


def normalise_tag(name: str) -> str:
    parts = [p.strip() for p in name.replace("\\", "/").split("/")]
    parts = [p for p in parts if p]
    if not parts:
        raise LibraryError(f"'{name}' is not a usable tag name: give a name like 'family' or 'Places/Paris'.")
    return "/".join(parts)


def _span(delta: dt.timedelta) -> str:
    """A shift as people write it: 6 h, 1 d 2 h, 30 min."""
    minutes, seconds = divmod(int(delta.total_seconds()), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{v} {u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "min"), (seconds, "s")) if v]
    return " ".join(parts) or "0 min"


class Library:
    """One open library (catalog + caches) under a ``Paths``."""

    def __init__(self, paths: Paths | None = None, source: str = "cli") -> None:
        self.source = source  # who makes this library's edits, as the undo history shows it: "app" or "cli"
        try:
            self.paths = (paths or resolve_paths()).ensure()
        except DataFolderError as exc:
            raise LibraryError(str(exc)) from exc
        try:
            init_db(self.paths.catalog_db, self.paths.backups)
        except pw.DatabaseError as exc:
            if is_disk_full(exc):  # the catalog is fine, there is no room to open it
                raise LibraryError(catalog_full_message(self.paths.data)) from exc
            raise LibraryError(
                f"The catalog at {self.paths.catalog_db} could not be opened ({exc}). "
                f"Restore a backup with: {SHOEBOX} restore (or move the file aside to start a new catalog)."
            ) from exc
        self.writer = Writer()
        # the typed reads the app's widgets use (pages, counts, selections): records, never rows
        self.reads = CatalogReads()
        # The one owner of the caches' location: every reader and writer (scanner, watcher,
        # embedder, grid, viewer) goes through these objects, whose root a move changes.
        root = self.picture_cache_dir()
        self.thumbnails = ThumbnailCache(root / THUMBNAILS_DIR)
        self.previews = PreviewCache(root / PREVIEWS_DIR)

    def close(self) -> None:
        self.writer.close()
        close_db()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- settings
    def get_setting(self, key: str, default: str | None = None) -> str | None:
        row = Setting.get_or_none(Setting.key == key)
        return row.value if row is not None else default

    def set_setting(self, key: str, value: str) -> None:
        def _set() -> None:
            Setting.insert(key=key, value=value).on_conflict_replace().execute()

        self.writer.call(_set)

    def group_pairs(self) -> bool:
        """Whether RAW+JPEG pairs and Live Photos show as one item (the default) or as two."""
        return pairs.grouping_on()

    def set_group_pairs(self, on: bool) -> None:
        """Show pairs as one item (``on``) or their two files as two items (setting ``library.group_pairs``)."""
        self.set_setting(pairs.SETTING_GROUP_PAIRS, "on" if on else "off")

    # settings people set by name (CLI ``config``; the Settings dialog's pages), each with its choices
    CONFIG: dict[str, tuple[str, ...]] = {
        sidecar_queue.SETTING_WRITE: sidecar_queue.WRITE_MODES,
        sidecar_queue.SETTING_NAMING: sidecar_queue.NAMINGS,
        pairs.SETTING_GROUP_PAIRS: ("on", "off"),
    }

    # settings that hold a whole number: (default, smallest, largest)
    NUMBER_CONFIG: dict[str, tuple[int, int, int]] = {
        SETTING_CACHE_MB: (2048, 0, 1_000_000),
    }

    def config(self) -> dict[str, str]:
        """Every setting of ``CONFIG`` with its value now (the default where none was set)."""
        values = {key: sidecar_queue.setting(key) for key in self.CONFIG if key != pairs.SETTING_GROUP_PAIRS}
        values[pairs.SETTING_GROUP_PAIRS] = "on" if self.group_pairs() else "off"
        for key in self.NUMBER_CONFIG:
            values[key] = str(self._number_setting(key))
        return values

    def _number_setting(self, key: str) -> int:
        default, low, high = self.NUMBER_CONFIG[key]
        try:
            value = int(self.get_setting(key) or default)
        except ValueError:
            return default
        return min(max(value, low), high)

    def cache_limit_mb(self) -> int:
        """How large the processing result cache may grow, in MiB (setting ``processing.cache_mb``; 0 = off)."""
        return self._number_setting(SETTING_CACHE_MB)

    def set_config(self, key: str, value: str) -> None:
        if key in self.NUMBER_CONFIG:
            _default, low, high = self.NUMBER_CONFIG[key]
            try:
                number = int(value.strip())
            except ValueError:
                number = None
            if number is None or not low <= number <= high:
                raise LibraryError(f"{key} is a whole number from {low} to {high}, not '{value}'.")
            self.set_setting(key, str(number))
            return
        choices = self.CONFIG.get(key)
        if choices is None:
            names = ", ".join([*self.CONFIG, *self.NUMBER_CONFIG])
            raise LibraryError(f"There is no setting '{key}'; the settings are: {names}.")
        if value not in choices:
            raise LibraryError(f"{key} is one of {', '.join(choices)}, not '{value}'.")
        self.set_setting(key, value)

    def picture_cache_dir(self) -> Path:
        """The folder holding ``thumbnails/`` and ``previews/`` (the cache dir unless the user moved them)."""
        configured = self.get_setting(SETTING_PICTURE_CACHE)
        return Path(configured) if configured else self.paths.default_picture_cache

    def move_picture_cache(self, target: Path, control: JobControl | None = None) -> int:
        """Move thumbnails and previews into ``target`` (say, a bigger disk); returns the files moved.

        Files are linked or copied first (cancelling then leaves everything where it
        was), the library switches to the new folder, and only then are the old
        files removed, so no moment exists without a cache. Thumbnails a scan writes
        during the move land in the old folder and are carried over at the end.
        """
        target = Path(target).expanduser().resolve()
        current = self.picture_cache_dir().resolve()
        if target == current:
            return 0
        stores = (self.thumbnails, self.previews)
        for store in stores:
            if target == store.root.resolve() or target.is_relative_to(store.root.resolve()):
                raise LibraryError(f"{target} is inside the cache itself; choose a folder outside {current}.")
        try:
            target.mkdir(parents=True, exist_ok=True)
            probe = target / ".shoebox-write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise LibraryError(
                f"Shoebox cannot write to {target} ({exc.strerror or exc}). Choose another folder."
            ) from None
        plan = [(store, target / store.root.name) for store in stores]
        files = [(f, new / f.relative_to(store.root)) for store, new in plan for f in store.files()]
        made: list[Path] = []
        try:
            for i, (src, dst) in enumerate(files):
                if control is not None and i % 200 == 0:
                    control.checkpoint()
                    control.report(i, len(files))
                if _link_or_copy(src, dst):
                    made.append(dst)
        except BaseException:
            for p in made:  # cancelled or failed: the old cache is untouched, the copies go
                with contextlib.suppress(OSError):
                    p.unlink()
            raise
        old_roots = [store.root for store in stores]
        for store, new in plan:
            store.root = new
        self.set_setting(SETTING_PICTURE_CACHE, str(target))
        for old_root, (store, _new) in zip(old_roots, plan, strict=True):
            old = type(store)(old_root)
            for f in old.files():  # written while we moved, or moved already: carry over, then remove
                with contextlib.suppress(OSError):
                    _link_or_copy(f, store.root / f.relative_to(old_root))
                    f.unlink()
            shutil.rmtree(old_root, ignore_errors=True)
        if control is not None:
            control.report(len(files), len(files), force=True)
        return len(files)

    def import_dir(self) -> Path:
        configured = self.get_setting(SETTING_IMPORT_DIR)
        return Path(configured) if configured else self.paths.default_import_dir

    def set_import_dir(self, path: Path) -> None:
        self.set_setting(SETTING_IMPORT_DIR, str(Path(path).expanduser().resolve()))

    # ------------------------------------------------------------------- roots
    def roots(self) -> list[Root]:
        return list(Root.select().order_by(Root.path))

    def root_for_path(self, path: Path) -> Root | None:
        """The library root that contains ``path`` (the deepest one)."""
        p = str(Path(path).expanduser().absolute())
        best: Root | None = None
        for root in Root.select():
            rp = root.path.rstrip("/")
            if (p == rp or p.startswith(rp + "/")) and (best is None or len(rp) > len(best.path)):
                best = root
        return best

    def own_folders(self) -> list[Path]:
        """Where Shoebox keeps its own files: the data folder (catalog, backups, models), caches, logs."""
        folders = [self.paths.data, self.paths.cache, self.paths.logs, self.picture_cache_dir()]
        return list(dict.fromkeys(f.expanduser().resolve() for f in folders))

    def _import_folders(self) -> list[Path]:
        """The import folder and every earlier one: the person's photos, even inside the data folder."""
        folders = [self.import_dir(), *(Path(r.path) for r in Root.select().where(Root.is_import_target))]
        return list(dict.fromkeys(f.expanduser().resolve() for f in folders))

    def scan_exclusions(self) -> list[Path]:
        """Folders no scan enters: Shoebox's own (so it never catalogues its thumbnails), except an
        import folder inside them (under ``SHOEBOX_HOME`` the default one is ``<home>/Imports``)."""
        keep = self._import_folders()
        found: list[Path] = []
        for own in self.own_folders():
            found.extend(_folders_around(own, [k for k in keep if k != own and k.is_relative_to(own)]))
        return list(dict.fromkeys(found))

    def _refuse_own_folder(self, folder: Path) -> None:
        keep = self._import_folders()
        for own in self.own_folders():
            if folder.is_relative_to(own) and not any(
                k != own and k.is_relative_to(own) and folder.is_relative_to(k) for k in keep
            ):
                raise LibraryError(
                    f"{folder} is where Shoebox keeps its own catalog and caches; "
                    "add the folders that hold your photos instead."
                )

    def add_root(self, path: Path, watched: bool = True, is_import_target: bool = False) -> Root:
        """Add a library folder and return the root that holds it.

        A folder inside an existing root is already in the library: that root is
        returned. A folder above existing roots (a parent, the home folder, ``/``)
        absorbs them in one transaction: their photos keep their ids, tags,
        ratings and albums and only their relative paths change, so the new root's
        scan finds every file already catalogued. Shoebox's own folders are refused.
        """
        folder = Path(path).expanduser()
        if not folder.exists():
            raise LibraryError(f"{folder} does not exist. Check the path and try again.")
        if not folder.is_dir():
            raise LibraryError(
                f"{folder} is not a folder. Use 'import' to bring single files into the library."
            )
        if not os.access(folder, os.R_OK | os.X_OK):
            raise LibraryError(
                f"Permission denied: Shoebox cannot read {folder}. Fix its permissions and retry."
            )
        target = folder.resolve()  # a symlink to a root is that root
        self._refuse_own_folder(target)
        resolved = str(target)

        def _add() -> Root:
            existing = Root.get_or_none(Root.path == resolved)
            if existing is not None:
                if existing.watched != watched and not is_import_target:
                    existing.watched = watched
                    existing.save()
                return existing
            roots = list(Root.select())
            # a folder inside an existing root is already in the library (the deepest root holds it)
            holders = [r for r in roots if target.is_relative_to(r.path)]
            if holders:
                return max(holders, key=lambda r: len(r.path))
            parent = Root.create(path=resolved, watched=watched, is_import_target=is_import_target)
            # deepest first, so a (legacy) root nested in another merges into rows already moved
            inside = sorted(
                (r for r in roots if Path(r.path).is_relative_to(target)), key=lambda r: -len(r.path)
            )
            for child in inside:
                _absorb(parent, child, target)
            parent.save()
            return parent

        return self.writer.call(_add)

    def remove_root(self, root_id: int) -> int:
        """Forget a root and its photos' catalog rows (undoable); files on disk are not touched."""
        return self.writer.call(lambda: edits.remove_root(root_id, self.source))[0]

    def set_watched(self, root_id: int, watched: bool) -> None:
        self.writer.call(lambda: Root.update(watched=watched).where(Root.id == root_id).execute())

    # ------------------------------------------------------------------ photos
    def photo(self, photo_id: int) -> Photo | None:
        row: Photo | None = Photo.select(Photo, Root).join(Root).where(Photo.id == photo_id).first()
        return row

    def photo_info(self, photo_id: int, lineage: bool = True) -> dict[str, Any] | None:
        """The ``info --json`` record of one photo (what the info panel shows), None when it is gone.

        ``lineage=False``: without what was made from it (an export's record: its own outputs must not
        change the next export's cache key)."""
        photo = self.photo(photo_id)
        if photo is None:
            return None
        record = photo_to_dict(photo)
        return _with_lineage(record) if lineage else record

    def photo_records(self, photo_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The records (as ``photo_info(id, lineage=False)``) of many photos at once, by id; gone ones absent."""
        return photo_records(photo_ids)

    def photo_by_path(self, path: Path) -> Photo | None:
        p = Path(path).expanduser()
        candidates = [p.absolute()]
        with contextlib.suppress(OSError):
            candidates.append(p.resolve())
        for cand in candidates:
            root = self.root_for_path(cand)
            if root is None:
                continue
            rel = str(cand)[len(root.path.rstrip("/")) + 1 :]
            row: Photo | None = (
                Photo.select(Photo, Root)
                .join(Root)
                .where((Photo.root == root.id) & (Photo.rel_path == rel))
                .first()
            )
            if row is not None:
                return row
        return None

    def record_by_path(self, path: Path) -> PhotoRecord | None:
        """The record of the catalogued photo at ``path`` (through symlinks too), None when not catalogued."""
        row = self.photo_by_path(path)
        return self.reads.record(row.id) if row is not None else None

    def info(self, path: Path) -> dict[str, Any]:
        photo = self.photo_by_path(path)
        if photo is None:
            if Path(path).expanduser().is_dir():
                raise LibraryError(self._folder_is_not_a_photo(Path(path)))
            raise LibraryError(
                f"{path} is not in the library. Add its folder with 'add' or bring it in with 'import'."
            )
        return _with_lineage(photo_to_dict(photo))

    def _folder_is_not_a_photo(self, folder: Path) -> str:
        """What to say when a folder is given where a photo is expected."""
        n = self.count(PhotoFilter(folder=folder))
        if n or self.root_for_path(folder.expanduser().resolve()) is not None:
            return (
                f"{folder} is a folder in the library ({counted(n, 'photo')}); give a photo's path, "
                f"or use 'ls --folder {folder}'."
            )
        return (
            f"{folder} is a folder outside the library; add it with 'add {folder}', or give a photo's path."
        )

    def query(
        self,
        f: PhotoFilter | None = None,
        limit: int | None = None,
        newest_first: bool = True,
        after_key: tuple[str, int] | None = None,
    ) -> list[Photo]:
        """Photos matching ``f`` ordered by date taken; keyset-paged with ``after_key``."""
        # the scanner never leaves taken_local NULL, so this walks the (taken_local, id) index
        q = by_date(
            apply_filter(Photo.select(Photo, Root).join(Root), f or PhotoFilter()), newest_first, after_key
        )
        if limit is not None:
            q = q.limit(limit)
        return list(q)

    def count(self, f: PhotoFilter | None = None) -> int:
        return int(apply_filter(Photo.select(), f or PhotoFilter()).count())

    def status(self) -> dict[str, Any]:
        grouped = pairs.grouping_on()  # a pair counts once, as the grid shows it
        shown = Photo.select(Photo.status, pw.fn.COUNT(Photo.id))
        counts: dict[str, int] = dict(
            (shown.where(pairs.not_companion()) if grouped else shown).group_by(Photo.status).tuples()  # type: ignore[arg-type]
        )
        roots = []
        for root in self.roots():
            on_disk = (Photo.root == root.id) & (Photo.status == STATUS_OK)
            n = Photo.select().where(on_disk & pairs.not_companion() if grouped else on_disk).count()
            roots.append(
                {
                    "path": root.path,
                    "watched": bool(root.watched),
                    "photos": n,
                    "import_target": bool(root.is_import_target),
                    "last_scan_at": root.last_scan_at.isoformat() if root.last_scan_at else None,
                }
            )
        return {
            "photos": counts.get(STATUS_OK, 0),
            "errors": counts.get(STATUS_ERROR, 0),
            "missing": counts.get(STATUS_MISSING, 0),
            "roots": roots,
            "tags": Tag.select().count(),
            "albums": Album.select().count(),
            "catalog": str(self.paths.catalog_db),
            "home": str(self.paths.data),
            "import_dir": str(self.import_dir()),
            "thumbnails_bytes": self.thumbnails.size_bytes(),
            "sidecar_orphans": len(sidecars.orphans(r.path for r in self.roots())),
        }

    def errors(self) -> list[dict[str, Any]]:
        q = (
            Photo.select(Photo, Root)
            .join(Root)
            .where(Photo.status == STATUS_ERROR)
            .order_by(Root.path, Photo.rel_path)
        )
        return [{"path": str(photo_path(p)), "reason": p.error or "unknown error", "id": p.id} for p in q]

    # -------------------------------------------------------------- user data
    # Every edit below is one undoable action in the shared history (desktop.core.catalog.history).
    def remove_photos(self, photo_ids: Sequence[int]) -> int:
        """Forget photos (the files stay on disk); undo brings them back with their tags."""
        ids = list(photo_ids)
        return self.writer.call(lambda: edits.remove_photos(pairs.members(ids), self.source))[0]

    def set_rating(self, photo_ids: Sequence[int], rating: int) -> None:
        if not 0 <= rating <= 5:
            raise LibraryError(f"A rating is 0 to 5 stars, not {rating}.")
        ids = list(photo_ids)
        stars = f"{rating} star{'s' if rating != 1 else ''}" if rating else "no stars"
        label = f"Rated {counted(len(ids), 'photo')} {stars}"
        self.writer.call(
            lambda: edits.photo_set("rating", pairs.members(ids), rating, "rate", label, self.source)
        )

    def set_rejected(self, photo_ids: Sequence[int], rejected: bool = True) -> int:
        """Flag photos *rejected* (their rating becomes ``REJECTED``, xmp:Rating -1) or clear the flag.

        Rejecting drops a photo's stars, as xmp:Rating has room for one or the other; undo brings
        them back. Clearing touches only the rejected photos among ``photo_ids`` (they become
        unrated). Returns how many photos changed.
        """
        current = self.reads.user_data(list(dict.fromkeys(photo_ids)))
        ids = [pid for pid, data in current.items() if (data.rating == REJECTED) != rejected]
        if not ids:
            return 0
        label = f"{'Rejected' if rejected else 'Unrejected'} {counted(len(ids), 'photo')}"
        value = REJECTED if rejected else 0
        self.writer.call(
            lambda: edits.photo_set("rating", pairs.members(ids), value, "reject", label, self.source)
        )
        return len(ids)

    def set_color_label(self, photo_ids: Sequence[int], label: str | None) -> None:
        if label is not None and label not in COLOR_LABELS:
            raise LibraryError(f"Unknown colour label '{label}'. Use one of: {', '.join(COLOR_LABELS)}.")
        ids = list(photo_ids)
        text = (
            f"Labelled {counted(len(ids), 'photo')} {label}"
            if label
            else (f"Cleared the label of {counted(len(ids), 'photo')}")
        )
        self.writer.call(
            lambda: edits.photo_set("color_label", pairs.members(ids), label, "label", text, self.source)
        )

    def set_title(self, photo_ids: Sequence[int], title: str | None) -> None:
        ids, value = list(photo_ids), (title or "").strip() or None
        text = (
            f"Titled {counted(len(ids), 'photo')}"
            if value
            else f"Cleared the title of {counted(len(ids), 'photo')}"
        )
        self.writer.call(
            lambda: edits.photo_set("title", pairs.members(ids), value, "title", text, self.source)
        )

    def set_description(self, photo_ids: Sequence[int], description: str | None) -> None:
        ids, value = list(photo_ids), (description or "").strip() or None
        text = (
            f"Described {counted(len(ids), 'photo')}"
            if value
            else (f"Cleared the description of {counted(len(ids), 'photo')}")
        )
        self.writer.call(
            lambda: edits.photo_set("description", pairs.members(ids), value, "describe", text, self.source)
        )

    def rotate(self, photo_ids: Sequence[int], degrees: int) -> None:
        """Turn photos clockwise by ``degrees`` (a multiple of 90) in the catalog; the files stay as they are."""
        if degrees % 90:
            raise LibraryError(f"Photos turn in quarter turns (90, 180, 270 degrees), not {degrees}.")
        ids = list(photo_ids)
        way = {90: "right", 180: "upside down", 270: "left"}.get(degrees % 360)
        if way is None:
            return

        self.writer.call(lambda: edits.rotate(ids, degrees, way, self.source))

    def shift_dates(self, photo_ids: Sequence[int], delta: dt.timedelta) -> int:
        """Move the dates of photos by ``delta`` (a camera left on home time); one undoable change.

        The new dates are the person's: a rescan of a changed file keeps them. Returns how many moved."""
        ids = list(photo_ids)
        sign = "+" if delta >= dt.timedelta(0) else "−"
        label = f"Shifted the dates of {{photos}} by {sign}{_span(abs(delta))}"
        try:
            n, _entry = self.writer.call(
                lambda: edits.change_dates(pairs.members(ids), lambda _when: delta, label, self.source)
            )
        except OverflowError as exc:
            raise LibraryError(
                "That shift moves a date before the year 1 or past 9999; nothing was changed."
            ) from exc
        return n

    def set_dates(self, photo_ids: Sequence[int], when: dt.datetime, keep_intervals: bool = False) -> int:
        """Give photos the date ``when`` (local time); with ``keep_intervals`` the earliest gets it and the
        others keep their distance from it. One undoable change; returns how many changed."""
        ids = list(photo_ids)
        if keep_intervals:
            q = Photo.select(pw.fn.MIN(Photo.taken_local)).where(
                in_values(Photo.id, ids) & (Photo.taken_local != "")
            )
            first = q.scalar()
            if not first:
                return 0
            delta = when - dt.datetime.fromisoformat(first)
            label = f"Set the dates of {{photos}} from {when:%Y-%m-%d %H:%M}, keeping their intervals"
            fn = lambda: edits.change_dates(pairs.members(ids), lambda _w: delta, label, self.source)  # noqa: E731
        else:
            label = f"Set the dates of {{photos}} to {when:%Y-%m-%d %H:%M}"
            fn = lambda: edits.change_dates(pairs.members(ids), lambda w: when - w, label, self.source)  # noqa: E731
        try:
            n, _entry = self.writer.call(fn)
        except OverflowError as exc:
            raise LibraryError(
                "That moves a date before the year 1 or past 9999; nothing was changed."
            ) from exc
        return n

    def set_place(self, photo_ids: Sequence[int], place: tuple[float, float] | None) -> None:
        """Give photos a place (latitude, longitude in degrees), or clear it with None; one undoable
        change that a rescan keeps."""
        if place is not None:
            lat, lon = place
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise LibraryError(f"{lat}, {lon} is not a place: latitude is −90…90 and longitude −180…180.")
        ids = list(photo_ids)
        self.writer.call(lambda: edits.set_place(pairs.members(ids), place, self.source))

    def add_tag(self, name: str, photo_ids: Iterable[int]) -> Tag:
        full = normalise_tag(name)
        ids = list(photo_ids)
        return self.writer.call(lambda: edits.add_tag(full, pairs.members(ids), self.source))[0]

    def remove_tag(self, name: str, photo_ids: Iterable[int]) -> int:
        full = normalise_tag(name)
        ids = list(photo_ids)
        return self.writer.call(lambda: edits.remove_tag(full, pairs.members(ids), self.source))[0]

    def delete_tag(self, name: str) -> int:
        """Delete a tag and its children from every photo; returns how many photos carried them."""
        full = normalise_tag(name)
        return self.writer.call(lambda: edits.delete_tag(full, self.source))[0]

    def tags(self, include_missing: bool = True) -> list[TagInfo]:
        """Every tag with its photo count; ``include_missing=False`` counts only photos on disk
        (what a tag's view shows). A parent tag counts the photos under it and under its
        descendants, each photo once: what ``ls --tag`` and the tag's view list."""
        cond = (Photo.status != STATUS_ERROR) if include_missing else (Photo.status == STATUS_OK)
        if pairs.grouping_on():  # a pair's two files carry the same tags: the item counts once
            cond &= pairs.not_companion()
        counts: dict[int, int] = dict(
            PhotoTag.select(PhotoTag.tag, pw.fn.COUNT(PhotoTag.photo))
            .join(Photo)
            .where(cond)
            .group_by(PhotoTag.tag)
            .tuples()  # type: ignore[arg-type]
        )
        rows = list(Tag.select(Tag.id, Tag.name).order_by(Tag.name))
        by_fold = sorted((fold(t.name), t.id) for t in rows)
        keys = [k for k, _tid in by_fold]
        out = []
        for t in rows:
            # the descendants sort between "name/" and "name0" ("0" follows "/")
            f = fold(t.name)
            lo, hi = bisect.bisect_left(keys, f + "/"), bisect.bisect_left(keys, f + "0")
            below = [tid for _k, tid in by_fold[lo:hi]]
            n = counts.get(t.id, 0)
            if below:  # a photo tagged both Places and Places/Paris counts once
                n = int(
                    PhotoTag.select(pw.fn.COUNT(pw.fn.DISTINCT(PhotoTag.photo)))
                    .join(Photo)
                    .where(cond & PhotoTag.tag.in_([t.id, *below]))
                    .scalar()
                )
            out.append(TagInfo(t.id, t.name, n))
        return out

    # ----------------------------------------------------------------- albums
    def albums(self, include_missing: bool = True) -> list[tuple[str, int]]:
        """Every album with its photo count (``include_missing=False``: only photos on disk)."""
        on = AlbumPhoto.album == Album.id
        if not include_missing:
            on &= AlbumPhoto.photo.in_(Photo.select(Photo.id).where(Photo.status == STATUS_OK))
        if pairs.grouping_on():  # a pair's two files are in the same albums: the item counts once
            on &= AlbumPhoto.photo.not_in(Photo.select(Photo.id).where(Photo.companion_of.is_null(False)))
        q = (
            Album.select(Album.name, pw.fn.COUNT(AlbumPhoto.photo))
            .join(AlbumPhoto, pw.JOIN.LEFT_OUTER, on=on)
            .group_by(Album.id)
            .order_by(Album.name)
        )
        rows: list[tuple[str, int]] = list(q.tuples())  # type: ignore[arg-type]
        return rows

    def album_photo_ids(self, name: str) -> set[int] | None:
        """The ids of the photos in the album ``name`` (exactly that name), None when there is none."""
        album = Album.get_or_none(Album.name == name.strip())
        if album is None:
            return None
        rows: list[tuple[int]] = list(
            AlbumPhoto.select(AlbumPhoto.photo).where(AlbumPhoto.album == album.id).tuples()  # type: ignore[arg-type]
        )
        return {int(pid) for (pid,) in rows}

    def add_to_album(self, name: str, photo_ids: Iterable[int]) -> int:
        """Add photos to an album (created if new); returns how many were not in it yet."""
        album_name = name.strip()
        if not album_name:
            raise LibraryError("An album needs a name.")
        ids = list(photo_ids)
        return self.writer.call(lambda: edits.add_to_album(album_name, pairs.members(ids), self.source))[0]

    def remove_from_album(self, name: str, photo_ids: Iterable[int]) -> int:
        ids = list(photo_ids)
        return self.writer.call(lambda: edits.remove_from_album(name, pairs.members(ids), self.source))[0]

    def delete_album(self, name: str) -> int:
        """Delete an album (its photos stay in the library); returns how many photos it held."""
        if Album.get_or_none(Album.name == name) is None:
            raise LibraryError(f"There is no album named '{name}'. See the albums with: album list")
        return self.writer.call(lambda: edits.delete_album(name, self.source))[0]

    # ------------------------------------------------------------------ trash
    def trash_photos(self, photo_ids: Sequence[int]) -> TrashReport:
        """Move photos' files to the system trash and forget them, as one undoable action.

        A file that cannot be trashed (permissions, a read-only disk) keeps its photo and
        is reported with the reason; a photo whose file is already gone is simply forgotten.
        """
        report = TrashReport()
        files: dict[int, str] = {}  # photo id: the file now in the trash
        taken: dict[int, list[str]] = {}  # photo id: its sidecars, trashed with it
        # a pair goes together: its RAW or its Live Photo clip would otherwise show up on its own
        ids = pairs.members(photo_ids)
        folders: dict[int, set[str]] = {}
        for p in Photo.select(Photo, Root).join(Root).where(in_values(Photo.id, ids)):
            folders.setdefault(p.root.id, set()).add(pairing.folder_of(p.rel_path))
            path = photo_path(p)
            try:
                if path.exists() or path.is_symlink():
                    trash.move_to_trash(path)
            except OSError as exc:
                report.failed.append((str(path), _trash_reason(exc)))
                continue
            files[p.id] = str(path)
            taken[p.id] = self._trash_sidecars(str(path))
        report.trashed = pairs.item_count(files)
        if files:
            self.writer.call(lambda: edits.forget_trashed(files, self.source, taken))
        if files and report.failed:  # half a pair went: the file that stayed shows on its own
            for root_id, names in folders.items():
                self.writer.call(pairing.refresh, root_id, names)
        return report

    @staticmethod
    def _trash_sidecars(photo: str) -> list[str]:
        """Send the photo's sidecars to the trash after it (a sidecar that stays is left, and logged)."""
        moved: list[str] = []
        for sidecar in sidecars.files_of(photo):
            try:
                trash.move_to_trash(Path(sidecar))
            except OSError:
                log.warning("could not move %s to the trash", sidecar, exc_info=True)
                continue
            moved.append(sidecar)
        return moved

    # ------------------------------------------------------------------ undo
    def history(self, limit: int = history.KEEP) -> list[history.Action]:
        """The newest actions first (undone ones included, marked)."""
        return history.entries(limit)

    def undo(self) -> UndoResult | None:
        """Revert the newest action, whoever made it; None when there is nothing to undo."""
        return self.writer.call(_immediate(lambda: self._replay(undo=True)))

    def redo(self) -> UndoResult | None:
        """Re-apply the oldest undone action; None when there is nothing to redo."""
        return self.writer.call(_immediate(lambda: self._replay(undo=False)))

    def _replay(self, undo: bool) -> UndoResult | None:
        entry = history.newest_done() if undo else history.oldest_undone()
        if entry is None:
            return None
        recorded = history.decode(entry.payload)
        steps = [history.inverse(s) for s in reversed(recorded)] if undo else recorded
        renamed = False
        since = (
            entry.created_at - dt.timedelta(seconds=2) if isinstance(entry.created_at, dt.datetime) else None
        )
        index = trash.TrashIndex(since)
        remap = history.Remap()
        for step in steps:
            if step["op"] == "untrash":
                for f in step["files"]:
                    back = trash.restore(Path(f["path"]), since, index)
                    if back.reason:
                        remap.notes.append(back.reason)
                    for sidecar in f.get("sidecars", ()):  # they went with it; they come back with it
                        if trash.restore(Path(sidecar), since, index).reason:
                            log.info("sidecar %s did not come back from the trash", sidecar)
                    if back.ok and str(back.path) != f["path"]:
                        # it came back under another name: the photo is that file now, in the
                        # record too (the steps share these dicts), so a redo trashes it and not
                        # the file that took its old name
                        folder = f["row"].get(history.ROOT_PATH) or Root.get_by_id(f["row"]["root_id"]).path
                        f["path"] = str(back.path)
                        f["row"]["rel_path"] = os.path.relpath(back.path, folder).replace(os.sep, "/")
                        renamed = True
            elif step["op"] == "trash":
                for f in step["files"]:
                    path = Path(f["path"])
                    if path.exists():
                        try:
                            trash.move_to_trash(path)
                        except OSError as exc:
                            remap.notes.append(f"{path}: {_trash_reason(exc)}")
                            continue
                        f["sidecars"] = self._trash_sidecars(str(path))
            history.apply_step(step, remap)
        entry.state = history.STATE_UNDONE if undo else history.STATE_DONE
        if renamed:
            entry.payload = history.encode(recorded)
        entry.save()
        # photos that came back under other ids: the older entries (and this one) must name them so
        history.carry_remap(entry.id, remap.photos)
        return UndoResult(history.as_action(entry), remap.notes)

    # ------------------------------------------------------------- sidecars
    def write_sidecars(
        self, everything: bool = False, control: JobControl | None = None, notify: bool = True
    ) -> sidecars.DrainReport:
        """Write the pending XMP sidecars (``everything``: every photo's); never on the GUI thread."""
        return sidecars.drain(self, everything, control, notify)

    def read_sidecar_paths(self, paths: Sequence[Path]) -> ScanReport:
        """Read these photos' files and sidecars again now, merging what other programs changed."""
        scanner = Scanner(self, workers=1)
        total = ScanReport()
        by_root: dict[int, tuple[Root, list[str]]] = {}
        for path in paths:
            root = self.root_for_path(path)
            if root is not None:
                rel = os.path.relpath(path, root.path).replace(os.sep, "/")
                by_root.setdefault(root.id, (root, []))[1].append(rel)
        for root, rels in by_root.values():
            rep = scanner.process_paths(root, rels)
            total.updated += rep.updated
            total.errors += rep.errors
            total.warnings += rep.warnings
        return total

    def read_sidecars(self, everything: bool = False, control: JobControl | None = None) -> ScanReport:
        """Re-read sidecars now: a scan (which reads those whose mtime moved), or with ``everything``
        every photo's, as if its sidecar had changed."""
        before = _catalog_values()
        if everything:
            self.writer.call(lambda: Photo.update(xmp_mtime=REREAD).execute())
        report = self.scan(control=control)
        # the scan counts every photo it read again; people asked what the sidecars changed
        after = _catalog_values()
        report.updated = sum(1 for pid, values in after.items() if pid in before and before[pid] != values)
        return report

    def sidecar_failures(self) -> list[dict[str, str]]:
        """The photos whose last sidecar write failed: ``{"path", "reason"}`` each (cheap: no folder walk)."""
        failed = dict(sidecar_queue.failed())
        q = Photo.select(Photo, Root).join(Root).where(in_values(Photo.id, list(failed)))
        paths = {p.id: str(photo_path(p)) for p in q}
        return [{"path": paths.get(pid, str(pid)), "reason": why} for pid, why in failed.items()]

    def sidecar_status(self) -> dict[str, Any]:
        return {
            "pending": sidecar_queue.count(),
            "failed": self.sidecar_failures(),
            "orphans": len(sidecars.orphans(r.path for r in self.roots())),
            "mode": sidecar_queue.write_mode(),
            "naming": sidecar_queue.naming(),
        }

    # ------------------------------------------------------------- embeddings
    def embedded_count(self, model_id: str) -> int:
        q = (
            Photo.select(pw.fn.COUNT(pw.fn.DISTINCT(Photo.content_hash)))
            .join(Embedding, on=(Embedding.content_hash == Photo.content_hash))
            .where((Photo.status == STATUS_OK) & (Embedding.model_id == model_id))
        )
        return int(q.scalar() or 0)

    # --------------------------------------------------------- long-running work
    def scan(
        self, roots: Sequence[Root] | None = None, control: Any = None, workers: int | None = None
    ) -> ScanReport:
        return Scanner(self, workers=workers).scan(roots if roots is not None else self.roots(), control)

    def scan_folders(self, root_ids: Sequence[int] | None = None, control: Any = None) -> ScanReport:
        """Scan the library folders ``root_ids`` (every folder when None); ids no longer in the library
        are skipped (the folder was removed while the scan waited)."""
        wanted = None if root_ids is None else set(root_ids)
        return self.scan([r for r in self.roots() if wanted is None or r.id in wanted], control)

    def import_paths(self, sources: Sequence[Path], control: Any = None) -> ImportReport:
        return import_paths(self, sources, control)

    def photo_ids_for_paths(self, paths: Iterable[Path]) -> tuple[list[int], list[Path]]:
        found: list[int] = []
        missing: list[Path] = []
        for p in paths:
            row = self.photo_by_path(p)
            if row is None:
                missing.append(Path(p))
            else:
                found.append(row.id)
        return found, missing


def open_library(home: str | None = None) -> Library:
    return Library(resolve_paths(home))


__all__ = ["Library", "LibraryError", "open_library", "photo_to_dict", "photo_path", "TagInfo", "database"]


def _folders_around(own: Path, keep: Sequence[Path]) -> list[Path]:
    """``own``, or when folders to keep lie inside it, the folders beside the way down to them."""
    if not keep:
        return [own]
    found: list[Path] = []
    try:
        children = [c for c in own.iterdir() if c.is_dir()]
    except OSError:
        return found
    for child in children:
        below = [k for k in keep if k.is_relative_to(child)]
        if child in below:
            continue  # an import folder: walked like any of the person's folders
        found.extend(_folders_around(child, below) if below else [child])
    return found


def _absorb(parent: Root, child: Root, parent_path: Path) -> None:
    """Move ``child``'s photos into ``parent`` (a folder above it) and delete ``child`` (writer thread).

    Row ids stay, so tags, albums and ratings stay. Two rows can only claim the same
    file when a catalog already held a root inside another root; then the newer of
    the two gives its tags, albums, rating and label to the older one and goes.
    """
    prefix = Path(child.path).relative_to(parent_path).as_posix() + "/"
    moved_rel = pw.Value(prefix).concat(Photo.rel_path)
    Twin = Photo.alias()
    twins: list[tuple[int, int]] = list(
        Photo.select(Photo.id, Twin.id)
        .join(Twin, on=((Twin.root == parent.id) & (Twin.rel_path == moved_rel)))
        .where(Photo.root == child.id)
        .tuples()  # type: ignore[arg-type]
    )
    for child_row, parent_row in twins:  # the older row (the smaller id) stays
        if child_row < parent_row:
            _merge_user_data(parent_row, child_row)  # frees the path for the move below
        else:
            _merge_user_data(child_row, parent_row)
    Photo.update(root=parent.id, rel_path=moved_rel).where(Photo.root == child.id).execute()
    parent.is_import_target = parent.is_import_target or child.is_import_target
    child.delete_instance()


def _merge_user_data(dup_id: int, kept_id: int) -> None:
    """Give photo ``dup_id``'s tags, albums, rating and label to ``kept_id``, then delete it."""
    PhotoTag.insert_from(
        PhotoTag.select(pw.Value(kept_id), PhotoTag.tag).where(PhotoTag.photo == dup_id),
        [PhotoTag.photo, PhotoTag.tag],
    ).on_conflict_ignore().execute()
    AlbumPhoto.insert_from(
        AlbumPhoto.select(AlbumPhoto.album, pw.Value(kept_id), AlbumPhoto.position).where(
            AlbumPhoto.photo == dup_id
        ),
        [AlbumPhoto.album, AlbumPhoto.photo, AlbumPhoto.position],
    ).on_conflict_ignore().execute()
    dup = Photo.get_by_id(dup_id)
    kept = Photo.get_by_id(kept_id)
    Photo.update(rating=kept.rating or dup.rating, color_label=kept.color_label or dup.color_label).where(
        Photo.id == kept_id
    ).execute()
    Photo.delete().where(Photo.id == dup_id).execute()


def _link_or_copy(src: Path, dst: Path) -> bool:
    """Put ``src`` at ``dst`` without removing it: a hard link on the same disk, else a copy."""
    if dst.exists():
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return True
