"""Draining the sidecar queue: write the pending photos' XMP sidecars, record what was written, report failures.

The queue itself is in the catalog (``catalog.sidecar_queue``): edits mark
photos there, this module writes them in batches — from the app's job runner
(debounced, never on the GUI thread) or at the end of a CLI command — and
records, per photo, the sidecar's new modification time and the values it now
holds (``Photo.xmp_mtime``/``xmp_state``), so the next scan does not take
Shoebox's own write for an outside change, while an edit by another program
after it still wins. A write that fails (read-only folder, full disk) keeps
the photo pending with the reason, to be tried again; the person is told once
per drain, one sentence per reason, through the message bridge.

Also here: a photo's sidecars as files (the trash takes them along) and the
sidecars that belong to no photo (``orphans``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peewee import fn

from desktop.core.catalog import history, sidecar_queue
from desktop.core.catalog.db import database
from desktop.core.catalog.schema import STATUS_OK, UNREAD, Photo, PhotoTag, Root, Tag
from desktop.core.ingest import xmp, xmp_write
from desktop.core.ingest.formats import is_image_name, is_raw_name
from desktop.core.runtime import messages
from desktop.core.runtime.jobs import JobControl
from desktop.core.runtime.wording import counted

if TYPE_CHECKING:
    from desktop.core.library import Library

log = logging.getLogger(__name__)

BATCH = 500
_WROTE = "written"  # key in Photo.xmp_state: the date/place Shoebox wrote, to put back after an undo


@dataclass
class DrainReport:
    written: int = 0
    embedded: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (sidecar or file, reason)
    waiting: int = 0  # never read yet: written after the scan has read what other programs said
    off: bool = False  # metadata.write is off: nothing was written

    def as_dict(self) -> dict[str, Any]:
        return {
            "written": self.written,
            "embedded": self.embedded,
            "waiting": self.waiting,
            "off": self.off,
            "failed": [{"path": p, "reason": r} for p, r in self.failed],
        }


@dataclass(frozen=True)
class _Row:
    id: int
    path: str
    values: xmp_write.SidecarValues
    xmp_mtime: float | None
    state: dict[str, Any]


def _load(ids: Sequence[int]) -> list[_Row]:
    tags: dict[int, list[str]] = {}
    tag_q = PhotoTag.select(PhotoTag.photo, Tag.name).join(Tag).where(PhotoTag.photo.in_(list(ids)))
    for pid, name in history.tuples(tag_q):
        tags.setdefault(int(pid), []).append(str(name))
    rows: list[_Row] = []
    q = (
        Photo.select(
            Photo.id,
            Root.path,
            Photo.rel_path,
            Photo.rating,
            Photo.color_label,
            Photo.title,
            Photo.description,
            Photo.taken_at,
            Photo.taken_local,
            Photo.taken_at_source,
            Photo.gps_lat,
            Photo.gps_lon,
            Photo.place_source,
            Photo.xmp_mtime,
            Photo.xmp_state,
        )
        .join(Root)
        .where(Photo.id.in_(list(ids)))
    )
    for (
        pid,
        folder,
        rel,
        rating,
        label,
        title,
        desc,
        at,
        local,
        at_src,
        lat,
        lon,
        place_src,
        mtime,
        text,
    ) in history.tuples(q):
        state = _state(text)
        wrote = state.get(_WROTE) or {}
        values = xmp_write.SidecarValues(
            tags=tags.get(pid, []),
            rating=int(rating or 0),
            label=label,
            title=title,
            description=desc,
            taken_at=at or (local or None),
            # after an undo the file's own date or place goes back into the sidecar we wrote ours in
            write_date=at_src == "user" or bool(wrote.get("date")),
            place=(lat, lon) if lat is not None and lon is not None else None,
            write_place=place_src == "user" or bool(wrote.get("place")),
        )
        rows.append(_Row(int(pid), os.path.join(folder, rel), values, mtime, state))
    return rows


def _state(text: str | None) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def current_mtime(photo: str) -> float | None:
    """The photo's sidecars' mtime as the scan computes it (``xmp.sidecar_mtime``)."""
    mtimes: list[float | None] = []
    seen: set[tuple[int, int]] = set()
    for candidate in xmp.sidecar_candidates(photo):
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            mtimes.append(st.st_mtime)
    return xmp.sidecar_mtime(mtimes)


def _new_state(row: _Row) -> str:
    """What a scan would read next: our values win (the sidecar is read first), and tags read before
    (from the file's own XMP, say) stay "seen", so that a later outside edit does not bring back a tag
    the person removed in Shoebox."""
    v = row.values
    ours = xmp.OutsideData(
        tags=list(v.tags),
        rating=v.rating,
        label=v.label,
        title=v.title,
        description=v.description,
    )
    before = xmp.OutsideData.from_dict(row.state) if row.state else None
    out = (xmp.combine(ours, before) if before is not None else ours).as_dict()
    out[_WROTE] = {"date": v.write_date, "place": v.write_place}
    return json.dumps(out, ensure_ascii=False, sort_keys=True)


def _changed_outside(row: _Row) -> bool:
    return row.xmp_mtime not in (None, UNREAD) and current_mtime(row.path) != row.xmp_mtime


def drain(
    library: Library,
    everything: bool = False,
    control: JobControl | None = None,
    notify: bool = True,
    batch: int = BATCH,
) -> DrainReport:
    """Write the pending sidecars (``everything``: also those of every photo with user data or a
    sidecar already, see ``_worth_writing``), in batches; returns what happened.

    Runs on any thread but the GUI's; exiv2 calls hold ``xmp_write.EXIV2_LOCK``.
    """
    report = DrainReport()
    mode = sidecar_queue.write_mode()
    if mode == sidecar_queue.WRITE_OFF:
        report.off = True
        return report
    lightroom = sidecar_queue.naming() == sidecar_queue.NAME_XMP
    if everything:
        ids = _worth_writing()
        library.writer.call(lambda: sidecar_queue.mark(ids))
    todo = sidecar_queue.pending()
    total = len(todo)
    for start in range(0, total, batch):
        if control is not None:
            control.checkpoint()
            control.report(start, total, "writing sidecars")
        _drain_batch(library, todo[start : start + batch], mode, lightroom, report)
    if control is not None:
        control.report(total, total, "writing sidecars", force=True)
    if notify and report.failed:
        tell(report.failed)
    return report


def _worth_writing() -> list[int]:
    """The photos ``sidecars write --all`` writes: those with something of the person's (tags, a rating,
    rejected included, a colour label, a title or description, a date or place they set) and those that
    have a sidecar already (brought up to date). An untouched photo gets no sidecar holding only a
    rating of 0."""
    tagged = PhotoTag.select(PhotoTag.photo).where(PhotoTag.photo == Photo.id)
    user = (
        (Photo.rating != 0)
        | Photo.color_label.is_null(False)
        | (Photo.title.is_null(False) & (Photo.title != ""))
        | (Photo.description.is_null(False) & (Photo.description != ""))
        | (Photo.taken_at_source == "user")
        | (Photo.place_source == "user")
        | fn.EXISTS(tagged)
    )
    ok = Photo.status == STATUS_OK
    ids = {int(pid) for (pid,) in history.tuples(Photo.select(Photo.id).where(ok & user))}
    every = Photo.select(Photo.id, Root.path, Photo.rel_path).join(Root).where(ok)
    for pid, folder, rel in history.tuples(every):
        if int(pid) not in ids and any(
            map(os.path.exists, xmp.sidecar_candidates(os.path.join(folder, rel)))
        ):
            ids.add(int(pid))
    return sorted(ids)


def _drain_batch(
    library: Library, todo: Sequence[tuple[int, int]], mode: str, lightroom: bool, report: DrainReport
) -> None:
    generation = dict(todo)
    rows = _load(list(generation))
    # a sidecar another program changed since the last read: read it first, so its change is merged
    # (and wins for what it changed) rather than overwritten
    outside = [r for r in rows if _changed_outside(r)]
    if outside:
        library.read_sidecar_paths([Path(r.path) for r in outside])
        rows = _load(list(generation))
    written: list[tuple[int, int]] = []
    states: list[tuple[float | None, str, int]] = []
    failed: dict[int, str] = {}
    gone = set(generation) - {r.id for r in rows}
    written += [(pid, generation[pid]) for pid in gone]  # forgotten meanwhile: nothing to write
    targets: list[tuple[_Row, str]] = []
    paired = _paired([r.id for r in rows])
    folders: dict[str, Counter[str] | None] = {}  # one listing per folder and batch, not one per photo
    for row in rows:
        if row.xmp_mtime == UNREAD:  # the scan has not read what other programs said yet
            report.waiting += 1
            continue
        if not os.path.exists(row.path):
            failed[row.id] = "the photo's file is missing"
            report.failed.append((row.path, failed[row.id]))
            continue
        targets.append((row, xmp_write.sidecar_path(row.path, lightroom, _may_share(row, paired, folders))))
    errors = xmp_write.write_sidecars(list(_shared_targets(targets).items()))
    for row, target in targets:
        error = errors.get(target)
        if error is None and mode == sidecar_queue.WRITE_EMBED and xmp_write.can_embed(row.path):
            try:
                xmp_write.embed(row.path, row.values)
                report.embedded += 1
            except (OSError, xmp_write.WriteFailed) as exc:
                error, target = exc, row.path
        if error is not None:
            log.info("could not write %s", target, exc_info=error)
            failed[row.id] = xmp_write.reason(error)
            report.failed.append((target, failed[row.id]))
            continue
        report.written += 1
        written.append((row.id, generation[row.id]))
        states.append((current_mtime(row.path), _new_state(row), row.id))

    def record() -> None:
        database.cursor().executemany("UPDATE photo SET xmp_mtime = ?, xmp_state = ? WHERE id = ?", states)
        sidecar_queue.done(written)
        sidecar_queue.fail(failed)

    library.writer.call(record)


def _paired(ids: Sequence[int]) -> set[int]:
    """The photos among ``ids`` that are one half of a RAW+JPEG pair or a Live Photo."""
    covers = Photo.select(Photo.companion_of).where(Photo.companion_of.in_(list(ids)))
    halves = Photo.select(Photo.id).where(Photo.id.in_(list(ids)) & Photo.companion_of.is_null(False))
    return {int(i) for (i,) in history.tuples(covers)} | {int(i) for (i,) in history.tuples(halves)}


def _may_share(row: _Row, paired: set[int], folders: dict[str, Counter[str] | None]) -> bool:
    """Whether the photo may use its name's Lightroom sidecar (``IMG_1.xmp``): when no other photo file
    has its name, when it is half of a pair (the two share one), or when it is the RAW (Lightroom keeps
    ``IMG_1.xmp`` for the RAW). A JPEG of the same name from another moment keeps to ``IMG_1.jpg.xmp``, so
    two photos' tags and ratings never mix in one file. ``folders`` caches each folder's names by stem."""
    if row.id in paired or is_raw_name(row.path):
        return True
    folder, name = os.path.split(row.path)
    if folder not in folders:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            names = None
        folders[folder] = (
            Counter(os.path.splitext(n)[0] for n in names if is_image_name(n)) if names is not None else None
        )
    stems = folders[folder]
    if stems is None:
        return False  # unsure: keep to the photo's own sidecar
    others = stems[os.path.splitext(name)[0]] - (1 if is_image_name(name) else 0)
    return others == 0


def _shared_targets(targets: Sequence[tuple[_Row, str]]) -> dict[str, xmp_write.SidecarValues]:
    """One write per sidecar: with Lightroom's naming a RAW and its JPEG share ``IMG_1.xmp``; it gets the
    first photo's values with the tags of both, so that no tag is lost while the two differ."""
    out: dict[str, xmp_write.SidecarValues] = {}
    for row, target in targets:
        first = out.get(target)
        if first is None:
            out[target] = row.values
        else:
            tags = xmp.merge_tags([*first.tags, *row.values.tags], [])
            out[target] = dataclasses.replace(first, tags=tags)
    return out


