"""The queue of XMP sidecars to write: which photos' sidecars are behind the catalog, and why a write failed.

Every user edit of what a sidecar carries (tags, rating, label, title,
description, a date or place the person set) and every undo or redo of one
goes through ``history.apply_step``, which marks the photos here in the same
transaction: a crash between the edit and the write loses nothing, the next
drain (``ingest.sidecars``) writes them. Each mark bumps the row's
generation, so a drain that wrote a photo while a newer edit came in leaves it
pending. The settings that steer writing live here too, beside the queue they
govern: ``metadata.write`` (off, sidecars, embed) and ``metadata.sidecar_name``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from desktop.core.catalog.db import database
from desktop.core.catalog.schema import Setting, SidecarPending

SETTING_WRITE = "metadata.write"
WRITE_OFF, WRITE_SIDECARS, WRITE_EMBED = "off", "sidecars", "embed"
WRITE_MODES = (WRITE_OFF, WRITE_SIDECARS, WRITE_EMBED)
SETTING_NAMING = "metadata.sidecar_name"
NAME_EXT_XMP, NAME_XMP = "name.ext.xmp", "name.xmp"  # digiKam/darktable/Immich's, Lightroom's
NAMINGS = (NAME_EXT_XMP, NAME_XMP)
DEFAULTS = {SETTING_WRITE: WRITE_SIDECARS, SETTING_NAMING: NAME_EXT_XMP}

# the photo columns a sidecar carries (the date and place only when the person set them)
SIDECAR_COLUMNS = frozenset(
    {
        "rating",
        "color_label",
        "title",
        "description",
        "taken_at",
        "taken_local",
        "taken_at_source",
        "gps_lat",
        "gps_lon",
        "place_source",
    }
)


def setting(key: str) -> str:
    row = Setting.get_or_none(Setting.key == key)
    return str(row.value) if row is not None else DEFAULTS[key]


def write_mode() -> str:
    mode = setting(SETTING_WRITE)
    return mode if mode in WRITE_MODES else WRITE_SIDECARS


def naming() -> str:
    name = setting(SETTING_NAMING)
    return name if name in NAMINGS else NAME_EXT_XMP


_listeners: list[Callable[[], None]] = []
_listeners_lock = threading.Lock()


def on_marked(listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener`` (on the writer thread, so it must only hand over) whenever photos are marked;
    the app starts its debounced drain so. Returns the call that stops it."""
    with _listeners_lock:
        _listeners.append(listener)

    def stop() -> None:
        with _listeners_lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return stop


def mark(ids: Iterable[int]) -> None:
    """Mark photos pending (writer thread). While writing is off the marks are kept but no drain is
    started: turning writing on writes what changed meanwhile."""
    ids = [int(i) for i in ids]
    if not ids:
        return
    database.execute_sql(
        "INSERT INTO sidecar_pending (photo_id, generation) "
        "SELECT id, 0 FROM photo WHERE id IN (SELECT value FROM json_each(?)) "
        "ON CONFLICT(photo_id) DO UPDATE SET generation = generation + 1",
        [json.dumps(ids)],
    )
    if write_mode() == WRITE_OFF:
        return
    with _listeners_lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener()


def step_photos(step: dict[str, Any]) -> list[int]:
    """The photos whose sidecar a history step changes (none for albums, rotation, rows)."""
    op = step["op"]
    if op == "set" and step["col"] in SIDECAR_COLUMNS:
        return [int(p) for _value, pids in step["after"] for p in pids]
    if op in ("link_tag", "unlink_tag"):
        return [int(p) for p in step["ids"]]
    return []


def pending(limit: int | None = None) -> list[tuple[int, int]]:
    """(photo id, generation) of the pending photos, oldest first."""
    q = SidecarPending.select(SidecarPending.photo, SidecarPending.generation).order_by(SidecarPending.photo)
    if limit is not None:
        q = q.limit(limit)
    return [(int(pid), int(gen)) for pid, gen in _rows(q)]


def _rows(query: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in query.tuples()]


def count() -> int:
    return int(SidecarPending.select().count())


def failed() -> list[tuple[int, str]]:
    """(photo id, reason) of the photos whose last write failed."""
    q = SidecarPending.select(SidecarPending.photo, SidecarPending.reason).where(
        SidecarPending.reason.is_null(False)
    )
    return [(int(pid), str(reason)) for pid, reason in _rows(q)]


def done(written: Sequence[tuple[int, int]]) -> None:
    """Clear the photos written, unless an edit marked them again meanwhile (writer thread)."""
    database.cursor().executemany(
        "DELETE FROM sidecar_pending WHERE photo_id = ? AND generation = ?", list(written)
    )


def fail(reasons: dict[int, str]) -> None:
    """Keep the photos pending with the reason their write failed (writer thread)."""
    database.cursor().executemany(
        "UPDATE sidecar_pending SET reason = ? WHERE photo_id = ?", [(r, p) for p, r in reasons.items()]
    )
