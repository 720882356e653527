"""Lazy thumbnails for the grid: decoded off the GUI thread, kept in a bounded LRU.

The delegate asks ``image(hash, source, size)`` while painting; a hit returns a
``QImage`` already scaled for the cell, a miss returns ``None`` (the delegate
paints a placeholder) and queues a load. Only painted cells ask, so only what
is visible is loaded; when the view scrolls it calls ``drop_pending()`` so
cells that flew past are never decoded, and the queue is served newest first
so what the person looks at now comes before what they looked at a moment
ago. Workers read the scanner's JPEG from the on-disk cache with
``QImageReader`` scaled decoding (libjpeg DCT scaling), remaking it from the
original only when the cache lost it. ``QImage`` (not ``QPixmap``) is used
because only QImage may be created outside the GUI thread.

A photo turned in the catalog (``Photo.rotation``) is turned here, on the
worker, and its images are kept under their own key: the cached thumbnail
stays the upright-per-EXIF one, shared by every turn of the same content.

For the grid's square cells the worker also does what painting would
otherwise do every frame: crop the middle square, scale it to the cell's exact
pixel size and round its corners, so a cell paints with one unscaled blit.
Scaled drawing through a clip path cost the GUI thread ~0.5 ms a cell, and
under a busy scan that turned into frames of 60-100 ms. (Pillow was tried for
this work and measured worse for the GUI thread: 0.72 ms a cell against Qt's
0.47, and more of it holding the GIL.)
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QObject,
    QRect,
    QRectF,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QImage, QImageReader, QPainter, QPainterPath, QTransform

from desktop.core.imaging.thumbnails import ThumbnailCache, remake_thumbnail

log = logging.getLogger(__name__)

FAILED = "failed"  # sentinel returned for a thumbnail that cannot be made
FIT, SQUARE = "fit", "square"  # whole photo within size×size; middle square of exactly size×size
CORNER_RADIUS = 3.0  # of a SQUARE cell image, in logical pixels

Key = tuple[str, int, str, int]  # content hash, pixel size, shape, clockwise quarter turns in degrees


def turned(img: QImage, rotation: int) -> QImage:
    """``img`` turned clockwise by ``rotation`` degrees (a multiple of 90; 0 returns it as is)."""
    degrees = rotation % 360
    if not degrees:
        return img
    return img.transformed(QTransform().rotate(degrees), Qt.TransformationMode.FastTransformation)


def _reader(cache: ThumbnailCache, content_hash: str, source: str) -> tuple[QImageReader, QBuffer | None]:
    """A reader of the cached thumbnail, or of one made now from the original when the cache lost it
    (or never had room for it: then it is read from memory). Keep the buffer while reading."""
    if cache.has(content_hash):
        return QImageReader(str(cache.path_for(content_hash))), None
    buffer = QBuffer()
    buffer.setData(QByteArray(remake_thumbnail(cache, content_hash, Path(source))))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    return QImageReader(buffer), buffer


def load_thumbnail(cache: ThumbnailCache, content_hash: str, source: str, size: int) -> QImage:
    """Decode the cached thumbnail of ``content_hash`` to fit ``size``×``size`` (any thread)."""
    reader, _buffer = _reader(cache, content_hash, source)
    # the scanner already applied the EXIF orientation to the cached thumbnail
    reader.setAutoTransform(False)
    native = reader.size()
    if native.isValid() and (native.width() > size or native.height() > size):
        reader.setScaledSize(native.scaled(QSize(size, size), Qt.AspectRatioMode.KeepAspectRatio))
    img = reader.read()
    if img.isNull():
        raise OSError(f"cannot decode the thumbnail of {source}: {reader.errorString()}")
    return img


def square_cell(img: QImage, size: int, radius: float) -> QImage:
    """The middle square of ``img`` at exactly ``size``×``size`` with rounded corners (any thread)."""
    side = min(img.width(), img.height())
    src = img.copy(QRect((img.width() - side) // 2, (img.height() - side) // 2, side, side))
    if side != size:
        src = src.scaled(
            size, size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    out = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    out.fill(Qt.GlobalColor.transparent)
    p = QPainter(out)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    clip = QPainterPath()
    clip.addRoundedRect(QRectF(0, 0, size, size), radius, radius)
    p.setClipPath(clip)
    p.drawImage(0, 0, src)
    p.end()
    return out


def load_cell(
    cache: ThumbnailCache,
    content_hash: str,
    source: str,
    size: int,
    shape: str,
    radius: float,
    rotation: int = 0,
) -> QImage:
    """The image a grid cell paints: ``FIT`` (whole photo, size rounded to a step) or ``SQUARE``,
    turned clockwise by ``rotation`` degrees."""
    if shape != SQUARE:
        img = turned(load_thumbnail(cache, content_hash, source, size), rotation)
        return img.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    reader, _buffer = _reader(cache, content_hash, source)
    reader.setAutoTransform(False)
    native = reader.size()
    if native.isValid() and min(native.width(), native.height()) > size:
        # decode straight to the smallest size that still covers the square (libjpeg DCT scaling)
        reader.setScaledSize(native.scaled(QSize(size, size), Qt.AspectRatioMode.KeepAspectRatioByExpanding))
    img = reader.read()
    if img.isNull():
        raise OSError(f"cannot decode the thumbnail of {source}: {reader.errorString()}")
    return square_cell(turned(img, rotation), size, radius)


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
            img = load_cell(self.loader.cache, key[0], source, key[1], key[2], radius, key[3])
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
        # a photo's newest image (by hash and turn), shown scaled while another size loads
        self._latest: dict[tuple[str, int], Key] = {}
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
        self, content_hash: str | None, source: str, size: int, shape: str = FIT, rotation: int = 0
    ) -> QImage | str | None:
        """The image for a cell, ``FAILED``, or ``None`` after queueing a load.

        ``SQUARE`` images are exactly ``size`` pixels wide; until one has
        loaded, another size of the same photo is returned (the caller scales
        it), so changing the zoom never flashes placeholders. A photo turned
        since its image loaded gets a placeholder, never the old turn.
        """
        if not content_hash or content_hash in self._failed:
            return FAILED
        img = self.cached(content_hash, size, shape, rotation)
        if img is not None:
            return img
        self._request((content_hash, size, shape, rotation % 360), source)
        other = self._latest.get((content_hash, rotation % 360))
        return self._lru.get(other) if other is not None else None

    def cached(
        self, content_hash: str | None, size: int, shape: str = FIT, rotation: int = 0
    ) -> QImage | None:
        """The image at exactly this size (and turn) if it is in memory; never queues a load."""
        if not content_hash:
            return None
        key = (content_hash, size, shape, rotation % 360)
        img = self._lru.get(key)
        if img is not None:
            self._lru.move_to_end(key)
        return img

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
        for latest in [k for k in self._latest if k[0] == content_hash]:
            del self._latest[latest]
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
        self._latest[(key[0], key[3])] = key
        self._bytes += img.sizeInBytes()
        while self._bytes > self.max_bytes and len(self._lru) > 1:
            old_key, old = self._lru.popitem(last=False)
            self._bytes -= old.sizeInBytes()
            if self._latest.get((old_key[0], old_key[3])) == old_key:
                del self._latest[(old_key[0], old_key[3])]
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
    "turned",
]
