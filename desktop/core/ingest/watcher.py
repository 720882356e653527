"""Keeping the catalog current while the app runs: watchdog on every watched root.

Filesystem events are collected and debounced: a created or modified file is
processed once its size has stopped changing (a copy in progress is not read
half-way), in batches, through the same code as a scan (``Scanner.process_paths``),
so dropping a thousand files costs no rescan of the library. Moves and renames
update the photo's row so its tags and rating follow; deletions mark it missing.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from desktop.core.catalog import history
from desktop.core.catalog.schema import STATUS_ERROR, STATUS_MISSING, STATUS_OK, Photo, Root
from desktop.core.ingest import pairing, sidecars, xmp
from desktop.core.ingest.formats import is_image_name
from desktop.core.ingest.scanner import SYSTEM_FOLDERS, Scanner, ScanReport, _is_skipped_dir, storable_name

if TYPE_CHECKING:
    from desktop.core.library import Library

log = logging.getLogger(__name__)

STABLE_SECONDS = 0.4  # a file's size must hold still this long before we read it
POLL_SECONDS = 0.2


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: LibraryWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            self.watcher._on_event(event)
        except Exception:  # an odd event must never kill the observer thread
            log.exception("watch event failed: %r", event)


def _photos_of_sidecar(sidecar: str) -> list[str]:
    """The photos a sidecar belongs to: ``IMG_1.jpg`` for ``IMG_1.jpg.xmp``; every ``IMG_1.*`` photo
    (a RAW+JPEG pair shares it) for Lightroom's ``IMG_1.xmp``."""
    base = sidecar[: -len(".xmp")]
    if is_image_name(base):
        return [base] if os.path.isfile(base) else []
    folder, stem = os.path.split(base)
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return []
    return [os.path.join(folder, n) for n in names if os.path.splitext(n)[0] == stem and is_image_name(n)]


def _changed(root: Root, rels: list[str]) -> list[str]:
    """``rels`` less the files the catalog already has as they are, sidecars included: Shoebox's own
    sidecar writes fire the watcher too, and re-reading each written photo would cost a hash each."""
    q = Photo.select(Photo.rel_path, Photo.size_bytes, Photo.mtime, Photo.status, Photo.xmp_mtime).where(
        (Photo.root == root.id) & Photo.rel_path.in_(rels)
    )
    rows = {
        rel: (size, mtime, status, xmp_mtime) for rel, size, mtime, status, xmp_mtime in history.tuples(q)
    }
    out: list[str] = []
    for rel in rels:
        row = rows.get(rel)
        path = os.path.join(root.path, rel)
        try:
            st = os.stat(path)
        except OSError:
            out.append(rel)
            continue
        if (
            row is None
            or row[0] != st.st_size
            or row[1] != st.st_mtime
            or row[2] == STATUS_MISSING
            or row[3] != sidecars.current_mtime(path)
        ):
            out.append(rel)
    return out


def _str(p: Any) -> str:
    return p.decode("utf-8", "surrogateescape") if isinstance(p, bytes) else str(p)


class FolderWatcher(Protocol):
    """What the desktop app asks of the folder watcher (``LibraryWatcher``)."""

    def start(self) -> None:
        """Watch every watched root from now on."""
        ...

    def restart(self) -> None:
        """Pick up roots added, removed or (un)watched since ``start``."""
        ...

    def stop(self) -> None:
        """Stop watching, once the batch being catalogued is done."""
        ...

    @property
    def watched_paths(self) -> list[str]:
        """The roots being watched."""
        ...


