"""Upgrading a catalog from the current schema to a next one, through the migration table the app uses.

The next migration (today's version → the one after it) is defined here the way a real one would be: an entry in
``db.MIGRATIONS`` and a higher ``db.SCHEMA_VERSION``. It adds a column and fills it from
user data. A catalog written by today's Shoebox must be backed up first, then
upgraded with its tags and ratings kept; an upgrade that fails half-way must leave the
catalog at its version, unchanged, next to its backup.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import peewee as pw
import pytest

from desktop.core.catalog import db, schema
from desktop.core.catalog.backups import list_backups
from desktop.core.catalog.db import close_db
from desktop.core.catalog.schema import Photo
from desktop.core.library import Library, LibraryError, photo_tags
from desktop.core.runtime.paths import resolve_paths

CURRENT = db.SCHEMA_VERSION


def _next_picks(conn: pw.SqliteDatabase) -> None:
    """The next version as a real one would be written: a new column, filled from user data."""
    conn.execute_sql("ALTER TABLE photo ADD COLUMN pick INTEGER NOT NULL DEFAULT 0")  # type: ignore[no-untyped-call]
    conn.execute_sql("UPDATE photo SET pick = 1 WHERE rating >= 4")  # type: ignore[no-untyped-call]


def _next_breaks_half_way(conn: pw.SqliteDatabase) -> None:
    _next_picks(conn)
    # the second half meets data it did not expect: a constraint fails after the column was added
    conn.execute_sql("CREATE UNIQUE INDEX one_pick_per_rating ON photo (rating, pick)")  # type: ignore[no-untyped-call]


def _with_next_version(monkeypatch: pytest.MonkeyPatch, step: Any) -> None:
    monkeypatch.setattr(db, "SCHEMA_VERSION", CURRENT + 1)
    monkeypatch.setitem(db.MIGRATIONS, CURRENT + 1, step)


def _read(path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


def _version(path: Path) -> int:
    return int(_read(path, "PRAGMA user_version")[0][0])


def _columns(path: Path) -> set[str]:
    return {row[1] for row in _read(path, "PRAGMA table_info(photo)")}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A library written by today's Shoebox: three photos with ratings, a tag and an album."""
    home = tmp_path / "home"
    (tmp_path / "photos").mkdir()
    lib = Library(resolve_paths(home))
    try:
        root = lib.add_root(tmp_path / "photos")
        ids = lib.writer.call(
            lambda: [Photo.create(root=root.id, rel_path=f"{n}.jpg", taken_local="2020").id for n in "abc"]
        )
        lib.set_rating(ids[:2], 5)
        lib.add_tag("family", ids[1:])
        lib.add_to_album("Best", ids[:1])
    finally:
        lib.close()
    assert _version(home / "catalog.sqlite3") == CURRENT
    return home


def _user_data(path: Path) -> list[tuple[Any, ...]]:
    return _read(
        path,
        "SELECT p.rel_path, p.rating, group_concat(t.name), (SELECT count(*) FROM album_photo a"
        " WHERE a.photo_id = p.id) FROM photo p LEFT JOIN photo_tag pt ON pt.photo_id = p.id"
        " LEFT JOIN tag t ON t.id = pt.tag_id GROUP BY p.id ORDER BY p.rel_path",
    )


def test_the_next_migration_backs_up_first_then_upgrades_and_keeps_user_data(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = home / "catalog.sqlite3"
    before = _user_data(catalog)
    _with_next_version(monkeypatch, _next_picks)

    lib = Library(resolve_paths(home))
    try:
        assert _version(catalog) == CURRENT + 1
        assert "pick" in _columns(catalog)
        assert _read(catalog, "SELECT rel_path, pick FROM photo ORDER BY rel_path") == [
            ("a.jpg", 1),
            ("b.jpg", 1),
            ("c.jpg", 0),
        ]
        assert _user_data(catalog) == before
        b = next(p for p in lib.query() if p.rel_path == "b.jpg")
        assert b.rating == 5 and photo_tags(b.id) == ["family"]
        lib.set_rating([b.id], 2)  # and the upgraded catalog takes writes
    finally:
        lib.close()

    (backup,) = list_backups(home / "backups")
    assert backup.kind == f"v{CURRENT}"
    assert backup.description == f"before the upgrade from catalog version {CURRENT}"
    assert _version(backup.path) == CURRENT and "pick" not in _columns(backup.path)
    assert _user_data(backup.path) == before

    Library(resolve_paths(home)).close()  # opening it again upgrades nothing and backs up nothing
    assert len(list_backups(home / "backups")) == 1


def test_a_migration_that_fails_half_way_leaves_the_catalog_as_it_was_beside_its_backup(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = home / "catalog.sqlite3"
    before = _user_data(catalog)
    _with_next_version(monkeypatch, _next_breaks_half_way)

    with pytest.raises(
        LibraryError, match="could not be opened .*UNIQUE constraint failed.* python main.py restore"
    ):
        Library(resolve_paths(home))
    close_db()

    assert _version(catalog) == CURRENT
    assert "pick" not in _columns(catalog)
    assert _user_data(catalog) == before
    (backup,) = list_backups(home / "backups")
    assert backup.kind == f"v{CURRENT}" and _user_data(backup.path) == before

    # with the migration fixed, the next start upgrades the catalog left as it was
    monkeypatch.setitem(db.MIGRATIONS, CURRENT + 1, _next_picks)
    Library(resolve_paths(home)).close()
    assert _version(catalog) == CURRENT + 1 and _user_data(catalog) == before


def test_an_upgrade_failing_after_its_steps_ran_does_not_leave_them_half_recorded(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The steps succeed, then creating the new version's tables fails: the steps must be undone too.
    They used to be committed on their own, with the version left at v2, so every later start ran
    them again on a catalog that already had the column, and failed."""
    catalog = home / "catalog.sqlite3"

    class Broken(schema.BaseModel):  # a table of the next version that cannot be created
        value = pw.IntegerField(constraints=[pw.SQL("CHECK (no_such_column > 0)")])

    _with_next_version(monkeypatch, _next_picks)
    monkeypatch.setattr(schema, "ALL_MODELS", [*schema.ALL_MODELS, Broken])
    with pytest.raises(LibraryError, match="no such column"):
        Library(resolve_paths(home))
    close_db()
    assert _version(catalog) == CURRENT and "pick" not in _columns(catalog)

    monkeypatch.undo()  # the next release gets its table right
    _with_next_version(monkeypatch, _next_picks)
    Library(resolve_paths(home)).close()
    assert _version(catalog) == CURRENT + 1 and "pick" in _columns(catalog)
    assert [b.kind for b in list_backups(home / "backups")] == [f"v{CURRENT}", f"v{CURRENT}"]
