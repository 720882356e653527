"""The catalog database: a Peewee proxy, its connection settings and migrations.

The database is injected: models bind to ``database`` (a ``DatabaseProxy``) and
``init_db(path)`` points it at a file. SQLite runs in WAL mode with foreign keys
on, so GUI readers never block the single writer. The schema version lives in
``PRAGMA user_version``; before any migration the file is copied with SQLite's
online backup API, so an upgrade that goes wrong never costs the user their
tags and ratings.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

import peewee

log = logging.getLogger(__name__)

database = peewee.DatabaseProxy()

SCHEMA_VERSION = 1

PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "busy_timeout": 10_000,
    "cache_size": -32_000,
    "temp_store": "memory",
}


def _backup(path: Path, backups: Path, old_version: int) -> Path:
    backups.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = backups / f"{path.stem}-v{old_version}-{stamp}{path.suffix}"
    src = sqlite3.connect(str(path))
    try:
        dst = sqlite3.connect(str(target))
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    log.info("backed up catalog to %s before migrating from v%d", target, old_version)
    return target


# Each entry upgrades the schema from version N-1 to N. Version 1 is created
# from the models directly; later versions append steps here.
MIGRATIONS: dict[int, Callable[[peewee.SqliteDatabase], None]] = {}


def init_db(path: Path, backups: Path | None = None) -> peewee.SqliteDatabase:
    """Open (creating or migrating) the catalog at ``path`` and bind the proxy to it."""
    from desktop.core import schema  # the models need the proxy defined first

    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists() and path.stat().st_size > 0
    db = peewee.SqliteDatabase(str(path), pragmas=PRAGMAS, thread_safe=True, check_same_thread=False)
    from desktop.core.filters import haversine_km, sql_fold_has_any

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
    if existed and 0 < version < SCHEMA_VERSION:
        _backup(path, backups or path.parent / "backups", version)
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
