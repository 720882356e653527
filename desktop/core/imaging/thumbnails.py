"""On-disk caches of small pictures, keyed by the photo's content hash.

``ThumbnailCache`` holds the grid thumbnails the scanner writes (short side
256, see ``imaging.thumbnail_jpeg``); ``PreviewCache`` holds the larger
pictures the viewer shows, made on first view. Both are pure caches: anything
in them can be deleted and made again from the original file, so writes are
atomic (a reader never sees half a JPEG) but not fsynced (a power cut costs at
worst a thumbnail that gets remade).

Files are sharded by the first two byte pairs of the hash (``ab/cd/abcd...jpg``)
so no directory grows beyond a few hundred entries even for 10^6 photos.

A full disk never costs a photo: thumbnails stop being stored while fewer
than ``RESERVE_BYTES`` are free (the catalog, often on the same disk, gets
that room), and a photo without one gets it made from the original when it
is shown, stored once there is room again.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Final

from PIL import Image

from desktop.core.imaging import raw, video
from desktop.core.imaging.decode import (
    THUMB_SHORT_SIDE,
    ImageError,
    decode_upright,
    load_upright,
    open_image,
    thumbnail_jpeg,
)

__all__ = [
    "PREVIEWS_DIR",
    "THUMBNAILS_DIR",
    "PreviewCache",
    "ThumbnailCache",
    "ensure_thumbnail",
    "remake_thumbnail",
    "thumbnails_full_message",
]

log = logging.getLogger(__name__)

# The two caches' folder names inside the picture cache folder (``Library.picture_cache_dir``).
THUMBNAILS_DIR: Final = "thumbnails"
PREVIEWS_DIR: Final = "previews"

_HASH_RE: Final = re.compile(r"[0-9a-f]{4,128}")
_TEMP_PREFIX: Final = ".tmp-"
_JPEG_SOI: Final = b"\xff\xd8"
RESERVE_BYTES = 16 * 1024**2  # left free for the catalog: its rows matter, thumbnails can be remade
_FULL_ERRNOS: Final = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


def thumbnails_full_message(folder: Path) -> str:
    """The one sentence people see when thumbnails could not be stored for want of space."""
    return (
        f"The disk holding the thumbnail cache ({folder}) is (nearly) full, so some photos were catalogued "
        "without thumbnails: free some space on it or move the cache to another disk (Settings → Storage → Move…); "
        "the missing thumbnails are made again as the photos are shown."
    )


def _free_bytes(folder: Path) -> int | None:
    """Free space on the disk that holds ``folder`` (made or not yet); None when it cannot be told."""
    for candidate in (folder, *folder.parents):
        try:
            return shutil.disk_usage(candidate).free
        except FileNotFoundError:
            continue
        except OSError:
            return None
    return None


class _ShardedStore:
    """Files named by content hash under ``root/ab/cd/``, written atomically."""

    suffix = ".jpg"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, content_hash: str) -> Path:
        """Where the file for ``content_hash`` lives (whether or not it exists)."""
        # The hash becomes a file name: refuse anything that could climb out of root.
        content_hash = content_hash.lower()
        if not _HASH_RE.fullmatch(content_hash):
            raise ValueError(f"not a hex content hash: {content_hash!r}")
        return self.root / content_hash[0:2] / content_hash[2:4] / f"{content_hash}{self.suffix}"

    def _write_file(self, path: Path, data: bytes) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX, suffix=self.suffix)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            # Atomic on POSIX and Windows; two processes writing the same hash both succeed.
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return path

    def _read_file(self, path: Path) -> bytes | None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        return data if data.startswith(_JPEG_SOI) else None

    def size_bytes(self) -> int:
        """Total size of the files in the store."""
        total = 0
        for dirpath, _dirnames, filenames in os.walk(self.root):
            for name in filenames:
                with contextlib.suppress(OSError):
                    total += os.stat(os.path.join(dirpath, name)).st_size
        return total

    def files(self) -> list[Path]:
        """Every stored file (not half-written temporaries)."""
        out: list[Path] = []
        for dirpath, _dirnames, filenames in os.walk(self.root):
            out.extend(Path(dirpath) / n for n in filenames if not n.startswith(_TEMP_PREFIX))
        return out

    def clear(self) -> None:
        """Delete everything in the store; the root folder itself stays."""
        if not self.root.is_dir():
            return
        for entry in self.root.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    entry.unlink()


class ThumbnailCache(_ShardedStore):
    """Grid thumbnails, one JPEG per content hash."""

    def has(self, content_hash: str) -> bool:
        try:
            return self.path_for(content_hash).stat().st_size > 0
        except OSError:
            return False

    def write(self, content_hash: str, jpeg: bytes) -> Path:
        """Store ``jpeg`` for ``content_hash`` (replacing any previous one) and return its path."""
        return self._write_file(self.path_for(content_hash), jpeg)

    def write_if_room(self, content_hash: str, jpeg: bytes) -> bool:
        """Store ``jpeg`` unless the cache's disk is (nearly) full; False when it was not stored."""
        try:
            free = _free_bytes(self.root)
            if free is not None and free < RESERVE_BYTES + len(jpeg):
                return False
            self.write(content_hash, jpeg)
        except OSError as exc:
            if exc.errno in _FULL_ERRNOS:
                return False
            raise
        return True

    def read(self, content_hash: str) -> bytes | None:
        """The thumbnail's JPEG bytes, or None when missing (or not a JPEG: treat as missing)."""
        return self._read_file(self.path_for(content_hash))

    def remove(self, content_hash: str) -> None:
        self.path_for(content_hash).unlink(missing_ok=True)


