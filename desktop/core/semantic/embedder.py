"""The background embedding pipeline: every photo gets a CLIP vector for the active model.

Work is whatever the catalog says is pending -- content hashes of readable
photos with no ``Embedding`` row for the model -- so a killed or cancelled run
simply resumes next time, and photos with identical content are embedded once
and share the row. A ``BatchEncoder`` turns batches into vectors: the
``LocalEncoder`` here (the command line: decoding on a small thread pool,
Pillow releases the GIL, at most ``prefetch`` batches ahead of the model) or
a ``desktop.core.semantic.model_process.ModelProcess`` (the desktop app: the model in
a child process). The model input is the scan's 256 px thumbnail when the
model takes <= 256 px (as Immich does), otherwise a DCT-scaled decode of the
original. A video is embedded from a few keyframes (``imaging.video.keyframes``:
one per 10 s, at most 8, its poster for a short clip), each seeked to and
decoded alone; its frames' vectors are stored together in its one
``Embedding`` row (N x D float16, N read from the blob's size) and become N
rows of the index under its one hash, so a query matches it by its best frame.
Each batch is committed through the catalog writer as soon as it is embedded
(a kill loses at most the batch in flight) and added to the model's vector
index. ``JobControl`` gives progress, pause and cancel between batches.

``open_catalog_index`` loads a model's index and reconciles it with the
catalog: vectors missing from the index are added from the ``Embedding``
table, hashes no readable photo has any more are marked deleted, and a damaged
index file is rebuilt from the table.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np
import peewee as pw

from desktop.core.catalog.db import database
from desktop.core.catalog.schema import STATUS_OK, Embedding, Photo, Root
from desktop.core.imaging.video import is_video_path, keyframes
from desktop.core.runtime.jobs import Cancelled, JobControl
from desktop.core.semantic.clip_models import ClipModel, decode_for_model
from desktop.core.semantic.device import usable_cores
from desktop.core.semantic.vector_index import VectorIndex, index_dir_name

if TYPE_CHECKING:
    from desktop.core.imaging.thumbnails import ThumbnailCache
    from desktop.core.library import Library

log = logging.getLogger(__name__)

THUMB_SHORT_SIDE = 256
CHUNK = 900  # SQLite's variable limit is 999 on old builds


# ----------------------------------------------------------------- catalog side
@dataclass(frozen=True)
class PendingItem:
    content_hash: str
    photo_id: int
    path: Path


def _needs_embedding(model_id: str) -> pw.Expression:
    has = Embedding.select(Embedding.content_hash).where(
        (Embedding.model_id == model_id) & (Embedding.content_hash == Photo.content_hash)
    )
    cond: pw.Expression = (Photo.status == STATUS_OK) & Photo.content_hash.is_null(False) & ~pw.fn.EXISTS(has)
    return cond


def rows_of(query: Any) -> Iterable[tuple[Any, ...]]:
    """A peewee query's rows as plain tuples (typed for mypy, which sees model instances)."""
    return cast(Iterable[tuple[Any, ...]], query.tuples())


def pending_count(model_id: str) -> int:
    """Distinct contents that still need an embedding for ``model_id``."""
    q = Photo.select(pw.fn.COUNT(pw.fn.DISTINCT(Photo.content_hash))).where(_needs_embedding(model_id))
    return int(q.scalar() or 0)


def pending_items(model_id: str, limit: int | None = None) -> list[PendingItem]:
    """One photo per content hash that needs an embedding, oldest photo first."""
    q = (
        Photo.select(Photo.content_hash, pw.fn.MIN(Photo.id).alias("pid"))
        .where(_needs_embedding(model_id))
        .group_by(Photo.content_hash)
        .order_by(pw.fn.MIN(Photo.id))
    )
    if limit is not None:
        q = q.limit(limit)
    pairs = [(str(h), int(pid)) for h, pid in rows_of(q)]
    paths: dict[int, Path] = {}
    for i in range(0, len(pairs), CHUNK):
        ids = [pid for _, pid in pairs[i : i + CHUNK]]
        rows = Photo.select(Photo.id, Photo.rel_path, Root.path).join(Root).where(Photo.id.in_(ids))
        for pid, rel, root in rows_of(rows):
            paths[pid] = Path(root) / rel
    return [PendingItem(h, pid, paths[pid]) for h, pid in pairs if pid in paths]


