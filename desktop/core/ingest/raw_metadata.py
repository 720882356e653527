"""A camera RAW's metadata for the catalog: its own EXIF, completed by what LibRaw read.

Most RAWs (CR2, NEF, ARW, DNG, ORF, RW2, PEF, SRW, ...) are TIFF files, and
``read_metadata`` reads their EXIF straight from the file's bytes with
exifread (date taken, camera, lens, exposure, GPS). What only LibRaw knows
replaces or completes it: the size of the developed picture (``rawpy``'s
``sizes``, not the size of a preview), the orientation Shoebox applied, and
the capture time, exposure and lens LibRaw parsed itself.

RAWs exifread cannot walk (CR3 is ISO-BMFF; RAF, MRW and X3F have their own
containers) give it no EXIF at all; their make, model, dates, exposure and GPS
are read with exiv2 instead (``exiv2_exif``), which LibRaw's fields then complete.
"""

from __future__ import annotations

from PIL import Image

from desktop.core.imaging.raw import RawInfo
from desktop.core.ingest import exiv2_exif
from desktop.core.ingest.metadata import (
    SOURCE_FILE,
    SOURCE_ORIGINAL,
    PhotoMetadata,
    fill_from_exif,
    read_metadata,
)

__all__ = ["read_raw_metadata"]


def read_raw_metadata(data: bytes, info: RawInfo, format_name: str, file_mtime: float) -> PhotoMetadata:
    """Everything the catalog stores about the RAW whose bytes are ``data``; never raises on bad metadata."""
    # A 1×1 stand-in image carries no EXIF, XMP or ICC of its own, so read_metadata reads the EXIF
    # from the file's bytes; its size and format are replaced below by the RAW's.
    meta = read_metadata(data, Image.new("L", (1, 1)), file_mtime)
    if meta.camera_make is None and meta.camera_model is None:
        # exifread found no EXIF (a CR3, RAF, MRW or X3F): exiv2 reads those containers
        values = exiv2_exif.exif_values(data)
        if values:
            fill_from_exif(meta, values, file_mtime)
    meta.format = format_name
    meta.width, meta.height = info.width, info.height
    meta.orientation = info.orientation
    if meta.taken_at_source == SOURCE_FILE and info.taken is not None:
        meta.taken_local = info.taken.isoformat(timespec="microseconds")
        meta.taken_at = info.taken.isoformat(timespec="seconds")
        meta.taken_at_source = SOURCE_ORIGINAL
    meta.iso = meta.iso or info.iso
    meta.exposure_time = meta.exposure_time or info.exposure_time
    meta.f_number = meta.f_number or info.f_number
    meta.focal_length = meta.focal_length or info.focal_length
    meta.lens = meta.lens or info.lens
    return meta
