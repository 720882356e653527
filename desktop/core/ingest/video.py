"""What the catalog stores about a video, read from its container's tags.

``desktop.core.imaging.video.probe`` reads the container; this module turns
its tags into the catalog's fields, the same ones a photo fills (size as
displayed, date, place, camera) plus the video's own (duration, codec, frame
rate). Dates: QuickTime's ``com.apple.quicktime.creationdate`` is local time
with its offset, as the phone recorded it; ``creation_time`` is UTC and is
turned into the wall-clock time of the place the clip was taken when it has a
place (its time zone looked up offline by tzfpy, the offset of that day from
zoneinfo), else of this computer's zone. Places: ISO 6709 strings (``+48.8577+002.2950+035.000/``) from
QuickTime's ``location.ISO6709`` or the ``location`` tag (MP4's ``©xyz``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import xxhash
from tzfpy import get_tz

from desktop.core.imaging.video import VideoInfo
from desktop.core.ingest.metadata import PhotoMetadata, _file_date

KIND_VIDEO = "video"
SOURCE_QUICKTIME = "QuickTime creationdate"
SOURCE_CREATION_TIME = "creation_time"

# A video's identity without reading it whole: its size and its first and last MiB.
# Containers put their index (moov) at one end and the first frames follow the header,
# so any re-encode, trim or re-mux changes these; a 4 GB clip then costs 2 MiB of reads
# instead of 4 GB. Two different videos of the same size whose first and last MiB match
# byte for byte would need identical headers and indexes, which is not a case real files meet.
HASH_EDGE_BYTES = 1024 * 1024

_ISO6709 = re.compile(r"^\s*([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?")
_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_UNSET_YEARS = (
    1904,
    1970,
)  # QuickTime's and Unix's epochs: what a camera writes when its clock was never set


def hash_video(path: str, size: int) -> str:
    """XXH3-128 of the size and the first and last ``HASH_EDGE_BYTES`` (see above)."""
    h = xxhash.xxh3_128()
    h.update(size.to_bytes(8, "little"))
    with open(path, "rb") as fh:
        h.update(fh.read(HASH_EDGE_BYTES))
        if size > HASH_EDGE_BYTES:
            fh.seek(max(HASH_EDGE_BYTES, size - HASH_EDGE_BYTES))
            h.update(fh.read(HASH_EDGE_BYTES))
    return str(h.hexdigest())


def _offset(text: str | None) -> dt.timezone | None:
    if not text:
        return None
    if text == "Z":
        return dt.UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 14 or minutes > 59:
        return None
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def parse_date(text: str | None) -> dt.datetime | None:
    """An aware or naive datetime from an ISO-like tag value, or None when absent, absurd or an epoch."""
    if not text:
        return None
    m = _DATE.match(text.strip())
    if not m:
        return None
    year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
    if year in _UNSET_YEARS or not 1826 <= year <= 2200:
        return None
    frac = (m.group(7) or "0")[:6].ljust(6, "0")
    try:
        when = dt.datetime(year, month, day, hour, minute, int(m.group(6) or 0), int(frac))
    except ValueError:
        return None
    tz = _offset(m.group(8))
    return when.replace(tzinfo=tz) if tz else when


def parse_iso6709(text: str | None) -> tuple[float, float, float | None] | None:
    """(latitude, longitude, altitude) from an ISO 6709 string, or None when it is not a valid place."""
    m = _ISO6709.match(text or "")
    if not m:
        return None
    lat, lon = float(m.group(1)), float(m.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return lat, lon, float(m.group(3)) if m.group(3) else None


def zone_at(lat: float, lon: float) -> dt.tzinfo | None:
    """The time zone in force at a place (``Asia/Tokyo``), or None out at sea or when it is unknown here."""
    try:
        name = get_tz(lon, lat)  # longitude first
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):  # a zone this computer's tz database lacks
        return None


def _local_time(utc: dt.datetime, place: tuple[float, float, float | None] | None) -> dt.datetime:
    """``utc`` as the wall clock read where the clip was taken (when its place is known), else here."""
    zone = zone_at(place[0], place[1]) if place else None
    return utc.astimezone(zone) if zone is not None else utc.astimezone()


def _tag(tags: dict[str, str], *keys: str) -> str | None:
    for key in keys:
        value = tags.get(key, "").strip()
        if value:
            return value
    return None


def video_metadata(info: VideoInfo, file_mtime: float, format_name: str | None) -> dict[str, Any]:
    """The catalog's fields for a video, as a dict shaped like a photo's ``PhotoMetadata``."""
    meta = PhotoMetadata(width=info.width, height=info.height, format=format_name)
    tags = info.tags
    meta.camera_make = _tag(tags, "com.apple.quicktime.make", "make")
    meta.camera_model = _tag(tags, "com.apple.quicktime.model", "model")
    place = parse_iso6709(_tag(tags, "com.apple.quicktime.location.ISO6709", "location", "location-eng"))
    if place:
        meta.gps_lat, meta.gps_lon, meta.gps_alt = place
    meta.title = _tag(tags, "com.apple.quicktime.title", "title")
    meta.description = _tag(tags, "com.apple.quicktime.description", "description", "comment")

    local = parse_date(_tag(tags, "com.apple.quicktime.creationdate"))
    if local is not None:
        meta.taken_at = local.isoformat()
        meta.taken_at_source = SOURCE_QUICKTIME
    else:
        utc = parse_date(_tag(tags, "creation_time"))
        if utc is not None:
            # creation_time is UTC by the spec, whatever suffix it carries
            local = _local_time(utc.replace(tzinfo=dt.UTC) if utc.tzinfo is None else utc, place)
            meta.taken_at = local.isoformat()
            meta.taken_at_source = SOURCE_CREATION_TIME
    if local is not None:
        meta.taken_local = local.replace(tzinfo=None).isoformat(timespec="microseconds")
    else:
        meta.taken_at, meta.taken_local = _file_date(file_mtime)

    # a Live Photo's clip names its still by Apple's content identifier
    meta.content_id = _tag(tags, "com.apple.quicktime.content.identifier")
    fields: dict[str, Any] = {k: v for k, v in vars(meta).items()}
    fields.update(
        media_kind=KIND_VIDEO,
        duration=info.duration,
        video_codec=info.codec,
        frame_rate=info.frame_rate,
    )
    return fields
