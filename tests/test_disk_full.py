"""A full disk: photos are catalogued without thumbnails, a full catalog stops with one sentence.

The catalog's disk filling is real SQLite behaviour here, made cheaply with
``PRAGMA max_page_count`` (SQLite answers SQLITE_FULL exactly as on a full
disk); the thumbnail disk filling is an ``ENOSPC`` from the cache's writes.
Where this runs as root (CI), the same is checked end to end through the
command line on a real 256 KB / 4 MB tmpfs.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.core.catalog.db import DiskFull, catalog_full_message, database
from desktop.core.catalog.schema import STATUS_OK, Photo, Tag
from desktop.core.imaging import thumbnails as thumbnails_mod
from desktop.core.imaging.thumbnails import ThumbnailCache, thumbnails_full_message
from desktop.core.ingest import scanner as scanner_mod
from desktop.core.library import Library
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parent.parent


def _photos(folder: Path, n: int) -> Path:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        # long names make big rows, so a few pages of catalog fill quickly
        name = f"{'a-long-name-as-some-cameras-and-phones-write-them-' * 2}{i:04d}.jpg"
        Image.new("RGB", (40, 30), (i % 250, 90, 200 - i % 200)).save(folder / name, quality=80)
    return folder


def _limit_catalog(library: Library, extra_pages: int | None) -> None:
    """Let the catalog grow by ``extra_pages`` more pages only (None: no limit), on the writer's connection."""

    def _set() -> None:
        if extra_pages is None:
            database.execute_sql("PRAGMA max_page_count = 1073741823")
            return
        pages = database.execute_sql("PRAGMA page_count").fetchone()[0]
        database.execute_sql(f"PRAGMA max_page_count = {pages + extra_pages}")

    library.writer.call(_set)


def test_a_full_catalog_write_is_one_error_and_the_writer_keeps_serving(library: Library) -> None:
    _limit_catalog(library, 2)

    def fill() -> None:
        with database.atomic():  # a savepoint inside the writer's transaction, as the scanner uses
            for i in range(2000):
                Tag.create(name=f"tag-{i}-" + "x" * 200)

    with pytest.raises(DiskFull) as info:
        library.writer.call(fill)
    # not "cannot rollback - no transaction is active" or "no such savepoint"
    assert str(info.value) == catalog_full_message(library.paths.data)
    assert Tag.select().count() == 0  # that transaction is gone, all of it
    _limit_catalog(library, None)
    library.writer.call(lambda: Tag.create(name="after"))
    assert [t.name for t in Tag.select()] == ["after"]


def test_an_error_sqlite_already_rolled_back_is_reported_as_itself(library: Library) -> None:
    def fail_after_sqlite_rolled_back() -> None:
        Tag.create(name="half")
        database.execute_sql("ROLLBACK")  # what SQLite does by itself on SQLITE_FULL or an I/O error
        raise ValueError("the real error")

    with pytest.raises(ValueError, match="the real error"):
        library.writer.call(fail_after_sqlite_rolled_back)
    library.writer.call(lambda: Tag.create(name="next"))
    assert [t.name for t in Tag.select()] == ["next"]


def test_a_scan_that_fills_the_catalog_stops_cleanly_and_the_next_scan_finishes(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pics = _photos(tmp_path / "pics", 60)
    root = library.add_root(pics)
    monkeypatch.setattr(scanner_mod, "BATCH_SIZE", 10)
    _limit_catalog(library, 3)
    with caplog.at_level(logging.WARNING), pytest.raises(DiskFull) as info:
        library.scan([root], workers=1)
    assert str(info.value) == catalog_full_message(library.paths.data)
    # no cascade: nothing was retried row by row, nothing logged per file
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    kept = Photo.select().count()
    assert 0 < kept < 60  # what fitted is catalogued
    _limit_catalog(library, None)  # room again
    report = library.scan([root], workers=1)
    assert report.added == 60 - kept and report.errors == 0
    assert Photo.select().where(Photo.status == STATUS_OK).count() == 60


def _no_room(monkeypatch: pytest.MonkeyPatch) -> None:
    def full(self: ThumbnailCache, content_hash: str, jpeg: bytes) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ThumbnailCache, "write", full)


def test_photos_whose_thumbnails_find_no_room_are_still_photos(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pics = _photos(tmp_path / "pics", 5)
    _no_room(monkeypatch)
    report = library.scan([library.add_root(pics)], workers=1)
    assert report.added == 5 and report.errors == 0 and report.no_thumbnails == 5
    assert report.warnings[0] == thumbnails_full_message(library.thumbnails.root)
    assert Photo.select().where(Photo.status == STATUS_OK).count() == 5
    assert not library.thumbnails.files()


def test_thumbnails_leave_the_last_megabytes_to_the_catalog(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pics = _photos(tmp_path / "pics", 3)
    monkeypatch.setattr(thumbnails_mod, "_free_bytes", lambda _folder: thumbnails_mod.RESERVE_BYTES - 1)
    report = library.scan([library.add_root(pics)], workers=1)
    assert report.added == 3 and report.no_thumbnails == 3 and not library.thumbnails.files()
    monkeypatch.undo()
    photo = Photo.select().first()
    jpeg = thumbnails_mod.remake_thumbnail(library.thumbnails, photo.content_hash, pics / photo.rel_path)
    assert jpeg.startswith(b"\xff\xd8")
    assert library.thumbnails.has(photo.content_hash)  # room again: stored this time


def test_a_scan_writes_thumbnails_where_the_cache_was_moved(library: Library, tmp_path: Path) -> None:
    library.move_picture_cache(tmp_path / "bigger-disk")
    report = library.scan([library.add_root(_photos(tmp_path / "pics", 2))], workers=1)
    assert report.added == 2 and report.no_thumbnails == 0
    assert len(ThumbnailCache(tmp_path / "bigger-disk" / "thumbnails").files()) == 2


# ------------------------------------------------------- a real small disk (root)
def sb(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(home, *args)


@contextlib.contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a small tmpfs here ({exc}); needs root, as in CI")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


def _photo_count(home: Path) -> Any:
    import json

    return json.loads(sb(home, "status", "--json").stdout)["photos"]


def test_adding_photos_to_a_library_on_a_4mb_disk_catalogues_them_all(tmp_path: Path) -> None:
    pics = _photos(tmp_path / "pics", 12)
    with small_disk(tmp_path / "home", "4m") as home:
        proc = sb(home, "add", str(pics))
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        warning = f"warning: {thumbnails_full_message(home / 'cache' / 'thumbnails')}"
        assert warning in proc.stderr.splitlines()
        assert _photo_count(home) == 12


def test_a_catalog_disk_that_fills_stops_with_one_sentence_and_resumes_when_there_is_room(
    tmp_path: Path,
) -> None:
    pics = _photos(tmp_path / "pics", 12)
    with small_disk(tmp_path / "home", "256k") as home:  # room for an empty catalog, not for these rows
        proc = sb(home, "add", str(pics))
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr and "rollback" not in proc.stderr
        assert proc.stderr.splitlines()[-1] == f"shoebox: {catalog_full_message(home)}"
        assert _photo_count(home) < 12  # the full disk still opens: reading needs no room
        subprocess.run(["mount", "-o", "remount,size=16m", str(home)], check=True)
        proc = sb(home, "scan")
        assert proc.returncode == 0, proc.stderr
        assert _photo_count(home) == 12