def tell(failed: Sequence[tuple[str, str]]) -> None:
    """One sentence per reason, naming the folder when the sidecars share one: "3 sidecars could not be
    written: folder is read-only (/photos/trip, first: IMG_1.jpg.xmp); …"."""
    by_reason: dict[str, list[str]] = {}
    for path, why in failed:
        by_reason.setdefault(why, []).append(path)
    for why, paths in by_reason.items():
        messages.warning(
            f"{counted(len(paths), 'sidecar')} could not be written: {why} ({where(paths)}); "
            "the catalog keeps the change and Shoebox will try again."
        )


def where(paths: Sequence[str]) -> str:
    """The one path, or the folder they share and the first one's name, or the first path of several."""
    if len(paths) == 1:
        return paths[0]
    folders = {os.path.dirname(p) for p in paths}
    if len(folders) == 1:
        return f"{folders.pop()}, first: {os.path.basename(paths[0])}"
    return f"first: {paths[0]}"


# ------------------------------------------------------------------ files


def files_of(photo: str) -> list[str]:
    """The photo's sidecars on disk (``IMG_1.jpg.xmp``; ``IMG_1.xmp`` unless another photo of that stem,
    its RAW+JPEG twin, still shares it)."""
    out: list[str] = []
    stem = os.path.splitext(photo)[0]
    for candidate in xmp.sidecar_candidates(photo):
        if not os.path.isfile(candidate) or candidate in out:
            continue
        lightroom_named = candidate.startswith(stem + ".") and not candidate.startswith(photo)
        if lightroom_named and _shared(photo, stem):
            continue
        out.append(candidate)
    return out


