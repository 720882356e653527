"""User edits of the catalog, each built as undoable history steps and applied at once.

Every function here runs on the catalog writer's thread (``Library`` calls them
through ``writer.call``), reads the state it is about to change, applies the
change through ``history.apply_step`` — the same code undo and redo use, so
what is undone is exactly what was done — and records one history entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import peewee as pw

from desktop.core.catalog import history, pairs
from desktop.core.catalog.filters import in_values
from desktop.core.catalog.history import Step
from desktop.core.catalog.schema import Album, AlbumPhoto, HistoryEntry, Photo, PhotoTag, Root, Tag
from desktop.core.runtime.wording import counted


def commit(kind: str, label: str, steps: Sequence[Step | None], source: str) -> HistoryEntry | None:
    """Apply ``steps`` and record them as one action (writer thread)."""
    real = [s for s in steps if s is not None]
    remap = history.Remap()
    for step in real:
        history.apply_step(step, remap)
    return history.record(kind, label, real, source)


def photo_set(
    column: str, ids: Sequence[int], value: Any, kind: str, label: str, source: str
) -> HistoryEntry | None:
    return commit(kind, label, [history.set_step(column, ids, value)], source)


def tag_links(tag_id: int, ids: Sequence[int] | None = None) -> list[int]:
    """Photos (among ``ids``, or all) that carry the tag."""
    q = PhotoTag.select(PhotoTag.photo).where(PhotoTag.tag == tag_id)
    if ids is not None:  # in SQL: a tag on 100,000 photos must not be read whole to tag one more
        q = q.where(in_values(PhotoTag.photo, ids))
    return [pid for (pid,) in history.tuples(q)]


def add_tag(full: str, ids: Sequence[int], source: str) -> tuple[Tag, HistoryEntry | None]:
    parts = full.split("/")
    missing = [
        "/".join(parts[: i + 1])
        for i in range(len(parts))
        if history.find_tag("/".join(parts[: i + 1])) is None
    ]
    existing = history.find_tag(full)
    have = set(tag_links(existing.id, ids)) if existing is not None else set()
    new = [pid for pid in dict.fromkeys(ids) if pid not in have]
    name = existing.name if existing is not None else full
    steps: list[Step | None] = [{"op": "create_tags", "names": missing} if missing else None]
    if new:
        steps.append({"op": "link_tag", "tag": name, "ids": new})
    entry = commit("tag", f"Tagged {counted(pairs.item_count(new), 'photo')} “{name}”", steps, source)
    return history.ensure_tag(name), entry


def remove_tag(full: str, ids: Sequence[int], source: str) -> tuple[int, HistoryEntry | None]:
    tag = history.find_tag(full)
    if tag is None:
        return 0, None
    had = tag_links(tag.id, ids)
    if not had:
        return 0, None
    step = {"op": "unlink_tag", "tag": tag.name, "ids": had}
    n = pairs.item_count(had)
    return n, commit("untag", f"Removed “{tag.name}” from {counted(n, 'photo')}", [step], source)


def delete_tag(full: str, source: str) -> tuple[int, HistoryEntry | None]:
    """Delete a tag and its children from every photo; returns the number of photos it was on."""
    tags = list(
        Tag.select().where(
            (pw.fn.lower(Tag.name) == full.lower()) | (pw.fn.lower(Tag.name).startswith(full.lower() + "/"))
        )
    )
    if not tags:
        return 0, None
    steps: list[Step | None] = []
    photos: set[int] = set()
    for tag in tags:
        had = tag_links(tag.id)
        photos.update(had)
        if had:
            steps.append({"op": "unlink_tag", "tag": tag.name, "ids": had})
    steps.append({"op": "delete_tags", "names": [t.name for t in tags]})
    name = min((t.name for t in tags), key=len)
    return len(photos), commit(
        "delete_tag", f"Deleted tag “{name}” ({counted(len(photos), 'photo')})", steps, source
    )


def album_rows(album_id: int, ids: Sequence[int] | None = None) -> list[list[int]]:
    q = AlbumPhoto.select(AlbumPhoto.photo, AlbumPhoto.position).where(AlbumPhoto.album == album_id)
    if ids is not None:
        q = q.where(in_values(AlbumPhoto.photo, ids))
    return [[pid, pos] for pid, pos in history.tuples(q)]


def add_to_album(name: str, ids: Sequence[int], source: str) -> tuple[int, HistoryEntry | None]:
    album = Album.get_or_none(Album.name == name)
    steps: list[Step | None] = []
    have: set[int] = set()
    start = 0
    if album is None:
        steps.append({"op": "create_album", "album": name})
    else:
        rows = album_rows(album.id)
        have = {r[0] for r in rows}
        start = max((r[1] for r in rows), default=0)
    new = [pid for pid in dict.fromkeys(ids) if pid not in have]
    if new:
        steps.append(
            {"op": "link_album", "album": name, "rows": [[pid, start + i + 1] for i, pid in enumerate(new)]}
        )
    n = pairs.item_count(new)
    return n, commit("album", f"Added {counted(n, 'photo')} to album “{name}”", steps, source)


def remove_from_album(name: str, ids: Sequence[int], source: str) -> tuple[int, HistoryEntry | None]:
    album = Album.get_or_none(Album.name == name)
    if album is None:
        return 0, None
    rows = album_rows(album.id, ids)
    if not rows:
        return 0, None
    step = {"op": "unlink_album", "album": name, "rows": rows}
    n = pairs.item_count(r[0] for r in rows)
    return n, commit("unalbum", f"Removed {counted(n, 'photo')} from album “{name}”", [step], source)


def delete_album(name: str, source: str) -> tuple[int, HistoryEntry | None]:
    album = Album.get_or_none(Album.name == name)
    if album is None:
        return 0, None
    rows = album_rows(album.id)
    created = (
        album.created_at.isoformat(sep=" ") if hasattr(album.created_at, "isoformat") else album.created_at
    )
    steps: list[Step | None] = [
        {"op": "unlink_album", "album": name, "rows": rows} if rows else None,
        {"op": "delete_album", "album": name, "created_at": created},
    ]
    label = f"Deleted album “{name}” ({counted(len(rows), 'photo')})"
    return len(rows), commit("delete_album", label, steps, source)


def forget_steps(ids: Sequence[int]) -> list[Step]:
    """Steps that forget photos with everything attached to them (tags, albums), in undoable order."""
    rows = history.photo_rows(ids)
    present = [r["id"] for r in rows]
    steps: list[Step] = []
    tag_q = PhotoTag.select(Tag.name, PhotoTag.photo).join(Tag).where(in_values(PhotoTag.photo, present))
    by_tag: dict[str, list[int]] = {}
    for name, pid in history.tuples(tag_q):
        by_tag.setdefault(name, []).append(pid)
    steps += [{"op": "unlink_tag", "tag": n, "ids": p} for n, p in by_tag.items()]
    album_q = (
        AlbumPhoto.select(Album.name, AlbumPhoto.photo, AlbumPhoto.position)
        .join(Album)
        .where(in_values(AlbumPhoto.photo, present))
    )
    by_album: dict[str, list[list[int]]] = {}
    for name, pid, pos in history.tuples(album_q):
        by_album.setdefault(name, []).append([pid, pos])
    steps += [{"op": "unlink_album", "album": n, "rows": r} for n, r in by_album.items()]
    if rows:
        steps.append({"op": "delete_photos", "rows": rows})
    return steps


def forget_trashed(
    files: dict[int, str], source: str, sidecars: dict[int, list[str]] | None = None
) -> HistoryEntry | None:
    """Forget photos whose files just went to the trash (``files``: id → path; ``sidecars``: the XMP
    sidecars that went with them), as one action whose undo brings the files back (``Library._replay``
    moves them)."""
    steps = forget_steps(list(files))
    last = steps.pop()  # the delete_photos step becomes a trash step carrying the files
    taken = sidecars or {}
    steps.append(
        {
            "op": "trash",
            "files": [
                {"id": r["id"], "path": files[r["id"]], "row": r, "sidecars": taken.get(r["id"], [])}
                for r in last["rows"]
            ],
        }
    )
    n = pairs.item_count(files)
    return commit("trash", f"Moved {counted(n, 'photo')} to the trash", steps, source)


def rotate(ids: Sequence[int], degrees: int, way: str, source: str) -> HistoryEntry | None:
    """Turn each photo ``degrees`` further clockwise than it is now (catalog only)."""
    q = Photo.select(Photo.id, Photo.rotation).where(in_values(Photo.id, ids))
    values = {pid: (int(r or 0) + degrees) % 360 for pid, r in history.tuples(q)}
    step = history.set_values_step("rotation", values)
    return commit("rotate", f"Turned {counted(len(values), 'photo')} {way}", [step], source)


DATE_SOURCE_USER = "user"  # taken_at_source of a date the person set or shifted (a rescan keeps it)


def _moved(taken_at: str | None, taken_local: str, delta: dt.timedelta) -> tuple[str | None, str]:
    """A photo's (taken_at, taken_local) moved by ``delta``; taken_at keeps its UTC offset, if it had one."""
    local = dt.datetime.fromisoformat(taken_local) + delta
    at: str | None = None
    if taken_at:
        try:
            at = (dt.datetime.fromisoformat(taken_at) + delta).isoformat()
        except ValueError:  # a date recorded in a form Python does not read: the local time answers
            at = None
    return at or local.isoformat(), local.isoformat(timespec="microseconds")


