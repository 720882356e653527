"""Importing outside files: dated folders, name collisions, duplicates, files that vanish, cancel."""

from __future__ import annotations

import datetime as dt
import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from desktop.core.catalog.schema import STATUS_ERROR, Photo
from desktop.core.ingest import importer
from desktop.core.ingest.scan_worker import hash_bytes
from desktop.core.library import Library
from desktop.core.runtime.jobs import JobControl


def test_a_truncated_file_imported_twice_is_copied_once(
    library: Library, tmp_path: Path, make_jpeg: Any
) -> None:
    card = tmp_path / "card"
    good = make_jpeg(card / "good.jpg", size=(320, 240))
    data = good.read_bytes()
    (card / "truncated.jpg").write_bytes(data[: len(data) // 2])

    first = library.import_paths([card])
    assert len(first.imported) == 1 and [Path(p).name for p, _ in first.errors] == ["truncated.jpg"]
    for _ in range(2):
        again = library.import_paths([card])
        assert not again.imported and not again.errors
        assert sorted(Path(src).name for src, _ in again.duplicates) == ["good.jpg", "truncated.jpg"]

    copies = sorted(p.name for p in library.import_dir().rglob("*.jpg"))
    assert copies == ["good.jpg", "truncated.jpg"]  # no "truncated (1).jpg"
    assert Photo.select().where(Photo.status == STATUS_ERROR).count() == 1


def _progress_hook(on_file: Callable[[str, JobControl], None]) -> JobControl:
    """A control that calls ``on_file(name, control)`` as the importer reaches each file (before reading it)."""
    control = JobControl("import", min_interval=0.0)
    control._on_progress = lambda p: on_file(p.message, control) if p.message else None
    return control


def _imported_names(library: Library) -> list[str]:
    """Every file in the import folder, hidden ones too, relative to it."""
    base = library.import_dir()
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())


def test_files_go_into_folders_of_the_month_taken_else_of_the_file_time(
    library: Library, tmp_path: Path, make_jpeg: Any
) -> None:
    card = tmp_path / "card"
    make_jpeg(card / "beach.jpg", taken=dt.datetime(2019, 6, 3, 14, 0))
    plain = make_jpeg(card / "scan.jpg", color=(10, 200, 10))  # no EXIF date
    when = dt.datetime(2015, 3, 10, 9, 30).timestamp()
    os.utime(plain, (when, when))

    report = library.import_paths([card])

    assert _imported_names(library) == ["2015/03/scan.jpg", "2019/06/beach.jpg"]
    assert sorted(report.imported) == [
        str(library.import_dir() / "2015/03/scan.jpg"),
        str(library.import_dir() / "2019/06/beach.jpg"),
    ]
    # the copy keeps the source's time, so a later rescan dates it the same way
    assert (library.import_dir() / "2015/03/scan.jpg").stat().st_mtime == when
    assert report.summary() == "Import: 2 imported"


def test_a_name_taken_by_other_content_keeps_both_under_new_names(
    library: Library, tmp_path: Path, make_jpeg: Any
) -> None:
    taken = dt.datetime(2021, 8, 1, 10, 0)
    first = make_jpeg(tmp_path / "card1" / "IMG_0001.jpg", taken=taken, color=(255, 0, 0))
    second = make_jpeg(tmp_path / "card2" / "IMG_0001.jpg", taken=taken, color=(0, 255, 0))
    third = make_jpeg(tmp_path / "card3" / "IMG_0001.jpg", taken=taken, color=(0, 0, 255))

    report = library.import_paths([tmp_path / "card1", tmp_path / "card2"])
    later = library.import_paths([third])

    month = library.import_dir() / "2021" / "08"
    assert sorted(p.name for p in month.iterdir()) == ["IMG_0001 (1).jpg", "IMG_0001 (2).jpg", "IMG_0001.jpg"]
    assert (month / "IMG_0001.jpg").read_bytes() == first.read_bytes()
    assert (month / "IMG_0001 (1).jpg").read_bytes() == second.read_bytes()
    assert (month / "IMG_0001 (2).jpg").read_bytes() == third.read_bytes()
    assert len(report.imported) == 2 and later.imported == [str(month / "IMG_0001 (2).jpg")]
    assert Photo.select().count() == 3


def test_duplicates_by_content_are_skipped_and_say_which_photo_they_repeat(
    library: Library, tmp_path: Path, make_jpeg: Any
) -> None:
    shelf = tmp_path / "shelf"
    kept = make_jpeg(shelf / "kept.jpg", color=(1, 2, 3))
    library.add_root(shelf)
    library.scan()
    card = tmp_path / "card"
    new = make_jpeg(card / "new.jpg", color=(90, 90, 0))
    shutil.copy(new, card / "same as new.jpg")  # twice in the same import (read after new.jpg)
    shutil.copy(kept, card / "renamed.jpg")  # already catalogued, in another folder

    report = library.import_paths([card])

    assert [Path(p).name for p in report.imported] == ["new.jpg"]
    assert sorted(report.duplicates) == [
        (str(card / "renamed.jpg"), str(kept)),
        (str(card / "same as new.jpg"), report.imported[0]),
    ]
    assert [Path(p).name for p in _imported_names(library)] == ["new.jpg"]
    assert report.summary() == "Import: 1 imported, 2 already in the library (skipped)"


def test_a_file_gone_before_it_is_read_is_reported_and_the_rest_imported(
    library: Library, tmp_path: Path, make_jpeg: Any
) -> None:
    card = tmp_path / "card"
    for i, name in enumerate(["a.jpg", "b.jpg", "c.jpg"]):
        make_jpeg(card / name, color=(40 * i, 100, 100))

    def pull(name: str, _control: JobControl) -> None:
        if name == "b.jpg":
            (card / name).unlink()

    report = library.import_paths([card], _progress_hook(pull))

    assert report.skipped == [(str(card / "b.jpg"), "could not read the file: No such file or directory")]
    assert sorted(Path(p).name for p in report.imported) == ["a.jpg", "c.jpg"]
    assert [Path(p).name for p in _imported_names(library)] == ["a.jpg", "c.jpg"]


def test_a_file_that_vanishes_after_it_was_read_is_imported_whole_and_the_rest_too(
    library: Library, tmp_path: Path, make_jpeg: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The card is pulled just after a file was read: its bytes were checked, so those are imported
    (a second read of the source for its date and its copy used to end the whole import with an error)."""
    card = tmp_path / "card"
    for i, name in enumerate(["a.jpg", "b.jpg", "c.jpg"]):
        make_jpeg(card / name, color=(40 * i, 100, 100))
    original = (card / "b.jpg").read_bytes()

    def hash_then_vanish(data: bytes) -> str:
        if data == original:
            (card / "b.jpg").unlink()
        return hash_bytes(data)

    monkeypatch.setattr(importer, "hash_bytes", hash_then_vanish)
    report = library.import_paths([card])

    assert not report.skipped and not report.errors
    assert sorted(Path(p).name for p in report.imported) == ["a.jpg", "b.jpg", "c.jpg"]
    copy = next(library.import_dir().rglob("b.jpg"))
    assert copy.read_bytes() == original
    assert not [p for p in _imported_names(library) if ".importing" in p]


def test_a_copy_that_fails_half_way_leaves_no_partial_file_and_the_rest_imported(
    library: Library, tmp_path: Path, make_jpeg: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = tmp_path / "card"
    for i, name in enumerate(["a.jpg", "b.jpg", "c.jpg"]):
        make_jpeg(card / name, color=(40 * i, 100, 100))
    real_write = importer._write_copy

    def fail_half_way(data: bytes, tmp: Path, st: os.stat_result) -> None:
        if not tmp.name.startswith(".b.jpg"):
            return real_write(data, tmp, st)
        tmp.write_bytes(data[: len(data) // 2])  # half of it reached the disk, then the device went away
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(importer, "_write_copy", fail_half_way)
    report = library.import_paths([card])

    assert report.skipped == [(str(card / "b.jpg"), "could not copy: Input/output error")]
    assert sorted(Path(p).name for p in report.imported) == ["a.jpg", "c.jpg"]
    assert [Path(p).name for p in _imported_names(library)] == ["a.jpg", "c.jpg"]
    assert Photo.select().count() == 2
    assert report.summary() == "Import: 2 imported, 1 skipped"


def test_cancel_stops_between_files_and_catalogues_what_was_copied(
    library: Library, tmp_path: Path, make_jpeg: Any
) -> None:
    card = tmp_path / "card"
    for i, name in enumerate(["a.jpg", "b.jpg", "c.jpg", "d.jpg"]):
        make_jpeg(card / name, color=(40 * i, 100, 100))

    def cancel_at_b(name: str, control: JobControl) -> None:
        if name == "b.jpg":
            control.cancel()  # b is under way: it finishes, nothing after it starts

    report = library.import_paths([card], _progress_hook(cancel_at_b))

    assert report.cancelled
    assert sorted(Path(p).name for p in report.imported) == ["a.jpg", "b.jpg"]
    assert [Path(p).name for p in _imported_names(library)] == ["a.jpg", "b.jpg"]
    assert sorted(Path(p.rel_path).name for p in Photo.select()) == ["a.jpg", "b.jpg"]
    assert report.summary() == "Import cancelled: 2 imported"


_SIDECAR = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
    'xmp:Rating="{rating}"><dc:subject><rdf:Bag><rdf:li>{tag}</rdf:li></rdf:Bag></dc:subject>'
    "</rdf:Description></rdf:RDF></x:xmpmeta>"
)


def test_sidecars_come_along_and_follow_a_renamed_photo(
    library: Library, tmp_path: Path, make_jpeg: Any
) -> None:
    # before, an import copied the photo alone: the tags another program gave it stayed on the card
    taken = dt.datetime(2021, 8, 1, 10, 0)
    make_jpeg(tmp_path / "card1" / "IMG_0001.jpg", taken=taken, color=(255, 0, 0))
    second = make_jpeg(tmp_path / "card2" / "IMG_0001.jpg", taken=taken, color=(0, 255, 0))
    (tmp_path / "card2" / "IMG_0001.jpg.xmp").write_text(_SIDECAR.format(rating=4, tag="harbour"))
    (tmp_path / "card2" / "IMG_0001.xmp").write_text(_SIDECAR.format(rating=2, tag="boats"))
    library.import_paths([tmp_path / "card1"])
    report = library.import_paths([second])

    month = library.import_dir() / "2021" / "08"
    assert sorted(p.name for p in month.iterdir()) == [
        "IMG_0001 (1).jpg",
        "IMG_0001 (1).jpg.xmp",
        "IMG_0001 (1).xmp",
        "IMG_0001.jpg",
    ]
    assert report.imported == [str(month / "IMG_0001 (1).jpg")]
    info = library.info(month / "IMG_0001 (1).jpg")
    assert sorted(info["tags"]) == ["boats", "harbour"] and info["rating"] == 4  # name.ext.xmp wins
    assert library.info(month / "IMG_0001.jpg")["tags"] == []
