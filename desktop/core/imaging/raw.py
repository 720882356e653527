"""Camera RAW files through LibRaw (rawpy): what they are, and their picture.

A RAW's picture is taken from the largest JPEG (or bitmap) preview the camera
embedded, turned by the RAW's own orientation: LibRaw hands embedded previews
out as stored, and many are stored sideways (Immich #12720). When there is no
preview, or it is smaller than what is asked for, the sensor data is developed
at half size instead; that costs from a tenth of a second to a second, which
is why the thumbnail and preview caches (keyed by content hash) keep the
result and it is done once per RAW.

``RAW_FORMATS`` lists the RAW formats LibRaw reads here, next to the decoder;
``desktop.core.ingest.formats`` registers them as its RAW kind, and everything
else asks that registry. This layer sits below the registry, so the path-based
loaders (``decode.load_upright``, the thumbnail cache) use ``reads_as_raw``.

A RAW LibRaw cannot open (stripped, truncated, or not a RAW at all) raises
``ImageError`` with a reason a person can read.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Final

import numpy as np
from PIL import Image

from desktop.core.imaging.decode import ImageError, _photo_format_by_magic, _unidentified_reason, open_image

if TYPE_CHECKING:
    import rawpy

__all__ = [
    "RAW_EXTENSIONS",
    "RAW_FORMATS",
    "VIEW_SHORT_SIDE",
    "RawFile",
    "RawInfo",
    "is_raw_name",
    "reads_as_raw",
]

RAW_FORMATS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("Canon CR2", (".cr2",)),
    ("Canon CR3", (".cr3",)),
    ("Nikon NEF", (".nef",)),
    ("Nikon NRW", (".nrw",)),
    ("Sony ARW", (".arw",)),
    ("Sony SR2", (".sr2",)),
    ("Fujifilm RAF", (".raf",)),
    ("Olympus ORF", (".orf",)),
    ("Panasonic RW2", (".rw2",)),
    ("Pentax PEF", (".pef",)),
    ("DNG", (".dng",)),
    ("Samsung SRW", (".srw",)),
    ("Hasselblad 3FR", (".3fr",)),
    ("Phase One IIQ", (".iiq",)),
    ("Epson ERF", (".erf",)),
    ("Kodak KDC", (".kdc",)),
    ("Minolta MRW", (".mrw",)),
    ("Sigma X3F", (".x3f",)),
)
"""(name people know it by, extensions) of every RAW format Shoebox reads."""

RAW_EXTENSIONS: Final = frozenset(ext for _name, exts in RAW_FORMATS for ext in exts)

VIEW_SHORT_SIDE: Final = 1440
"""An embedded preview with a shorter short side is too small for the viewer: develop the RAW instead."""

# LibRaw's ``flip`` (dcraw's bit field: 4 swaps the axes, 2 mirrors vertically, 1 horizontally)
# -> the EXIF orientation that describes the same turn; dcraw maps EXIF to flip with "50132467".
_FLIP_TO_ORIENTATION: Final = {0: 1, 1: 2, 3: 3, 2: 4, 4: 5, 6: 6, 7: 7, 5: 8}


def is_raw_name(name: str | os.PathLike[str]) -> bool:
    """True when a file name's extension (any case) is one of the RAW formats'."""
    return os.path.splitext(name)[1].lower() in RAW_EXTENSIONS


def reads_as_raw(name: str | os.PathLike[str], data: bytes) -> bool:
    """True when ``data``, the bytes of the file ``name``, are for LibRaw rather than Pillow.

    A RAW's extension is not enough: a JPEG, PNG or HEIF under a RAW name is
    read by Pillow for what it is, as a PNG named ``.jpg`` is. TIFF stays with
    LibRaw, because most RAWs are TIFF files.
    """
    if not is_raw_name(name):
        return False
    fmt = _photo_format_by_magic(data)
    return fmt is None or fmt == "TIFF"


@dataclass(frozen=True)
class RawInfo:
    """What LibRaw says about a RAW without developing it."""

    width: int  # of the developed picture, as displayed (the orientation applied)
    height: int
    orientation: int  # EXIF 1..8, from LibRaw's flip
    taken: dt.datetime | None = None  # LibRaw's capture time (naive local), for RAWs exifread cannot read
    iso: int | None = None
    exposure_time: float | None = None  # seconds
    f_number: float | None = None
    focal_length: float | None = None  # mm
    lens: str | None = None


def _libraw_reason(exc: BaseException, data: bytes) -> str:
    message = exc.args[0] if exc.args else type(exc).__name__
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    import rawpy

    # Not a RAW at all: say what it is when we can tell (text, a PDF, a video...). A file that starts
    # like a TIFF is left to LibRaw's word: most RAWs are TIFF files, so a broken one starts like that.
    if _photo_format_by_magic(data) is None:
        other = _unidentified_reason(data)
        if other.startswith("not an image:") and "unrecognised" not in other:
            return other
    if isinstance(exc, rawpy.LibRawIOError):
        text = f"{text}; the file is probably truncated"
    return f"not a readable RAW file (LibRaw: {text})"


class RawFile:
    """An opened RAW (header parsed, nothing decoded); use as a context manager."""

    def __init__(self, data: bytes) -> None:
        if not data:
            raise ImageError("empty file (0 bytes)")
        # Imported here, not at the top: light CLI commands (``status``, ``ls``) import the imaging
        # package through the formats registry and never open a RAW, so LibRaw's load is not theirs to pay.
        import rawpy

        self._data = data
        self._raw: rawpy.RawPy = rawpy.RawPy()
        try:
            self._raw.open_buffer(io.BytesIO(data))
            self.info = self._read_info()
        except rawpy.LibRawError as exc:
            self._raw.close()
            raise ImageError(_libraw_reason(exc, data)) from None

    def __enter__(self) -> RawFile:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._raw.close()

    def _read_info(self) -> RawInfo:
        sizes = self._raw.sizes
        orientation = _FLIP_TO_ORIENTATION.get(int(sizes.flip), 1)
        width, height = int(sizes.width), int(sizes.height)
        if width <= 0 or height <= 0:
            raise ImageError(f"not a readable RAW file: LibRaw says it is {width}×{height} pixels")
        if orientation >= 5:
            width, height = height, width
        other = self._raw.other
        taken = other.timestamp if isinstance(other.timestamp, dt.datetime) else None
        lens = self._raw.lens.model.strip() or None
        return RawInfo(
            width=width,
            height=height,
            orientation=orientation,
            taken=taken if taken is not None and taken.year > 1970 else None,
            iso=round(other.iso_speed) if other.iso_speed > 0 else None,
            exposure_time=other.shutter_speed if other.shutter_speed > 0 else None,
            f_number=other.aperture if other.aperture > 0 else None,
            focal_length=other.focal_length if other.focal_length > 0 else None,
            lens=lens,
        )

    def picture(self, short_side: int) -> tuple[Image.Image, int]:
        """A picture whose short side is at least ``short_side`` where the RAW allows, and the orientation still to apply.

        The largest embedded preview when it is big enough (opened, not yet
        decoded: JPEG draft decoding still applies), else the RAW developed at
        half size (already upright, so the orientation returned is 1). Raises
        ``ImageError`` when neither can be read.
        """
        preview = self._preview()
        if preview is not None and min(preview.size) >= short_side:
            return preview, self.info.orientation
        try:
            developed = self._develop()
        except ImageError:
            if preview is not None:  # a small preview beats no picture
                return preview, self.info.orientation
            raise
        if preview is not None and min(preview.size) >= min(developed.size):
            return preview, self.info.orientation  # the half-size development came out smaller still
        return developed, 1

    def _preview(self) -> Image.Image | None:
        import rawpy

        try:
            thumb = self._raw.extract_thumb()
        except rawpy.LibRawError:  # no preview, or one LibRaw cannot hand out: develop instead
            return None
        if thumb.format == rawpy.ThumbFormat.JPEG and isinstance(thumb.data, bytes):
            try:
                return open_image(thumb.data)
            except ImageError:  # a damaged preview: develop the sensor data instead
                return None
        pixels = np.asarray(thumb.data)
        if pixels.ndim == 3 and pixels.shape[2] == 3 and pixels.size:
            return Image.fromarray(pixels.astype(np.uint8, copy=False), "RGB")
        return None

    def _develop(self) -> Image.Image:
        import rawpy

        try:
            rgb = self._raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)
        except rawpy.LibRawError as exc:
            raise ImageError(_libraw_reason(exc, self._data)) from None
        return Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB")
