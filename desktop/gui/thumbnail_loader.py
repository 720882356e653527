"""Lazy thumbnails for the grid: decoded off the GUI thread, kept in a bounded LRU.

The delegate asks ``image(hash, source, size)`` while painting; a hit returns a
``QImage`` already scaled for the cell, a miss returns ``None`` (the delegate
paints a placeholder) and queues a load. Only painted cells ask, so only what
is visible is loaded; when the view scrolls it calls ``drop_pending()`` so
cells that flew past are never decoded, and the queue is served newest first
so what the person looks at now comes before what they looked at a moment
ago. Workers read the scanner's JPEG from the on-disk cache with Pillow's
draft mode (libjpeg DCT scaling), remaking it from the original only when the
cache lost it. ``QImage`` (not ``QPixmap``) is handed over because only QImage
may be created outside the GUI thread.

The worker also does what painting would otherwise do every frame: it scales
to the cell's exact pixel size and, for square cells, crops the middle square
and rounds its corners, so a cell paints with one unscaled blit. Scaled
drawing through a clip path cost the GUI thread ~0.5 ms a cell, and under a
busy scan that turned into frames of 60-100 ms. The pixel work is Pillow's
because Pillow releases the GIL while it works; Qt's image calls hold it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path

from PIL import Image, ImageDraw
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

from desktop.core.thumbnails import ThumbnailCache, ensure_thumbnail

log = logging.getLogger(__name__)

FAILED = "failed"  # sentinel returned for a thumbnail that cannot be made
FIT, SQUARE = "fit", "square"  # whole photo within size×size; middle square of exactly size×size
CORNER_RADIUS = 3.0  # of a SQUARE cell image, in logical pixels

Key = tuple[str, int, str]


def _open_cached(cache: ThumbnailCache, content_hash: str, source: str, size: int) -> Image.Image:
    """The cached thumbnail as RGB, decoded at the smallest DCT scale that still covers ``size``."""
    path = cache.path_for(content_hash)
    if not cache.has(content_hash):
        path = ensure_thumbnail(cache, content_hash, Path(source))
    try:
        with Image.open(path) as im:
            # the scanner already applied the EXIF orientation to the cached thumbnail
            im.draft("RGB", (size, size))
            return im.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise OSError(f"cannot decode thumbnail {path}: {exc}") from exc


_masks: dict[tuple[int, float], Image.Image] = {}
_masks_lock = threading.Lock()


def _corner_mask(size: int, radius: float) -> Image.Image:
    """An antialiased rounded-square alpha mask (drawn 4x larger, then reduced), made once per size."""
    key = (size, radius)
    with _masks_lock:
        mask = _masks.get(key)
    if mask is None:
        big = Image.new("L", (size * 4, size * 4), 0)
        ImageDraw.Draw(big).rounded_rectangle(
            (0, 0, size * 4 - 1, size * 4 - 1), radius=max(0.0, radius * 4), fill=255
        )
        mask = big.resize((size, size), Image.Resampling.BOX)
        with _masks_lock:
            if len(_masks) > 8:
                _masks.clear()
            _masks[key] = mask
    return mask


def _to_qimage(im: Image.Image) -> QImage:
    """An RGBA Pillow image as a premultiplied ``QImage`` (the raster engine's native format)."""
    data = im.tobytes("raw", "BGRa")
    img = QImage(data, im.width, im.height, im.width * 4, QImage.Format.Format_ARGB32_Premultiplied)
    return img.copy()  # own the pixels: ``data`` is freed when this returns


def load_thumbnail(cache: ThumbnailCache, content_hash: str, source: str, size: int) -> QImage:
    """The cached thumbnail of ``content_hash`` scaled to fit ``size``×``size`` (any thread)."""
    im = _open_cached(cache, content_hash, source, size)
    if im.width > size or im.height > size:
        im.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=None)
    return _to_qimage(im.convert("RGBA"))


def square_cell(im: Image.Image, size: int, radius: float) -> QImage:
    """The middle square of ``im`` at exactly ``size``×``size`` with rounded corners (any thread)."""
    w, h = im.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    im = im.crop((left, top, left + side, top + side))
    if side != size:
        im = im.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=None)
    im.putalpha(_corner_mask(size, radius))
    return _to_qimage(im)


def load_cell(
    cache: ThumbnailCache, content_hash: str, source: str, size: int, shape: str, radius: float
) -> QImage:
    """The image a grid cell paints, ready to blit: ``FIT`` (whole photo) or ``SQUARE`` (cropped).

    The pixel work is Pillow's, which lets go of the GIL while it decodes and
    resizes; Qt's QImage and QPainter calls hold it throughout, and two
    loader threads doing them starved the GUI thread while scrolling.
    """
    if shape != SQUARE:
        return load_thumbnail(cache, content_hash, source, size)
    return square_cell(_open_cached(cache, content_hash, source, size), size, radius)


class _Signals(QObject):
    done = Signal(object, object)  # key, QImage
    failed = Signal(object, str)  # key, reason


