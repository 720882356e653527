"""Catalog safety: adding any folder never loses a photo, the catalog's own backups, restore, check.

``add /`` used to empty the library: the new root matched itself as a root
"inside" it, absorbed its own photos and deleted itself (and them, by cascade).
These tests add ``/``, folders that hold the library's own data and cache,
symlinks to roots, the same folder twice and overlapping folders, and check that
every photo keeps its id, tags, rating, label and albums.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from desktop.core import library as library_module
from desktop.core.catalog import backups
from desktop.core.catalog.schema import STATUS_OK, Album, AlbumPhoto, Photo, Root
from desktop.core.ingest.health import check_library
from desktop.core.ingest.watcher import LibraryWatcher
from desktop.core.library import Library, LibraryError
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parent.parent


def _fill(lib: Library, top: Path, make_jpeg: Any) -> dict[str, Path]:
    """Three roots under ``top`` with five photos, tagged, rated, labelled and in albums."""
    files = {
        "a1": make_jpeg(top / "photos" / "a" / "a1.jpg", color=(10, 20, 30)),
        "a2": make_jpeg(top / "photos" / "a" / "deep" / "a2.jpg", color=(40, 50, 60)),
        "b1": make_jpeg(top / "photos" / "b" / "b1.jpg", color=(70, 80, 90)),
        "b2": make_jpeg(top / "photos" / "b" / "b2.jpg", color=(100, 110, 120)),
        "o1": make_jpeg(top / "other" / "o1.jpg", color=(130, 140, 150)),
    }
    roots = [
        lib.add_root(top / "photos" / "a"),
        lib.add_root(top / "photos" / "b"),
        lib.add_root(top / "other"),
    ]
    lib.scan(roots)
    ids = {k: lib.photo_by_path(p).id for k, p in files.items()}
    lib.add_tag("Places/Paris", [ids["a1"], ids["b1"]])
    lib.add_tag("family", [ids["a2"], ids["o1"]])
    lib.set_rating([ids["a1"]], 5)
    lib.set_rating([ids["b2"]], 2)
    lib.set_color_label([ids["o1"]], "red")
    lib.add_to_album("Best", [ids["b2"], ids["a1"]])
    return files


def _snapshot(lib: Library) -> dict[str, Any]:
    """Everything a person made, keyed by photo id (with the file each row points at)."""
    photos = {}
    for p in lib.query():
        info = lib.info(library_module.photo_path(p))
        photos[p.id] = (
            info["path"],
            info["status"],
            info["rating"],
            info["color_label"],
            tuple(info["tags"]),
        )
    return {
        "photos": photos,
        "tags": [(t.name, t.count) for t in lib.tags()],
        "albums": lib.albums(),
        "album_members": sorted(
            (a.album.name, a.photo_id) for a in AlbumPhoto.select(AlbumPhoto, Album).join(Album)
        ),
    }


def _dump(lib: Library) -> list[str]:
    """The whole catalog as SQL: equal dumps mean nothing changed."""
    con = sqlite3.connect(lib.paths.catalog_db)
    try:
        return list(con.iterdump())
    finally:
        con.close()


# ------------------------------------------------------------------ adding folders
def test_adding_slash_keeps_every_photo_and_its_id(library: Library, tmp_path: Path, make_jpeg) -> None:
    _fill(library, tmp_path, make_jpeg)
    before = _snapshot(library)
    root = library.add_root(Path("/"))  # only added here: a scan of the real / is not a test
    assert [r.path for r in library.roots()] == ["/"] and root.path == "/"
    assert _snapshot(library) == before
    assert library.status()["photos"] == 5


def test_an_ancestor_holding_the_catalog_and_cache_is_merged_and_they_are_skipped(
    library: Library, tmp_path: Path, make_jpeg
) -> None:
    files = _fill(library, tmp_path, make_jpeg)
    outside = make_jpeg(tmp_path / "card" / "imp.jpg", color=(5, 6, 7))
    library.import_paths([outside])  # lands in <home>/Imports: the person's photos inside the data folder
    assert library.paths.data.is_relative_to(tmp_path) and library.thumbnails.root.is_relative_to(tmp_path)
    assert any(library.thumbnails.root.rglob("*.jpg"))  # JPEGs a careless walk would catalogue
    before = _snapshot(library)
    top = library.add_root(tmp_path)
    assert [r.path for r in library.roots()] == [str(tmp_path.resolve())]
    assert top.is_import_target  # it absorbed the import folder
    assert _snapshot(library) == before
    report = library.scan([top])
    after = _snapshot(library)
    assert report.missing == 0 and report.errors == 0
    # the card's original and its imported copy: the only new photo is the one outside the library
    assert report.added == 1 and library.photo_by_path(outside) is not None
    for pid, row in before["photos"].items():
        assert after["photos"][pid] == row
    assert not any("cache" in Path(row[0]).parts for row in after["photos"].values())
    assert library.photo_by_path(files["a1"]).rating == 5


def test_symlinks_duplicates_and_overlaps(library: Library, tmp_path: Path, make_jpeg) -> None:
    files = _fill(library, tmp_path, make_jpeg)
    before = _snapshot(library)
    a = library.root_for_path(files["a1"])
    link = tmp_path / "link-to-a"
    link.symlink_to(tmp_path / "photos" / "a")
    assert library.add_root(link).id == a.id  # a symlink to a root is that root
    assert library.add_root(tmp_path / "photos" / "a").id == a.id  # the same folder twice
    assert library.add_root(tmp_path / "photos" / "a" / "deep").id == a.id  # inside a root
    assert len(library.roots()) == 3
    parent = library.add_root(tmp_path / "photos")  # the parent of two roots
    assert sorted(r.path for r in library.roots()) == sorted(
        [parent.path, str((tmp_path / "other").resolve())]
    )
    assert library.add_root(tmp_path / "photos" / "b").id == parent.id  # overlapping: already held
    library.scan(library.roots())
    assert _snapshot(library) == before
    parent_link = tmp_path / "link-to-top"
    parent_link.symlink_to(tmp_path)
    top = library.add_root(parent_link)  # a symlink to an enclosing folder: merged as that folder
    assert [r.path for r in library.roots()] == [top.path] == [str(tmp_path.resolve())]
    library.scan([top])
    assert _snapshot(library) == before


def test_the_data_folder_and_folders_inside_it_are_refused(library: Library, tmp_path: Path) -> None:
    home = library.paths.data
    for folder in (home, home / "backups", library.paths.cache, library.thumbnails.root):
        folder.mkdir(parents=True, exist_ok=True)
        with pytest.raises(LibraryError) as err:
            library.add_root(folder)
        message = str(err.value)
        assert "Shoebox keeps its own catalog" in message and message.count(". ") == 0
    (home / "Imports").mkdir()
    assert library.add_root(home / "Imports").path == str((home / "Imports").resolve())  # the import folder
    assert [r.path for r in library.roots()] == [str((home / "Imports").resolve())]


def test_a_merge_that_fails_half_way_changes_nothing(
    library: Library, tmp_path: Path, make_jpeg, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(library, tmp_path, make_jpeg)
    before, dump = _snapshot(library), _dump(library)
    real = library_module._absorb
    calls: list[str] = []

    def absorb_then_fail(parent: Root, child: Root, parent_path: Path) -> None:
        calls.append(child.path)
        real(parent, child, parent_path)
        if len(calls) == 2:
            raise RuntimeError("disk fell off")

    monkeypatch.setattr(library_module, "_absorb", absorb_then_fail)
    with pytest.raises(RuntimeError):
        library.add_root(tmp_path)
    assert len(calls) == 2  # two roots were absorbed before the failure, and both came back
    assert _dump(library) == dump
    assert _snapshot(library) == before and len(library.roots()) == 3


def test_roots_nested_in_an_old_catalog_merge_without_collisions(
    library: Library, tmp_path: Path, make_jpeg
) -> None:
    """A catalog may hold a root inside another (made by older versions): both claim the same file."""
    photo = make_jpeg(tmp_path / "p" / "q" / "x.jpg")
    outer = library.add_root(tmp_path / "p")
    library.scan([outer])
    kept = library.photo_by_path(photo).id
    library.add_tag("outer-tag", [kept])

    def nest() -> int:
        inner = Root.create(path=str((tmp_path / "p" / "q").resolve()))
        row = Photo.create(root=inner, rel_path="x.jpg", rating=4, status=STATUS_OK)
        return int(row.id)

    dup = library.writer.call(nest)
    library.add_tag("inner-tag", [dup])
    library.add_to_album("Trip", [dup])
    library.add_root(tmp_path)
    assert [r.path for r in library.roots()] == [str(tmp_path.resolve())]
    row = library.photo_by_path(photo)
    assert row.id == kept and row.rating == 4 and Photo.get_or_none(Photo.id == dup) is None
    assert library.info(photo)["tags"] == ["inner-tag", "outer-tag"]
    assert library.albums() == [("Trip", 1)]


def test_a_sibling_differing_only_in_case_is_not_absorbed(
    library: Library, tmp_path: Path, make_jpeg
) -> None:
    upper = tmp_path / "Photos" / "y"
    make_jpeg(upper / "a.jpg")
    (tmp_path / "photos").mkdir()
    if (tmp_path / "photos").samefile(tmp_path / "Photos"):
        pytest.skip("a case-insensitive file system")
    library.scan([library.add_root(upper)])
    library.add_root(tmp_path / "photos")
    assert sorted(r.path for r in library.roots()) == sorted(
        [str(upper.resolve()), str((tmp_path / "photos").resolve())]
    )
    assert library.photo_by_path(upper / "a.jpg") is not None


def test_a_hidden_root_merged_into_its_parent_is_still_scanned(
    library: Library, tmp_path: Path, make_jpeg
) -> None:
    secret = make_jpeg(tmp_path / "top" / ".hidden" / "s.jpg")
    library.scan([library.add_root(tmp_path / "top" / ".hidden")])
    pid = library.photo_by_path(secret).id
    report = library.scan([library.add_root(tmp_path / "top")])
    assert report.missing == 0 and library.photo(pid).status == STATUS_OK


def test_results_for_a_root_merged_during_a_scan_are_dropped_not_errors(
    library: Library, tmp_path: Path, make_jpeg
) -> None:
    make_jpeg(tmp_path / "top" / "inner" / "n.jpg")
    inner = library.add_root(tmp_path / "top" / "inner")
    library.add_root(tmp_path / "top")  # merges inner while a scan still holds it
    from desktop.core.ingest.scanner import Scanner

    report = Scanner(library, workers=1).process_paths(inner, ["n.jpg"])
    assert report.errors == 0 and library.count() == 0
    library.scan(library.roots())
    assert library.count() == 1


def test_the_watcher_never_catalogues_the_cache_of_a_root_that_holds_it(
    library: Library, tmp_path: Path, make_jpeg
) -> None:
    top = library.add_root(tmp_path)
    library.scan([top])
    watcher = LibraryWatcher(library, stable_seconds=0.1)
    watcher.start()
    try:
        make_jpeg(library.thumbnails.root / "zz" / "zz" / "fake-thumb.jpg")
        make_jpeg(tmp_path / "new" / "fresh.jpg")
        deadline = time.monotonic() + 10
        while library.count() < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the thumbnail's events were seen as early as the photo's
    finally:
        watcher.stop()
    assert [Path(library_module.photo_path(p)).name for p in library.query()] == ["fresh.jpg"]


def test_cli_add_same_folder_twice_and_overlapping_folders(tmp_path: Path, make_jpeg) -> None:
    home = tmp_path / "home"
    make_jpeg(tmp_path / "A" / "B" / "b.jpg", color=(1, 2, 3))
    make_jpeg(tmp_path / "A" / "a.jpg", color=(3, 2, 1))
    sb(home, "add", "--no-watch", str(tmp_path / "A" / "B"))
    sb(home, "tag", "add", "kept", str(tmp_path / "A" / "B" / "b.jpg"))
    con = sqlite3.connect(home / "catalog.sqlite3")
    pid = con.execute("SELECT id FROM photo WHERE rel_path = 'b.jpg'").fetchone()[0]
    con.close()
    proc = sb(home, "add", "--no-watch", str(tmp_path / "A" / "B"), str(tmp_path / "A"), str(tmp_path / "A"))
    assert "Traceback" not in proc.stderr and "IntegrityError" not in proc.stderr
    status = json.loads(sb(home, "status", "--json").stdout)
    assert status["photos"] == 2 and [r["path"] for r in status["roots"]] == [str((tmp_path / "A").resolve())]
    tagged = json.loads(sb(home, "ls", "--json", "--tag", "kept").stdout)
    assert [r["id"] for r in tagged] == [pid]
    proc = sb(home, "add", str(home), check=False)
    assert proc.returncode == 1 and "keeps its own catalog" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_interrupted_add_of_an_enclosing_folder_keeps_everything(tmp_path: Path, make_jpeg) -> None:
    home = tmp_path / "home"
    photo = make_jpeg(tmp_path / "pics" / "p.jpg")
    for i in range(300):  # something to walk, so the interrupt lands mid-scan
        make_jpeg(tmp_path / "more" / f"d{i % 9}" / f"{i}.jpg", size=(16, 12), color=(i % 250, 3, 9))
    sb(home, "add", "--no-watch", str(tmp_path / "pics"))
    sb(home, "tag", "add", "kept", str(photo))
    env = dict(os.environ, SHOEBOX_HOME=str(home))
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "main.py"), "add", "--no-watch", str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = ""
    while not re.match(r"scan: \d+/[1-9]", line):  # the walk is over and files are being read
        line = proc.stderr.readline()
        assert line, "the command ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    _out, err = proc.communicate(timeout=60)
    assert "Traceback" not in err and proc.returncode in (0, 130)
    tagged = json.loads(sb(home, "ls", "--json", "--tag", "kept").stdout)
    assert [Path(r["path"]) for r in tagged] == [photo.resolve()]
    assert json.loads(sb(home, "status", "--json").stdout)["missing"] == 0


# ------------------------------------------------------------------------ backups
def sb(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_cli(home, *args, check=check)


def test_daily_backups_once_a_day_keep_seven_and_spare_the_others(library: Library) -> None:
    folder = library.paths.backups
    first = dt.datetime(2026, 3, 1, 9)
    migration = backups.backup_before_migration(library.paths.catalog_db, folder, 0)
    manual = backups.make_backup(library.paths.catalog_db, folder, backups.MANUAL, first)
    for day in range(10):
        now = first + dt.timedelta(days=day)
        assert backups.daily_backup(library.paths, now) is not None
        assert backups.daily_backup(library.paths, now + dt.timedelta(hours=3)) is None  # once a day
    daily = [b for b in backups.list_backups(folder) if b.kind == backups.DAILY]
    assert [b.created.day for b in daily] == [10, 9, 8, 7, 6, 5, 4]
    assert migration.is_file() and manual.path.is_file()
    copy = sqlite3.connect(daily[0].path)
    try:  # a standalone, sound copy: no -wal beside it
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    finally:
        copy.close()


def test_restore_saves_the_replaced_catalog_and_open_connections_see_the_backup(
    library: Library, tmp_path: Path, make_jpeg
) -> None:
    files = _fill(library, tmp_path, make_jpeg)
    saved_state = _snapshot(library)
    made = backups.make_backup(library.paths.catalog_db, library.paths.backups, backups.MANUAL)
    library.add_tag("after-backup", [library.photo_by_path(files["b1"]).id])
    library.remove_root(library.root_for_path(files["o1"]).id)
    report = backups.restore(library.paths)
    assert report.restored.path == made.path and report.saved is not None
    assert _snapshot(library) == saved_state  # the open library reads the restored catalog
    assert sqlite3.connect(library.paths.catalog_db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    library.add_tag("writes-work", [library.photo_by_path(files["o1"]).id])
    replaced = sqlite3.connect(report.saved.path)
    try:
        names = {r[0] for r in replaced.execute("SELECT name FROM tag")}
    finally:
        replaced.close()
    assert "after-backup" in names  # the catalog it replaced is there to go back to


def test_restore_refuses_a_damaged_backup_and_mends_a_damaged_catalog(library: Library) -> None:
    paths = library.paths
    library.add_tag("precious", [])
    good = backups.make_backup(paths.catalog_db, paths.backups, backups.MANUAL)
    bad = paths.backups / "catalog-manual-20200101-000000.sqlite3"
    bad.write_bytes(b"not a database at all" * 100)
    dump = _dump(library)
    with pytest.raises(backups.BackupError, match="not a readable catalog|damaged"):
        backups.restore(paths, str(bad))
    assert _dump(library) == dump
    library.close()
    paths.catalog_db.write_bytes(b"garbage" * 1000)
    for extra in ("-wal", "-shm"):
        paths.catalog_db.with_name(paths.catalog_db.name + extra).unlink(missing_ok=True)
    report = backups.restore(
        paths
    )  # the newest sound backup: not the damaged one made in 2020 nor the bad name
    assert report.restored.path == good.path
    assert report.saved is not None and report.saved.path.read_bytes().startswith(b"garbage")
    assert backups.restore(paths).restored.path == good.path  # the damaged catalog set aside is passed over
    reopened = Library(paths)
    try:
        assert [t.name for t in reopened.tags()] == ["precious"]
    finally:
        reopened.close()


def test_check_reports_gone_uncatalogued_and_missing_folders(
    library: Library, tmp_path: Path, make_jpeg
) -> None:
    files = _fill(library, tmp_path, make_jpeg)
    assert check_library(library).healthy
    files["b2"].unlink()
    make_jpeg(tmp_path / "photos" / "a" / "new.jpg", color=(9, 9, 9))
    for f in (tmp_path / "other").iterdir():
        f.unlink()
    (tmp_path / "other").rmdir()
    report = check_library(library)
    assert not report.healthy
    assert (report.gone_files, report.uncatalogued, report.missing_roots) == (
        1,
        1,
        [str((tmp_path / "other").resolve())],
    )
    problems = report.problems()
    assert len(problems) == 3 and all("python main.py scan" in p or "drive" in p for p in problems)


def _tag_names(home: Path) -> list[str]:
    con = sqlite3.connect(home / "catalog.sqlite3")
    try:
        return [r[0] for r in con.execute("SELECT name FROM tag ORDER BY name")]
    finally:
        con.close()


def test_cli_backup_list_restore_check(tmp_path: Path, make_jpeg) -> None:
    home = tmp_path / "home"
    photo = make_jpeg(tmp_path / "pics" / "p.jpg")
    sb(home, "add", "--no-watch", str(tmp_path / "pics"))
    daily = json.loads(sb(home, "backup", "list", "--json").stdout)
    assert [b["kind"] for b in daily] == ["daily"]  # after the first command that changed the catalog
    made = Path(sb(home, "backup").stdout.strip())
    assert made.is_file() and backups.list_backups(home / "backups")[0].path == made
    sb(home, "tag", "add", "later", str(photo))
    assert len(backups.list_backups(home / "backups")) == 2  # one daily backup a day, not one a command
    restored = json.loads(sb(home, "restore", made.name, "--json").stdout)
    assert restored["restored"]["path"] == str(made) and restored["saved"]["kind"] == "before-restore"
    assert _tag_names(home) == []
    # a plain restore takes the newest real backup, never the copy the last restore set aside
    # (two in a row would swap back and forth); that copy is restored by name
    text = sb(home, "restore").stdout
    assert f"Restored the catalog from {made}" in text and "saved as" in text
    assert _tag_names(home) == []
    sb(home, "restore", Path(restored["saved"]["path"]).name)
    assert _tag_names(home) == ["later"]
    assert json.loads(sb(home, "check", "--json").stdout)["healthy"] is True
    photo.unlink()
    bad = sb(home, "check", check=False)
    assert bad.returncode == 1 and "file is gone" in bad.stdout and "python main.py scan" in bad.stdout
    none = sb(tmp_path / "empty-home", "restore", check=False)
    assert none.returncode == 1 and "no backups" in none.stderr and "Traceback" not in none.stderr


def test_the_app_makes_the_daily_backup_in_a_background_job(library: Library, qapp: Any) -> None:
    from desktop.gui.app.application import AppContext

    ctx = AppContext(library, synchronous=True, watch=False, smart_search=False)
    try:
        ctx.start()  # the synchronous runner runs the job now; the real one runs it on a pool thread
        assert [b.kind for b in backups.list_backups(library.paths.backups)] == [backups.DAILY]
        ctx.start_daily_backup()  # a second start on the same day makes none
        assert len(backups.list_backups(library.paths.backups)) == 1
    finally:
        ctx.shutdown()


def test_backup_commands_refuse_a_data_folder_that_is_a_file(tmp_path: Path) -> None:
    home = tmp_path / "afile"
    home.write_text("not a folder")
    for args in (("backup",), ("backup", "list"), ("restore",)):
        out = sb(home, *args, check=False)
        assert out.returncode == 1
        assert f"Shoebox cannot use {home} as its data folder: it is a file." in out.stderr
