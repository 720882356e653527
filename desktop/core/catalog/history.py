"""The undo history: every user edit of the catalog as a reversible list of steps, kept in the catalog.

One history serves the app and the command line alike, because it lives in the
catalog (``HistoryEntry`` rows): ``undo`` reverts the newest action whoever made
it, ``redo`` re-applies the oldest undone one, and a new action drops what was
undone. An action is one user gesture (rating 1,585 photos is one step); it is
stored as a list of *steps*, each of which has an exact inverse, so undo is
"apply the inverses in reverse order" and redo is "apply the steps again".

Steps name photos by id and tags and albums by name (ids of tags and albums
change when they are recreated). Photo rows that an action deletes are kept
whole (raw column values, with their folder's path) so that undo puts them back
with their user data, under the same id where it is still free; ids that change
are written into the older entries (``carry_remap``). Applying a step tolerates rows that vanished since (a photo
removed by a later rescan is simply skipped), so undo never fails half-way on
a library that moved on.

Everything here runs on the catalog writer's thread, inside its transaction;
file operations (the trash) are done by ``desktop.core.ingest.trash`` around it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import peewee as pw

from desktop.core.catalog import sidecar_queue
from desktop.core.catalog.db import database
from desktop.core.catalog.filters import in_values
from desktop.core.catalog.schema import (
    STATUS_MISSING,
    STATUS_OK,
    Album,
    AlbumPhoto,
    HistoryEntry,
    Photo,
    PhotoTag,
    Root,
    Tag,
)

KEEP = 50  # actions kept for undo, across restarts
STATE_DONE = "done"
STATE_UNDONE = "undone"

# Photo columns an action may set (user data and the catalog-only rotation).
SETTABLE = (
    "rating",
    "color_label",
    "title",
    "description",
    "rotation",
    "taken_at",
    "taken_local",
    "taken_at_source",
    "gps_lat",
    "gps_lon",
    "gps_alt",
    "place_source",
)

Step = dict[str, Any]


@dataclass(frozen=True)
class Action:
    """One entry of the history, as shown to people."""

    id: int
    label: str
    kind: str
    photos: int
    source: str
    created_at: str
    undone: bool


def as_action(e: HistoryEntry) -> Action:
    """The entry as people see it."""
    created = (
        e.created_at.isoformat(timespec="seconds")
        if isinstance(e.created_at, dt.datetime)
        else str(e.created_at)
    )
    return Action(e.id, e.label, e.kind, e.photos, e.source, created, e.state == STATE_UNDONE)


# ----------------------------------------------------------------- raw rows
def raw_rows(sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    cur = database.execute_sql(sql, params)
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _ids_param(ids: Iterable[int]) -> str:
    return json.dumps([int(i) for i in ids])


def tuples(query: Any) -> list[tuple[Any, ...]]:
    """A Peewee query's rows as plain tuples (typed loosely: Peewee has no type stubs)."""
    return [tuple(r) for r in query.tuples()]


ROOT_PATH = "_root_path"  # kept beside a forgotten photo's row: its folder, found by path when it returns


def photo_rows(ids: Sequence[int]) -> list[dict[str, Any]]:
    """Whole photo rows (raw column values) with their folder's path, for steps that delete photos.

    Row and folder ids are not for ever: SQLite gives a deleted highest id to the next new row,
    so a photo coming back finds its folder by path (see ``_place``).
    """
    return raw_rows(
        f"SELECT photo.*, root.path AS {ROOT_PATH} FROM photo JOIN root ON root.id = photo.root_id "
        "WHERE photo.id IN (SELECT value FROM json_each(?))",
        [_ids_param(ids)],
    )


class Remap:
    """What one replay learnt: photos that came back under other ids, and notes for the person."""

    def __init__(self) -> None:
        self.photos: dict[int, int] = {}
        self.notes: list[str] = []


