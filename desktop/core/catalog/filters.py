"""Photo filters shared by ``ls``, smart search and the GUI's views.

A ``PhotoFilter`` is plain data; ``apply_filter`` turns it into a Peewee
query on ``Photo``. Dates compare against ``taken_local`` (the wall-clock time
the photo was taken), so ``after:2019-06`` means what the person remembers.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import peewee as pw

from desktop.core.catalog import pairs
from desktop.core.catalog.schema import STATUS_OK, Album, AlbumPhoto, Photo, PhotoTag, Root, Tag
from desktop.core.runtime.errors import ShoeboxError


@dataclass
class PhotoFilter:
    tags: list[str] = field(default_factory=list)  # every tag must match (a tag includes its children)
    after: dt.date | None = None  # inclusive
    before: dt.date | None = None  # exclusive
    camera: str | None = None  # case-insensitive substring of make or model
    folder: Path | None = None  # absolute folder; photos at or below it
    rating_min: int | None = None  # stars; a rejected photo (rating REJECTED) has fewer than 0
    rejected: bool | None = None  # True: only rejected photos; False: none of them
    near: tuple[float, float, float] | None = None  # (lat, lon, radius km)
    album: str | None = None
    untagged: bool = False
    name: str | None = None  # substring of the file name
    statuses: tuple[str, ...] = (STATUS_OK,)
    recent_days: int | None = None  # added to the catalog in the last N days
    imported_only: bool = False  # only photos in the import folder (brought in with import / dropped files)
    photo_ids: list[int] | None = None  # restrict to these ids
    # every word in the file name, title, description, keywords or a tag (search without a model)
    words: tuple[str, ...] = ()
    # hide pair companions (a RAW beside its JPEG, a Live Photo's clip): None follows the library's setting
    grouped: bool | None = None

    def is_empty(self) -> bool:
        return self == PhotoFilter()


_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")


def parse_date(text: str, end: bool = False) -> dt.date:
    """Parse ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; ``end`` gives the day after the period."""
    m = _PARTIAL_DATE.match(text.strip())
    try:
        if not m:
            raise ValueError(text)
        return _period(int(m.group(1)), m.group(2), m.group(3), end)
    except ValueError:  # no such month or day either ("2019-13"): the same one hint
        raise ValueError(f"not a date: {text!r} (use YYYY, YYYY-MM or YYYY-MM-DD)") from None


def _period(year: int, month: str | None, day: str | None, end: bool) -> dt.date:
    if day is not None:
        d = dt.date(year, int(month or 1), int(day))
        return d + dt.timedelta(days=1) if end else d
    if month is not None:
        d = dt.date(year, int(month), 1)
        if not end:
            return d
        return dt.date(year + (d.month == 12), d.month % 12 + 1, 1)
    return dt.date(year + 1, 1, 1) if end else dt.date(year, 1, 1)


# The rating of a photo flagged *rejected*: xmp:Rating -1, as Lightroom and digiKam write it.
REJECTED = -1


class FilterError(ShoeboxError, ValueError):
    """A filter names something the catalog does not have (or several things); the message says which."""


def fold(text: str) -> str:
    """The form text is matched in: case and accents ignored, so "Zürich", "ZURICH" and "zurich" agree."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def sql_fold_has_any(value: object, needles: object) -> int:
    """SQLite's ``fold_has_any(text, needles)``: 1 when the folded text contains any of the
    newline-separated (folded) needles. One Python call a row, however many words are sought."""
    if not isinstance(value, str) or not isinstance(needles, str) or not needles:
        return 0
    text = fold(value)
    return int(any(n in text for n in needles.split("\n")))


def fold_has_any(text: Any, needles: Iterable[str]) -> pw.Expression:
    """The condition "``text`` contains one of ``needles``", accents and case ignored."""
    result: pw.Expression = pw.fn.fold_has_any(text, "\n".join(fold(n) for n in needles)) == 1
    return result


