"""Scanning library roots into the catalog: walk, diff, process in parallel, commit.

A scan walks every root (skipping hidden and system folders, following
symlinks but never into a loop), compares each file's size and mtime with the
catalog and only re-reads what changed. New and changed files are processed in
worker processes (``scan_worker``); results are written in batches through the
single writer, so a kill loses at most one uncommitted batch and the next scan
simply picks up the files that are still new. A file whose content hash
matches a photo whose file is gone is a move: the row (and its tags, rating,
albums) follows the file. Files that disappeared become ``missing`` at the end
of a complete walk; they come back to ``ok`` when the file reappears.

A full disk: a photo whose thumbnail finds no room is still catalogued (the
report's warnings say so, once), and a catalog write that finds no room stops
the scan with ``DiskFull``; what was committed stays, and the next scan
catalogues the rest.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import json
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.core.catalog import history
from desktop.core.catalog.db import DiskFull, database, is_disk_full
from desktop.core.catalog.edits import DATE_SOURCE_USER, PLACE_SOURCE_USER
from desktop.core.catalog.filters import in_values
from desktop.core.catalog.schema import STATUS_ERROR, STATUS_MISSING, STATUS_OK, UNREAD, Photo, Root
from desktop.core.imaging.thumbnails import thumbnails_full_message
from desktop.core.ingest import pairing, user_data, xmp
from desktop.core.ingest.formats import KIND_IMAGE, is_image_name
from desktop.core.ingest.scan_worker import FileResult, process_file, process_many
from desktop.core.runtime.jobs import Cancelled, JobControl, at_least_background_priority
from desktop.core.runtime.lifeline import die_with_parent
from desktop.core.runtime.wording import counted

if TYPE_CHECKING:
    from desktop.core.library import Library

log = logging.getLogger(__name__)

SKIP_DIRS = frozenset(
    {
        "@eaDir",
        "#recycle",
        "$RECYCLE.BIN",
        "System Volume Information",
        "__MACOSX",
        "lost+found",
        "node_modules",
        "Thumbs.db",
        ".thumbnails",
        "$Recycle.Bin",
    }
)
# pseudo-filesystems an enclosing root such as "/" would otherwise walk: they hold no photos
SYSTEM_FOLDERS = (Path("/proc"), Path("/sys"), Path("/dev")) if os.name == "posix" else ()
BATCH_SIZE = 200
BATCH_SECONDS = 1.0
IN_PROCESS_BELOW = 16  # few files: a process pool costs more to start than it saves

_META_COLUMNS = (
    "width",
    "height",
    "orientation",
    "format",
    "color_space",
    "taken_at",
    "taken_local",
    "taken_at_source",
    "camera_make",
    "camera_model",
    "lens",
    "focal_length",
    "f_number",
    "exposure_time",
    "iso",
    "gps_lat",
    "gps_lon",
    "gps_alt",
    "file_rating",
    "content_id",  # pairs a Live Photo's still and clip (ingest.pairing)
    # video columns
    "media_kind",
    "duration",
    "video_codec",
    "frame_rate",
)


@dataclass
class ScanReport:
    seen: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    moved: int = 0
    missing: int = 0
    restored: int = 0
    errors: int = 0
    vanished: int = 0
    no_thumbnails: int = 0  # catalogued without a thumbnail: the cache's disk is full
    sidecar_orphans: int = 0  # XMP sidecars beside no photo (ignored)
    cancelled: bool = False
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [counted(self.seen, "file"), f"{self.added} new", f"{self.updated} updated"]
        if self.moved:
            parts.append(f"{self.moved} moved")
        if self.restored:
            parts.append(f"{self.restored} back")
        parts.append(f"{self.unchanged} unchanged")
        parts.append(f"{self.errors} could not be read")
        if self.missing:
            parts.append(f"{self.missing} missing")
        read = self.added + self.updated + self.errors
        head = "Scan cancelled" if self.cancelled else "Scanned"
        if not read and not self.cancelled:
            gone = f"; {self.missing} missing" if self.missing else ""
            moved = f"; {self.moved} moved" if self.moved else ""
            return f"{head} {counted(self.seen, 'file')} in {self.seconds:.1f}s: nothing new{moved}{gone}"
        rate = read / self.seconds if self.seconds > 0 else 0.0
        return f"{head}: " + ", ".join(parts) + f" in {self.seconds:.1f}s ({rate:.0f} files/s)"

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def storable_name(name: str) -> bool:
    """False for names that are not valid UTF-8 on disk (the catalog stores text, not raw bytes)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_skipped_dir(name: str) -> bool:
    return name.startswith(".") or name in SKIP_DIRS


