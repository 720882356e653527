"""Moving the picture cache moves every writer: scans, the watcher, imports, and libraries opened later."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from desktop.core.ingest import scanner
from desktop.core.ingest.watcher import LibraryWatcher
from desktop.core.library import Library
from desktop.core.runtime.paths import resolve_paths
from tests.test_watcher import wait_for

MakeJpeg = Callable[..., Path]


def _thumbs(folder: Path) -> set[str]:
    """The content hashes that have a thumbnail under ``folder``."""
    return {p.stem for p in folder.rglob("*.jpg") if not p.name.startswith(".tmp-")}


@pytest.fixture
def moved(
    shoebox_home: Path, tmp_path: Path, make_jpeg: MakeJpeg
) -> Iterator[tuple[Library, Path, Path, Path]]:
    """A scanned library whose picture cache was then moved: (library, photo folder, old cache, new cache)."""
    folder = tmp_path / "photos"
    make_jpeg(folder / "before.jpg", color=(10, 20, 30))
    lib = Library(resolve_paths())
    lib.scan([lib.add_root(folder)])
    old = lib.thumbnails.root
    assert len(_thumbs(old)) == 1
    target = tmp_path / "bigger disk"
    assert lib.move_picture_cache(target) == 1
    yield lib, folder, old, target.resolve()
    lib.close()


def _new_hashes(lib: Library, names: list[str], folder: Path) -> set[str]:
    hashes = set()
    for name in names:
        photo = lib.photo_by_path(folder / name)
        assert photo is not None and photo.content_hash
        hashes.add(photo.content_hash)
    return hashes


@pytest.mark.parametrize("in_workers", [False, True], ids=["in-process", "worker-processes"])
def test_a_scan_after_a_move_writes_thumbnails_into_the_new_folder(
    moved: tuple[Library, Path, Path, Path],
    make_jpeg: MakeJpeg,
    monkeypatch: pytest.MonkeyPatch,
    in_workers: bool,
) -> None:
    lib, folder, old, new = moved
    names = [f"after_{i}.jpg" for i in range(3)]
    for i, name in enumerate(names):
        make_jpeg(folder / name, color=(100 + i, 5, 5))
    if in_workers:  # the process-pool path, which a large scan takes
        monkeypatch.setattr(scanner, "IN_PROCESS_BELOW", 0)
    report = lib.scan(workers=2 if in_workers else 1)
    assert report.added == 3
    hashes = _new_hashes(lib, names, folder)
    assert hashes <= _thumbs(new / "thumbnails")
    assert not old.exists() and _thumbs(old) == set()
    assert all(lib.thumbnails.has(h) for h in hashes)


def test_the_watcher_started_before_a_move_follows_it(
    shoebox_home: Path, tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    folder = tmp_path / "watched"
    make_jpeg(folder / "first.jpg")
    lib = Library(resolve_paths())
    lib.scan([lib.add_root(folder, watched=True)])
    old = lib.thumbnails.root
    watcher = LibraryWatcher(lib, stable_seconds=0.2)
    watcher.start()  # as the app does: the watcher (and its scanner) exist before Settings → Move…
    try:
        lib.move_picture_cache(tmp_path / "moved")
        make_jpeg(folder / "dropped.jpg", color=(0, 200, 0))
        wait_for(lambda: lib.photo_by_path(folder / "dropped.jpg") is not None)
    finally:
        watcher.stop()
    (h,) = _new_hashes(lib, ["dropped.jpg"], folder)
    assert h in _thumbs(tmp_path / "moved" / "thumbnails")
    assert not old.exists()
    lib.close()


def test_an_import_after_a_move_writes_into_the_new_folder(
    moved: tuple[Library, Path, Path, Path], tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    lib, _folder, old, new = moved
    outside = make_jpeg(tmp_path / "card" / "imported.jpg", color=(1, 99, 1))
    report = lib.import_paths([outside])
    assert len(report.imported) == 1
    photo = lib.photo_by_path(Path(report.imported[0]))
    assert photo is not None and photo.content_hash in _thumbs(new / "thumbnails")
    assert not old.exists()


def test_a_library_opened_after_the_move_reads_and_writes_the_new_folder(
    moved: tuple[Library, Path, Path, Path], make_jpeg: MakeJpeg
) -> None:
    lib, folder, old, new = moved
    lib.close()
    again = Library(resolve_paths())  # say, `main.py scan` after the app moved the cache
    try:
        assert again.thumbnails.root == new / "thumbnails" and again.previews.root == new / "previews"
        # opening the library does not bring the old cache folders back
        assert not old.exists() and not (old.parent / "previews").exists()
        make_jpeg(folder / "later.jpg", color=(7, 7, 200))
        again.scan()
        (h,) = _new_hashes(again, ["later.jpg"], folder)
        assert h in _thumbs(new / "thumbnails") and not old.exists()
    finally:
        again.close()
