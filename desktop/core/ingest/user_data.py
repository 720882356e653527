"""Merge the user data other programs recorded (sidecars, the file's XMP/IPTC) into a photo's row.

Runs on the writer thread inside the scan's batch, and records no undo
history: these are not edits the person made in Shoebox.

* First read (a photo new to the catalog, or one catalogued before Shoebox read
  sidecars): the tags are added, and the rating, label, title and description
  fill the fields the person has left empty.
* Later reads (a sidecar or the file changed outside Shoebox): the change wins
  for the fields it changed since the last read (stored in ``Photo.xmp_state``);
  tags that appeared are added. A tag is never removed because a sidecar lacks it.

A rating of -1 (*rejected* in Lightroom and digiKam) is kept as it is: the
catalog stores it in ``Photo.rating`` (``filters.REJECTED``), the *rejected* flag.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from desktop.core.catalog import history
from desktop.core.catalog.db import database
from desktop.core.catalog.schema import PhotoTag, Tag
from desktop.core.ingest.xmp import OutsideData

SCALARS = ("rating", "color_label", "title", "description")
_SOURCE = {"rating": "rating", "color_label": "label", "title": "title", "description": "description"}


def load_state(text: str | None) -> OutsideData | None:
    """The values read last time, or None when this photo's outside data was never read."""
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return OutsideData.from_dict(data) if isinstance(data, dict) else None


def dump_state(data: OutsideData) -> str:
    return json.dumps(data.as_dict(), ensure_ascii=False, sort_keys=True)


def _column_value(name: str, data: OutsideData) -> Any:
    return getattr(data, _SOURCE[name])


def _is_empty(name: str, value: Any) -> bool:
    return value in (None, "") or (name == "rating" and value == 0)


def changes(current: dict[str, Any], previous: OutsideData | None, now: OutsideData) -> dict[str, Any]:
    """The column values to write, given the row's ``current`` user data (``SCALARS``)."""
    out: dict[str, Any] = {}
    for name in SCALARS:
        value = _column_value(name, now)
        if value is None or value == current.get(name):  # one the outside does not mention never clears ours
            continue
        if previous is None:
            if _is_empty(name, current.get(name)):
                out[name] = value
        elif value != _column_value(name, previous):
            out[name] = value
    return out


def new_tags(previous: OutsideData | None, now: OutsideData) -> list[str]:
    """Tags to add: all of them on a first read, then those that appeared since the last read."""
    if previous is None:
        return list(now.tags)
    before = {t.lower() for t in previous.tags}
    return [t for t in now.tags if t.lower() not in before]


class TagLinker:
    """Links tags to photos within one batch (on the writer thread, inside its transaction).

    A scan links a few tags to each of hundreds of photos a batch: the batch reads
    the tag table once, creates a tag (with its parents) the first time it is
    needed, and inserts the links in one ``executemany``. Going through Peewee per
    tag and per link cost 4 ms a photo, which made a scan with sidecars a quarter slower.
    """

    def __init__(self, preload: bool = False) -> None:
        """``preload``: read every tag at the first link, for a batch of new photos; a photo on its
        own (a rescan's) looks its few tags up one by one instead."""
        self._preload = preload
        self._ids: dict[str, int] = {}

    def _tag_id(self, name: str) -> int:
        if self._preload:  # case-insensitive, as Shoebox's tags are
            rows = database.execute_sql(f'SELECT id, name FROM "{Tag._meta.table_name}"').fetchall()
            self._ids = {str(tag_name).lower(): int(tag_id) for tag_id, tag_name in rows}
            self._preload = False
        key = name.lower()
        if key not in self._ids:
            self._ids[key] = int(history.ensure_tag(name).id)
        return self._ids[key]

    def link_many(self, tags_of: Iterable[tuple[int, Sequence[str]]]) -> None:
        """Give each photo id its tags (full paths); links it has already are left alone."""
        rows = {(photo_id, self._tag_id(name)) for photo_id, names in tags_of for name in names}
        if rows:
            meta = PhotoTag._meta
            photo, tag = meta.fields["photo"].column_name, meta.fields["tag"].column_name
            database.connection().executemany(
                f'INSERT OR IGNORE INTO "{meta.table_name}" ("{photo}", "{tag}") VALUES (?, ?)', sorted(rows)
            )

    def link(self, photo_id: int, tags: Sequence[str]) -> None:
        self.link_many([(photo_id, tags)])