def change_dates(
    ids: Sequence[int], delta_for: Callable[[dt.datetime], dt.timedelta], label: str, source: str
) -> tuple[int, HistoryEntry | None]:
    """Move each photo's date by ``delta_for(its local date)``: one undoable action of three steps."""
    q = Photo.select(Photo.id, Photo.taken_at, Photo.taken_local).where(in_values(Photo.id, ids))
    at: dict[int, Any] = {}
    local: dict[int, Any] = {}
    for pid, taken_at, taken_local in history.tuples(q):
        if not taken_local:  # an unreadable file has no date to move
            continue
        delta = delta_for(dt.datetime.fromisoformat(taken_local))
        if not delta:  # already at that date: nothing to record, nothing to undo
            continue
        at[pid], local[pid] = _moved(taken_at, taken_local, delta)
    if not local:
        return 0, None
    steps = [
        history.set_values_step("taken_at", at),
        history.set_values_step("taken_local", local),
        history.set_values_step("taken_at_source", dict.fromkeys(local, DATE_SOURCE_USER)),
    ]
    n = pairs.item_count(local)
    return n, commit("date", label.format(photos=counted(n, "photo")), steps, source)


PLACE_SOURCE_USER = "user"  # place_source of a place the person set (a rescan keeps it)


def set_place(ids: Sequence[int], place: tuple[float, float] | None, source: str) -> HistoryEntry | None:
    """Give photos a place (latitude, longitude), or clear it (None): one undoable action."""
    lat, lon = place if place is not None else (None, None)
    n = pairs.item_count(ids)
    label = (
        f"Set the place of {counted(n, 'photo')} to {lat:.5f}, {lon:.5f}"
        if place is not None
        else f"Cleared the place of {counted(n, 'photo')}"
    )
    steps = [
        history.set_step("gps_lat", ids, lat),
        history.set_step("gps_lon", ids, lon),
        history.set_step("gps_alt", ids, None),
        history.set_step("place_source", ids, PLACE_SOURCE_USER),
    ]
    return commit("place", label, steps, source)


def remove_photos(ids: Sequence[int], source: str) -> tuple[int, HistoryEntry | None]:
    steps = forget_steps(list(ids))
    rows = steps[-1]["rows"] if steps and steps[-1]["op"] == "delete_photos" else []
    n = pairs.item_count(r["id"] for r in rows)
    if not n:
        return 0, None
    return n, commit("remove", f"Removed {counted(n, 'photo')} from the library", steps, source)


def remove_root(root_id: int, source: str) -> tuple[int, HistoryEntry | None]:
    root = Root.get_or_none(Root.id == root_id)
    if root is None:
        return 0, None
    ids = [pid for (pid,) in history.tuples(Photo.select(Photo.id).where(Photo.root == root_id))]
    steps = forget_steps(ids) if ids else []
    steps.append(
        {"op": "delete_root", "root": history.raw_rows("SELECT * FROM root WHERE id = ?", [root_id])[0]}
    )
    label = f"Removed folder {root.path} ({counted(len(ids), 'photo')}) from the library"
    return len(ids), commit("remove_root", label, steps, source)
