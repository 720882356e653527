"""Read one photo's metadata (size, date, camera, exposure, GPS, captions) for the catalog.

``read_metadata`` turns a file's bytes plus the caller's already-opened, not yet
decoded Pillow image into a ``PhotoMetadata`` whose fields map onto the
``Photo`` columns of ``desktop.core.catalog.schema``. It never decodes pixels and never
raises on malformed metadata: a field that cannot be read becomes ``None`` and
the others are still filled.

Sources:

* EXIF through exifread. Rather than ``exifread.process_file`` we drive its
  ``ExifHeader`` ourselves with an allow-list of the ~25 tags we store, because
  a full pass with maker notes costs 2-70 ms on real camera files (the scanner
  budget is a few ms) and because one malformed tag would make ``process_file``
  throw away every other tag. The only maker-note field we read is Canon's
  ``LensModel``, which is a cheap direct lookup.
* XMP (title, description, tags, rating, colour label; parsed by
  ``desktop.core.ingest.xmp``) and IPTC-IIM (ObjectName, Caption, Keywords)
  from what Pillow collected while opening.
* Windows' own EXIF fields (``XPKeywords``, ``XPTitle``, ``XPSubject``: UTF-16LE
  text that Explorer's Properties → Details writes): keywords as tags, title and
  subject only where XMP, IPTC and EXIF say nothing.
* Pillow for pixel size, format and the ICC profile (``PIL.ImageCms``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any, BinaryIO

from exifread.core.exif_header import ExifHeader
from exifread.core.find_exif import determine_type
from exifread.tags import DEFAULT_STOP_TAG
from exifread.tags.exif import EXIF_TAGS
from exifread.tags.makernote import canon
from PIL import Image

from desktop.core.ingest import xmp

# exifread warns on every malformed field it meets; a scan of a damaged library
# would flood the application log with them, and we already turn them into None.
logging.getLogger("exifread").setLevel(logging.ERROR)

SOURCE_ORIGINAL = "DateTimeOriginal"
SOURCE_DIGITIZED = "DateTimeDigitized"
SOURCE_FILE = "file"


@dataclass
class PhotoMetadata:
    """What the scanner stores about one photo; see ``desktop.core.catalog.schema.Photo``."""

    width: int | None = None  # as displayed: swapped when the orientation is 5..8
    height: int | None = None
    orientation: int | None = None  # EXIF 1..8
    format: str | None = None
    color_space: str | None = None
    taken_at: str | None = None  # ISO 8601 as recorded, with sub-seconds/offset when known
    taken_local: str | None = None  # always "YYYY-MM-DDTHH:MM:SS.ffffff", naive local time
    taken_at_source: str = SOURCE_FILE
    camera_make: str | None = None
    camera_model: str | None = None
    lens: str | None = None
    focal_length: float | None = None  # mm
    f_number: float | None = None
    exposure_time: float | None = None  # seconds
    iso: int | None = None
    gps_lat: float | None = None  # signed decimal degrees
    gps_lon: float | None = None
    gps_alt: float | None = None  # metres, negative below sea level
    title: str | None = None
    description: str | None = None
    keywords: list[str] = field(default_factory=list)
    file_rating: int | None = None  # XMP xmp:Rating 0..5
    # What the file says of its user data, for the catalog's first read (``scanner.apply_outside``):
    file_tags: list[str] = field(default_factory=list)  # XMP tag hierarchies and IPTC keywords, merged
    file_label: str | None = None  # Shoebox's colour label name
    file_rejected: bool = False  # xmp:Rating -1: the photo is flagged rejected
    content_id: str | None = (
        None  # Apple's content identifier (MakerNote): pairs a Live Photo's still and clip
    )


# --------------------------------------------------------------------------- EXIF

# Tag ids, per IFD as exifread names them.
_MAKE, _MODEL, _ORIENTATION, _IMAGE_DESCRIPTION = 0x010F, 0x0110, 0x0112, 0x010E
_EXIF_POINTER, _GPS_POINTER = 0x8769, 0x8825
_EXPOSURE_TIME, _F_NUMBER, _ISO, _FOCAL_LENGTH = 0x829A, 0x829D, 0x8827, 0x920A
_DATE_ORIGINAL, _DATE_DIGITIZED = 0x9003, 0x9004
_OFFSET_ORIGINAL, _OFFSET_DIGITIZED = 0x9011, 0x9012
_SUBSEC_ORIGINAL, _SUBSEC_DIGITIZED = 0x9291, 0x9292
_COLOR_SPACE, _LENS_MODEL, _MAKER_NOTE = 0xA001, 0xA434, 0x927C
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON, _GPS_ALT_REF, _GPS_ALT = 1, 2, 3, 4, 5, 6
_CANON_LENS_MODEL = 0x0095
_APPLE_CONTENT_ID = 0x0011  # Apple MakerNote ContentIdentifier (ExifTool 13: MediaGroupUUID)
_APPLE_NOTE = b"Apple iOS\x00"
# Windows' fields: BYTE arrays of UTF-16LE text, keywords separated by ";"
_XP_TITLE, _XP_KEYWORDS, _XP_SUBJECT = 0x9C9B, 0x9C9E, 0x9C9F
_XP_TAGS = frozenset({_XP_TITLE, _XP_KEYWORDS, _XP_SUBJECT})
_MAX_XP_BYTES = 64 * 1024

# Everything else is skipped before exifread reads its value: that is what keeps
# a file under a millisecond (thumbnail strips, maker notes and private arrays
# are most of the work otherwise).
_WANTED: dict[str, frozenset[int]] = {
    "Image": frozenset({_MAKE, _MODEL, _ORIENTATION, _IMAGE_DESCRIPTION, _EXIF_POINTER, _GPS_POINTER})
    | _XP_TAGS,
    "EXIF": frozenset(
        {
            _EXPOSURE_TIME,
            _F_NUMBER,
            _ISO,
            _FOCAL_LENGTH,
            _DATE_ORIGINAL,
            _DATE_DIGITIZED,
            _OFFSET_ORIGINAL,
            _OFFSET_DIGITIZED,
            _SUBSEC_ORIGINAL,
            _SUBSEC_DIGITIZED,
            _COLOR_SPACE,
            _LENS_MODEL,
        }
    ),
    "GPS": frozenset({_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON, _GPS_ALT_REF, _GPS_ALT}),
    "MakerNote": frozenset({_CANON_LENS_MODEL}),
}

# The same fields by exiv2's key names (``raw_metadata`` reads CR3, RAF, MRW and X3F with exiv2).
EXIF_KEYS: dict[str, tuple[str, int]] = {
    "Exif.Image.Make": ("Image", _MAKE),
    "Exif.Image.Model": ("Image", _MODEL),
    "Exif.Photo.ExposureTime": ("EXIF", _EXPOSURE_TIME),
    "Exif.Photo.FNumber": ("EXIF", _F_NUMBER),
    "Exif.Photo.ISOSpeedRatings": ("EXIF", _ISO),
    "Exif.Photo.FocalLength": ("EXIF", _FOCAL_LENGTH),
    "Exif.Photo.DateTimeOriginal": ("EXIF", _DATE_ORIGINAL),
    "Exif.Photo.DateTimeDigitized": ("EXIF", _DATE_DIGITIZED),
    "Exif.Photo.OffsetTimeOriginal": ("EXIF", _OFFSET_ORIGINAL),
    "Exif.Photo.OffsetTimeDigitized": ("EXIF", _OFFSET_DIGITIZED),
    "Exif.Photo.SubSecTimeOriginal": ("EXIF", _SUBSEC_ORIGINAL),
    "Exif.Photo.SubSecTimeDigitized": ("EXIF", _SUBSEC_DIGITIZED),
    "Exif.Photo.LensModel": ("EXIF", _LENS_MODEL),
    "Exif.GPSInfo.GPSLatitudeRef": ("GPS", _GPS_LAT_REF),
    "Exif.GPSInfo.GPSLatitude": ("GPS", _GPS_LAT),
    "Exif.GPSInfo.GPSLongitudeRef": ("GPS", _GPS_LON_REF),
    "Exif.GPSInfo.GPSLongitude": ("GPS", _GPS_LON),
    "Exif.GPSInfo.GPSAltitudeRef": ("GPS", _GPS_ALT_REF),
    "Exif.GPSInfo.GPSAltitude": ("GPS", _GPS_ALT),
}

_EXIF_COLOR_SPACES = {1: "sRGB", 2: "Adobe RGB", 0xFFFF: "Uncalibrated"}

# An IFD that claims more entries than this is garbage, not a photo.
_MAX_IFD_ENTRIES = 1024
_MAX_NUMBERS = 8
_ASCII = 2

ExifValues = dict[tuple[str, int], Any]


class _AllowListHeader(ExifHeader):
    """exifread's IFD walker, restricted to the tags we store and hardened per tag."""

    def __init__(self, fh: BinaryIO, endian: str, offset: int, size: int) -> None:
        super().__init__(fh, endian, offset, 0, False, False, True, True)
        self.size = size
        self.values: ExifValues = {}
        self.maker_note_offset: int | None = None
        self._visited: set[int] = set()

    def dump_ifd(
        self,
        ifd: int,
        ifd_name: str,
        tag_dict: Any = None,
        relative: int = 0,
        stop_tag: str = DEFAULT_STOP_TAG,
    ) -> None:
        # A pointer back to an IFD already read would otherwise recurse forever,
        # and a corrupt entry count would make exifread loop 65535 times over zeros.
        if ifd in self._visited or ifd <= 0 or self.offset + ifd + 2 > self.size:
            return
        self._visited.add(ifd)
        tags = EXIF_TAGS if tag_dict is None else tag_dict
        wanted = _WANTED.get(ifd_name, frozenset())
        entries = self.s2n(ifd, 2)
        fit = (self.size - self.offset - ifd - 2) // 12
        for i in range(min(entries, fit, _MAX_IFD_ENTRIES)):
            entry = ifd + 2 + 12 * i
            tag = self.s2n(entry, 2)
            if tag not in wanted:
                if ifd_name == "EXIF" and tag == _MAKER_NOTE:
                    self.maker_note_offset = self.s2n(entry + 8, 4)
                continue
            if tag in _XP_TAGS:
                with contextlib.suppress(Exception):
                    self.values[(ifd_name, tag)] = self._raw_bytes(entry)
                continue
            if self.s2n(entry + 2, 2) != _ASCII and self.s2n(entry + 4, 4) > _MAX_NUMBERS:
                # None of our numeric tags has more than 4 values; exifread would
                # read up to 999 of them one seek at a time before we drop them.
                continue
            tag_entry: Any = tags.get(tag)
            tag_name = tag_entry[0] if tag_entry else f"Tag 0x{tag:04X}"
            try:
                self._process_tag(ifd, ifd_name, tag_entry, entry, tag, tag_name, bool(relative), stop_tag)
                self.values[(ifd_name, tag)] = self.tags[f"{ifd_name} {tag_name}"].values
            except Exception:  # one malformed tag must not cost the others
                continue

    def _raw_bytes(self, entry: int) -> bytes:
        """An entry's value as bytes, read in one go (exifread would read a BYTE array one seek a byte)."""
        count = min(self.s2n(entry + 4, 4), _MAX_XP_BYTES)
        where = entry + 8 if count <= 4 else self.s2n(entry + 8, 4)
        self.file_handle.seek(self.offset + where)
        data: bytes = self.file_handle.read(count)
        return data


