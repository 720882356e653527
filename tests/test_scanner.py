"""Scanning: catalogue, incremental rescans, moves, missing files, bad input, cancel."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest

from desktop.core.catalog.schema import Photo
from desktop.core.ingest import scan_worker
from desktop.core.ingest.scanner import walk_images
from desktop.core.library import Library
from desktop.core.runtime.jobs import Cancelled, JobControl
from desktop.core.runtime.paths import resolve_paths


@pytest.fixture
def lib(shoebox_home: Path):
    library = Library(resolve_paths())
    yield library
    library.close()


def _photos(folder: Path, make_jpeg, n: int = 3) -> list[Path]:
    return [
        make_jpeg(
            folder / f"IMG_{i}.jpg", color=(10 * i, 100, 200 - i), taken=dt.datetime(2020, 1, 1 + i, 12)
        )
        for i in range(n)
    ]


def test_scan_catalogues_photos_with_metadata(lib: Library, tmp_path: Path, make_jpeg) -> None:
    folder = tmp_path / "pics"
    make_jpeg(
        folder / "a.jpg",
        size=(80, 60),
        taken=dt.datetime(2021, 7, 14, 10, 22, 3),
        offset="+02:00",
        make="Canon",
        model="Canon EOS 80D",
        gps=(48.8584, 2.2945),
    )
    make_jpeg(folder / "sub" / "b.jpg", size=(80, 60), orientation=6, color=(1, 2, 3))
    root = lib.add_root(folder)
    report = lib.scan([root])
    assert (report.added, report.errors) == (2, 0)
    a = lib.info(folder / "a.jpg")
    assert a["taken_at"].startswith("2021-07-14T10:22:03") and a["taken_at"].endswith("+02:00")
    assert a["taken_at_source"] == "DateTimeOriginal"
    assert a["camera_make"] == "Canon" and a["camera_model"] == "Canon EOS 80D"
    assert a["gps_lat"] == pytest.approx(48.8584, abs=1e-4) and a["gps_lon"] == pytest.approx(
        2.2945, abs=1e-4
    )
    b = lib.info(folder / "sub" / "b.jpg")
    assert (b["width"], b["height"], b["orientation"]) == (60, 80, 6)  # as displayed
    assert b["taken_at_source"] == "file"
    for rec in (a, b):
        assert lib.thumbnails.has(rec["content_hash"])


def test_rescan_is_incremental(lib: Library, tmp_path: Path, make_jpeg, monkeypatch) -> None:
    folder = tmp_path / "pics"
    _photos(folder, make_jpeg, 4)
    lib.scan([lib.add_root(folder)])
    calls: list[str] = []
    real = scan_worker.process_file
    monkeypatch.setattr(
        "desktop.core.ingest.scanner.process_file", lambda p, t: calls.append(p) or real(p, t)
    )
    report = lib.scan()
    assert report.unchanged == 4 and calls == []
    # touching one file re-reads only that one
    os.utime(folder / "IMG_1.jpg", (1_600_000_000, 1_600_000_000))
    report = lib.scan()
    assert report.updated == 1 and [Path(c).name for c in calls] == ["IMG_1.jpg"]


def test_rename_and_move_keep_id_tags_and_rating(lib: Library, tmp_path: Path, make_jpeg) -> None:
    folder = tmp_path / "pics"
    files = _photos(folder, make_jpeg, 3)
    lib.scan([lib.add_root(folder)])
    pid = lib.photo_by_path(files[0]).id
    lib.add_tag("Places/Paris", [pid])
    lib.set_rating([pid], 5)
    renamed = folder / "renamed.jpg"
    files[0].rename(renamed)
    rep = lib.scan()
    assert rep.moved == 1 and rep.missing == 0
    row = lib.photo_by_path(renamed)
    assert row.id == pid and row.rating == 5 and lib.info(renamed)["tags"] == ["Places/Paris"]
    (folder / "deeper" / "still").mkdir(parents=True)
    moved = folder / "deeper" / "still" / "x.jpg"
    shutil.move(renamed, moved)
    lib.scan()
    assert lib.photo_by_path(moved).id == pid and lib.info(moved)["tags"] == ["Places/Paris"]
    assert Photo.select().count() == 3


def test_deleted_file_goes_missing_and_comes_back(lib: Library, tmp_path: Path, make_jpeg) -> None:
    folder = tmp_path / "pics"
    files = _photos(folder, make_jpeg, 2)
    lib.scan([lib.add_root(folder)])
    pid = lib.photo_by_path(files[1]).id
    lib.add_tag("family", [pid])
    saved = tmp_path / "saved.jpg"
    shutil.move(files[1], saved)
    rep = lib.scan()
    assert rep.missing == 1
    assert lib.status()["missing"] == 1 and lib.status()["photos"] == 1
    assert lib.info(files[1])["status"] == "missing"
    assert lib.info(files[1])["tags"] == ["family"]
    # back under another name: same row, tags intact
    back = folder / "back again.jpg"
    shutil.move(saved, back)
    rep = lib.scan()
    assert rep.moved == 1
    rec = lib.info(back)
    assert rec["id"] == pid and rec["status"] == "ok" and rec["tags"] == ["family"]


def test_exact_duplicates_are_both_catalogued(lib: Library, tmp_path: Path, make_jpeg) -> None:
    folder = tmp_path / "pics"
    (a,) = _photos(folder, make_jpeg, 1)
    (folder / "copies").mkdir()
    shutil.copy2(a, folder / "copies" / a.name)
    lib.scan([lib.add_root(folder)])
    rows = list(Photo.select())
    assert len(rows) == 2 and rows[0].content_hash == rows[1].content_hash


def _png_header_bomb(path: Path, w: int, h: int) -> None:
    """A tiny PNG whose header claims w×h pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def test_bad_input_is_listed_with_reasons(lib: Library, tmp_path: Path, make_jpeg, monkeypatch) -> None:
    folder = tmp_path / "bad"
    good = make_jpeg(folder / "good.jpg", size=(300, 200))
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("hello, I am not a photo\n")
    (folder / "random.png").write_bytes(os.urandom(4096))
    data = good.read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 2])
    _png_header_bomb(folder / "bomb.png", 60_000, 60_000)
    from PIL import Image

    Image.new("RGB", (30, 20), (0, 255, 0)).save(folder / "really-a-png.jpg", "PNG")
    (folder / "locked.jpg").write_bytes(data)
    real_open = open

    def fake_open(path, *args, **kwargs):
        if str(path).endswith("locked.jpg"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(scan_worker, "open", fake_open, raising=False)
    report = lib.scan([lib.add_root(folder)])
    reasons = {Path(e["path"]).name: e["reason"] for e in lib.errors()}
    assert set(reasons) == {"empty.jpg", "text.jpg", "random.png", "truncated.jpg", "bomb.png", "locked.jpg"}
    assert "empty" in reasons["empty.jpg"]
    assert "not an image" in reasons["text.jpg"]
    assert "truncated" in reasons["truncated.jpg"]
    assert "too large" in reasons["bomb.png"]
    assert "permission denied" in reasons["locked.jpg"]
    assert report.added == 2  # good.jpg and the PNG with a .jpg name
    assert lib.info(folder / "really-a-png.jpg")["format"] == "PNG"
    # an unchanged broken file is not re-read, a fixed one is catalogued
    (folder / "text.jpg").unlink()
    shutil.copy2(good, folder / "empty.jpg")
    lib.scan()
    assert {Path(e["path"]).name for e in lib.errors()} == {
        "random.png",
        "truncated.jpg",
        "bomb.png",
        "locked.jpg",
    }


def test_unicode_long_paths_hidden_and_symlink_loops(lib: Library, tmp_path: Path, make_jpeg) -> None:
    folder = tmp_path / "lib"
    deep = folder
    for i in range(6):
        deep = deep / (f"{i}-" + "très-long-dossier-" * 8)
    make_jpeg(deep / "北京 长城 📷.jpg")
    make_jpeg(folder / "Café – Zürich.JPG", color=(9, 9, 9))
    make_jpeg(folder / ".hidden" / "secret.jpg", color=(1, 1, 1))
    make_jpeg(folder / "@eaDir" / "thumb.jpg", color=(2, 2, 2))
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    (folder / "dangling.jpg").symlink_to(tmp_path / "nowhere.jpg")
    rels = sorted(r for r, _, _ in walk_images(folder))
    assert len(rels) == 2, rels
    report = lib.scan([lib.add_root(folder)])
    assert report.added == 2 and report.errors == 0
    assert lib.info(deep / "北京 长城 📷.jpg")["format"] == "JPEG"


def test_file_vanishing_mid_scan_is_not_an_error(
    lib: Library, tmp_path: Path, make_jpeg, monkeypatch
) -> None:
    folder = tmp_path / "pics"
    files = _photos(folder, make_jpeg, 3)
    real = scan_worker.process_file

    def vanish(p: str, t: str | None):
        if p.endswith("IMG_2.jpg"):
            files[2].unlink()
        return real(p, t)

    monkeypatch.setattr("desktop.core.ingest.scanner.process_file", vanish)
    report = lib.scan([lib.add_root(folder)])
    assert report.added == 2 and report.errors == 0 and report.vanished == 1


def test_cancel_keeps_finished_work_and_rescan_resumes(
    lib: Library, tmp_path: Path, make_jpeg, monkeypatch
) -> None:
    folder = tmp_path / "pics"
    _photos(folder, make_jpeg, 10)
    monkeypatch.setattr("desktop.core.ingest.scanner.BATCH_SIZE", 2)
    control = JobControl("scan")
    seen = 0
    real = scan_worker.process_file

    def counting(p: str, t: str | None):
        nonlocal seen
        seen += 1
        if seen == 5:
            control.cancel()
        return real(p, t)

    monkeypatch.setattr("desktop.core.ingest.scanner.process_file", counting)
    report = lib.scan([lib.add_root(folder)], control)
    assert report.cancelled
    kept = Photo.select().count()
    assert 4 <= kept < 10
    report = lib.scan()
    assert report.added == 10 - kept and Photo.select().count() == 10
    assert report.missing == 0


def test_progress_reports_rate_and_total(lib: Library, tmp_path: Path, make_jpeg) -> None:
    folder = tmp_path / "pics"
    _photos(folder, make_jpeg, 5)
    seen = []
    lib.scan([lib.add_root(folder)], JobControl("scan", seen.append, min_interval=0))
    last = seen[-1]
    assert (last.done, last.total) == (5, 5)
    assert "scan: 5/5" in last.describe()


def test_parallel_scan_in_worker_processes(lib: Library, tmp_path: Path, make_jpeg) -> None:
    folder = tmp_path / "many"
    for i in range(40):
        make_jpeg(folder / f"{i:03d}.jpg", size=(40, 30), color=(i, 2 * i, 255 - i))
    (folder / "broken.jpg").write_text("nope")
    report = lib.scan([lib.add_root(folder)], workers=2)
    assert report.added == 40 and report.errors == 1
    assert lib.status()["photos"] == 40


def test_cancelled_control_raises() -> None:
    c = JobControl("x")
    c.cancel()
    with pytest.raises(Cancelled):
        c.checkpoint()


def test_nested_roots_are_merged_without_duplicates(lib: Library, tmp_path: Path, make_jpeg) -> None:
    folder = tmp_path / "pics"
    files = _photos(folder / "inner", make_jpeg, 2)
    make_jpeg(folder / "outer.jpg", color=(7, 7, 7))
    lib.scan([lib.add_root(folder / "inner")])
    pid = lib.photo_by_path(files[0]).id
    lib.add_tag("kept", [pid])
    outer = lib.add_root(folder)
    assert [r.path for r in lib.roots()] == [str(folder.resolve())]
    lib.scan([outer])
    assert lib.count() == 3 and lib.photo_by_path(files[0]).id == pid
    assert lib.info(files[0])["tags"] == ["kept"]
    # adding a folder inside a root is a no-op
    assert lib.add_root(folder / "inner").id == outer.id


def test_the_real_camera_corpus(lib: Library, corpus: Path) -> None:
    """Every image file of the shared corpus is catalogued or listed with a reason."""
    from desktop.core.ingest.formats import is_image_name

    images = [p for p in corpus.rglob("*") if p.is_file() and is_image_name(p.name)]
    report = lib.scan([lib.add_root(corpus)], workers=2)
    assert report.added + report.errors == len(images)
    for err in lib.errors():
        assert err["reason"]
    heic = lib.info(corpus / "heic" / "IMG_5195.HEIC")
    assert heic["format"] == "HEIF" and heic["camera_make"] == "Apple"
    for p in images:
        rec = lib.info(p)
        if rec["status"] == "ok":
            assert lib.thumbnails.has(rec["content_hash"]), p


def test_a_name_that_is_not_utf8_is_skipped_with_a_reason(lib: Library, tmp_path: Path, make_jpeg) -> None:
    folder = tmp_path / "pics"
    make_jpeg(folder / "fine.jpg")
    bad = os.fsdecode(os.fsencode(str(folder)) + b"/x-\xff.jpg")
    make_jpeg(Path(bad), color=(1, 2, 3))
    report = lib.scan([lib.add_root(folder)])
    assert report.added == 1
    assert any("not valid UTF-8" in w for w in report.warnings)
    assert lib.scan().unchanged == 1  # and every later scan still works


def _row_values(lib: Library) -> dict[str, dict[str, object]]:
    skip = {"id", "added_at", "updated_at", "root"}
    out = {}
    for p in Photo.select().order_by(Photo.rel_path):
        out[p.rel_path] = {k: v for k, v in p.__data__.items() if k not in skip}
    return out


def test_bulk_insert_writes_what_the_row_by_row_path_writes(
    shoebox_home: Path, tmp_path: Path, make_jpeg, monkeypatch
) -> None:
    """A first scan inserts new files in one statement; the rows must equal the careful path's."""
    from desktop.core.ingest.scanner import Scanner

    folder = tmp_path / "pics"
    _photos(folder, make_jpeg, 4)
    make_jpeg(folder / "gps.jpg", make="Canon", model="EOS", gps=(48.85, 2.29), offset="+02:00")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    shutil.copy(folder / "IMG_0.jpg", folder / "copy of IMG_0.jpg")  # same content in one batch

    results = []
    for bulk in (True, False):
        home = tmp_path / f"home-{bulk}"
        monkeypatch.setenv("SHOEBOX_HOME", str(home))
        if not bulk:
            monkeypatch.setattr(Scanner, "_insert_fresh", staticmethod(lambda *a: 1 / 0))
        library = Library(resolve_paths())
        report = library.scan([library.add_root(folder)], workers=1)
        assert (report.added, report.errors) == (6, 1)
        results.append(_row_values(library))
        library.close()
    assert results[0] == results[1]
    assert len(results[0]) == 7 and results[0]["broken.jpg"]["status"] == "error"