class _Worker(QRunnable):
    """Serves the newest queued request, whichever it is (LIFO across all workers)."""

    def __init__(self, loader: ThumbnailLoader) -> None:
        super().__init__()
        self.loader = loader
        self.setAutoDelete(True)

    def run(self) -> None:
        item = self.loader._pop()
        if item is None:
            return
        key, source = item
        try:
            radius = CORNER_RADIUS * self.loader.device_pixel_ratio
            img = load_cell(self.loader.cache, key[0], source, key[1], key[2], radius)
        except Exception as exc:  # a bad file must only cost its own cell
            self.loader._signals.failed.emit(key, str(exc))
        else:
            self.loader._signals.done.emit(key, img)


class ThumbnailLoader(QObject):
    """Thumbnail images for the grid, loaded lazily by a small pool of its own."""

    ready = Signal(str)  # content hash whose image just arrived (or failed)

    def __init__(
        self,
        cache: ThumbnailCache,
        max_threads: int = 2,
        max_bytes: int = 160 * 1024 * 1024,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.cache = cache
        self.max_bytes = max_bytes
        # separate from the JobRunner: thumbnails must never wait behind a scan
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._lru: OrderedDict[Key, QImage] = OrderedDict()
        self._latest: dict[str, Key] = {}  # a hash's newest image, shown scaled while another size loads
        self.device_pixel_ratio = 1.0
        self._bytes = 0
        self._failed: dict[str, str] = {}
        self._lock = threading.Lock()
        self._queue: OrderedDict[Key, str] = OrderedDict()  # newest at the end
        self._in_flight: set[Key] = set()
        self._closed = False
        self.loaded_count = 0  # for tests and the benchmark
        self._signals = _Signals()
        self._signals.done.connect(self._on_done)
        self._signals.failed.connect(self._on_failed)

    # -------------------------------------------------------------- GUI side
    def image(
        self, content_hash: str | None, source: str, size: int, shape: str = FIT
    ) -> QImage | str | None:
        """The image for a cell, ``FAILED``, or ``None`` after queueing a load.

        ``SQUARE`` images are exactly ``size`` pixels wide; until one has
        loaded, another size of the same photo is returned (the caller scales
        it), so changing the zoom never flashes placeholders.
        """
        if not content_hash:
            return FAILED
        if content_hash in self._failed:
            return FAILED
        key = (content_hash, size, shape)
        img = self._lru.get(key)
        if img is not None:
            self._lru.move_to_end(key)
            return img
        self._request(key, source)
        other = self._latest.get(content_hash)
        return self._lru.get(other) if other is not None else None

    def failure(self, content_hash: str) -> str | None:
        return self._failed.get(content_hash)

    def drop_pending(self) -> None:
        """Forget requests not started yet (the cells scrolled away; painting asks again)."""
        with self._lock:
            self._queue.clear()

    def pending(self) -> int:
        with self._lock:
            return len(self._queue) + len(self._in_flight)

    def clear(self) -> None:
        self.drop_pending()
        self._lru.clear()
        self._latest.clear()
        self._bytes = 0
        self._failed.clear()

    def forget(self, content_hash: str) -> None:
        """Drop a thumbnail that changed on disk (e.g. the file was edited)."""
        for key in [k for k in self._lru if k[0] == content_hash]:
            self._bytes -= self._lru.pop(key).sizeInBytes()
        self._latest.pop(content_hash, None)
        self._failed.pop(content_hash, None)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._closed = True
        self.drop_pending()
        self.pool.waitForDone(timeout_ms)

    def wait(self, timeout_ms: int = 5000) -> bool:
        return bool(self.pool.waitForDone(timeout_ms))

    # -------------------------------------------------------------- internals
    def _request(self, key: Key, source: str) -> None:
        if self._closed:
            return
        with self._lock:
            if key in self._in_flight:
                return
            if key in self._queue:
                self._queue.move_to_end(key)
                return
            self._queue[key] = source
        self.pool.start(_Worker(self))

    def _pop(self) -> tuple[Key, str] | None:
        with self._lock:
            if not self._queue:
                return None
            key, source = self._queue.popitem(last=True)
            self._in_flight.add(key)
            return key, source

    def _on_done(self, key: Key, img: QImage) -> None:
        with self._lock:
            self._in_flight.discard(key)
        self._lru[key] = img
        self._latest[key[0]] = key
        self._bytes += img.sizeInBytes()
        while self._bytes > self.max_bytes and len(self._lru) > 1:
            old_key, old = self._lru.popitem(last=False)
            self._bytes -= old.sizeInBytes()
            if self._latest.get(old_key[0]) == old_key:
                del self._latest[old_key[0]]
        self.loaded_count += 1
        self.ready.emit(key[0])

    def _on_failed(self, key: Key, reason: str) -> None:
        with self._lock:
            self._in_flight.discard(key)
        log.info("no thumbnail for %s: %s", key[0], reason)
        self._failed[key[0]] = reason
        self.ready.emit(key[0])


__all__ = [
    "FAILED",
    "FIT",
    "SQUARE",
    "ThumbnailLoader",
    "load_cell",
    "load_thumbnail",
    "square_cell",
]