def _tiff_start(blob: bytes) -> int | None:
    """Offset of the TIFF header inside an EXIF blob (Pillow keeps the 'Exif\\0\\0' prefix)."""
    for start in (0, 6):
        head = blob[start : start + 4]
        if head in (b"II*\x00", b"MM\x00*"):
            return start
    return None


def _read_exif(data: bytes, image: Image.Image, fmt: str | None) -> ExifValues:
    """The allow-listed EXIF values, keyed by (IFD name, tag id)."""
    blob = image.info.get("exif")
    source: bytes | None = None
    offset = 0
    if isinstance(blob, bytes | bytearray):
        start = _tiff_start(bytes(blob))
        if start is not None:
            source, offset = bytes(blob), start
    # Pillow already found the EXIF of a JPEG (and of a HEIF, where pillow_heif
    # also resets the orientation it has applied to image.size, so the file's
    # own EXIF must not be read). Other containers: let exifread look for it.
    if source is None and fmt not in ("JPEG", "MPO", "HEIF", "AVIF"):
        try:
            fh = io.BytesIO(data)
            found, _endian, _fake = determine_type(fh)
            if data[found : found + 2] in (b"II", b"MM"):
                source, offset = data, found
        except Exception:  # no EXIF, or a container exifread cannot walk
            source = None
    if source is None:
        return {}
    fh = io.BytesIO(source)
    header = _AllowListHeader(fh, chr(source[offset]), offset, len(source))
    try:
        header.dump_ifd(header.s2n(4, 4), "Image")
        pointer = header.values.get(("Image", _EXIF_POINTER))
        if pointer:
            header.dump_ifd(int(pointer[0]), "EXIF")
    except Exception:  # keep what was read before the damage
        pass
    make = _text(header.values.get(("Image", _MAKE)))
    if make == "Canon" and header.maker_note_offset and not _text(header.values.get(("EXIF", _LENS_MODEL))):
        # Canon maker notes are a plain IFD with offsets from the TIFF header.
        with contextlib.suppress(Exception):
            header.dump_ifd(header.maker_note_offset, "MakerNote", tag_dict=canon.TAGS)
    if make == "Apple" and header.maker_note_offset:
        content_id = _apple_content_id(source, offset + header.maker_note_offset)
        if content_id:
            header.values[("MakerNote", _APPLE_CONTENT_ID)] = content_id
    return header.values


