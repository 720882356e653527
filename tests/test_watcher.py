"""The watcher: new, changed, renamed, moved and deleted files reach the catalog."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from desktop.core.catalog.schema import Photo
from desktop.core.ingest.watcher import LibraryWatcher
from desktop.core.library import Library
from desktop.core.runtime.paths import resolve_paths


def wait_for(cond: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture
def watched(shoebox_home: Path, tmp_path: Path, make_jpeg) -> Iterator[tuple[Library, LibraryWatcher, Path]]:
    folder = tmp_path / "watched"
    make_jpeg(folder / "first.jpg")
    lib = Library(resolve_paths())
    lib.scan([lib.add_root(folder)])
    watcher = LibraryWatcher(lib, stable_seconds=0.2)
    watcher.start()
    yield lib, watcher, folder
    watcher.stop()
    lib.close()


def test_new_files_are_catalogued_without_a_rescan(watched, make_jpeg, tmp_path: Path) -> None:
    lib, _, folder = watched
    staging = tmp_path / "staging"
    files = [make_jpeg(staging / f"new_{i:03d}.jpg", size=(32, 24), color=(i, 50, 90)) for i in range(120)]
    (folder / "drop").mkdir()
    for f in files:
        shutil.copy2(f, folder / "drop" / f.name)
    wait_for(lambda: lib.count() == 121)
    assert lib.errors() == []


def test_rename_move_and_delete_follow_the_file(watched) -> None:
    lib, _, folder = watched
    pid = lib.photo_by_path(folder / "first.jpg").id
    lib.add_tag("keep", [pid])
    (folder / "first.jpg").rename(folder / "renamed.jpg")
    wait_for(lambda: lib.photo_by_path(folder / "renamed.jpg") is not None)
    assert lib.photo_by_path(folder / "renamed.jpg").id == pid
    (folder / "sub").mkdir()
    shutil.move(folder / "renamed.jpg", folder / "sub" / "moved.jpg")
    wait_for(lambda: lib.photo_by_path(folder / "sub" / "moved.jpg") is not None)
    assert lib.info(folder / "sub" / "moved.jpg")["tags"] == ["keep"]
    (folder / "sub").rename(folder / "sub2")
    wait_for(lambda: lib.photo_by_path(folder / "sub2" / "moved.jpg") is not None)
    assert lib.photo_by_path(folder / "sub2" / "moved.jpg").id == pid
    (folder / "sub2" / "moved.jpg").unlink()
    wait_for(lambda: Photo.get_by_id(pid).status == "missing")
    assert lib.info(folder / "sub2" / "moved.jpg")["tags"] == ["keep"]


def test_a_file_still_being_written_is_read_once_complete(watched, make_jpeg, tmp_path: Path) -> None:
    lib, _, folder = watched
    src = make_jpeg(tmp_path / "big.jpg", size=(640, 480))
    data = src.read_bytes()
    target = folder / "copying.jpg"
    with open(target, "wb") as fh:
        for i in range(0, len(data), 4096):
            fh.write(data[i : i + 4096])
            fh.flush()
            time.sleep(0.01)
    wait_for(lambda: lib.photo_by_path(target) is not None)
    assert lib.errors() == []
    assert lib.info(target)["width"] == 640


def test_a_sidecar_another_program_edits_is_read_while_watching(watched) -> None:
    # before, .xmp events were ignored: darktable's or digiKam's new tags waited for the next rescan
    lib, _, folder = watched
    photo = folder / "first.jpg"
    (folder / "first.jpg.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmp:Rating="3"><dc:subject><rdf:Bag><rdf:li>from darktable</rdf:li></rdf:Bag></dc:subject>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    wait_for(lambda: lib.info(photo)["tags"] == ["from darktable"])
    assert lib.info(photo)["rating"] == 3