def existing_ids(ids: Iterable[int]) -> list[int]:
    cur = database.execute_sql(
        "SELECT id FROM photo WHERE id IN (SELECT value FROM json_each(?))", [_ids_param(ids)]
    )
    return [int(r[0]) for r in cur.fetchall()]


# ---------------------------------------------------------- step builders
def set_step(column: str, ids: Sequence[int], value: Any) -> Step | None:
    """A step setting ``column`` to ``value`` on ``ids``, remembering each photo's old value.

    Photos that already hold ``value`` are left out; None when nothing changes.
    """
    return set_values_step(column, dict.fromkeys(ids, value))


def set_values_step(column: str, values: dict[int, Any]) -> Step | None:
    """A step giving each photo its own new value (a date shift, say)."""
    if column not in SETTABLE:
        raise ValueError(f"not a settable photo column: {column}")
    old = dict(
        database.execute_sql(
            f"SELECT id, {column} FROM photo WHERE id IN (SELECT value FROM json_each(?))",
            [_ids_param(values)],
        ).fetchall()
    )
    before: dict[str, list[int]] = {}
    after: dict[str, list[int]] = {}
    for pid, new in values.items():
        if pid in old and old[pid] != new:
            before.setdefault(json.dumps(old[pid]), []).append(pid)
            after.setdefault(json.dumps(new), []).append(pid)
    if not before:
        return None
    return {
        "op": "set",
        "col": column,
        "before": [[json.loads(k), v] for k, v in before.items()],
        "after": [[json.loads(k), v] for k, v in after.items()],
    }


def photo_count(steps: Sequence[Step]) -> int:
    """How many distinct photos an action touched (for its label and the status bar)."""
    seen: set[int] = set()
    for s in steps:
        op = s["op"]
        if op == "set":
            for _v, pids in s["after"]:
                seen.update(pids)
        elif op in ("link_tag", "unlink_tag"):
            seen.update(s["ids"])
        elif op in ("link_album", "unlink_album"):
            seen.update(pid for pid, _pos in s["rows"])
        elif op in ("insert_photos", "delete_photos"):
            seen.update(r["id"] for r in s["rows"])
        elif op in ("trash", "untrash"):
            seen.update(f["id"] for f in s["files"])
    return len(seen)


# ---------------------------------------------------------- applying steps
INVERSE = {
    "link_tag": "unlink_tag",
    "unlink_tag": "link_tag",
    "create_tags": "delete_tags",
    "delete_tags": "create_tags",
    "link_album": "unlink_album",
    "unlink_album": "link_album",
    "create_album": "delete_album",
    "delete_album": "create_album",
    "insert_photos": "delete_photos",
    "delete_photos": "insert_photos",
    "insert_root": "delete_root",
    "delete_root": "insert_root",
    "trash": "untrash",
    "untrash": "trash",
}


def inverse(step: Step) -> Step:
    if step["op"] == "set":
        return {"op": "set", "col": step["col"], "before": step["after"], "after": step["before"]}
    return {**step, "op": INVERSE[step["op"]]}


def ensure_tag(name: str) -> Tag:
    """The tag ``name`` with its parents, created as needed (case-insensitive match)."""
    parent: Tag | None = None
    parts = name.split("/")
    for i in range(len(parts)):
        full = "/".join(parts[: i + 1])
        tag = find_tag(full)
        if tag is None:
            tag = Tag.create(name=full, parent=parent)
        parent = tag
    assert parent is not None
    return parent


def find_tag(name: str) -> Tag | None:
    """The tag called ``name``, whatever its case."""
    tag: Tag | None = Tag.get_or_none(pw.fn.lower(Tag.name) == name.lower())
    return tag