def _apple_content_id(blob: bytes, start: int) -> str | None:
    """The ContentIdentifier of an Apple maker note starting at ``start`` in ``blob``, or None.

    exifread's Apple tag table lacks it and offsets its values wrongly, so the note is
    read here: "Apple iOS\\0", a version, a byte order, then an IFD whose value offsets
    count from the note's start (as ExifTool reads it).
    """
    if blob[start : start + 10] != _APPLE_NOTE or start + 16 > len(blob):
        return None
    order = blob[start + 12 : start + 14]
    if order not in (b"MM", b"II"):
        return None
    big = order == b"MM"

    def number(at: int, size: int) -> int:
        return int.from_bytes(blob[at : at + size], "big" if big else "little")

    ifd = start + 14
    entries = number(ifd, 2)
    for i in range(min(entries, _MAX_IFD_ENTRIES)):
        entry = ifd + 2 + 12 * i
        if entry + 12 > len(blob):
            return None
        if number(entry, 2) != _APPLE_CONTENT_ID or number(entry + 2, 2) != _ASCII:
            continue
        count = number(entry + 4, 4)
        at = entry + 8 if count <= 4 else start + number(entry + 8, 4)
        if not 0 < count <= 256 or at + count > len(blob):
            return None
        return _text(blob[at : at + count])
    return None


