"""The result cache: the outputs of (source content, steps, metadata written) kept so a repeat is a copy.

Key = XXH3-128 of canonical JSON: the source's content hash (computed from the
file when the item runs, never trusted from the queue), the canonical steps
(operations with their versions and parameters) and the catalog data the
outputs carry. An entry is ``results/ab/KEY/`` holding the output files and a
``manifest.json`` (which also names the source hash, for ``gc``). A hit touches
the manifest (least-recently-used eviction by its mtime) and is copied into
place (never hard-linked: an export edited in place must stay the person's own file).
The cache stays under the setting ``processing.cache_mb``. Identical keys in flight in
one process compute once (``lock``). A cached file changed in place (by another
program) no longer matches its manifest and is dropped, never served.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xxhash

from desktop.core.processing.render import Rendered

if TYPE_CHECKING:
    from desktop.core.library import Library

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
MB = 1024 * 1024


@dataclass(frozen=True)
class CachedOutput:
    path: Path  # the file inside the cache
    ext: str
    mime: str
    label: str
    size: int
    hash: str  # XXH3-128 of the bytes
    width: int | None = None
    height: int | None = None
    info: dict[str, Any] = field(default_factory=dict)


def content_key(source_hash: str, steps: Sequence[dict[str, Any]], metadata: Any) -> str:
    """The cache key: what the outputs are a function of."""
    blob = json.dumps(
        {"source": source_hash, "steps": list(steps), "metadata": metadata},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return str(xxhash.xxh3_128_hexdigest(blob.encode()))


def _json_safe(info: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in info.items():
        try:
            json.dumps(v)
        except (TypeError, ValueError):
            continue
        out[str(k)] = v
    return out


def place_copy(src: Path, dest: Path) -> None:
    """``dest`` made a copy of ``src``; ``dest`` must not exist.

    Never a hard link: an export is the person's file, and editing one in place (a title added with
    exiftool, a crop in an editor) must not change the cached entry nor every other export of the photo.
    A copy of a 500 KB export costs well under a millisecond from the page cache."""
    if dest.exists():
        raise FileExistsError(errno.EEXIST, "File exists", str(dest))
    shutil.copyfile(src, dest)


class ResultCache:
    _locks: dict[str, tuple[threading.Lock, int]] = {}
    _locks_guard = threading.Lock()

    def __init__(self, root: Path, limit_bytes: int) -> None:
        self.root = root
        self.limit_bytes = max(0, limit_bytes)
        self._total: int | None = None  # bytes in the cache, counted once, then kept up to date
        self._total_guard = threading.Lock()

    @classmethod
    def for_library(cls, lib: Library) -> ResultCache:
        return cls(lib.paths.results, lib.cache_limit_mb() * MB)

    @property
    def enabled(self) -> bool:
        return self.limit_bytes > 0

    def _dir(self, key: str) -> Path:
        return self.root / key[:2] / key

    # ------------------------------------------------------------------ in flight
    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Held while computing ``key``: a second identical request waits, then finds the first's result."""
        with self._locks_guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._locks_guard:
                lock, users = self._locks[key]
                if users <= 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    # ------------------------------------------------------------------ reading
    def get(self, key: str) -> list[CachedOutput] | None:
        """The entry's outputs (its manifest touched: recently used), None on a miss or a damaged entry."""
        if not self.enabled:
            return None
        folder = self._dir(key)
        manifest = folder / MANIFEST
        try:
            data = json.loads(manifest.read_bytes())
            outputs = []
            for o in data["outputs"]:
                path = folder / o["file"]
                st = path.stat()
                if st.st_size != o["size"] or st.st_mtime_ns != o["mtime_ns"]:
                    raise ValueError(f"{path} changed since it was cached")
                outputs.append(
                    CachedOutput(
                        path,
                        o["ext"],
                        o["mime"],
                        o["label"],
                        o["size"],
                        o["hash"],
                        o.get("width"),
                        o.get("height"),
                        o.get("info") or {},
                    )
                )
            os.utime(manifest)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.info("dropping the damaged cache entry %s: %s", folder, exc)
            self._drop(folder)
            return None
        return outputs

    # ------------------------------------------------------------------ writing
    def put(self, key: str, source_hash: str, rendered: Sequence[Rendered]) -> list[CachedOutput] | None:
        """Keep ``rendered`` under ``key``; None when the cache is off or could not be written (logged)."""
        if not self.enabled or not rendered:
            return None  # nothing made is nothing to keep (and the runner fails such an item)
        folder = self._dir(key)
        tmp = folder.with_name(f".{key}.{os.getpid()}.{threading.get_ident()}.tmp")
        outputs: list[dict[str, Any]] = []
        try:
            tmp.mkdir(parents=True, exist_ok=True)
            for i, r in enumerate(rendered):
                name = f"{i}.{r.ext}"
                path = tmp / name
                path.write_bytes(r.data)
                outputs.append(
                    {
                        "file": name,
                        "ext": r.ext,
                        "mime": r.mime,
                        "label": r.label,
                        "size": len(r.data),
                        "hash": str(xxhash.xxh3_128_hexdigest(r.data)),
                        "width": r.width,
                        "height": r.height,
                        "info": _json_safe(r.info),
                        "mtime_ns": path.stat().st_mtime_ns,
                    }
                )
            manifest = {"source_hash": source_hash, "outputs": outputs}
            (tmp / MANIFEST).write_text(json.dumps(manifest, sort_keys=True))
            try:
                tmp.rename(folder)
            except OSError:
                # another process cached the same key meanwhile: theirs is as good as ours
                shutil.rmtree(tmp, ignore_errors=True)
                return self.get(key)
        except OSError as exc:
            log.warning("could not keep a result in the cache at %s: %s", folder, exc)
            shutil.rmtree(tmp, ignore_errors=True)
            return None
        size = sum(int(o["size"]) for o in outputs)
        self._add(size)
        return [
            CachedOutput(
                folder / o["file"],
                o["ext"],
                o["mime"],
                o["label"],
                o["size"],
                o["hash"],
                o["width"],
                o["height"],
                o["info"],
            )
            for o in outputs
        ]

    # ------------------------------------------------------------------ size
    def _entries(self) -> Iterator[tuple[Path, float, int]]:
        """(folder, last used, bytes) of every entry."""
        if not self.root.is_dir():
            return
        for shard in os.scandir(self.root):
            if not shard.is_dir():
                continue
            for entry in os.scandir(shard.path):
                if not entry.is_dir() or entry.name.startswith("."):
                    continue
                try:
                    used = os.stat(os.path.join(entry.path, MANIFEST)).st_mtime
                    size = sum(f.stat().st_size for f in os.scandir(entry.path) if f.is_file())
                except OSError:
                    continue
                yield Path(entry.path), used, size

    def total_bytes(self) -> int:
        with self._total_guard:
            if self._total is None:
                self._total = sum(size for _f, _u, size in self._entries())
            return self._total

    def _add(self, size: int) -> None:
        total = self.total_bytes()
        with self._total_guard:
            self._total = total + size
            over = self._total > self.limit_bytes
        if over:
            self.evict()

    def evict(self) -> int:
        """Drop the least recently used entries until the cache is at 90% of its limit; bytes freed."""
        entries = sorted(self._entries(), key=lambda e: e[1])
        total = sum(size for _f, _u, size in entries)
        target = int(self.limit_bytes * 0.9)
        freed = 0
        for folder, _used, size in entries:
            if total - freed <= target:
                break
            self._drop(folder)
            freed += size
        with self._total_guard:
            self._total = total - freed
        return freed

    @staticmethod
    def _drop(folder: Path) -> None:
        # renamed first, so a reader never sees half an entry
        doomed = folder.with_name(f".{folder.name}.{os.getpid()}.gone")
        try:
            folder.rename(doomed)
        except OSError:
            return
        shutil.rmtree(doomed, ignore_errors=True)

    # ------------------------------------------------------------------ gc
    def orphans(self, live_source_hashes: Iterable[str]) -> list[tuple[Path, int]]:
        """Entries made from content no photo has any more (and leftovers of interrupted writes), with sizes."""
        live = set(live_source_hashes)
        found: list[tuple[Path, int]] = []
        if not self.root.is_dir():
            return found
        for shard in os.scandir(self.root):
            if not shard.is_dir():
                continue
            for entry in os.scandir(shard.path):
                if not entry.is_dir():
                    continue
                folder = Path(entry.path)
                size = sum(f.stat().st_size for f in os.scandir(folder) if f.is_file())
                if entry.name.startswith("."):
                    found.append((folder, size))
                    continue
                try:
                    source = json.loads((folder / MANIFEST).read_bytes()).get("source_hash")
                except (OSError, ValueError):
                    source = None
                if source not in live:
                    found.append((folder, size))
        return found