def catalog_hashes(model_id: str) -> set[str]:
    """Hashes that have an embedding for ``model_id`` and at least one readable photo."""
    # a plain join: the correlated EXISTS form made SQLite scan photos once per embedding
    q = (
        Embedding.select(Embedding.content_hash)
        .join(Photo, on=(Photo.content_hash == Embedding.content_hash))
        .where((Embedding.model_id == model_id) & (Photo.status == STATUS_OK))
        .distinct()
    )
    # the cursor's fetchall, not Peewee's row loop: 100k rows cost 0.5 s instead of 1.2 s, and
    # most of it with the GIL released (this runs beside the GUI thread when embedding starts)
    sql, params = q.sql()
    return {str(h) for (h,) in database.execute_sql(sql, params).fetchall()}


def _rows(blob: bytes, dim: int) -> np.ndarray | None:
    """A stored blob as (rows, dim) float16: one row for a photo, one per keyframe for a video."""
    arr = np.frombuffer(bytes(blob), dtype=np.float16)
    if not arr.size or arr.size % dim:
        return None  # written for another dimension, or damaged: the cache is rebuilt from the photo
    return arr.reshape(-1, dim)


def load_vectors(model_id: str, hashes: Iterable[str], dim: int) -> tuple[list[str], np.ndarray]:
    """Stored vectors as float32 rows, in the order found; a video's hash repeats once per frame."""
    wanted = list(hashes)
    out_h: list[str] = []
    chunks: list[np.ndarray] = []
    for i in range(0, len(wanted), CHUNK):
        rows = Embedding.select(Embedding.content_hash, Embedding.vector).where(
            (Embedding.model_id == model_id) & Embedding.content_hash.in_(wanted[i : i + CHUNK])
        )
        for h, blob in rows_of(rows):
            vecs = _rows(blob, dim)
            if vecs is None:
                log.warning("ignoring a stored vector of %s that does not fit %d dimensions", h, dim)
                continue
            out_h.extend([h] * vecs.shape[0])
            chunks.append(vecs)
    if not chunks:
        return [], np.zeros((0, dim), dtype=np.float32)
    return out_h, np.vstack(chunks).astype(np.float32)


def stored_vectors(model_id: str, content_hash: str, dim: int) -> np.ndarray | None:
    """The stored vectors of ``content_hash`` as float32 (rows, dim): a photo's one, a video's frames."""
    row = Embedding.get_or_none((Embedding.model_id == model_id) & (Embedding.content_hash == content_hash))
    if row is None:
        return None
    vecs = _rows(row.vector, dim)
    return None if vecs is None else vecs.astype(np.float32)


def save_embeddings(library: Library, model_id: str, hashes: Sequence[str], vectors: np.ndarray) -> None:
    """Commit one batch (float16, unit length) through the catalog writer; the rows of a hash that
    repeats (a video's frames) go into its one blob, in order."""
    blobs = np.asarray(vectors, dtype=np.float16)
    groups: dict[str, list[int]] = {}
    for i, h in enumerate(hashes):
        groups.setdefault(h, []).append(i)
    rows = [
        {"content_hash": h, "model_id": model_id, "vector": blobs[idx].tobytes()} for h, idx in groups.items()
    ]

    def _write() -> None:
        for i in range(0, len(rows), 200):
            Embedding.insert_many(rows[i : i + 200]).on_conflict_replace().execute()

    library.writer.call(_write)


# ------------------------------------------------------------------ the indexes
_indexes: dict[tuple[str, str], VectorIndex] = {}
_indexes_lock = threading.Lock()


def open_catalog_index(library: Library, model_id: str, dim: int, sync: bool = True) -> VectorIndex:
    """The (process-wide, shared) index of ``model_id``, reconciled with the catalog."""
    directory = library.paths.index / index_dir_name(model_id)
    key = (str(directory), model_id)
    with _indexes_lock:
        idx = _indexes.get(key)
        if idx is None or idx.dim != dim:
            idx = VectorIndex.load(directory, model_id, dim)
            _indexes[key] = idx
            sync = True
    if sync:
        sync_index(idx)
    return idx