# ------------------------------------------------------------------ value helpers

_CONTROL_OK = frozenset("\t\n\r")


def _clean(s: str) -> str | None:
    """Strip NULs/whitespace; None when empty or when it is not printable text."""
    s = s.replace("\x00", " ").strip()
    if not any(ch.isalnum() for ch in s):
        return None
    for ch in s:
        if ch in _CONTROL_OK:
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cs", "Co", "Cn") or ch == "\ufffd":
            return None
    return s


def _decode(raw: bytes) -> str:
    raw = raw.split(b"\x00", 1)[0]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Text in a legacy 8-bit code page is mostly ASCII with a few accents;
    # mostly high bytes means binary junk (or a CJK encoding we cannot guess).
    if sum(b >= 0x80 for b in raw) * 2 > len(raw):
        return ""
    # cp1252 rather than latin-1: Windows tools wrote most non-UTF-8 EXIF text.
    return raw.decode("cp1252", errors="replace")


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, bytes | bytearray):
        return _clean(_decode(bytes(value)))
    return None


def _xp_text(value: Any) -> str | None:
    """One of Windows' XP fields (UTF-16LE, NUL-terminated) as text."""
    if not isinstance(value, bytes | bytearray) or len(value) < 2:
        return None
    text = bytes(value[: len(value) // 2 * 2]).decode("utf-16-le", errors="replace")
    return _clean(text.split("\x00", 1)[0])


def xp_keywords(value: Any) -> list[str]:
    """XPKeywords' ";"-separated keywords, as Explorer writes them (the first spelling of each kept)."""
    text = _xp_text(value)
    found: dict[str, str] = {}
    for keyword in text.split(";") if text else []:
        cleaned = _clean(keyword)
        if cleaned:
            found.setdefault(cleaned.lower(), cleaned)
    return list(found.values())


def _number(value: Any) -> float | None:
    """A finite float from an exifread value (Ratio, int, float, 1-tuple or 1-list)."""
    if isinstance(value, list | tuple):
        if not value:
            return None
        value = value[0]
        if isinstance(value, tuple):  # exifread wraps FLOAT/DOUBLE values in 1-tuples
            value = value[0] if value else None
    result: float
    if isinstance(value, Fraction):
        # exifread keeps 0-denominator ratios as Fractions whose float() divides by zero
        num, den = value.numerator, value.denominator
        if not den:
            return None
        result = num / den
    elif isinstance(value, bool):
        return None
    elif isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str | bytes):
        try:
            result = float(_decode(value) if isinstance(value, bytes) else value)
        except ValueError:
            return None
    else:
        return None
    return result if math.isfinite(result) else None


def _positive(value: Any) -> float | None:
    number = _number(value)
    return number if number is not None and number > 0 else None


def _integer(value: Any) -> int | None:
    number = _number(value)
    if number is None or number != int(number):
        return None
    return int(number)


def _dms(value: Any) -> float | None:
    """Degrees from an EXIF (deg, min, sec) triple; shorter forms are accepted too."""
    if not isinstance(value, list | tuple) or not 1 <= len(value) <= 3:
        return None
    parts = [_number([v]) for v in value]
    if any(p is None for p in parts):
        return None
    total = 0.0
    for part, scale in zip(parts, (1.0, 60.0, 3600.0), strict=False):
        assert part is not None
        total += abs(part) / scale
    return total


def _ref(value: Any) -> str:
    text = _text(value)
    return text[:1].upper() if text else ""


def _gps(values: ExifValues) -> tuple[float | None, float | None, float | None]:
    lat = _dms(values.get(("GPS", _GPS_LAT)))
    lon = _dms(values.get(("GPS", _GPS_LON)))
    if lat is not None and _ref(values.get(("GPS", _GPS_LAT_REF))) == "S":
        lat = -lat
    if lon is not None and _ref(values.get(("GPS", _GPS_LON_REF))) == "W":
        lon = -lon
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180 or (lat == 0 and lon == 0):
        # (0, 0) is what cameras without a fix write, not a photo taken off Ghana.
        lat = lon = None
    alt = _number(values.get(("GPS", _GPS_ALT)))
    if alt is not None:
        ref = values.get(("GPS", _GPS_ALT_REF))
        below = _integer(ref) == 1 or (isinstance(ref, bytes) and ref[:1] == b"\x01")
        alt = -abs(alt) if below else alt
    return lat, lon, alt


# ------------------------------------------------------------------------ dates

_DATE_RE = re.compile(
    r"(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"(?:[.,](\d+))?\s*(Z|[+-]\d{2}:?\d{2})?"
)
_OFFSET_RE = re.compile(r"^(?:Z|([+-])(\d{2}):?(\d{2}))$")
_MIN_YEAR, _MAX_YEAR = 1800, 2200


def _offset(text: str | None) -> str | None:
    """'+HH:MM' from an EXIF OffsetTime value, or None when blank or absurd."""
    if not text:
        return None
    m = _OFFSET_RE.match(text.strip())
    if not m:
        return None
    if not m.group(1):
        return "+00:00"
    hours, minutes = int(m.group(2)), int(m.group(3))
    if hours > 14 or minutes > 59:
        return None
    return f"{m.group(1)}{hours:02d}:{minutes:02d}"


def _subsec(text: str | None) -> str | None:
    if not text:
        return None
    digits = text.strip()
    return digits[:6] if digits.isdigit() and digits.isascii() else None


def _exif_date(date: Any, subsec: Any, offset: Any) -> tuple[str, str] | None:
    """(taken_at, taken_local) from EXIF date/sub-second/offset values, or None if unusable."""
    text = _text(date)
    if not text:
        return None
    m = _DATE_RE.match(text)
    if not m:
        return None
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    second = int(m.group(6) or 0)
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    frac = _subsec(_text(subsec)) or _subsec(m.group(7))
    try:
        when = dt.datetime(year, month, day, hour, minute, second, int((frac or "0").ljust(6, "0")))
    except ValueError:
        return None
    tz = _offset(_text(offset)) or _offset(m.group(8))
    taken_at = when.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + (tz or "")
    return taken_at, when.isoformat(timespec="microseconds")


def _file_date(mtime: float) -> tuple[str | None, str | None]:
    try:
        local = dt.datetime.fromtimestamp(mtime).astimezone()
    except (OverflowError, OSError, ValueError):
        return None, None
    return local.isoformat(), local.replace(tzinfo=None).isoformat(timespec="microseconds")


# ------------------------------------------------------------------ XMP and IPTC


@dataclass
class _Captions:
    title: str | None = None
    description: str | None = None
    keywords: list[str] = field(default_factory=list)
    rating: int | None = None  # 0..5, or xmp.REJECTED
    tags: list[str] = field(default_factory=list)  # full paths, hierarchies kept
    label: str | None = None


def _xmp_packet(image: Image.Image) -> bytes | None:
    for key in ("xmp", "XML:com.adobe.xmp"):
        packet = image.info.get(key)
        if isinstance(packet, str):
            return packet.encode("utf-8", errors="replace")
        if isinstance(packet, bytes | bytearray) and packet:
            return bytes(packet)
    return None


def _parse_xmp(packet: bytes) -> _Captions:
    """Embedded XMP, read as a sidecar is (``desktop.core.ingest.xmp``); an unreadable packet reads as empty."""
    try:
        data = xmp.parse_xmp(packet, skip_unlikely=True)
    except xmp.XmpError:
        return _Captions()
    return _Captions(
        title=_text(data.title),
        description=_text(data.description),
        keywords=_unique(tag.rsplit("/", 1)[-1] for tag in data.tags),
        rating=data.rating,
        tags=data.tags,
        label=data.label,
    )


def _unique(items: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(item for item in items if item))


def _iptc_block(image: Image.Image) -> bytes | None:
    photoshop = image.info.get("photoshop")
    if isinstance(photoshop, Mapping):
        block = photoshop.get(0x0404)
        if isinstance(block, bytes | bytearray):
            return bytes(block)
    tags = getattr(image, "tag_v2", None)  # TIFF keeps IPTC in tag 33723, read at open
    if isinstance(tags, Mapping):
        try:
            value = tags.get(33723)
        except Exception:  # Pillow decodes tags lazily and may choke
            return None
        if isinstance(value, bytes | bytearray):
            return bytes(value)
        if isinstance(value, Sequence) and all(isinstance(v, int) for v in value):
            try:
                return b"".join(v.to_bytes(4, "big") for v in value)
            except OverflowError:
                return None
    return None


def _parse_iptc(block: bytes) -> _Captions:
    """ObjectName (2:05), Keywords (2:25) and Caption (2:120) of an IPTC-IIM block."""
    fields: dict[tuple[int, int], list[bytes]] = {}
    pos = 0
    while pos + 5 <= len(block) and block[pos] == 0x1C:
        record, dataset = block[pos + 1], block[pos + 2]
        length = int.from_bytes(block[pos + 3 : pos + 5], "big")
        pos += 5
        if length & 0x8000:  # extended dataset: the low bits say how many length bytes follow
            size = length & 0x7FFF
            if size > 4:
                break
            length = int.from_bytes(block[pos : pos + size], "big")
            pos += size
        fields.setdefault((record, dataset), []).append(block[pos : pos + length])
        pos += length
    utf8 = any(b"\x1b%G" in v for v in fields.get((1, 90), []))

    def text(raw: bytes) -> str | None:
        if utf8:
            return _clean(raw.decode("utf-8", errors="replace"))
        return _text(raw)

    found = _Captions()
    found.title = next(filter(None, map(text, fields.get((2, 5), []))), None)
    found.description = next(filter(None, map(text, fields.get((2, 120), []))), None)
    found.keywords = _unique(map(text, fields.get((2, 25), [])))
    return found


# Words that cameras put in ImageDescription when the user wrote nothing
# ("OLYMPUS DIGITAL CAMERA", "SONY DSC", "Exif_JPEG_PICTURE", ...).
_BOILERPLATE_WORDS = frozenset(
    {"digital", "camera", "dsc", "still", "picture", "photo", "image", "jpeg", "exif", "default"}
    | {"corporation", "company", "co", "ltd", "inc"}
)


def is_camera_boilerplate(text: str, make: str | None, model: str | None) -> bool:
    """True when an EXIF ImageDescription only repeats the camera's name and generic words."""
    words = set(re.findall(r"[a-z]+", text.lower()))
    if not words:
        return not any(ch.isalnum() for ch in text)
    known = set(re.findall(r"[a-z]+", f"{make or ''} {model or ''}".lower())) | _BOILERPLATE_WORDS
    return words <= known


# ------------------------------------------------------------------------ Pillow


@lru_cache(maxsize=64)
def _icc_description(icc: bytes) -> str | None:
    # Libraries hold a handful of distinct profiles, so each is parsed once.
    try:
        from PIL import ImageCms

        description = ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile.profile_description
    except Exception:  # a broken profile is not a broken photo
        return None
    return _text(description) if isinstance(description, str) else None


def _orientation(image: Image.Image, values: ExifValues) -> int | None:
    recorded: Any = values.get(("Image", _ORIENTATION))
    if image.format == "HEIF" and image.info.get("original_orientation") is not None:
        # pillow_heif resets the EXIF orientation to 1 once it has applied it; keep what the file says.
        recorded = image.info["original_orientation"]
    orientation = _integer(recorded)
    return orientation if orientation is not None and 1 <= orientation <= 8 else None


def _size_is_upright(image: Image.Image) -> bool:
    """Whether Pillow's ``image.size`` already has the orientation applied."""
    if image.format == "HEIF":
        return True  # libheif applies irot/imir, and the EXIF orientation agrees with them
    if image.format == "TIFF":
        # Pillow's TIFF plugin swaps the reported size for orientations 5..8 (and
        # transposes at load); compare with the stored ImageWidth to see if it did.
        tags = getattr(image, "tag_v2", None)
        if isinstance(tags, Mapping):
            stored = (tags.get(256), tags.get(257))
            return stored != image.size and stored == image.size[::-1]
    return False


def _format(image: Image.Image) -> str | None:
    fmt = image.format
    # Pillow calls camera JPEGs with an MPF index (depth maps, previews) "MPO";
    # they are ordinary JPEG files to the user.
    return "JPEG" if fmt == "MPO" else fmt


# ------------------------------------------------------------------------- entry


def fill_from_exif(meta: PhotoMetadata, values: ExifValues, file_mtime: float) -> None:
    """Camera, lens, exposure, GPS and date taken from EXIF ``values`` keyed as ``EXIF_KEYS`` name
    them (read by exifread here, by exiv2 for the RAWs it cannot walk); the file's time when no date."""
    meta.camera_make = _text(values.get(("Image", _MAKE)))
    meta.camera_model = _text(values.get(("Image", _MODEL)))
    meta.lens = _text(values.get(("EXIF", _LENS_MODEL))) or _text(
        values.get(("MakerNote", _CANON_LENS_MODEL))
    )
    meta.focal_length = _positive(values.get(("EXIF", _FOCAL_LENGTH)))
    meta.f_number = _positive(values.get(("EXIF", _F_NUMBER)))
    meta.exposure_time = _positive(values.get(("EXIF", _EXPOSURE_TIME)))
    iso = _integer(values.get(("EXIF", _ISO)))
    meta.iso = iso if iso is not None and iso > 0 else None
    meta.gps_lat, meta.gps_lon, meta.gps_alt = _gps(values)
    for source, date_tag, subsec_tag, offset_tag in (
        (SOURCE_ORIGINAL, _DATE_ORIGINAL, _SUBSEC_ORIGINAL, _OFFSET_ORIGINAL),
        (SOURCE_DIGITIZED, _DATE_DIGITIZED, _SUBSEC_DIGITIZED, _OFFSET_DIGITIZED),
    ):
        parsed = _exif_date(
            values.get(("EXIF", date_tag)), values.get(("EXIF", subsec_tag)), values.get(("EXIF", offset_tag))
        )
        if parsed:
            meta.taken_at, meta.taken_local = parsed
            meta.taken_at_source = source
            break
    else:
        meta.taken_at, meta.taken_local = _file_date(file_mtime)
        meta.taken_at_source = SOURCE_FILE


def read_metadata(data: bytes, image: Image.Image, file_mtime: float) -> PhotoMetadata:
    """Everything the catalog stores about a photo; never raises on bad metadata.

    ``image`` is ``PIL.Image.open(io.BytesIO(data))`` as opened by the caller and
    is not decoded here.
    """
    meta = PhotoMetadata()
    meta.format = _format(image)
    try:
        values = _read_exif(data, image, image.format)
    except Exception:  # exifread bug or unforeseen damage: no EXIF then
        values = {}

    meta.orientation = _orientation(image, values)
    width, height = image.size
    if meta.orientation is not None and meta.orientation >= 5 and not _size_is_upright(image):
        width, height = height, width
    meta.width, meta.height = (width, height) if width > 0 and height > 0 else (None, None)

    fill_from_exif(meta, values, file_mtime)
    content_id = values.get(("MakerNote", _APPLE_CONTENT_ID))
    meta.content_id = content_id if isinstance(content_id, str) else None

    icc = image.info.get("icc_profile")
    if isinstance(icc, bytes | bytearray) and icc:
        meta.color_space = _icc_description(bytes(icc))
    if meta.color_space is None:
        meta.color_space = _EXIF_COLOR_SPACES.get(_integer(values.get(("EXIF", _COLOR_SPACE))) or -1)

    xmp_found = _Captions()
    iptc = _Captions()
    try:
        packet = _xmp_packet(image)
        if packet:
            xmp_found = _parse_xmp(packet)
    except Exception:  # malformed XMP must not cost the EXIF
        pass
    try:
        block = _iptc_block(image)
        if block:
            iptc = _parse_iptc(block)
    except Exception:
        pass
    exif_description = _text(values.get(("Image", _IMAGE_DESCRIPTION)))
    if exif_description and is_camera_boilerplate(exif_description, meta.camera_make, meta.camera_model):
        exif_description = None
    windows = xp_keywords(values.get(("Image", _XP_KEYWORDS)))
    meta.title = xmp_found.title or iptc.title or _xp_text(values.get(("Image", _XP_TITLE)))
    meta.description = (
        xmp_found.description
        or iptc.description
        or exif_description
        or _xp_text(values.get(("Image", _XP_SUBJECT)))
    )
    meta.keywords = xmp_found.keywords or iptc.keywords or windows
    rating = xmp_found.rating
    meta.file_rating = rating if rating is not None and rating >= 0 else None
    meta.file_rejected = rating == xmp.REJECTED
    meta.file_tags = xmp.merge_tags(xmp_found.tags, [*iptc.keywords, *windows])
    meta.file_label = xmp_found.label
    return meta