def _tag_names() -> list[tuple[int, str, str]]:
    """(id, name, folded name) of every tag; the tag table is small, so matching happens here."""
    rows: list[tuple[int, str]] = list(Tag.select(Tag.id, Tag.name).tuples())  # type: ignore[arg-type]
    return [(int(tid), str(name), fold(str(name))) for tid, name in rows]


def _tag_matches(name: str, tags: list[tuple[int, str, str]]) -> list[str]:
    """The full names ``name`` stands for: the tag of that name, else every tag whose trailing
    part it is (``Paris`` for ``Places/Paris``), so a leaf name works when it is unambiguous."""
    key = fold(name.strip().strip("/"))
    exact = sorted({full for _tid, full, folded in tags if folded == key})
    if exact or not key:
        return exact
    found = sorted({full for _tid, full, folded in tags if folded.endswith("/" + key)})
    if len({fold(f) for f in found}) > 1:
        # a tag left on no photo (its last photo untagged) must not make a leaf name ambiguous
        used = _used_tag_names()
        in_use = [f for f in found if any(u == fold(f) or u.startswith(fold(f) + "/") for u in used)]
        if in_use:
            return in_use
    return found


def _used_tag_names() -> set[str]:
    """Folded names of the tags some photo carries (asked only when a leaf name is ambiguous)."""
    q = Tag.select(Tag.name).join(PhotoTag, on=(PhotoTag.tag == Tag.id)).distinct()
    rows: list[tuple[str]] = list(q.tuples())  # type: ignore[arg-type]
    return {fold(str(name)) for (name,) in rows}


def resolve_tag(name: str) -> str:
    """The full name of the tag ``name`` means; ``FilterError`` when there is none or several."""
    found = _tag_matches(name, _tag_names())
    if not found:
        raise FilterError(f"No tag named '{name}'.")
    if len(found) > 1 and len({fold(f) for f in found}) > 1:
        raise FilterError(f"'{name}' could be any of the tags {', '.join(found)}: give the full name.")
    return found[0]


def check_tags(names: Iterable[str]) -> None:
    """Raise ``FilterError`` for a tag filter that would silently match nothing."""
    for name in names:
        resolve_tag(name)


def tag_ids_with_descendants(name: str) -> list[int]:
    """Ids of the tag ``name`` means (see ``_tag_matches``) and of every tag below it;
    none when the name is unknown or ambiguous."""
    tags = _tag_names()
    found = {fold(full) for full in _tag_matches(name, tags)}
    if len(found) != 1:
        return []
    (base,) = found
    return [tid for tid, _full, folded in tags if folded == base or folded.startswith(base + "/")]


def _bbox(lat: float, lon: float, km: float) -> tuple[float, float, float, float]:
    dlat = km / 111.0
    dlon = km / max(1e-6, 111.0 * math.cos(math.radians(lat)))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


def in_values(column: Any, values: Iterable[Any]) -> pw.Expression:
    """``column IN (values)`` with the values as one JSON parameter (SQLite's ``json_each``).

    Peewee builds an ``IN (?, ?, ...)`` list in Python, a few microseconds per
    value: for the thousand hashes of a search result that was 40 ms of every
    query, and the list had to be cut below SQLite's parameter limit too.
    """
    result: pw.Expression = column.in_(pw.SQL("(SELECT value FROM json_each(?))", [json.dumps(list(values))]))
    return result


def photo_text() -> pw.Expression:
    """A photo's file name, title, description and keywords as one text (one ``fold`` call a row,
    not four: the folding runs in Python)."""
    parts = [pw.fn.coalesce(c, "") for c in (Photo.rel_path, Photo.title, Photo.description, Photo.keywords)]
    text: Any = parts[0]
    for part in parts[1:]:
        text = text.concat(" ").concat(part)
    result: pw.Expression = text
    return result