class PreviewCache(_ShardedStore):
    """Viewer-sized pictures (long side ``long_side``), made lazily from the original on first view."""

    def __init__(self, root: Path, long_side: int = 2048, quality: int = 90) -> None:
        super().__init__(root)
        self.long_side = long_side
        self.quality = quality

    def path_for(self, content_hash: str) -> Path:
        # The size is part of the name so a changed long_side setting never serves stale sizes.
        base = super().path_for(content_hash)
        return base.with_name(f"{base.stem}_{self.long_side}{self.suffix}")

    def get_or_make(self, content_hash: str, source: Path) -> Path:
        """Path of the preview for ``content_hash``, decoding ``source`` if it is not cached yet.

        Raises ``ImageError`` when ``source`` cannot be read or decoded.
        """
        path = self.path_for(content_hash)
        with contextlib.suppress(OSError):
            if path.stat().st_size > 0:
                return path
        picture = load_upright(source, max_side=self.long_side)
        buf = io.BytesIO()
        picture.save(buf, "JPEG", quality=self.quality)
        return self._write_file(path, buf.getvalue())

    def remove(self, content_hash: str) -> None:
        self.path_for(content_hash).unlink(missing_ok=True)


def remake_thumbnail(cache: ThumbnailCache, content_hash: str, source: Path) -> bytes:
    """The thumbnail's JPEG bytes made from ``source``, stored in the cache when its disk has room.

    Raises ``ImageError`` when ``source`` cannot be read or decoded.
    """
    jpeg = thumbnail_jpeg(_upright_thumbnail(Path(source)))
    try:
        if not cache.write_if_room(content_hash, jpeg):
            log.info("no room to store the thumbnail of %s; it is made again next time", source)
    except OSError as exc:  # an unwritable cache still shows the picture
        log.warning("could not store the thumbnail of %s: %s", source, exc)
    return jpeg


def ensure_thumbnail(cache: ThumbnailCache, content_hash: str, source: Path) -> Path:
    """The thumbnail's path, remaking it from ``source`` when it is missing (e.g. the cache was wiped).

    Raises ``ImageError`` when ``source`` cannot be read or decoded.
    """
    if cache.has(content_hash):
        return cache.path_for(content_hash)
    return cache.write(content_hash, thumbnail_jpeg(_upright_thumbnail(Path(source))))


def _upright_thumbnail(source: Path) -> Image.Image:
    """``source`` decoded at thumbnail size, upright; a RAW from its preview, a video from its poster."""
    if video.is_video_path(source):  # its header and one keyframe: never the whole (multi-GB) file
        return decode_upright(video.load_poster(source), None, THUMB_SHORT_SIDE)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise ImageError(f"cannot read the file: {exc.strerror or exc}") from None
    if raw.reads_as_raw(source, data):
        with raw.RawFile(data) as raw_file:
            picture, orientation = raw_file.picture(THUMB_SHORT_SIDE)
            return decode_upright(picture, orientation, THUMB_SHORT_SIDE)
    return decode_upright(open_image(data), None, THUMB_SHORT_SIDE)