def folder_error(exc: OSError) -> str:
    """The reason a folder the scan cannot enter shows under *Could not read*."""
    if isinstance(exc, PermissionError):
        return "Permission denied: cannot open this folder"
    return f"{exc.strerror or exc}: cannot open this folder"


def folder_keys(folders: Iterable[Path]) -> set[tuple[int, int]]:
    """(device, inode) of each existing folder: how a walk recognises it under any name or link."""
    keys: set[tuple[int, int]] = set()
    for folder in folders:
        try:
            st = folder.stat()
        except OSError:
            continue
        keys.add((st.st_dev, st.st_ino))
    return keys


def forced_dirs(rels: Iterable[str]) -> set[str]:
    """Hidden or system-named folders that hold catalogued photos: a walk enters them anyway.

    They come from a root that was merged into a folder above it (``add ~`` over ``~/.photos``);
    skipping them would turn every photo in them into a missing file.
    """
    forced: set[str] = set()
    for rel in rels:
        parts = rel.split("/")[:-1]
        if any(_is_skipped_dir(p) for p in parts):
            forced.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return forced


def skip_keys(library: Library) -> set[tuple[int, int]]:
    """What no walk enters: Shoebox's own data and cache folders, and the system's pseudo-filesystems."""
    return folder_keys([*library.scan_exclusions(), *SYSTEM_FOLDERS])


def _list_sidecars(entries: list[os.DirEntry[str]], rel: str, sidecars: dict[str, float]) -> None:
    for entry in entries:
        name = entry.name
        if xmp.is_sidecar_name(name) and not name.startswith(".") and storable_name(name):
            try:
                sidecars[f"{rel}/{name}" if rel else name] = entry.stat(follow_symlinks=True).st_mtime
            except OSError:
                continue


def walk_images(
    root: Path,
    warnings: list[str] | None = None,
    skip: Iterable[tuple[int, int]] = (),
    enter: Collection[str] = (),
    checkpoint: Callable[[], None] | None = None,
    unreadable: list[tuple[str, str]] | None = None,
    sidecars: dict[str, float] | None = None,
) -> Iterator[tuple[str, int, float]]:
    """Yield (relative path, size, mtime) of image files under ``root``.

    ``skip``: (device, inode) keys of folders never entered (Shoebox's own data and
    cache, system folders); ``enter``: relative folders entered although their name
    is hidden or a system folder's (see ``forced_dirs``); ``checkpoint`` is called every
    few hundred folders, so a walk of a huge tree with few photos can still be cancelled.
    A folder that cannot be listed goes into ``unreadable`` as (relative path, reason)
    when that list is given (else into ``warnings``): the catalog shows it with the
    files it could not read, and its photos are not declared missing. XMP sidecars go
    into ``sidecars`` as relative path → mtime when that dict is given.
    """
    never = set(skip)
    seen_dirs: set[tuple[int, int]] = set()
    stack: list[tuple[Path, str]] = [(root, "")]
    while stack:
        folder, rel = stack.pop()
        if checkpoint is not None and len(seen_dirs) % 256 == 255:
            checkpoint()
        try:
            st = folder.stat()
        except OSError as exc:
            if warnings is not None:
                warnings.append(f"{folder}: {exc.strerror or exc}")
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:  # a symlink loop or a second link to a folder we already walked
            continue
        if rel and key in never:  # the root itself is always walked: the person chose it
            continue
        seen_dirs.add(key)
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            if unreadable is not None:
                unreadable.append((rel, folder_error(exc)))
            elif warnings is not None:
                warnings.append(f"{folder}: cannot list folder ({exc.strerror or exc})")
            continue
        if sidecars is not None:  # before the photos are yielded: the caller compares them right away
            _list_sidecars(entries, rel, sidecars)
        for entry in entries:
            name = entry.name
            if not storable_name(name):
                if warnings is not None:
                    shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                    warnings.append(
                        f"{folder / shown}: skipped, its name is not valid UTF-8; rename it to catalogue it"
                    )
                continue
            child_rel = f"{rel}/{name}" if rel else name
            try:
                if entry.is_dir(follow_symlinks=True):
                    if not _is_skipped_dir(name) or child_rel in enter:
                        stack.append((Path(entry.path), child_rel))
                    continue
                if name.startswith(".") or not is_image_name(name):
                    continue
                est = entry.stat(follow_symlinks=True)
            except OSError:
                # a dangling link or a file that vanished while we looked; nothing to catalogue
                continue
            yield child_rel, est.st_size, est.st_mtime


