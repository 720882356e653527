"""The system trash: moving photos' files there (send2trash) and, where the platform allows, back.

On Linux and other freedesktop systems the trash keeps each file's origin
(``Trash/info/NAME.trashinfo``, the XDG trash specification), so undoing a
move to the trash puts the file back where it was. macOS and Windows keep the
origin in places send2trash does not read back; there the person is told to
use *Put Back* / *Restore*, and the catalog keeps the photo as missing until
the file returns (the watcher or the next scan then finds it, tags intact).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from send2trash import send2trash

XDG = sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd"))


@dataclass(frozen=True)
class Restored:
    path: Path
    ok: bool
    reason: str = ""  # when not ok: where the file is, or why it could not come back


def move_to_trash(path: Path) -> None:
    """Move one file to the system trash; raises OSError with a reason when it can't."""
    send2trash(str(path))


def _home_trash() -> Path:
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "Trash"


def _mount_point(path: Path) -> Path:
    p = path.absolute()
    while not os.path.ismount(p) and p.parent != p:
        p = p.parent
    return p


def trash_dirs(original: Path) -> list[tuple[Path, Path]]:
    """(trash folder, the folder its relative paths start from) that may hold ``original``."""
    home = _home_trash()
    out = [(home, home.parent)]
    top = _mount_point(original.parent)
    uid = os.getuid() if hasattr(os, "getuid") else 0
    for cand in (top / ".Trash" / str(uid), top / f".Trash-{uid}"):
        if cand != home:
            out.append((cand, top))
    return out


class TrashIndex:
    """The trashed files by their original path, read once per trash folder.

    Undoing a move of thousands of photos to the trash looks each one up: reading every
    ``.trashinfo`` for every photo made that quadratic (a thousand photos took 20 s).
    """

    def __init__(self, since: dt.datetime | None = None) -> None:
        self.since = since.strftime("%Y-%m-%dT%H:%M:%S") if since is not None else ""
        self._read: set[Path] = set()
        self._by_path: dict[str, tuple[str, Path, Path]] = {}

    def _load(self, trash: Path, top: Path) -> None:
        if trash in self._read:
            return
        self._read.add(trash)
        info_dir = trash / "info"
        if not info_dir.is_dir():
            return
        for info in info_dir.glob("*.trashinfo"):
            try:
                text = info.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            fields = dict(
                line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("[")
            )
            raw = unquote(fields.get("Path", ""))
            if not raw:
                continue
            where = os.path.abspath(raw if os.path.isabs(raw) else os.path.join(top, raw))
            when = fields.get("DeletionDate", "")
            if self.since and when and when < self.since:
                continue  # an older file of the same name, trashed before this action
            stored = trash / "files" / info.name[: -len(".trashinfo")]
            best = self._by_path.get(where)
            if stored.exists() and (best is None or when > best[0]):
                self._by_path[where] = (when, stored, info)

    def find(self, original: Path) -> tuple[Path, Path] | None:
        """The newest trashed copy of ``original``: (file in Trash/files, its .trashinfo)."""
        for trash, top in trash_dirs(original):
            self._load(trash, top)
        hit = self._by_path.pop(os.path.abspath(original), None)  # each copy comes back once
        return (hit[1], hit[2]) if hit else None


def _free_name(path: Path) -> Path:
    """``name (restored).ext``, ``name (restored 2).ext``, …: the first that does not exist."""
    for n in range(1, 10_000):
        label = "restored" if n == 1 else f"restored {n}"
        cand = path.with_name(f"{path.stem} ({label}){path.suffix}")
        if not cand.exists():
            return cand
    raise FileExistsError(path)


def restore(original: Path, since: dt.datetime | None = None, index: TrashIndex | None = None) -> Restored:
    """Put a trashed file back at ``original`` (XDG trash); says where it is when it cannot.

    When another file now has that name, the trashed one comes back beside it under a
    free name (``Restored.path`` says which), so nothing is overwritten and no photo's
    tags land on a file that is not that photo.
    """
    if not XDG:
        if original.exists():  # put back by hand already
            return Restored(original, True)
        place = "the Trash (Finder → Put Back)" if sys.platform == "darwin" else "the Recycle Bin (Restore)"
        return Restored(original, False, f"{original.name} is in {place}; put it back from there")
    found = (index or TrashIndex(since)).find(original)
    if found is None:
        if original.exists():  # put back by hand already (a file manager's Restore)
            return Restored(original, True)
        return Restored(original, False, f"{original.name} is no longer in the trash (it was emptied?)")
    stored, info = found
    target = _free_name(original) if original.exists() or original.is_symlink() else original
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(stored), str(target))
    except OSError as exc:
        return Restored(
            original, False, f"{original.name} could not be put back from {stored} ({exc.strerror or exc})"
        )
    with contextlib.suppress(OSError):  # the file is back; a stale info entry is harmless
        info.unlink()
    if target != original:
        why = f"{original.name} came back as {target.name}: another file has its name now"
        return Restored(target, True, why)
    return Restored(original, True)