def apply_step(step: Step, remap: Remap) -> None:
    """Apply one step (on the writer thread). ``remap`` collects photo ids that came back under new ones."""
    op = step["op"]

    def ids_of(pids: Iterable[int]) -> list[int]:
        return [remap.photos.get(int(p), int(p)) for p in pids]

    if op == "set":
        col = getattr(Photo, step["col"])
        for value, pids in step["after"]:
            Photo.update({col: value}).where(in_values(Photo.id, ids_of(pids))).execute()
    elif op == "link_tag":
        tag = ensure_tag(step["tag"])
        alive = existing_ids(ids_of(step["ids"]))
        # raw executemany: Peewee's insert_many builds SQL for every row (a second per 5,000)
        database.cursor().executemany(
            "INSERT OR IGNORE INTO photo_tag (photo_id, tag_id) VALUES (?, ?)", [(p, tag.id) for p in alive]
        )
    elif op == "unlink_tag":
        found = find_tag(step["tag"])
        if found is not None:
            PhotoTag.delete().where(
                (PhotoTag.tag == found.id) & in_values(PhotoTag.photo, ids_of(step["ids"]))
            ).execute()
    elif op == "create_tags":
        for name in sorted(step["names"], key=lambda n: n.count("/")):
            ensure_tag(name)
    elif op == "delete_tags":
        names = [n.lower() for n in step["names"]]
        # children first, so that the parent's ON DELETE CASCADE never takes a tag we keep
        for name in sorted(names, key=lambda n: -n.count("/")):
            Tag.delete().where(pw.fn.lower(Tag.name) == name).execute()
    elif op == "link_album":
        album, _ = Album.get_or_create(name=step["album"])  # type: ignore[no-untyped-call]
        present = set(existing_ids(ids_of(pid for pid, _pos in step["rows"])))
        rows = [
            (album.id, remap.photos.get(pid, pid), pos)
            for pid, pos in step["rows"]
            if remap.photos.get(pid, pid) in present
        ]
        database.cursor().executemany(
            "INSERT OR IGNORE INTO album_photo (album_id, photo_id, position) VALUES (?, ?, ?)", rows
        )
    elif op == "unlink_album":
        album = Album.get_or_none(Album.name == step["album"])
        if album is not None:
            members = ids_of(pid for pid, _pos in step["rows"])
            AlbumPhoto.delete().where(
                (AlbumPhoto.album == album.id) & in_values(AlbumPhoto.photo, members)
            ).execute()
    elif op == "create_album":
        if Album.get_or_none(Album.name == step["album"]) is None:
            Album.create(name=step["album"], created_at=step.get("created_at") or dt.datetime.now())
    elif op == "delete_album":
        Album.delete().where(Album.name == step["album"]).execute()
    elif op == "insert_root":
        row = step["root"]
        # by path, under a fresh id; not at all when a folder now holds it (its photos go there)
        if _place(row["path"]) is None and not _encloses_roots(row["path"]):
            _insert_raw("root", row, keep_id=False)
    elif op == "delete_root":
        Root.delete().where(Root.path == step["root"]["path"]).execute()
    elif op == "insert_photos" or op == "untrash":
        _insert_photos(step["rows"] if op == "insert_photos" else [f["row"] for f in step["files"]], remap)
    elif op == "delete_photos" or op == "trash":
        gone: list[dict[str, Any]] = (
            step["rows"] if op == "delete_photos" else [f["row"] for f in step["files"]]
        )
        Photo.delete().where(in_values(Photo.id, ids_of(r["id"] for r in gone))).execute()
    else:  # pragma: no cover - a catalog written by a newer Shoebox
        raise ValueError(f"unknown history step {op!r}")
    # in the same transaction as the change: a crash before the sidecar is written leaves it pending
    sidecar_queue.mark(ids_of(sidecar_queue.step_photos(step)))


