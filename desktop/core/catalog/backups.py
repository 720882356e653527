"""The library's own backups of its catalog: daily, on request, before a restore, before a migration.

Every copy is made with SQLite's online backup API, so it is consistent even while
the app or another command writes (WAL included), and it is written under a
temporary name and renamed, so a kill never leaves half a backup that looks whole.
Backups live in ``<data>/backups/`` as ``catalog-<kind>-YYYYMMDD-HHMMSS.sqlite3``:

- ``daily``: at most one a day, made after a command that changed the catalog and
  by a background job when the app starts; the newest ``KEEP_DAILY`` are kept.
- ``manual`` (``python main.py backup``) and ``before-restore`` (the catalog a
  restore replaced): kept until the person deletes them.
- ``v<N>``: made by ``db.init_db`` before migrating from schema version N; kept.

A restore copies a backup *into* the live catalog with the same API rather than
replacing the file, so connections that are open (the app's, in WAL mode) read
the restored catalog and never a file that vanished under them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.runtime.errors import ShoeboxError
from desktop.core.runtime.paths import Paths
from desktop.core.runtime.wording import SHOEBOX

log = logging.getLogger(__name__)

KEEP_DAILY = 7
DAILY, MANUAL, BEFORE_RESTORE = "daily", "manual", "before-restore"
_STAMP = "%Y%m%d-%H%M%S"
_NAME = re.compile(
    r"^(?P<stem>.+?)-(?P<kind>daily|manual|before-restore|v\d+)-(?P<stamp>\d{8}-\d{6})(?:-(?P<n>\d+))?$"
)
_BUSY_MS = 10_000


class BackupError(ShoeboxError):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Backup:
    path: Path
    kind: str  # daily, manual, before-restore, or v<N> (made before a migration from version N)
    created: dt.datetime
    size_bytes: int

    @property
    def description(self) -> str:
        if self.kind.startswith("v"):
            return f"before the upgrade from catalog version {self.kind[1:]}"
        return {DAILY: "daily", MANUAL: "made on request", BEFORE_RESTORE: "the catalog a restore replaced"}[
            self.kind
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "kind": self.kind,
            "created": self.created.isoformat(timespec="seconds"),
            "size_bytes": self.size_bytes,
        }


def copy_database(src: Path, dst: Path, standalone: bool = False) -> None:
    """Copy the SQLite database ``src`` into ``dst`` with the online backup API.

    ``dst`` may be a live database other connections hold open: the pages are
    written through SQLite's own locking (a WAL database stays in WAL mode), so
    they see the new content at their next read. ``standalone``: leave ``dst`` in
    rollback-journal mode, as a backup file should be.
    """
    source = sqlite3.connect(str(src), timeout=_BUSY_MS / 1000)
    try:
        target = sqlite3.connect(str(dst), timeout=_BUSY_MS / 1000)
        try:
            source.backup(target)
            if standalone:  # one self-contained file, readable without -wal/-shm beside it
                target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
    finally:
        source.close()


def _parse(path: Path) -> Backup | None:
    m = _NAME.match(path.stem)
    if m is None or path.suffix != ".sqlite3":
        return None
    created = dt.datetime.strptime(m["stamp"], _STAMP)
    try:
        size = path.stat().st_size
    except OSError:
        return None
    return Backup(path, m["kind"], created, size)


def _order(b: Backup) -> tuple[dt.datetime, int, int]:
    m = _NAME.match(b.path.stem)
    try:
        written = b.path.stat().st_mtime_ns  # several in one second: the one written last is newest
    except OSError:
        written = 0
    return b.created, written, int(m["n"]) if m is not None and m["n"] else 0


def list_backups(folder: Path) -> list[Backup]:
    """Every backup in ``folder``, newest first."""
    try:
        files = list(folder.glob("*.sqlite3"))
    except OSError:
        return []
    found = [b for b in map(_parse, files) if b is not None]
    return sorted(found, key=_order, reverse=True)


def _new_name(folder: Path, stem: str, kind: str, now: dt.datetime) -> Path:
    base = f"{stem}-{kind}-{now.strftime(_STAMP)}"
    target = folder / f"{base}.sqlite3"
    n = 1
    while target.exists():  # two in one second (a backup, then a restore's own backup)
        target = folder / f"{base}-{n}.sqlite3"
        n += 1
    return target


def make_backup(catalog: Path, folder: Path, kind: str, now: dt.datetime | None = None) -> Backup:
    """Copy ``catalog`` into ``folder`` as a backup of ``kind``; returns it."""
    if not catalog.is_file():
        raise BackupError(f"There is no catalog at {catalog} yet, so there is nothing to back up.")
    folder.mkdir(parents=True, exist_ok=True)
    target = _new_name(folder, catalog.stem, kind, now or dt.datetime.now())
    partial = target.with_name(target.name + ".partial")
    try:
        copy_database(catalog, partial, standalone=True)
        os.replace(partial, target)
    except sqlite3.DatabaseError as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(
            f"The catalog at {catalog} cannot be read ({exc}); restore a backup with: {SHOEBOX} restore"
        ) from exc
    except (OSError, sqlite3.Error) as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"Could not write a backup into {folder} ({exc}); check that disk.") from exc
    backup = _parse(target)
    assert backup is not None
    log.info("backed up the catalog to %s", target)
    return backup


def backup_before_migration(catalog: Path, folder: Path, old_version: int) -> Path:
    """The copy ``db.init_db`` makes before migrating: never rotated away."""
    return make_backup(catalog, folder, f"v{old_version}").path


def rotate(folder: Path, keep: int = KEEP_DAILY) -> list[Path]:
    """Delete all but the newest ``keep`` daily backups; returns what went."""
    gone = [b.path for b in list_backups(folder) if b.kind == DAILY][keep:]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


def daily_backup_due(folder: Path, now: dt.datetime | None = None) -> bool:
    today = (now or dt.datetime.now()).date()
    return not any(b.kind == DAILY and b.created.date() == today for b in list_backups(folder))


def daily_backup(paths: Paths, now: dt.datetime | None = None) -> Backup | None:
    """The day's backup if none was made today (then the oldest beyond ``KEEP_DAILY`` go)."""
    if not paths.catalog_db.is_file() or not daily_backup_due(paths.backups, now):
        return None
    backup = make_backup(paths.catalog_db, paths.backups, DAILY, now)
    rotate(paths.backups)
    return backup