class LibraryWatcher:
    """Observe watched roots and feed changes into the catalog."""

    def __init__(
        self,
        library: Library,
        on_change: Callable[[ScanReport], None] | None = None,
        stable_seconds: float = STABLE_SECONDS,
    ) -> None:
        self.library = library
        self.on_change = on_change
        self.stable_seconds = stable_seconds
        self._observer: Any = None
        self._lock = threading.Lock()
        # path -> (size at last look, time the size last changed)
        self._pending: dict[str, tuple[int, float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._roots: list[Root] = []
        self._excluded: tuple[str, ...] = ()  # Shoebox's own folders (its thumbnails are JPEGs too)
        self.scanner = Scanner(library)

    # ------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self._roots = [r for r in self.library.roots() if r.watched]
        self._excluded = tuple(f"{p}/" for p in (*self.library.scan_exclusions(), *SYSTEM_FOLDERS))
        self._observer = Observer()
        for root in self._roots:
            if Path(root.path).is_dir():
                self._observer.schedule(_Handler(self), root.path, recursive=True)
        self._observer.start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="watch-debounce", daemon=True)
        self._thread.start()

    def restart(self) -> None:
        """Pick up roots added, removed or (un)watched since ``start``."""
        self.stop()
        self.start()

    def stop(self) -> None:
        self._stop.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    @property
    def watched_paths(self) -> list[str]:
        return [r.path for r in self._roots]

    # ---------------------------------------------------------------- events
    def _root_of(self, path: str) -> tuple[Root, str] | None:
        if path.startswith(self._excluded):
            return None
        best: Root | None = None
        for root in self._roots:
            rp = root.path.rstrip("/")
            if path.startswith(rp + "/") and (best is None or len(rp) > len(best.path)):
                best = root
        if best is None:
            return None
        rel = path[len(best.path.rstrip("/")) + 1 :]
        if any(_is_skipped_dir(part) for part in rel.split("/")[:-1]) or rel.split("/")[-1].startswith("."):
            return None
        return best, rel

    def _on_event(self, event: FileSystemEvent) -> None:
        src = _str(event.src_path)
        if event.event_type == "moved":
            dest = _str(getattr(event, "dest_path", ""))
            self._moved(src, dest, event.is_directory)
            return
        if event.event_type == "deleted":
            self._deleted(src, event.is_directory)
            return
        if event.is_directory:
            if event.event_type == "created":
                # a folder moved in from outside brings files without per-file events
                for dirpath, dirnames, filenames in os.walk(src):
                    dirnames[:] = [d for d in dirnames if not _is_skipped_dir(d)]
                    for name in filenames:
                        self._touch(os.path.join(dirpath, name))
            return
        if event.event_type in ("created", "modified", "closed"):
            self._touch(src)

    def _touch(self, path: str) -> None:
        if xmp.is_sidecar_name(path):  # another program changed a photo's tags: read that photo again
            for photo in _photos_of_sidecar(path):
                self._touch(photo)
            return
        if not is_image_name(path) or not storable_name(path) or path.startswith(self._excluded):
            return
        with self._lock:
            prev = self._pending.get(path)
            self._pending[path] = (prev[0] if prev else -1, time.monotonic())

    def _moved(self, src: str, dest: str, is_dir: bool) -> None:
        with self._lock:
            self._pending.pop(src, None)
        s = self._root_of(src)
        d = self._root_of(dest) if dest else None
        if is_dir:
            if s is not None and d is not None:
                self.library.writer.call(self._move_folder, s[0].id, s[1], d[0].id, d[1])
                self._notify()
            elif s is not None:
                self._deleted(src, True)
            elif d is not None:
                self._on_event(_Created(dest))  # type: ignore[arg-type]
            return
        if s is not None and d is not None and is_image_name(dest):
            moved = self.library.writer.call(self._move_file, s[0].id, s[1], d[0].id, d[1])
            if moved:
                sidecars.follow(src, dest)  # the sidecar keeps its photo's tags for other programs too
                self._notify()
                return
        if s is not None:
            self._deleted(src, False)
        if d is not None:
            self._touch(dest)

    @staticmethod
    def _move_file(src_root: int, src_rel: str, dst_root: int, dst_rel: str) -> bool:
        row = Photo.get_or_none((Photo.root == src_root) & (Photo.rel_path == src_rel))
        if row is None:
            return False
        # a file renamed over another one replaces it: the old row goes, the moved row stays
        Photo.delete().where((Photo.root == dst_root) & (Photo.rel_path == dst_rel)).execute()
        Photo.update(root=dst_root, rel_path=dst_rel).where(Photo.id == row.id).execute()
        # a renamed file leaves its pair (or joins one) in both folders
        pairing.refresh(src_root, {pairing.folder_of(src_rel)})
        pairing.refresh(dst_root, {pairing.folder_of(dst_rel)})
        return True

    @staticmethod
    def _move_folder(src_root: int, src_rel: str, dst_root: int, dst_rel: str) -> None:
        prefix = src_rel.rstrip("/") + "/"
        rows: list[tuple[int, str]] = list(
            Photo.select(Photo.id, Photo.rel_path)
            .where((Photo.root == src_root) & Photo.rel_path.startswith(prefix))
            .tuples()  # type: ignore[arg-type]
        )
        for pid, rel in rows:
            new_rel = dst_rel.rstrip("/") + "/" + rel[len(prefix) :]
            Photo.delete().where((Photo.root == dst_root) & (Photo.rel_path == new_rel)).execute()
            Photo.update(root=dst_root, rel_path=new_rel).where(Photo.id == pid).execute()
        if rows:
            pairing.refresh(dst_root, {dst_rel.rstrip("/")}, below=True)

    def _deleted(self, path: str, is_dir: bool) -> None:
        with self._lock:
            self._pending.pop(path, None)
        hit = self._root_of(path)
        if hit is None:
            return
        root, rel = hit

        def _mark() -> None:
            cond = (Photo.root == root.id) & (
                Photo.rel_path.startswith(rel.rstrip("/") + "/") if is_dir else (Photo.rel_path == rel)
            )
            if not is_dir and Photo.select().where(cond).count() == 0:
                # some editors delete a folder's file via its parent; nothing to do
                return
            Photo.update(status=STATUS_MISSING).where(cond & (Photo.status == STATUS_OK)).execute()
            Photo.delete().where(cond & (Photo.status == STATUS_ERROR)).execute()
            # a pair that lost a file dissolves: the other file shows on its own, with its tags
            if is_dir:
                pairing.refresh(root.id, {rel.rstrip("/")}, below=True)
            else:
                pairing.refresh(root.id, {pairing.folder_of(rel)})

        self.library.writer.call(_mark)
        self._notify()

    def _notify(self, report: ScanReport | None = None) -> None:
        if self.on_change is not None:
            self.on_change(report or ScanReport())

    # ------------------------------------------------------------- debounce
    def _ready(self) -> list[str]:
        now = time.monotonic()
        ready: list[str] = []
        with self._lock:
            for path, (size, changed) in list(self._pending.items()):
                try:
                    cur = os.stat(path).st_size
                except FileNotFoundError:
                    del self._pending[path]
                    continue
                except OSError:
                    cur = size
                if cur != size:
                    self._pending[path] = (cur, now)
                elif now - changed >= self.stable_seconds:
                    ready.append(path)
                    del self._pending[path]
        return ready

    def _loop(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                ready = self._ready()
                if ready:
                    self.flush_paths(ready)
            except Exception:
                log.exception("watcher update failed")

    def flush_paths(self, paths: list[str]) -> ScanReport:
        by_root: dict[int, tuple[Root, list[str]]] = {}
        for p in paths:
            hit = self._root_of(p)
            if hit is not None:
                by_root.setdefault(hit[0].id, (hit[0], []))[1].append(hit[1])
        total = ScanReport()
        for root, rels in by_root.values():
            rels = _changed(root, rels)
            if not rels:
                continue
            rep = self.scanner.process_paths(root, rels)
            for k in ("seen", "added", "updated", "moved", "restored", "errors", "vanished"):
                setattr(total, k, getattr(total, k) + getattr(rep, k))
        self._notify(total)
        return total

    def pending_count(self) -> int:
        with self._lock:
            return len(self._pending)


class _Created:
    """A synthetic 'directory created' event for a folder moved in from outside."""

    event_type = "created"
    is_directory = True

    def __init__(self, path: str) -> None:
        self.src_path = path


__all__ = ["LibraryWatcher", "STATUS_OK"]


if TYPE_CHECKING:  # mypy checks here that the watcher is what the app's Protocol says
    _IS_FOLDER_WATCHER: type[FolderWatcher] = LibraryWatcher
