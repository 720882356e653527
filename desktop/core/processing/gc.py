"""Garbage collection: what nothing references any more, found (``collect``) and deleted (``delete``).

Each kind of leftover has a collector, a function of the ``GcContext`` that returns ``Orphan``s; ``COLLECTORS``
lists them, so a new kind is one line there. Caches are keyed by content hash, and a hash is alive while any
``Photo`` row has it, whatever the row's status: a photo whose file is missing keeps its thumbnail (its row,
tags and rating are still there). Nothing here touches an original, a sidecar or the catalog's user data; the
only files outside Shoebox's own folders it may delete are the ``.NAME.shoebox-partial`` and ``.NAME.shoebox-tmp``
leftovers in the output folders of finished tasks.

The vector index needs no collector: it is reconciled with the ``Embedding`` rows each time it is opened
(``semantic.embedder.sync_index``), so the vectors of the rows deleted here go with them.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from peewee import fn

from desktop.core.catalog.schema import Embedding, Photo, Task
from desktop.core.ingest.xmp_write import TEMP_SUFFIX
from desktop.core.processing.cache import ResultCache
from desktop.core.runtime.jobs import JobControl

if TYPE_CHECKING:
    from desktop.core.library import Library

log = logging.getLogger(__name__)

PARTIAL_SUFFIX: Final = ".shoebox-partial"  # the runner's half-written outputs: ``.NAME.shoebox-partial``
CACHE_TEMP_PREFIX: Final = ".tmp-"  # the thumbnail caches' half-written files (``imaging.thumbnails``)
TEMP_AGE_S: Final = 3600.0  # a temporary younger than this may still be being written by a running process
OUTPUT_DEPTH: Final = 6  # how deep a task's output folder is searched (naming templates make dated folders)
OUTPUT_ENTRIES: Final = 200_000  # and at most this many entries each: an output folder may be the home folder

# The kinds, in the order they are listed; ``KIND_NAMES`` words them for people.
THUMBNAIL, PREVIEW, EMBEDDING, PARTIAL, TEMPORARY, RESULT = (
    "thumbnail",
    "preview",
    "embedding",
    "partial",
    "temporary",
    "result",
)
KIND_NAMES: Final = {
    THUMBNAIL: "thumbnails of photos no longer in the library",
    PREVIEW: "previews of photos no longer in the library",
    EMBEDDING: "smart-search vectors of photos no longer in the library",
    PARTIAL: "unfinished outputs left by interrupted tasks",
    TEMPORARY: "temporary files left by interrupted writes",
    RESULT: "cached results of photos no longer in the library",
}


@dataclass(frozen=True)
class Orphan:
    """One thing to delete: a file or folder (``path``), or an ``Embedding`` row (``key`` = hash, model id)."""

    kind: str
    path: str  # "" for an Embedding row
    size: int
    key: tuple[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "path": self.path or None, "size": self.size}
        if self.key is not None:
            out["content_hash"], out["model"] = self.key
        return out


@dataclass
class GcContext:
    """What the collectors read: the library and the content hashes some photo row still has."""

    library: Library
    live_hashes: set[str]
    now: float = field(default_factory=time.time)


Collector = Callable[[GcContext], list[Orphan]]


@dataclass
class GcReport:
    orphans: list[Orphan]
    deleted: bool = False
    reclaimed: int = 0  # bytes freed (a real run)
    failures: list[str] = field(default_factory=list)  # "PATH: reason" for what could not be deleted

    def by_kind(self) -> dict[str, tuple[int, int]]:
        """kind → (count, bytes), in ``KIND_NAMES`` order, kinds with nothing left out."""
        out: dict[str, tuple[int, int]] = {}
        for kind in KIND_NAMES:
            found = [o for o in self.orphans if o.kind == kind]
            if found:
                out[kind] = (len(found), sum(o.size for o in found))
        return out

    @property
    def total(self) -> int:
        return sum(o.size for o in self.orphans)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": not self.deleted,
            "found": len(self.orphans),
            "bytes": self.total,
            "kinds": {k: {"count": c, "bytes": b} for k, (c, b) in self.by_kind().items()},
            "items": [o.as_dict() for o in self.orphans],
            "reclaimed": self.reclaimed,
            "failures": self.failures,
        }


def _size(path: Path) -> int:
    try:
        if path.is_dir() and not path.is_symlink():
            return sum(os.lstat(os.path.join(d, n)).st_size for d, _s, names in os.walk(path) for n in names)
        return os.lstat(path).st_size
    except OSError:
        return 0


def _hash_of(cached: Path) -> str:
    """The content hash a cached picture is named by (a preview's name adds its size: ``HASH_2048.jpg``)."""
    return cached.stem.split("_", 1)[0].lower()


def _unreferenced(store_files: list[Path], live: set[str], kind: str) -> list[Orphan]:
    out = []
    for path in store_files:
        if _hash_of(path) not in live:
            out.append(Orphan(kind, str(path), _size(path)))
    return out


def thumbnails(ctx: GcContext) -> list[Orphan]:
    return _unreferenced(ctx.library.thumbnails.files(), ctx.live_hashes, THUMBNAIL)


def previews(ctx: GcContext) -> list[Orphan]:
    return _unreferenced(ctx.library.previews.files(), ctx.live_hashes, PREVIEW)


def embeddings(ctx: GcContext) -> list[Orphan]:
    """``Embedding`` rows whose content no photo row has (one query, the vectors' sizes from SQLite)."""
    live = Photo.select(Photo.content_hash).where(Photo.content_hash.is_null(False))
    query = Embedding.select(Embedding.content_hash, Embedding.model_id, fn.length(Embedding.vector))
    rows: list[tuple[str, str, int | None]] = list(query.where(Embedding.content_hash.not_in(live)).tuples())  # type: ignore[arg-type]
    return [Orphan(EMBEDDING, "", int(n or 0), (h, m)) for h, m, n in rows]


def _walk(top: Path, depth: int, budget: list[int], skip: frozenset[str] = frozenset()) -> Iterator[Path]:
    """Files under ``top``, ``depth`` folders down at most, until ``budget[0]`` entries are spent, never in the
    folders ``skip`` and never through a symlink (an output folder may hold a link to anywhere)."""
    try:
        with os.scandir(top) as it:
            entries = list(it)
    except OSError:
        return
    for entry in entries:
        budget[0] -= 1
        if budget[0] < 0:
            return
        try:
            if entry.is_dir(follow_symlinks=False):
                if depth > 0 and entry.path not in skip:
                    yield from _walk(Path(entry.path), depth - 1, budget, skip)
            elif entry.is_file(follow_symlinks=False):
                yield Path(entry.path)
        except OSError:
            continue


def _old(path: Path, now: float) -> bool:
    try:
        return now - os.lstat(path).st_mtime >= TEMP_AGE_S
    except OSError:
        return False


def partial_outputs(ctx: GcContext) -> list[Orphan]:
    """``.NAME.shoebox-partial`` and ``.NAME.shoebox-tmp`` files in the output folders of tasks no process is
    running now (a running task's partial is a file being written)."""
    running: list[tuple[str]] = list(Task.select(Task.output_dir).where(Task.state == "running").tuples())  # type: ignore[arg-type]
    every: list[tuple[str]] = list(Task.select(Task.output_dir).distinct().tuples())  # type: ignore[arg-type]
    busy = frozenset(os.path.normpath(d) for (d,) in running if d)
    folders = sorted({os.path.normpath(d) for (d,) in every if d} - busy)
    out: list[Orphan] = []
    seen: set[Path] = set()
    for folder in folders:
        for path in _walk(Path(folder), OUTPUT_DEPTH, [OUTPUT_ENTRIES], busy):
            name = path.name
            if name.startswith(".") and name.endswith((PARTIAL_SUFFIX, TEMP_SUFFIX)) and path not in seen:
                seen.add(path)
                out.append(Orphan(PARTIAL, str(path), _size(path)))
    return out


def cache_temporaries(ctx: GcContext) -> list[Orphan]:
    """Half-written files in Shoebox's own cache folders (the picture caches' ``.tmp-*``, anything in
    ``cache/tmp``, where temporary watermark and frame files go) older than an hour."""
    lib = ctx.library
    out: list[Orphan] = []
    for store in (lib.thumbnails.root, lib.previews.root):
        for dirpath, _dirs, names in os.walk(store):
            for name in names:
                path = Path(dirpath) / name
                if (name.startswith(CACHE_TEMP_PREFIX) or name.endswith(TEMP_SUFFIX)) and _old(path, ctx.now):
                    out.append(Orphan(TEMPORARY, str(path), _size(path)))
    tmp = lib.paths.cache / "tmp"
    if tmp.is_dir():
        for entry in sorted(tmp.iterdir()):
            if _old(entry, ctx.now):
                out.append(Orphan(TEMPORARY, str(entry), _size(entry)))
    return out


def cached_results(ctx: GcContext) -> list[Orphan]:
    """Cached exports made from content no photo has any more; an entry still being written (a hidden
    folder) only once it is old, so a running export's is never taken."""
    found = ResultCache.for_library(ctx.library).orphans(ctx.live_hashes)
    return [Orphan(RESULT, str(p), n) for p, n in found if not p.name.startswith(".") or _old(p, ctx.now)]


COLLECTORS: list[Collector] = [
    thumbnails,
    previews,
    embeddings,
    partial_outputs,
    cache_temporaries,
    cached_results,
]


def live_hashes() -> set[str]:
    """Every content hash a photo row has, whatever its status (a missing photo keeps its caches)."""
    query = Photo.select(Photo.content_hash).where(Photo.content_hash.is_null(False)).distinct()
    rows: list[tuple[str]] = list(query.tuples())  # type: ignore[arg-type]
    return {str(h).lower() for (h,) in rows}


def collect(library: Library, control: JobControl | None = None) -> GcReport:
    """Find every orphan (a dry run: nothing is deleted)."""
    ctx = GcContext(library, live_hashes())
    found: list[Orphan] = []
    for i, collector in enumerate(COLLECTORS):
        if control is not None:
            control.checkpoint()
            control.report(i, len(COLLECTORS), "Looking for leftovers")
        found.extend(collector(ctx))
    if control is not None:
        control.report(len(COLLECTORS), len(COLLECTORS), "Looking for leftovers", force=True)
    return GcReport(found)


def _delete_rows(keys: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Delete these ``Embedding`` rows (on the writer); returns those deleted."""
    live = Photo.select(Photo.content_hash).where(Photo.content_hash.is_null(False))
    gone = []
    for h, m in keys:
        # a photo with this content may have been catalogued since the dry run: its vector stays
        where = (
            (Embedding.content_hash == h) & (Embedding.model_id == m) & Embedding.content_hash.not_in(live)
        )
        if Embedding.delete().where(where).execute():
            gone.append((h, m))
    return gone


def delete(library: Library, report: GcReport, control: JobControl | None = None) -> GcReport:
    """Delete exactly ``report``'s orphans; returns a report of what was freed and what could not be."""
    now_live = live_hashes()
    done = GcReport(report.orphans, deleted=True)
    rows = [o for o in report.orphans if o.key is not None]
    files = [o for o in report.orphans if o.key is None]
    for i, orphan in enumerate(files):
        if control is not None and i % 200 == 0:
            control.checkpoint()
            control.report(i, len(files), "Deleting leftovers")
        if orphan.kind in (THUMBNAIL, PREVIEW) and _hash_of(Path(orphan.path)) in now_live:
            continue  # catalogued again since the dry run
        path = Path(orphan.path)
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            done.failures.append(f"{path}: {exc.strerror or exc}")
            log.warning("gc could not delete %s", path, exc_info=True)
            continue
        done.reclaimed += orphan.size
    if rows:
        sizes = {o.key: o.size for o in rows if o.key is not None}
        gone: list[tuple[str, str]] = library.writer.call(_delete_rows, list(sizes))
        done.reclaimed += sum(sizes[k] for k in gone)
    return done
