"""The catalog database: a Peewee proxy, its connection settings and migrations.

The database is injected: models bind to ``database`` (a ``DatabaseProxy``) and
``init_db(path)`` points it at a file. SQLite runs in WAL mode with foreign keys
on, so GUI readers never block the single writer. The schema version lives in
``PRAGMA user_version``; before any migration the file is copied with SQLite's
online backup API (``backups.py``), so an upgrade that goes wrong never costs
the user their tags and ratings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import peewee

from desktop.core.backups import backup_before_migration

log = logging.getLogger(__name__)

database = peewee.DatabaseProxy()

SCHEMA_VERSION = 2

PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "busy_timeout": 10_000,
    "cache_size": -32_000,
    "temp_store": "memory",
}


# Each entry upgrades the schema from version N-1 to N. Version 1 is created
# from the models directly; later versions append steps here.
def _v2_rotation_and_history(db: peewee.SqliteDatabase) -> None:
    """v2: the catalog-only rotation of a photo; the undo history table is created with the others."""
    cols = {row[1] for row in db.execute_sql("PRAGMA table_info(photo)").fetchall()}  # type: ignore[no-untyped-call]
    if "rotation" not in cols:
        db.execute_sql("ALTER TABLE photo ADD COLUMN rotation INTEGER NOT NULL DEFAULT 0")  # type: ignore[no-untyped-call]


MIGRATIONS: dict[int, Callable[[peewee.SqliteDatabase], None]] = {2: _v2_rotation_and_history}


def init_db(path: Path, backups: Path | None = None) -> peewee.SqliteDatabase:
    """Open (creating or migrating) the catalog at ``path`` and bind the proxy to it."""
    from desktop.core import schema  # the models need the proxy defined first

    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists() and path.stat().st_size > 0
    db = peewee.SqliteDatabase(str(path), pragmas=PRAGMAS, thread_safe=True, check_same_thread=False)
    from desktop.core.filters import haversine_km

    db.register_function(haversine_km, "haversine_km", 4)
    database.initialize(db)
    db.connect(reuse_if_open=True)
    version = int(db.execute_sql("PRAGMA user_version").fetchone()[0])  # type: ignore[no-untyped-call]
    if version > SCHEMA_VERSION:
        db.close()
        raise RuntimeError(
            f"The catalog at {path} was written by a newer Shoebox (schema v{version}, this one knows "
            f"v{SCHEMA_VERSION}). Update Shoebox, or point SHOEBOX_HOME at another folder."
        )
    if existed and 0 < version < SCHEMA_VERSION:
        target = backup_before_migration(path, backups or path.parent / "backups", version)
        log.info("backed up the catalog to %s before migrating from v%d", target, version)
        with db.atomic():
            for step in range(version + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[step](db)
    with db.atomic():
        db.create_tables(schema.ALL_MODELS, safe=True)
        db.execute_sql(f"PRAGMA user_version = {SCHEMA_VERSION}")  # type: ignore[no-untyped-call]
    return db


def close_db() -> None:
    obj = database.obj
    if obj is not None and not obj.is_closed():
        obj.close()