def _meta_fields(meta: dict[str, Any]) -> dict[str, Any]:
    fields = {k: meta.get(k) for k in _META_COLUMNS}
    # never NULL, so ordering by the raw column can walk the (taken_local, id) index
    fields["taken_local"] = fields["taken_local"] or ""
    fields["media_kind"] = fields["media_kind"] or KIND_IMAGE
    kw = meta.get("keywords") or []
    fields["keywords"] = json.dumps(kw, ensure_ascii=False) if kw else None
    return fields


# a date or place the person set is theirs: a later change of the file (an outside editor re-saving
# it, or damage) must not put the camera's date back (title and description are merged as user data)
_DATE_COLUMNS = ("taken_at", "taken_local", "taken_at_source")


def _keep_user_data(existing: Photo, fields: dict[str, Any]) -> None:
    """Drop from a rescan's ``fields`` what belongs to the person rather than to the file."""
    if existing.taken_at_source == DATE_SOURCE_USER:
        for column in _DATE_COLUMNS:
            fields.pop(column, None)
    if existing.place_source == PLACE_SOURCE_USER:
        for column in ("gps_lat", "gps_lon", "gps_alt"):
            fields.pop(column, None)


def _empty_meta() -> dict[str, Any]:
    fields: dict[str, Any] = dict.fromkeys(_META_COLUMNS)
    fields["keywords"] = None
    fields["taken_local"] = ""
    fields["media_kind"] = KIND_IMAGE
    return fields


def _sidecar_mtime(rel: str, sidecars: dict[str, float]) -> float | None:
    """What ``scan_worker`` stores as the photo's sidecar mtime, from the walk's listing."""
    if not sidecars:
        return None
    return xmp.sidecar_mtime([sidecars.get(c) for c in xmp.sidecar_candidates(rel)])


def _orphans(sidecars: dict[str, float], photos: set[str]) -> int:
    """Sidecars whose photo is not there (a photo deleted in another program, or a typo'd rename)."""
    if not sidecars:
        return 0
    claimed = {c for rel in photos for c in xmp.sidecar_candidates(rel)}
    return sum(1 for rel in sidecars if rel not in claimed)