def follow(old_photo: str, new_photo: str) -> list[str]:
    """Move a photo's sidecars after it when it was renamed or moved outside Shoebox (a file manager
    moves the photo alone): ``IMG_1.jpg.xmp`` becomes ``beach.jpg.xmp``, a Lightroom ``IMG_1.xmp`` that
    no twin shares becomes ``beach.xmp``. A name already taken is left alone. Returns the new paths."""
    moved: list[str] = []
    new_stem = os.path.splitext(new_photo)[0]
    for sidecar in files_of(old_photo):
        if sidecar.startswith(old_photo):  # IMG_1.jpg.xmp
            target = new_photo + sidecar[len(old_photo) :]
        else:  # IMG_1.xmp (Lightroom's), this photo's alone
            target = new_stem + sidecar[len(os.path.splitext(old_photo)[0]) :]
        if os.path.lexists(target):
            log.info("left %s where it is: %s exists", sidecar, target)
            continue
        try:
            os.rename(sidecar, target)
        except OSError:
            log.warning("could not move %s along with its photo to %s", sidecar, target, exc_info=True)
            continue
        moved.append(target)
    return moved


def _shared(photo: str, stem: str) -> bool:
    folder, base = os.path.split(stem)
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return True  # unsure: leave the shared sidecar where it is
    return any(
        n != os.path.basename(photo) and os.path.splitext(n)[0] == base and is_image_name(n) for n in names
    )


def orphans(folders: Iterable[str]) -> list[str]:
    """``.xmp`` files in the library's folders that belong to no file: ``IMG_1.jpg.xmp`` with no
    ``IMG_1.jpg``, ``IMG_1.xmp`` with no ``IMG_1.*``."""
    found: list[str] = []
    for folder in folders:
        for here, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            names = set(files)
            stems = {os.path.splitext(n)[0] for n in files if not xmp.is_sidecar_name(n)}
            for name in files:
                if name.startswith(".") or not xmp.is_sidecar_name(name):
                    continue
                base = name[: -len(".xmp")]
                if base in names or base in stems:
                    continue
                found.append(os.path.join(here, name))
    return found
