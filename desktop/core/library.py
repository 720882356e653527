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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import peewee as pw

from desktop.core.db import close_db, database, init_db
from desktop.core.filters import PhotoFilter, apply_filter, fold
from desktop.core.jobs import JobControl
from desktop.core.paths import Paths, resolve_paths
from desktop.core.schema import (
    STATUS_ERROR,
    STATUS_MISSING,
    STATUS_OK,
    Album,
    AlbumPhoto,
    Embedding,
    Photo,
    PhotoTag,
    Root,
    Setting,
    Tag,
)
from desktop.core.wording import counted
from desktop.core.writer import Writer

log = logging.getLogger(__name__)

COLOR_LABELS = ("red", "orange", "yellow", "green", "blue", "purple", "grey")
SETTING_IMPORT_DIR = "import_dir"
SETTING_PICTURE_CACHE = "picture_cache_dir"  # thumbnails and previews, when moved from the default


class LibraryError(Exception):
    """A user-facing error: the message says what happened and what to do."""


@dataclass(frozen=True)
class TagInfo:
    id: int
    name: str
    count: int


def photo_path(photo: Photo) -> Path:
    return Path(photo.root.path) / photo.rel_path


def photo_to_dict(photo: Photo, tags: list[str] | None = None) -> dict[str, Any]:
    """The record ``info --json`` prints and the GUI's info panel shows."""
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
        "rating": photo.rating,
        "color_label": photo.color_label,
        "tags": tags if tags is not None else photo_tags(photo.id),
        "content_hash": photo.content_hash,
        "size_bytes": photo.size_bytes,
        "mtime": photo.mtime,
        "added_at": photo.added_at.isoformat() if isinstance(photo.added_at, dt.datetime) else photo.added_at,
    }


def photo_tags(photo_id: int) -> list[str]:
    q = Tag.select(Tag.name).join(PhotoTag).where(PhotoTag.photo == photo_id).order_by(Tag.name)
    return [t.name for t in q]


def normalise_tag(name: str) -> str:
    parts = [p.strip() for p in name.replace("\\", "/").split("/")]
    parts = [p for p in parts if p]
    if not parts:
        raise LibraryError(f"'{name}' is not a usable tag name: give a name like 'family' or 'Places/Paris'.")
    return "/".join(parts)


