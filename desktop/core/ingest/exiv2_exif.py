"""EXIF of the camera RAWs exifread cannot walk (CR3, RAF, MRW, X3F), read with exiv2.

CR3 is ISO-BMFF (its EXIF sits in ``CMT1``..``CMT4`` boxes), RAF, MRW and X3F
have containers of their own; exiv2 (python-exiv2, libexiv2 bundled in its
wheels, built with BMFF support) reads them all. ``exif_values`` returns the
fields Shoebox stores keyed as ``metadata`` keys exifread's, so
``metadata.fill_from_exif`` turns either into the same catalog fields.

libexiv2 is not thread-safe. Scans call this from their worker processes (one
thread each) but also from the scanning thread for small batches, beside
whatever else of the app uses exiv2, so every call holds one process-wide lock.
"""

from __future__ import annotations

import logging
import threading
from fractions import Fraction
from typing import Any

from desktop.core.ingest.metadata import EXIF_KEYS, ExifValues

log = logging.getLogger(__name__)

LOCK = threading.Lock()  # libexiv2 is not thread-safe: one call at a time in this process
_MAX_VALUES = 8  # none of the stored fields has more (GPS: 3 rationals)


def _value(exiv2: Any, datum: Any) -> Any:
    """A datum as exifread hands the same tag out: text, or a list of numbers (Fractions for rationals)."""
    type_id = datum.typeId()
    types = exiv2.TypeId
    if type_id in (types.asciiString, types.undefined, types.comment):
        return str(datum.toString())
    count = min(int(datum.count()), _MAX_VALUES)
    if type_id in (types.unsignedRational, types.signedRational):
        out: list[Any] = []
        for i in range(count):
            num, den = datum.toRational(i)
            out.append(Fraction(num, den) if den else Fraction(0))
        return out
    return [int(datum.toInt64(i)) for i in range(count)]


def exif_values(data: bytes) -> ExifValues:
    """The stored EXIF fields of the file whose bytes are ``data``; empty when exiv2 cannot read it."""
    import exiv2  # loads libexiv2: only a scan of such a RAW needs it, not `status` or `ls`

    values: ExifValues = {}
    with LOCK:
        image = exif = None
        try:
            image = exiv2.ImageFactory.open(data)
            image.readMetadata()
            exif = image.exifData()
            for key, where in EXIF_KEYS.items():
                found = exif.findKey(exiv2.ExifKey(key))
                if found != exif.end():
                    values[where] = _value(exiv2, found)
        except Exception as exc:  # exiv2.Exiv2Error, or a damaged file: no EXIF then
            log.debug("exiv2 could not read the EXIF: %s", exc)
            values = {}
        finally:
            del exif, image  # freed under the lock too
    return values