def sync_index(idx: VectorIndex) -> tuple[int, int]:
    """Add what the catalog has and the index lacks, delete what the catalog lost; (added, removed)."""
    diff = idx.diff(catalog_hashes(idx.model_id))
    added = 0
    missing = sorted(diff.missing)
    for i in range(0, len(missing), 5000):
        hashes, vecs = load_vectors(idx.model_id, missing[i : i + 5000], idx.dim)
        if hashes:
            idx.add(hashes, vecs)
            added += len(set(hashes))
    removed = idx.remove(diff.extra)
    if added or removed:
        log.info("index %s: added %d, removed %d to match the catalog", idx.model_id, added, removed)
        idx.save()
    return added, removed


def forget_indexes() -> None:
    """Drop the process-wide index cache (tests, library switch)."""
    with _indexes_lock:
        for idx in _indexes.values():
            if idx.dirty:
                idx.save()
        _indexes.clear()


# -------------------------------------------------------------------- pipeline
@dataclass
class EmbedReport:
    model_id: str
    total: int = 0
    embedded: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    seconds: float = 0.0
    cancelled: bool = False

    @property
    def rate(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        parts = [
            f"embedded {self.embedded} of {self.total} in {self.seconds:.1f}s ({self.rate:.1f} photos/s)"
        ]
        if self.failed:
            parts.append(f"{len(self.failed)} unreadable")
        if self.cancelled:
            parts.append("cancelled: run again to resume")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "total": self.total,
            "embedded": self.embedded,
            "failed": [{"path": p, "reason": r} for p, r in self.failed],
            "seconds": round(self.seconds, 3),
            "rate": round(self.rate, 2),
            "cancelled": self.cancelled,
        }


@dataclass
class BatchResult:
    """What one batch came back as: unit vectors for the hashes that decoded, reasons for the rest."""

    hashes: list[str]  # one per row: a video's hash once per keyframe, its rows together
    vectors: np.ndarray  # float32 (len(hashes), dim)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


# waits for a submitted batch (honouring cancel) and returns it
BatchHandle = Callable[["JobControl | None"], BatchResult]


class BatchEncoder(Protocol):
    """Turns batches of pending photos into vectors: in this process or in a model process."""

    model_id: str
    embed_dim: int

    def submit(self, items: Sequence[PendingItem]) -> BatchHandle: ...

    def close(self) -> None: ...


def model_input(model: ClipModel, item: PendingItem, thumbnail: Path | None) -> np.ndarray:
    """The uint8 array ``model`` embeds for ``item``: from the scan's thumbnail when it is big enough
    (the model takes <= 256 px, as Immich does), else from a DCT-scaled decode of the original."""
    from PIL import Image as PILImage

    if thumbnail is not None:
        try:
            with PILImage.open(thumbnail) as im:
                im.draft("RGB", (model.image_size, model.image_size))
                im.load()
                return model.prepare(im.convert("RGB") if im.mode != "RGB" else im.copy())
        except (OSError, ValueError):
            pass  # no thumbnail yet (or a damaged one): decode the original
    return model.prepare(decode_for_model(item.path, model.image_size))


def model_inputs(model: ClipModel, item: PendingItem, thumbnail: Path | None) -> list[np.ndarray]:
    """What ``model`` embeds for ``item``: one array for a photo, one per keyframe for a video (whose
    thumbnail is its poster, used as is for a short clip)."""
    if is_video_path(item.path):
        # 3x the input, as for photos: the short side stays >= the input for usual aspect ratios
        return [model.prepare(img) for img in keyframes(item.path, model.image_size * 3, thumbnail)]
    return [model_input(model, item, thumbnail)]


def decode_batch(
    model: ClipModel, items: Sequence[tuple[PendingItem, Path | None]], pool: ThreadPoolExecutor
) -> list[Future[list[np.ndarray]]]:
    return [pool.submit(model_inputs, model, item, thumb) for item, thumb in items]


ENCODE_CHUNK = 64  # rows per forward: a batch of videos is up to 8x its photo count


def collect_batch(
    model: ClipModel, items: Sequence[PendingItem], futures: Sequence[Future[list[np.ndarray]]]
) -> BatchResult:
    """Wait for a batch's decodes, embed what decoded, report the rest (never fatal to the job)."""
    hashes: list[str] = []
    arrays: list[np.ndarray] = []
    failed: list[tuple[str, str]] = []
    for item, fut in zip(items, futures, strict=True):
        try:
            frames = fut.result()
        except Exception as exc:  # any unreadable file is reported, never fatal to the job
            failed.append((str(item.path), str(exc) or exc.__class__.__name__))
            continue
        hashes.extend([item.content_hash] * len(frames))
        arrays.extend(frames)
    if not arrays:
        return BatchResult([], np.zeros((0, model.embed_dim), dtype=np.float32), failed)
    vecs = np.concatenate(
        [model.encode_prepared(arrays[i : i + ENCODE_CHUNK]) for i in range(0, len(arrays), ENCODE_CHUNK)]
    )
    return BatchResult(hashes, vecs, failed)


