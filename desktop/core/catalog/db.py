"""The catalog database: a Peewee proxy, its connection settings and migrations.

The database is injected: models bind to ``database`` (a ``DatabaseProxy``
defined beside them in ``schema.py``) and ``init_db(path)`` points it at a file. SQLite runs in WAL mode with foreign keys
on, so GUI readers never block the single writer. The schema version lives in
``PRAGMA user_version``; before any migration the file is copied with SQLite's
online backup API (``backups.py``), so an upgrade that goes wrong never costs
the user their tags and ratings.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

import peewee

from desktop.core.catalog import schema
from desktop.core.catalog.backups import backup_before_migration
from desktop.core.catalog.filters import haversine_km, sql_fold_has_any
from desktop.core.catalog.schema import database as database  # defined with the models; bound here
from desktop.core.runtime.errors import ShoeboxError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 7

PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "busy_timeout": 10_000,
    "cache_size": -32_000,
    "temp_store": "memory",
}


SQLITE_FULL = 13
FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


class DiskFull(ShoeboxError):
    """A write failed because a disk is full; the message says which disk and what to do."""


def is_disk_full(exc: BaseException) -> bool:
    """True when ``exc``, or an error it was raised while handling, is a full disk or quota.

    SQLite rolls a whole transaction back by itself when the disk fills, so
    the error that reaches a caller is often a later one ("no such
    savepoint", "cannot rollback - no transaction is active") raised while
    handling the real one: look down the chain.
    """
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError) and cur.errno in FULL_ERRNOS:
            return True
        if getattr(cur, "sqlite_errorcode", None) == SQLITE_FULL:
            return True
        if isinstance(cur, sqlite3.Error | peewee.DatabaseError) and "database or disk is full" in str(cur):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def catalog_full_message(folder: Path) -> str:
    """The one sentence people see when a catalog write found its disk full."""
    return (
        f"The disk holding the catalog ({folder}) is full, so Shoebox stopped saving: free some space on it "
        "(or move the thumbnail cache to another disk with Settings → Storage → Move…), then scan again "
        "to catalogue the rest."
    )


# Each entry upgrades the schema from version N-1 to N. Version 1 is created
# from the models directly; later versions append steps here.
def _v2_rotation_and_history(db: peewee.SqliteDatabase) -> None:
    """v2: the catalog-only rotation of a photo; the undo history table is created with the others."""
    cols = {row[1] for row in db.execute_sql("PRAGMA table_info(photo)").fetchall()}  # type: ignore[no-untyped-call]
    if "rotation" not in cols:
        db.execute_sql("ALTER TABLE photo ADD COLUMN rotation INTEGER NOT NULL DEFAULT 0")  # type: ignore[no-untyped-call]


def _v3_outside_user_data(db: peewee.SqliteDatabase) -> None:
    """v3: what sidecars and the files' own XMP/IPTC said when last read; every photo catalogued
    before is marked unread, so the next scan gives it the tags and ratings other programs gave it, once."""
    cols = {row[1] for row in db.execute_sql("PRAGMA table_info(photo)").fetchall()}  # type: ignore[no-untyped-call]
    if "xmp_mtime" not in cols:
        db.execute_sql("ALTER TABLE photo ADD COLUMN xmp_mtime REAL")  # type: ignore[no-untyped-call]
    if "xmp_state" not in cols:
        db.execute_sql("ALTER TABLE photo ADD COLUMN xmp_state TEXT")  # type: ignore[no-untyped-call]
    db.execute_sql("UPDATE photo SET xmp_mtime = ?", (schema.UNREAD,))  # type: ignore[no-untyped-call]


def _v4_video_and_place_columns(db: peewee.SqliteDatabase) -> None:
    """v4: what the grid and the info panel show of a video (its kind, duration, codec and frame rate),
    and whether a photo's place was set by the person (a rescan keeps it)."""
    cols = {row[1] for row in db.execute_sql("PRAGMA table_info(photo)").fetchall()}  # type: ignore[no-untyped-call]
    for name, ddl in (
        ("media_kind", "VARCHAR(8) NOT NULL DEFAULT 'image'"),
        ("duration", "REAL"),
        ("video_codec", "VARCHAR(32)"),
        ("frame_rate", "REAL"),
        ("place_source", "VARCHAR(8)"),
    ):
        if name not in cols:
            db.execute_sql(f"ALTER TABLE photo ADD COLUMN {name} {ddl}")  # type: ignore[no-untyped-call]


def _v6_pairs(db: peewee.SqliteDatabase) -> None:
    """v6: RAW+JPEG pairs and Live Photos shown as one item (``companion_of``, ``companion_kind``) and
    Apple's content identifier that pairs a Live Photo; the next scan forms the pairs."""
    cols = {row[1] for row in db.execute_sql("PRAGMA table_info(photo)").fetchall()}  # type: ignore[no-untyped-call]
    for name, ddl in (("companion_of", "INTEGER"), ("companion_kind", "VARCHAR(8)"), ("content_id", "TEXT")):
        if name not in cols:
            db.execute_sql(f"ALTER TABLE photo ADD COLUMN {name} {ddl}")  # type: ignore[no-untyped-call]


# v7 only adds tables (recipes, the task queue, lineage): ``create_tables`` below makes them.
MIGRATIONS: dict[int, Callable[[peewee.SqliteDatabase], None]] = {
    2: _v2_rotation_and_history,
    3: _v3_outside_user_data,
    4: _v4_video_and_place_columns,
    6: _v6_pairs,
}


def init_db(path: Path, backups: Path | None = None) -> peewee.SqliteDatabase:
    """Open (creating or migrating) the catalog at ``path`` and bind the proxy to it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists() and path.stat().st_size > 0
    db = peewee.SqliteDatabase(str(path), pragmas=PRAGMAS, thread_safe=True, check_same_thread=False)
    db.register_function(haversine_km, "haversine_km", 4)
    # accent- and case-insensitive matching of names and text ("Zurich" finds "Zürich")
    db.register_function(sql_fold_has_any, "fold_has_any", 2, deterministic=True)
    database.initialize(db)
    db.connect(reuse_if_open=True)
    version = int(db.execute_sql("PRAGMA user_version").fetchone()[0])  # type: ignore[no-untyped-call]
    if version > SCHEMA_VERSION:
        db.close()
        raise RuntimeError(
            f"The catalog at {path} was written by a newer Shoebox (schema v{version}, this one knows "
            f"v{SCHEMA_VERSION}). Update Shoebox, or point SHOEBOX_HOME at another folder."
        )
    migrate = existed and 0 < version < SCHEMA_VERSION
    if migrate:
        target = backup_before_migration(path, backups or path.parent / "backups", version)
        log.info("backed up the catalog to %s before migrating from v%d", target, version)
    # one transaction for the steps, the new tables and the version: an upgrade that fails anywhere
    # leaves the catalog as it was, at its old version, so the next start runs the same steps again
    with db.atomic():
        if migrate:
            # the steps above the catalog's version, in order (a number may be absent: branches
            # that each add a step are numbered apart before they meet)
            for step in sorted(n for n in MIGRATIONS if version < n <= SCHEMA_VERSION):
                MIGRATIONS[step](db)
        db.create_tables(schema.ALL_MODELS, safe=True)
        if version != SCHEMA_VERSION:  # written only when it changes: on a full disk, opening must not write
            db.execute_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")  # type: ignore[no-untyped-call]
    return db


def close_db() -> None:
    obj = database.obj
    if obj is not None and not obj.is_closed():
        obj.close()