class Library:
    """One open library (catalog + caches) under a ``Paths``."""

    def __init__(self, paths: Paths | None = None) -> None:
        self.paths = (paths or resolve_paths()).ensure()
        try:
            init_db(self.paths.catalog_db, self.paths.backups)
        except pw.DatabaseError as exc:
            raise LibraryError(
                f"The catalog at {self.paths.catalog_db} could not be opened ({exc}). "
                f"Restore it from {self.paths.backups} or move it aside to start a new catalog."
            ) from exc
        self.writer = Writer()
        from desktop.core.thumbnails import PreviewCache, ThumbnailCache

        root = self.picture_cache_dir()
        self.thumbnails = ThumbnailCache(root / "thumbnails")
        self.previews = PreviewCache(root / "previews")

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

    def picture_cache_dir(self) -> Path:
        """The folder holding ``thumbnails/`` and ``previews/`` (the cache dir unless the user moved them)."""
        configured = self.get_setting(SETTING_PICTURE_CACHE)
        return Path(configured) if configured else self.paths.cache

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

    def add_root(self, path: Path, watched: bool = True, is_import_target: bool = False) -> Root:
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
        resolved = str(folder.resolve())

        def _add() -> Root:
            existing = Root.get_or_none(Root.path == resolved)
            if existing is None:
                # a folder inside an existing root is already in the library
                for root in Root.select():
                    if resolved.startswith(root.path.rstrip("/") + "/"):
                        return root
            if existing is not None:
                if existing.watched != watched and not is_import_target:
                    existing.watched = watched
                    existing.save()
                return existing
            parent = Root.create(path=resolved, watched=watched, is_import_target=is_import_target)
            # roots inside the new one are absorbed: their photos (ids, tags, ratings) move to it
            for child in Root.select().where(Root.path.startswith(resolved.rstrip("/") + "/")):
                prefix = child.path[len(resolved.rstrip("/")) + 1 :] + "/"
                Photo.update(root=parent.id, rel_path=prefix + Photo.rel_path).where(
                    Photo.root == child.id
                ).execute()
                parent.is_import_target = parent.is_import_target or child.is_import_target
                child.delete_instance()
            parent.save()
            return parent

        return self.writer.call(_add)

    def remove_root(self, root_id: int) -> None:
        """Forget a root and its photos' catalog rows. Files on disk are not touched."""
        self.writer.call(lambda: Root.delete().where(Root.id == root_id).execute())

    def set_watched(self, root_id: int, watched: bool) -> None:
        self.writer.call(lambda: Root.update(watched=watched).where(Root.id == root_id).execute())

    # ------------------------------------------------------------------ photos
    def photo(self, photo_id: int) -> Photo | None:
        row: Photo | None = Photo.select(Photo, Root).join(Root).where(Photo.id == photo_id).first()
        return row

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

    def info(self, path: Path) -> dict[str, Any]:
        photo = self.photo_by_path(path)
        if photo is None:
            if Path(path).expanduser().is_dir():
                raise LibraryError(self._folder_is_not_a_photo(Path(path)))
            raise LibraryError(
                f"{path} is not in the library. Add its folder with 'add' or bring it in with 'import'."
            )
        return photo_to_dict(photo)

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
        q = apply_filter(Photo.select(Photo, Root).join(Root), f or PhotoFilter())
        # the scanner never leaves taken_local NULL, so this walks the (taken_local, id) index
        key = Photo.taken_local
        if after_key is not None:
            k, pid = after_key
            if newest_first:
                q = q.where(pw.Tuple(key, Photo.id) < pw.Tuple(k, pid))
            else:
                q = q.where(pw.Tuple(key, Photo.id) > pw.Tuple(k, pid))
        q = q.order_by(key.desc(), Photo.id.desc()) if newest_first else q.order_by(key, Photo.id)
        if limit is not None:
            q = q.limit(limit)
        return list(q)

    def count(self, f: PhotoFilter | None = None) -> int:
        return int(apply_filter(Photo.select(), f or PhotoFilter()).count())

    def status(self) -> dict[str, Any]:
        counts: dict[str, int] = dict(
            Photo.select(Photo.status, pw.fn.COUNT(Photo.id)).group_by(Photo.status).tuples()  # type: ignore[arg-type]
        )
        roots = []
        for root in self.roots():
            n = Photo.select().where((Photo.root == root.id) & (Photo.status == STATUS_OK)).count()
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
        }

    def errors(self) -> list[dict[str, Any]]:
        q = (
            Photo.select(Photo, Root)
            .join(Root)
            .where(Photo.status == STATUS_ERROR)
            .order_by(Root.path, Photo.rel_path)
        )
        return [{"path": str(photo_path(p)), "reason": p.error or "unknown error", "id": p.id} for p in q]

    def remove_photos(self, photo_ids: Sequence[int]) -> int:
        """Forget photos (the files stay on disk)."""
        ids = list(photo_ids)

        def _remove() -> int:
            return int(Photo.delete().where(Photo.id.in_(ids)).execute())

        return self.writer.call(_remove)

    # -------------------------------------------------------------- user data
    def set_rating(self, photo_ids: Sequence[int], rating: int) -> None:
        if not 0 <= rating <= 5:
            raise LibraryError(f"A rating is 0 to 5 stars, not {rating}.")
        ids = list(photo_ids)
        self.writer.call(lambda: Photo.update(rating=rating).where(Photo.id.in_(ids)).execute())

    def set_color_label(self, photo_ids: Sequence[int], label: str | None) -> None:
        if label is not None and label not in COLOR_LABELS:
            raise LibraryError(f"Unknown colour label '{label}'. Use one of: {', '.join(COLOR_LABELS)}.")
        ids = list(photo_ids)
        self.writer.call(lambda: Photo.update(color_label=label).where(Photo.id.in_(ids)).execute())

    def _ensure_tag(self, name: str) -> Tag:
        """Create ``name`` and its parents (runs on the writer thread)."""
        parent: Tag | None = None
        parts = name.split("/")
        for i in range(len(parts)):
            full = "/".join(parts[: i + 1])
            tag = Tag.get_or_none(pw.fn.lower(Tag.name) == full.lower())
            if tag is None:
                tag = Tag.create(name=full, parent=parent)
            parent = tag
        assert parent is not None
        return parent

    def add_tag(self, name: str, photo_ids: Iterable[int]) -> Tag:
        full = normalise_tag(name)
        ids = list(photo_ids)

        def _add() -> Tag:
            tag = self._ensure_tag(full)
            rows = [{"photo": pid, "tag": tag.id} for pid in ids]
            for i in range(0, len(rows), 500):
                PhotoTag.insert_many(rows[i : i + 500]).on_conflict_ignore().execute()
            return tag

        return self.writer.call(_add)

    def remove_tag(self, name: str, photo_ids: Iterable[int]) -> int:
        full = normalise_tag(name)
        ids = list(photo_ids)

        def _remove() -> int:
            tag = Tag.get_or_none(pw.fn.lower(Tag.name) == full.lower())
            if tag is None:
                return 0
            return int(PhotoTag.delete().where((PhotoTag.tag == tag.id) & PhotoTag.photo.in_(ids)).execute())

        return self.writer.call(_remove)

    def delete_tag(self, name: str) -> None:
        full = normalise_tag(name)

        def _delete() -> None:
            Tag.delete().where(
                (pw.fn.lower(Tag.name) == full.lower()) | (Tag.name.startswith(full + "/"))
            ).execute()

        self.writer.call(_delete)

    def tags(self, include_missing: bool = True) -> list[TagInfo]:
        """Every tag with its photo count; ``include_missing=False`` counts only photos on disk
        (what a tag's view shows). A parent tag counts the photos under it and under its
        descendants, each photo once: what ``ls --tag`` and the tag's view list."""
        cond = (Photo.status != STATUS_ERROR) if include_missing else (Photo.status == STATUS_OK)
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

    def add_to_album(self, name: str, photo_ids: Iterable[int]) -> None:
        album_name = name.strip()
        if not album_name:
            raise LibraryError("An album needs a name.")
        ids = list(photo_ids)

        def _add() -> None:
            album, _ = Album.get_or_create(name=album_name)  # type: ignore[no-untyped-call]
            start = (
                AlbumPhoto.select(pw.fn.COALESCE(pw.fn.MAX(AlbumPhoto.position), 0))
                .where(AlbumPhoto.album == album.id)
                .scalar()
            )
            rows = [{"album": album.id, "photo": pid, "position": start + i + 1} for i, pid in enumerate(ids)]
            if rows:
                AlbumPhoto.insert_many(rows).on_conflict_ignore().execute()

        self.writer.call(_add)

    def remove_from_album(self, name: str, photo_ids: Iterable[int]) -> None:
        ids = list(photo_ids)

        def _remove() -> None:
            album = Album.get_or_none(Album.name == name)
            if album is not None:
                AlbumPhoto.delete().where(
                    (AlbumPhoto.album == album.id) & AlbumPhoto.photo.in_(ids)
                ).execute()

        self.writer.call(_remove)

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
    ) -> Any:
        from desktop.core.scanner import Scanner

        return Scanner(self, workers=workers).scan(roots if roots is not None else self.roots(), control)

    def import_paths(self, sources: Sequence[Path], control: Any = None) -> Any:
        from desktop.core.importer import import_paths

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