class LocalEncoder:
    """Embeds in this process: decodes on a small thread pool (Pillow releases the GIL) while the
    previous batch runs through the model."""

    def __init__(
        self, model: ClipModel, thumbnails: ThumbnailCache, decode_workers: int | None = None
    ) -> None:
        self.model = model
        self.model_id = model.model_id
        self.embed_dim = model.embed_dim
        self.thumbnails = thumbnails
        self.use_thumbnails = model.image_size <= THUMB_SHORT_SIDE
        self._pool = ThreadPoolExecutor(
            decode_workers or max(1, usable_cores() // 2), thread_name_prefix="embed-decode"
        )

    def submit(self, items: Sequence[PendingItem]) -> BatchHandle:
        batch = [(it, self._thumb(it)) for it in items]
        futures = decode_batch(self.model, batch, self._pool)
        return lambda _control: collect_batch(self.model, items, futures)

    def _thumb(self, item: PendingItem) -> Path | None:
        return self.thumbnails.path_for(item.content_hash) if self.use_thumbnails else None

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class Embedder:
    """Embeds pending photos for one model; ``run`` is a long job (call it off the GUI thread).

    ``model`` is a loaded ``ClipModel`` (embedded in this process) or any ``BatchEncoder``
    (``desktop.core.semantic.model_process.ModelProcess`` embeds in the model process).
    """

    def __init__(
        self,
        library: Library,
        model: ClipModel | BatchEncoder,
        index: VectorIndex | None = None,
        batch_size: int = 32,
        decode_workers: int | None = None,
        prefetch: int = 2,
        save_every_s: float = 60.0,
    ) -> None:
        self.library = library
        # an encoder made here is closed here; one passed in (a shared model process) is the caller's
        self._owned = isinstance(model, ClipModel)
        self.encoder: BatchEncoder = (
            LocalEncoder(model, library.thumbnails, decode_workers) if isinstance(model, ClipModel) else model
        )
        self.model_id = self.encoder.model_id
        self.index = index
        self.batch_size = max(1, batch_size)
        self.prefetch = max(1, prefetch)
        self.save_every_s = save_every_s

    def run(self, control: JobControl | None = None, limit: int | None = None) -> EmbedReport:
        items = pending_items(self.model_id, limit)
        report = EmbedReport(self.model_id, total=len(items))
        t0 = time.perf_counter()
        last_save = t0
        if control is not None:
            control.report(0, report.total, force=True)
        batches = [items[i : i + self.batch_size] for i in range(0, len(items), self.batch_size)]
        queue: deque[tuple[list[PendingItem], BatchHandle]] = deque()
        done = 0
        try:
            nxt = iter(batches)

            def submit_next() -> None:
                batch = next(nxt, None)
                if batch is not None:
                    queue.append((batch, self.encoder.submit(batch)))

            for _ in range(self.prefetch):
                submit_next()
            while queue:
                if control is not None:
                    control.checkpoint()
                batch, handle = queue.popleft()
                submit_next()  # the next batch decodes while this one runs through the model
                result = handle(control)
                report.failed.extend(result.failed)
                if result.hashes:
                    save_embeddings(self.library, self.model_id, result.hashes, result.vectors)
                    if self.index is not None:
                        self.index.add(result.hashes, result.vectors)
                    report.embedded += len(set(result.hashes))
                done += len(batch)
                if control is not None:
                    control.report(done, report.total)
                now = time.perf_counter()
                if self.index is not None and now - last_save > self.save_every_s:
                    self.index.save()
                    last_save = now
        except Cancelled:
            report.cancelled = True
        finally:
            if self._owned:
                self.encoder.close()
            report.seconds = time.perf_counter() - t0
            if self.index is not None and self.index.dirty:
                self.index.save()
        if control is not None and not report.cancelled:
            control.report(done, report.total, force=True)
        return report


ProgressFn = Callable[[int, int], None]