def apply_filter(query: pw.ModelSelect[Photo], f: PhotoFilter) -> pw.ModelSelect[Photo]:
    """Narrow a ``Photo`` query (which must already join nothing conflicting) by ``f``."""
    if f.statuses:
        query = query.where(Photo.status.in_(list(f.statuses)))
    if f.grouped if f.grouped is not None else pairs.grouping_on():
        query = query.where(pairs.not_companion())
    if f.photo_ids is not None:
        query = query.where(Photo.id.in_(f.photo_ids))
    for name in f.tags:
        ids = tag_ids_with_descendants(name)
        tagged = PhotoTag.select(PhotoTag.photo).where(PhotoTag.tag.in_(ids or [-1]))
        query = query.where(Photo.id.in_(tagged))
    if f.untagged:
        query = query.where(~Photo.id.in_(PhotoTag.select(PhotoTag.photo)))
    if f.after is not None:
        query = query.where(Photo.taken_local >= f.after.isoformat())
    if f.before is not None:
        query = query.where(Photo.taken_local < f.before.isoformat())
    if f.camera:
        like = f"%{f.camera.lower()}%"
        query = query.where(
            (pw.fn.lower(Photo.camera_make).contains(f.camera.lower()))
            | (pw.fn.lower(Photo.camera_model) ** like)
            # "fujifilm x-t3": make and model joined with || (SQL's + adds numbers, and gave 0)
            | (
                pw.fn.lower(
                    pw.fn.coalesce(Photo.camera_make, "")
                    .concat(" ")
                    .concat(pw.fn.coalesce(Photo.camera_model, ""))
                )
                ** like
            )
        )
    if f.folder is not None:
        folder = str(Path(f.folder).expanduser().resolve())
        roots = list(Root.select())
        cond: pw.Expression | None = None
        for root in roots:
            rp = root.path
            if folder == rp or rp.startswith(folder.rstrip("/") + "/"):
                c = Photo.root == root.id
            elif folder.startswith(rp.rstrip("/") + "/"):
                rel = folder[len(rp.rstrip("/")) + 1 :]
                c = (Photo.root == root.id) & (Photo.rel_path.startswith(rel + "/"))
            else:
                continue
            cond = c if cond is None else (cond | c)
        query = query.where(cond if cond is not None else pw.SQL("0"))
    if f.rating_min is not None:
        query = query.where(Photo.rating >= f.rating_min)
    if f.rejected is not None:
        query = query.where((Photo.rating == REJECTED) if f.rejected else (Photo.rating != REJECTED))
    if f.near is not None:
        lat, lon, km = f.near
        la0, la1, lo0, lo1 = _bbox(lat, lon, km)
        # the bounding box is cheap; haversine_km (registered on the connection) makes it exact
        query = query.where(
            Photo.gps_lat.between(la0, la1)
            & Photo.gps_lon.between(lo0, lo1)
            & (pw.fn.haversine_km(lat, lon, Photo.gps_lat, Photo.gps_lon) <= km)
        )
    if f.album:
        in_album = (
            AlbumPhoto.select(AlbumPhoto.photo).join(Album).where(pw.fn.lower(Album.name) == f.album.lower())
        )
        query = query.where(Photo.id.in_(in_album))
    if f.name:
        query = query.where(fold_has_any(Photo.rel_path, [f.name]))
    tags = _tag_names() if f.words else []
    for word in f.words:
        key = fold(word)
        tag_ids = [tid for tid, _full, folded in tags if key in folded]
        tagged = PhotoTag.select(PhotoTag.photo).where(PhotoTag.tag.in_(tag_ids or [-1]))
        query = query.where(fold_has_any(photo_text(), [key]) | Photo.id.in_(tagged))
    if f.imported_only:
        query = query.where(Photo.root.in_(Root.select(Root.id).where(Root.is_import_target == True)))  # noqa: E712
    if f.recent_days is not None:
        since = dt.datetime.now() - dt.timedelta(days=f.recent_days)
        query = query.where(Photo.added_at >= since)
    return query