def _start_worker(parent_pid: int) -> None:
    """A scan worker dies with the app (even ``kill -9``) and yields the CPU to its GUI thread.

    The kernel's parent-death signal is safe here: the pool's workers are
    started by the scanning thread, which shuts the pool down before it ends.
    """
    die_with_parent(parent_pid, kernel_signal=True)
    at_least_background_priority()
    # Ctrl+C in a terminal reaches the whole process group: the command stops the scan itself
    # (and says so once); workers that took it too printed a traceback each
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Scanner:
    def __init__(self, library: Library, workers: int | None = None) -> None:
        self.library = library
        self.workers = max(1, workers or (os.cpu_count() or 1))

    # ----------------------------------------------------------------- public
    def scan(self, roots: Sequence[Root], control: JobControl | None = None) -> ScanReport:
        control = control or JobControl("scan")
        report = ScanReport()
        started = time.monotonic()
        todo: list[tuple[Root, str]] = []
        present: dict[int, set[str]] = {}
        blind: dict[int, list[str]] = {}  # root id -> folders it could not list (their photos stay)
        try:
            control.report(0, 0, "looking for photos", force=True)
            skip = skip_keys(self.library)
            for root in roots:
                rows = {
                    rel: (pid, size, mtime, status, xmp_mtime)
                    for pid, rel, size, mtime, status, xmp_mtime in Photo.select(
                        Photo.id, Photo.rel_path, Photo.size_bytes, Photo.mtime, Photo.status, Photo.xmp_mtime
                    )
                    .where(Photo.root == root.id)
                    .tuples()
                    .iterator()
                }
                root_path = Path(root.path)
                if not root_path.is_dir():
                    report.warnings.append(
                        f"{root.path} is not available (unplugged drive or deleted folder); its photos are kept"
                    )
                    continue
                seen: set[str] = set()
                unreadable: list[tuple[str, str]] = []
                sidecars: dict[str, float] = {}
                walk = walk_images(
                    root_path,
                    report.warnings,
                    skip,
                    forced_dirs(rows),
                    control.checkpoint,
                    unreadable,
                    sidecars,
                )
                for rel, size, mtime in walk:
                    seen.add(rel)
                    report.seen += 1
                    row = rows.get(rel)
                    if (
                        row is not None
                        and row[1] == size
                        and row[2] == mtime
                        and row[3] != STATUS_MISSING
                        and row[4] == _sidecar_mtime(rel, sidecars)
                    ):
                        report.unchanged += 1
                    else:
                        todo.append((root, rel))
                    if report.seen % 5000 == 0:
                        control.checkpoint()
                        control.report(0, 0, f"found {counted(report.seen, 'file')}", force=True)
                report.sidecar_orphans += _orphans(sidecars, seen)
                if unreadable:
                    self._record_unreadable(root, unreadable, report)
                    seen.update(rel for rel, _reason in unreadable)
                    blind[root.id] = [rel for rel, _reason in unreadable]
                present[root.id] = seen
            self._process(todo, control, report)
            # files deleted while this scan ran were walked as present: look again at what we read
            for root, rel in todo:
                if root.id in present and not os.path.lexists(os.path.join(root.path, rel)):
                    present[root.id].discard(rel)
            # only a complete walk and process may declare files missing
            for root in roots:
                if root.id in present:
                    self._mark_gone(root, present[root.id], report, blind.get(root.id, []))
                    # RAW+JPEG pairs and Live Photos, as the files are now
                    self.library.writer.call(pairing.refresh, root.id)
            now = dt.datetime.now()
            ids = [r.id for r in roots if r.id in present]
            self.library.writer.call(lambda: Root.update(last_scan_at=now).where(Root.id.in_(ids)).execute())
        except Cancelled:
            report.cancelled = True
        report.seconds = time.monotonic() - started
        return report

    def process_paths(self, root: Root, rels: Iterable[str], control: JobControl | None = None) -> ScanReport:
        """Catalogue specific files of a root (the watcher's entry point)."""
        report = ScanReport()
        started = time.monotonic()
        todo = [(root, rel) for rel in rels]
        report.seen = len(todo)
        try:
            self._process(todo, control or JobControl("update"), report)
        except Cancelled:
            report.cancelled = True
        finally:
            # a file that arrived, changed or came back may form a pair (or end one) in its folder
            folders = {pairing.folder_of(rel) for _root, rel in todo}
            if folders:
                self.library.writer.call(pairing.refresh, root.id, folders)
        report.seconds = time.monotonic() - started
        return report

    # --------------------------------------------------------------- internals
    def _thumbnails_dir(self) -> str:
        """Where thumbnails go now: the library's cache, read per batch so a move made mid-scan is followed."""
        return str(self.library.thumbnails.root)

    def _results(self, paths: list[str], control: JobControl) -> Iterator[FileResult]:
        if len(paths) < IN_PROCESS_BELOW or self.workers == 1:
            for p in paths:
                control.checkpoint()
                yield process_file(p, self._thumbnails_dir())
            return
        # spawn: forking a process that runs Qt or holds SQLite connections is unsafe
        ctx = multiprocessing.get_context("spawn")
        chunk = 8
        chunks = [paths[i : i + chunk] for i in range(0, len(paths), chunk)]
        max_in_flight = self.workers * 4
        with cf.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=ctx, initializer=_start_worker, initargs=(os.getpid(),)
        ) as pool:
            pending: set[cf.Future[list[FileResult]]] = set()
            it = iter(chunks)
            try:
                while True:
                    while len(pending) < max_in_flight:
                        nxt = next(it, None)
                        if nxt is None:
                            break
                        pending.add(pool.submit(process_many, nxt, self._thumbnails_dir()))
                    if not pending:
                        break
                    done, pending = cf.wait(pending, timeout=0.5, return_when=cf.FIRST_COMPLETED)
                    for fut in done:
                        yield from fut.result()
                    control.checkpoint()
            finally:
                for fut in pending:
                    fut.cancel()

    def _process(self, todo: list[tuple[Root, str]], control: JobControl, report: ScanReport) -> None:
        if not todo:
            control.report(0, 0, force=True)
            return
        by_path = {str(Path(root.path) / rel): (root, rel) for root, rel in todo}
        total = len(by_path)
        batch: list[tuple[Root, str, FileResult]] = []
        last_flush = time.monotonic()
        done = 0
        control.report(0, total, force=True)
        try:
            for res in self._results(list(by_path), control):
                root, rel = by_path[res.path]
                batch.append((root, rel, res))
                done += 1
                report.no_thumbnails += res.no_thumbnail
                report.warnings += [f"{err}; this sidecar was not read" for err in res.sidecar_errors]
                if len(batch) >= BATCH_SIZE or time.monotonic() - last_flush > BATCH_SECONDS:
                    self._flush(batch, report)
                    batch = []
                    last_flush = time.monotonic()
                control.report(done, total)
        except DiskFull:
            batch = []  # the catalog has no room: trying again now would only fail again
            raise
        finally:
            # what finished before a cancel is kept
            if batch:
                self._flush(batch, report)
            if report.no_thumbnails:
                report.warnings.insert(0, thumbnails_full_message(Path(self._thumbnails_dir())))
        control.report(done, total, force=True)

    def _flush(self, batch: list[tuple[Root, str, FileResult]], report: ScanReport) -> None:
        self.library.writer.call(self._apply, batch, report)

    @staticmethod
    def _apply(batch: list[tuple[Root, str, FileResult]], report: ScanReport) -> None:
        """Write one batch of results (runs on the writer thread, inside a transaction).

        New files whose content is not catalogued anywhere (nearly all of a
        first scan) are inserted with one prepared ``executemany``: building a
        Peewee query per row held the GIL ~2 ms a file, which the GUI thread
        felt while scrolling during a scan. Everything else (changed,
        restored or moved files) goes row by row.
        """
        now = dt.datetime.now()
        batch = Scanner._of_live_roots(batch)
        if not batch:
            return
        fresh, rest = Scanner._split_fresh(batch)
        if fresh:
            try:
                with database.atomic():
                    Scanner._insert_fresh(fresh, report, now)
            except Exception as exc:
                if is_disk_full(exc):
                    raise  # row by row would fail the same way, once per file
                log.warning("bulk insert of %d files failed; cataloguing them one by one", len(fresh))
                rest = fresh + rest
        for root, rel, res in rest:
            try:
                with database.atomic():  # a savepoint: one bad row never loses the rest of the batch
                    Scanner._apply_one(root, rel, res, report, now)
            except Exception as exc:
                if is_disk_full(exc):
                    raise
                log.exception("could not catalogue %s", res.path)
                report.errors += 1

    @staticmethod
    def _of_live_roots(batch: list[tuple[Root, str, FileResult]]) -> list[tuple[Root, str, FileResult]]:
        """Drop results for a root that is gone: merged into a folder added above it while this scan
        ran, or removed. Its files are the merged root's now, and its next scan catalogues them."""
        ids = {root.id for root, _rel, _res in batch}
        found: list[tuple[int]] = list(Root.select(Root.id).where(Root.id.in_(list(ids))).tuples())  # type: ignore[arg-type]
        live = {rid for (rid,) in found}
        if live == ids:
            return batch
        kept = [item for item in batch if item[0].id in live]
        log.info("skipped %d results of a folder merged or removed during the scan", len(batch) - len(kept))
        return kept

    @staticmethod
    def _split_fresh(
        batch: list[tuple[Root, str, FileResult]],
    ) -> tuple[list[tuple[Root, str, FileResult]], list[tuple[Root, str, FileResult]]]:
        """(files new to the catalog with content it has not seen, everything else): two queries."""
        rels: dict[int, list[str]] = {}
        for root, rel, res in batch:
            if not res.vanished:
                rels.setdefault(root.id, []).append(rel)
        known: set[tuple[int, str]] = set()
        for root_id, names in rels.items():
            for i in range(0, len(names), 500):
                q = Photo.select(Photo.root, Photo.rel_path).where(
                    (Photo.root == root_id) & Photo.rel_path.in_(names[i : i + 500])
                )
                known.update(q.tuples())  # type: ignore[arg-type]
        hashes = list({res.content_hash for _r, _p, res in batch if res.content_hash and res.error is None})
        seen: set[str] = set()
        for i in range(0, len(hashes), 500):
            q = Photo.select(Photo.content_hash).where(
                Photo.content_hash.in_(hashes[i : i + 500]) & (Photo.status != STATUS_ERROR)
            )
            found: list[tuple[str]] = list(q.tuples())  # type: ignore[arg-type]
            seen.update(h for (h,) in found)
        fresh, rest = [], []
        for item in batch:
            root, rel, res = item
            new = not res.vanished and (root.id, rel) not in known
            if new and (res.error is not None or not res.content_hash or res.content_hash not in seen):
                fresh.append(item)
            else:
                rest.append(item)
        return fresh, rest

    @staticmethod
    def _insert_fresh(
        fresh: list[tuple[Root, str, FileResult]], report: ScanReport, now: dt.datetime
    ) -> None:
        """One prepared INSERT for every new row (values converted as Peewee would)."""
        rows: list[dict[str, Any]] = []
        for root, rel, res in fresh:
            fields: dict[str, Any] = {
                "root": root.id,
                "rel_path": rel,
                "added_at": now,
                "updated_at": now,
                "size_bytes": res.size,
                "mtime": res.mtime,
                "content_hash": res.content_hash,
                "rating": 0,
            }
            fields.update(color_label=None, title=None, description=None)
            fields.update(xmp_mtime=res.sidecar_mtime, xmp_state=None)
            if res.error is not None:
                fields.update(status=STATUS_ERROR, error=res.error, **_empty_meta())
            else:
                fields.update(status=STATUS_OK, error=None, **_meta_fields(res.meta))
                outside = xmp.OutsideData.from_dict(res.outside)
                fields.update(user_data.changes({}, None, outside), xmp_state=user_data.dump_state(outside))
            rows.append(fields)
        names = list(rows[0])
        by_name = Photo._meta.fields
        columns = ", ".join(f'"{by_name[n].column_name}"' for n in names)
        marks = ", ".join("?" for _ in names)
        sql = f'INSERT INTO "{Photo._meta.table_name}" ({columns}) VALUES ({marks})'
        convert = [by_name[n].db_value for n in names]
        values = [tuple(f(row[n]) for f, n in zip(convert, names, strict=True)) for row in rows]
        database.connection().executemany(sql, values)
        Scanner._link_fresh_tags(fresh)
        for _root, _rel, res in fresh:
            if res.error is not None:
                report.errors += 1
            else:
                report.added += 1

    @staticmethod
    def _link_fresh_tags(fresh: list[tuple[Root, str, FileResult]]) -> None:
        """Tag the rows just inserted with what their files and sidecars say."""
        tagged = [
            (root.id, rel, res) for root, rel, res in fresh if res.error is None and res.outside.get("tags")
        ]
        if not tagged:
            return
        ids: dict[tuple[int, str], int] = {}
        for root_id in {root_id for root_id, _rel, _res in tagged}:  # one query a root, not one a photo
            rels = [rel for r, rel, _res in tagged if r == root_id]
            query = Photo.select(Photo.id, Photo.rel_path).where(
                (Photo.root == root_id) & in_values(Photo.rel_path, rels)
            )
            ids.update(((root_id, str(rel)), int(pid)) for pid, rel in history.tuples(query))
        user_data.TagLinker(preload=True).link_many(
            (ids[(root_id, rel)], list(res.outside["tags"]))
            for root_id, rel, res in tagged
            if (root_id, rel) in ids
        )

    @staticmethod
    def _apply_one(root: Root, rel: str, res: FileResult, report: ScanReport, now: dt.datetime) -> None:
        existing = Photo.get_or_none((Photo.root == root.id) & (Photo.rel_path == rel))
        if res.vanished:
            report.vanished += 1
            return
        fields: dict[str, Any] = {
            "size_bytes": res.size,
            "mtime": res.mtime,
            "content_hash": res.content_hash,
            "updated_at": now,
        }
        if res.error is not None:
            report.errors += 1
            fields.update(status=STATUS_ERROR, error=res.error, **_empty_meta())
            fields["xmp_mtime"] = res.sidecar_mtime  # its state stays: read when the file is readable again
        else:
            fields.update(status=STATUS_OK, error=None, **_meta_fields(res.meta))
        if existing is not None:
            if existing.status == STATUS_MISSING and res.error is None:
                report.restored += 1
            elif res.error is None:
                report.updated += 1
            _keep_user_data(existing, fields)
            Photo.update(**fields).where(Photo.id == existing.id).execute()
            Scanner._merge_outside(existing, res)
            return
        moved = Scanner._find_moved(res) if res.error is None else None
        if moved is not None:
            report.moved += 1
            _keep_user_data(moved, fields)
            Photo.update(root=root.id, rel_path=rel, **fields).where(Photo.id == moved.id).execute()
            Scanner._merge_outside(moved, res)
            return
        if res.error is None:
            report.added += 1
        photo = Photo.create(root=root.id, rel_path=rel, added_at=now, **fields)
        Scanner._merge_outside(photo, res)

    @staticmethod
    def _merge_outside(photo: Photo, res: FileResult) -> None:
        """Merge what sidecars and the file say of tags, rating, label, title and description
        into the row (``photo`` as it was before this result was written)."""
        if res.error is not None:
            return
        outside = xmp.OutsideData.from_dict(res.outside)
        previous = user_data.load_state(photo.xmp_state) if photo.xmp_mtime != UNREAD else None
        current = {name: getattr(photo, name) for name in user_data.SCALARS}
        fields = user_data.changes(current, previous, outside)
        fields.update(xmp_mtime=res.sidecar_mtime, xmp_state=user_data.dump_state(outside))
        Photo.update(**fields).where(Photo.id == photo.id).execute()
        user_data.TagLinker().link(photo.id, user_data.new_tags(previous, outside))

    @staticmethod
    def _find_moved(res: FileResult) -> Photo | None:
        """A catalogued photo with the same content whose file is gone: this file is where it went."""
        if not res.content_hash:
            return None
        candidates = list(
            Photo.select(Photo, Root)
            .join(Root)
            .where((Photo.content_hash == res.content_hash) & (Photo.status != STATUS_ERROR))
            .order_by((Photo.status == STATUS_MISSING).desc(), Photo.id)
        )
        for cand in candidates:
            if cand.status == STATUS_MISSING or not (Path(cand.root.path) / cand.rel_path).exists():
                return cand
        return None

    def _record_unreadable(self, root: Root, folders: list[tuple[str, str]], report: ScanReport) -> None:
        """List folders the scan could not enter under *Could not read* (an error row each, which
        the next scan that can enter the folder removes like any vanished error)."""
        now = dt.datetime.now()

        def _write() -> None:
            for rel, reason in folders:
                fields = {**_empty_meta(), "status": STATUS_ERROR, "error": reason, "updated_at": now}
                Photo.insert(root=root.id, rel_path=rel, added_at=now, **fields).on_conflict(
                    conflict_target=[Photo.root, Photo.rel_path], update=fields
                ).execute()

        self.library.writer.call(_write)
        report.errors += len(folders)

    def _mark_gone(
        self, root: Root, present: set[str], report: ScanReport, blind: Sequence[str] = ()
    ) -> None:
        rows: list[tuple[int, str, str]] = list(
            Photo.select(Photo.id, Photo.rel_path, Photo.status)
            .where((Photo.root == root.id) & (Photo.status != STATUS_MISSING))
            .tuples()  # type: ignore[arg-type]
        )
        # files in a folder the scan could not list may well be there: they are not declared gone
        prefixes = tuple("" if rel == "" else rel + "/" for rel in blind)
        if prefixes:
            rows = [r for r in rows if not r[1].startswith(prefixes)]
        gone_ok = [pid for pid, rel, status in rows if rel not in present and status == STATUS_OK]
        gone_err = [pid for pid, rel, status in rows if rel not in present and status == STATUS_ERROR]

        def _mark() -> None:
            for i in range(0, len(gone_ok), 500):
                Photo.update(status=STATUS_MISSING).where(Photo.id.in_(gone_ok[i : i + 500])).execute()
            # an unreadable file that is gone leaves nothing worth keeping
            for i in range(0, len(gone_err), 500):
                Photo.delete().where(Photo.id.in_(gone_err[i : i + 500])).execute()

        if gone_ok or gone_err:
            self.library.writer.call(_mark)
        report.missing += len(gone_ok)