def _insert_raw(table: str, row: dict[str, Any], keep_id: bool) -> int:
    data = dict(row) if keep_id else {k: v for k, v in row.items() if k != "id"}
    cols = ", ".join(f'"{c}"' for c in data)
    marks = ", ".join("?" for _ in data)
    cur = database.execute_sql(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', list(data.values()))
    return int(cur.lastrowid)


def _roots() -> list[tuple[int, str]]:
    return [
        (int(rid), str(path)) for rid, path in database.execute_sql("SELECT id, path FROM root").fetchall()
    ]


def _place(folder: str, roots: list[tuple[int, str]] | None = None) -> tuple[int, str] | None:
    """The library folder that holds ``folder`` now: (its root id, the prefix to its photos' paths)."""
    best: tuple[int, str] | None = None
    best_len = -1
    for rid, path in roots if roots is not None else _roots():
        rp = str(path).rstrip("/")
        if folder == path:
            return int(rid), ""
        if (folder.startswith(rp + "/") or rp == "") and len(rp) > best_len:
            best, best_len = (int(rid), folder[len(rp) :].strip("/") + "/"), len(rp)
    return best


def _encloses_roots(folder: str) -> bool:
    prefix = folder.rstrip("/") + "/"
    return any(path.startswith(prefix) for _rid, path in _roots())


def _insert_photos(rows: list[dict[str, Any]], remap: Remap) -> None:
    """Put forgotten photo rows back: under their old ids where free, else merged or under new ids.

    A photo finds its folder by path: the folder may have come back under another id, or be
    inside a folder added since. A file may have come back by itself meanwhile (a rescan
    catalogued it again): then its user data goes onto that row, which keeps the file facts it
    has now. Raw SQL in bulk: building a Peewee query per row cost 30 ms a photo.
    """
    placed: list[dict[str, Any]] = []
    homeless: list[str] = []
    roots = _roots()
    places: dict[str, tuple[int, str] | None] = {}  # one lookup per folder, not per photo
    for r in rows:
        r = dict(r)
        folder = r.pop(ROOT_PATH, None)
        if folder is not None and folder not in places:
            places[folder] = _place(folder, roots)
        where = places[folder] if folder is not None else (int(r["root_id"]), "")
        if where is None:
            homeless.append(str(folder) + "/" + r["rel_path"])
            continue
        r["root_id"], r["rel_path"] = where[0], where[1] + r["rel_path"]
        placed.append(r)
    if homeless:
        remap.notes.append(
            f"{len(homeless):,} photo(s) did not come back because their folder is no longer in the "
            f"library (e.g. {homeless[0]}); add the folder again, then undo once more"
        )
    if not placed:
        return
    root_paths = dict(roots)
    twins: dict[tuple[int, str], int] = {}
    by_root: dict[int, list[str]] = {}
    for r in placed:
        by_root.setdefault(r["root_id"], []).append(r["rel_path"])
    for root_id, rels in by_root.items():
        cur = database.execute_sql(
            "SELECT id, rel_path FROM photo WHERE root_id = ? AND rel_path IN (SELECT value FROM json_each(?))",
            [root_id, json.dumps(rels)],
        )
        twins.update({(root_id, rel): pid for pid, rel in cur.fetchall()})
    taken = set(existing_ids(r["id"] for r in placed))
    user_cols = [c for c in SETTABLE if c not in ("taken_at", "taken_local") and c in placed[0]]
    merge: list[tuple[Any, ...]] = []
    fresh: list[dict[str, Any]] = []
    for r in placed:
        twin = twins.get((r["root_id"], r["rel_path"]))
        if twin is not None:
            merge.append((*[r[c] for c in user_cols], twin))
            if twin != r["id"]:
                remap.photos[int(r["id"])] = twin
            continue
        if r.get("status") == STATUS_OK and not os.path.exists(
            os.path.join(root_paths[r["root_id"]], r["rel_path"])
        ):
            r = {**r, "status": STATUS_MISSING}  # still in the trash (or gone): back when the file is
        fresh.append(r)
    if merge:
        sets = ", ".join(f'"{c}" = ?' for c in user_cols)
        database.cursor().executemany(f"UPDATE photo SET {sets} WHERE id = ?", merge)
    free = [r for r in fresh if r["id"] not in taken]
    if free:
        cols = list(free[0])
        names = ", ".join(f'"{c}"' for c in cols)
        marks = ", ".join("?" for _ in cols)
        database.cursor().executemany(
            f"INSERT INTO photo ({names}) VALUES ({marks})", [tuple(r[c] for c in cols) for r in free]
        )
    for r in fresh:
        if r["id"] in taken:  # its id went to another photo meanwhile: it comes back under a new one
            remap.photos[int(r["id"])] = _insert_raw("photo", r, keep_id=False)


def remap_steps(steps: list[Step], photos: dict[int, int]) -> list[Step]:
    """``steps`` with photo ids changed as ``photos`` says (a photo that came back under a new id)."""

    def m(pid: int) -> int:
        return photos.get(int(pid), int(pid))

    out: list[Step] = []
    for step in steps:
        s = dict(step)
        op = s["op"]
        if op == "set":
            s["before"] = [[v, [m(p) for p in ids]] for v, ids in s["before"]]
            s["after"] = [[v, [m(p) for p in ids]] for v, ids in s["after"]]
        elif op in ("link_tag", "unlink_tag"):
            s["ids"] = [m(p) for p in s["ids"]]
        elif op in ("link_album", "unlink_album"):
            s["rows"] = [[m(p), pos] for p, pos in s["rows"]]
        elif op in ("insert_photos", "delete_photos"):
            s["rows"] = [{**r, "id": m(r["id"])} for r in s["rows"]]
        elif op in ("trash", "untrash"):
            s["files"] = [
                {**f, "id": m(f["id"]), "row": {**f["row"], "id": m(f["row"]["id"])}} for f in s["files"]
            ]
        out.append(s)
    return out


def carry_remap(up_to: int, photos: dict[int, int]) -> None:
    """Write ids that changed in a replay into every entry recorded up to entry ``up_to``.

    Those entries name the photos by the ids they had then; entries recorded later name the
    photos that hold those ids now, and stay as they are.
    """
    if not photos:
        return
    for e in HistoryEntry.select().where(HistoryEntry.id <= up_to):
        e.payload = encode(remap_steps(decode(e.payload), photos))
        e.save()


# ------------------------------------------------------------- the record
def record(kind: str, label: str, steps: Sequence[Step], source: str) -> HistoryEntry | None:
    """Store an action that was just applied (writer thread): drops the redo tail, keeps the newest ``KEEP``."""
    steps = [s for s in steps if s is not None]
    if not steps:
        return None
    HistoryEntry.delete().where(HistoryEntry.state == STATE_UNDONE).execute()
    entry = HistoryEntry.create(
        kind=kind,
        label=label,
        payload=encode(steps),
        photos=photo_count(steps),
        source=source,
        state=STATE_DONE,
    )
    stale = HistoryEntry.select(HistoryEntry.id).order_by(HistoryEntry.id.desc()).offset(KEEP)
    HistoryEntry.delete().where(HistoryEntry.id.in_(stale)).execute()
    return entry


def encode(steps: Sequence[Step]) -> bytes:
    return zlib.compress(json.dumps(list(steps), separators=(",", ":")).encode(), 6)


def decode(payload: bytes) -> list[Step]:
    steps: list[Step] = json.loads(zlib.decompress(bytes(payload)))
    return steps


def newest_done() -> HistoryEntry | None:
    e: HistoryEntry | None = (
        HistoryEntry.select().where(HistoryEntry.state == STATE_DONE).order_by(HistoryEntry.id.desc()).first()
    )
    return e


def oldest_undone() -> HistoryEntry | None:
    e: HistoryEntry | None = (
        HistoryEntry.select().where(HistoryEntry.state == STATE_UNDONE).order_by(HistoryEntry.id).first()
    )
    return e


def entries(limit: int = KEEP) -> list[Action]:
    q = HistoryEntry.select().order_by(HistoryEntry.id.desc()).limit(limit)
    return [as_action(e) for e in q]