# ------------------------------------------------------------------ restore
@dataclass(frozen=True)
class RestoreReport:
    restored: Backup
    saved: Backup | None  # the catalog it replaced (None when there was none)

    def as_dict(self) -> dict[str, Any]:
        return {"restored": self.restored.as_dict(), "saved": self.saved.as_dict() if self.saved else None}


def find_backup(folder: Path, name: str | None) -> Backup:
    """The backup called ``name`` (a path, or a file name in ``folder``), or the newest."""
    if name is None:
        found = list_backups(folder)
        if not found:
            raise BackupError(f"There are no backups in {folder} yet; make one with: {SHOEBOX} backup")
        return found[0]
    path = Path(name).expanduser()
    if not path.exists() and (folder / path.name).exists():
        path = folder / path.name
    if not path.is_file():
        raise BackupError(f"{name} is not a backup file; see the backups with: {SHOEBOX} backup list")
    stat = path.stat()
    parsed = _parse(path)
    return parsed or Backup(path, MANUAL, dt.datetime.fromtimestamp(stat.st_mtime), stat.st_size)


def _verify(path: Path) -> None:
    """Refuse a file that is not a sound Shoebox catalog before it replaces the one in use."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{path} is not a readable catalog ({exc}); choose another backup.") from exc
    if not ok or not {"photo", "root", "tag"} <= tables:
        raise BackupError(f"{path} is damaged or not a Shoebox catalog; choose another backup.")


def _sound(path: Path) -> bool:
    try:
        _verify(path)
    except BackupError:
        return False
    return True


def _save_current(catalog: Path, folder: Path) -> Backup | None:
    """Back up the catalog a restore is about to replace, even when it is too damaged to open."""
    if not catalog.is_file():
        return None
    try:
        return make_backup(catalog, folder, BEFORE_RESTORE)
    except BackupError:
        log.info("the catalog could not be read for a backup; copying its files as they are", exc_info=True)
    target = _new_name(folder, catalog.stem, BEFORE_RESTORE, dt.datetime.now())
    shutil.copy2(catalog, target)
    wal = catalog.with_name(catalog.name + "-wal")
    if wal.is_file():
        shutil.copy2(wal, target.with_name(target.name + "-wal"))
    saved = _parse(target)
    assert saved is not None
    return saved


def restore(paths: Paths, name: str | None = None) -> RestoreReport:
    """Put backup ``name`` (default: the newest daily, manual or pre-upgrade one) in place of the catalog,
    saving the current one first."""
    chosen = find_backup(paths.backups, name)  # chosen before the save below becomes the newest
    if name is None:
        # the newest sound one (the newest may be a damaged catalog a restore set aside), and not
        # the copy an earlier restore saved: two plain restores in a row must not swap back and forth
        found = list_backups(paths.backups)
        preferred = [b for b in found if b.kind != BEFORE_RESTORE] or found
        chosen = next((b for b in preferred if _sound(b.path)), chosen)
    _verify(chosen.path)
    saved = _save_current(paths.catalog_db, paths.backups)
    paths.catalog_db.parent.mkdir(parents=True, exist_ok=True)
    try:
        copy_database(chosen.path, paths.catalog_db)
    except sqlite3.DatabaseError:
        # the live file is not a database SQLite can write into: put a fresh copy in its place
        log.info("restoring into %s failed; replacing the file", paths.catalog_db, exc_info=True)
        for extra in ("-wal", "-shm"):
            paths.catalog_db.with_name(paths.catalog_db.name + extra).unlink(missing_ok=True)
        fresh = paths.catalog_db.with_name(paths.catalog_db.name + ".partial")
        copy_database(chosen.path, fresh)
        os.replace(fresh, paths.catalog_db)
    log.info("restored the catalog from %s", chosen.path)
    return RestoreReport(chosen, saved)
