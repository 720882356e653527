"""Which files of a folder form one item: RAW+JPEG pairs and Live Photos.

A camera set to RAW+JPEG writes ``IMG_1.CR2`` beside ``IMG_1.JPG``; an iPhone's
Live Photo is a still (``IMG_1.HEIC`` or ``.JPG``) and a short clip (``IMG_1.MOV``).
Each pair is shown as one item whose cover is the still, with the other file its
companion (``Photo.companion_of``; ``desktop.core.catalog.pairs`` hides companions).

Rules, within one folder, among readable files on disk:

* Live Photo by content: a still and a video carrying the same Apple content identifier
  (the still's MakerNote ContentIdentifier, the clip's ``com.apple.quicktime.content.identifier``).
* Live Photo by name: a still (JPEG or HEIF) and a MOV of the same stem (case ignored),
  the clip at most ``LIVE_MAX_SECONDS`` long, unless their content identifiers differ.
* RAW+JPEG: one camera RAW and one JPEG or HEIF of the same stem (case ignored).

A name is not proof: cameras restart their counters, so ``DSC_0101.JPG`` of 2013 and
``DSC_0101.DNG`` of 2024 can share a folder. A camera's twins record one moment, so a pair
by name is refused when both files carry a capture time from their metadata and the times
differ by more than ``RAW_JPEG_MAX_GAP`` (``LIVE_MAX_GAP`` for a still and its clip, whose
creation date is close to, not equal to, the still's), or when both name a camera make or
model and these differ. File times prove nothing, and a date the person set is not
compared (a date edit reaches both files of a pair, so it must not break one).

A name shared by more files than a pair (two stills of one stem) pairs nothing: guessing
could hide the wrong file. Pairs follow the files: ``refresh`` runs after every scan and
watcher change of a folder, so a pair forms when its second file appears and dissolves
when one goes missing, is renamed or moves away. Forming a pair never loses user data: each
file gets the tags and albums of the other, and the rating, label, title and description
one of them lacks; from then on edits reach both (``Library``).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from desktop.core.catalog import pairs
from desktop.core.catalog.db import database
from desktop.core.catalog.filters import in_values
from desktop.core.catalog.schema import STATUS_OK, Photo
from desktop.core.ingest.formats import KIND_RAW, KIND_VIDEO, format_for

LIVE_MAX_SECONDS = (
    4.0  # Apple's Live Photo clips run about 3 s; a longer clip of that name is a video of its own
)
RAW_JPEG_MAX_GAP = 2.0  # seconds; a RAW and its JPEG are one exposure
LIVE_MAX_GAP = 10.0  # seconds; a Live Photo's clip starts about 1.5 s before its still
# taken_at_source values read from the file's own metadata (not its modification time, not the person)
_CAPTURE_SOURCES = frozenset(
    {"DateTimeOriginal", "DateTimeDigitized", "QuickTime creationdate", "creation_time"}
)
_ZONE_GUESSED = "creation_time"  # UTC in the file, turned local by a guessed zone
_STILL_FORMATS = frozenset({"JPEG", "HEIF"})
_LIVE_CLIP_EXTENSIONS = frozenset({".mov"})


@dataclass(frozen=True)
class PairFileRow:
    """What pairing needs of one catalogued file."""

    id: int
    rel_path: str
    status: str
    duration: float | None
    content_id: str | None
    taken_at: str | None = None  # ISO 8601, with its offset when known
    taken_local: str | None = None
    taken_at_source: str | None = None
    camera_make: str | None = None
    camera_model: str | None = None


def _capture_gap(a: PairFileRow, b: PairFileRow) -> float | None:
    """Seconds between two files' capture times, or None when either is not the camera's own
    (a file time, a date the person set, none) or the two cannot be compared safely."""
    if a.taken_at_source not in _CAPTURE_SOURCES or b.taken_at_source not in _CAPTURE_SOURCES:
        return None
    first, second = _parse(a.taken_at), _parse(b.taken_at)
    if first is not None and second is not None and first.tzinfo is not None and second.tzinfo is not None:
        return abs((first - second).total_seconds())
    if _ZONE_GUESSED in (a.taken_at_source, b.taken_at_source):
        return None  # its local time rests on a guessed zone: hours off proves nothing
    local = [_parse(r.taken_local) for r in (a, b)]
    if local[0] is None or local[1] is None:
        return None
    return abs((local[0].replace(tzinfo=None) - local[1].replace(tzinfo=None)).total_seconds())


def _parse(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def _same_camera(a: PairFileRow, b: PairFileRow) -> bool:
    """False only when both files name a make (or a model) and the names differ."""
    for x, y in ((a.camera_make, b.camera_make), (a.camera_model, b.camera_model)):
        if x and y and " ".join(x.split()).casefold() != " ".join(y.split()).casefold():
            return False
    return True


def _one_moment(a: PairFileRow, b: PairFileRow, max_gap: float) -> bool:
    gap = _capture_gap(a, b)
    return gap is None or gap <= max_gap


def folder_of(rel: str) -> str:
    """The folder part of a root-relative path ("" for the root itself)."""
    return rel.rsplit("/", 1)[0] if "/" in rel else ""


def _stem(rel: str) -> str:
    return os.path.splitext(rel.rsplit("/", 1)[-1])[0].casefold()


def _role(rel: str) -> str | None:
    """ "still", "raw", "clip" (a MOV) or None (anything that never pairs)."""
    fmt = format_for(rel)
    if fmt is None:
        return None
    if fmt.kind == KIND_RAW:
        return "raw"
    if fmt.kind == KIND_VIDEO:
        return "clip" if os.path.splitext(rel)[1].lower() in _LIVE_CLIP_EXTENSIONS else None
    return "still" if fmt.name in _STILL_FORMATS else None


def decide(rows: Iterable[PairFileRow]) -> dict[int, tuple[int, str]]:
    """Companion id → (cover id, kind) for the files of one folder (a pure function)."""
    by_role: dict[str, list[PairFileRow]] = {"still": [], "raw": [], "clip": []}
    for row in rows:
        role = _role(row.rel_path)
        if row.status == STATUS_OK and role is not None:
            by_role[role].append(row)
    out: dict[int, tuple[int, str]] = {}
    used: set[int] = set()

    def pair(cover: PairFileRow, companion: PairFileRow, kind: str) -> None:
        out[companion.id] = (cover.id, kind)
        used.update((cover.id, companion.id))

    # Live Photos by Apple's content identifier first: it names the pair whatever the file names say
    for key, (stills, clips) in _grouped(by_role["still"], by_role["clip"], lambda r: r.content_id).items():
        if key and len(stills) == 1 and len(clips) == 1:
            pair(stills[0], clips[0], pairs.KIND_LIVE)
    for _stem_key, (stills, clips) in _grouped(by_role["still"], by_role["clip"], _by_stem).items():
        stills = [r for r in stills if r.id not in used]
        clips = [r for r in clips if r.id not in used]
        if len(stills) != 1 or len(clips) != 1:
            continue
        still, clip = stills[0], clips[0]
        short = clip.duration is not None and clip.duration <= LIVE_MAX_SECONDS
        other_moment = still.content_id and clip.content_id and still.content_id != clip.content_id
        if short and not other_moment and _one_moment(still, clip, LIVE_MAX_GAP):
            pair(still, clip, pairs.KIND_LIVE)
    for _stem_key, (stills, raws) in _grouped(by_role["still"], by_role["raw"], _by_stem).items():
        stills = [r for r in stills if r.id not in used]
        if len(stills) != 1 or len(raws) != 1 or raws[0].id in used:
            continue
        still, raw = stills[0], raws[0]
        if _same_camera(still, raw) and _one_moment(still, raw, RAW_JPEG_MAX_GAP):
            pair(still, raw, pairs.KIND_RAW_JPEG)
    return out


def _by_stem(row: PairFileRow) -> str:
    return _stem(row.rel_path)


def _grouped(
    covers: list[PairFileRow], others: list[PairFileRow], key: Any
) -> dict[str, tuple[list[PairFileRow], list[PairFileRow]]]:
    groups: dict[str, tuple[list[PairFileRow], list[PairFileRow]]] = {}
    for row in covers:
        k = key(row)
        if k:
            groups.setdefault(k, ([], []))[0].append(row)
    for row in others:
        k = key(row)
        if k and k in groups:
            groups[k][1].append(row)
    return groups


def refresh(root_id: int, folders: Iterable[str] | None = None, below: bool = False) -> int:
    """Form and dissolve the pairs of a root's ``folders`` (every folder when None; with ``below``,
    their subfolders too) to match the files there now. Runs on the writer thread; returns how
    many rows changed."""
    wanted = None if folders is None else set(folders)
    q = Photo.select(
        Photo.id,
        Photo.rel_path,
        Photo.status,
        Photo.duration,
        Photo.content_id,
        Photo.taken_at,
        Photo.taken_local,
        Photo.taken_at_source,
        Photo.camera_make,
        Photo.camera_model,
        Photo.companion_of,
        Photo.companion_kind,
    ).where(Photo.root == root_id)
    if wanted is not None and "" not in wanted:
        cond = None
        for folder in wanted:
            c = Photo.rel_path.startswith(folder.rstrip("/") + "/")
            cond = c if cond is None else (cond | c)
        q = q.where(cond)
    by_folder: dict[str, list[PairFileRow]] = {}
    current: dict[int, tuple[int | None, str | None]] = {}
    for pid, rel, status, duration, content_id, *dated, cover, kind in _tuples(q):
        folder = folder_of(rel)
        if wanted is not None and not below and folder not in wanted:
            continue
        if wanted is not None and below and not any(_within(folder, w) for w in wanted):
            continue
        by_folder.setdefault(folder, []).append(PairFileRow(pid, rel, status, duration, content_id, *dated))
        current[pid] = (cover, kind)
    desired: dict[int, tuple[int, str]] = {}
    for rows in by_folder.values():
        desired.update(decide(rows))
    changed = 0
    formed: list[tuple[int, int]] = []
    for pid, now in current.items():
        want = desired.get(pid)
        if now == (want or (None, None)):
            continue
        if want is None:
            Photo.update(companion_of=None, companion_kind=None).where(Photo.id == pid).execute()
        else:
            Photo.update(companion_of=want[0], companion_kind=want[1]).where(Photo.id == pid).execute()
            formed.append((want[0], pid))
        changed += 1
    # a file outside these folders that names one of them as its cover (it moved away) is on its own now
    if current:
        strays = Photo.update(companion_of=None, companion_kind=None).where(
            in_values(Photo.companion_of, list(current)) & ~in_values(Photo.id, list(current))
        )
        changed += strays.execute()
    for cover, companion in formed:
        share_user_data(cover, companion)
    return changed


def _tuples(query: Any) -> list[tuple[Any, ...]]:
    """A query's rows as plain tuples (Peewee's stubs type them as model rows)."""
    return list(query.tuples())


def _within(folder: str, top: str) -> bool:
    return top in ("", folder) or folder.startswith(top.rstrip("/") + "/")


_SCALARS = ("title", "description", "color_label")


def share_user_data(cover: int, companion: int) -> None:
    """Give the two files of a pair that has just formed the same user data, losing none:
    each gets the other's tags and albums, and what one has of rating, label, title and
    description fills what the other lacks (where both have one, each keeps its own; edits
    from now on reach both)."""
    database.execute_sql(
        "INSERT OR IGNORE INTO photo_tag (photo_id, tag_id) "
        "SELECT ?, tag_id FROM photo_tag WHERE photo_id = ? UNION SELECT ?, tag_id FROM photo_tag WHERE photo_id = ?",
        [cover, companion, companion, cover],
    )
    database.execute_sql(
        "INSERT OR IGNORE INTO album_photo (album_id, photo_id, position) "
        "SELECT album_id, ?, position FROM album_photo WHERE photo_id = ? "
        "UNION SELECT album_id, ?, position FROM album_photo WHERE photo_id = ?",
        [cover, companion, companion, cover],
    )
    q = Photo.select(Photo.id, Photo.rating, *(getattr(Photo, c) for c in _SCALARS)).where(
        Photo.id.in_([cover, companion])
    )
    rows = {int(r[0]): r[1:] for r in _tuples(q)}
    if len(rows) != 2:
        return
    for target, source in ((cover, companion), (companion, cover)):
        mine, theirs = rows[target], rows[source]
        fields: dict[str, Any] = {}
        if not mine[0] and theirs[0]:
            fields["rating"] = theirs[0]
        for i, column in enumerate(_SCALARS, start=1):
            if not mine[i] and theirs[i]:
                fields[column] = theirs[i]
        if fields:
            Photo.update(**fields).where(Photo.id == target).execute()
