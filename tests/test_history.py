"""The undo history: every user edit undoes and redoes exactly, across a restart and between processes."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from desktop.core.catalog import history
from desktop.core.catalog.schema import Album, Photo
from desktop.core.library import Library
from desktop.core.runtime.paths import resolve_paths
from tests.conftest import MakeJpeg, run_cli


@pytest.fixture
def lib(library: Library, tmp_path: Path, make_jpeg: MakeJpeg) -> Library:
    folder = tmp_path / "photos"
    for i in range(6):
        make_jpeg(folder / f"p{i}.jpg", color=(i * 40, 90, 30))
    library.add_root(folder)
    library.scan()
    return library


def ids(lib: Library) -> list[int]:
    return sorted(p.id for p in Photo.select(Photo.id))


def snapshot(lib: Library) -> dict[str, Any]:
    """Everything a person owns in the catalog."""
    photos = {
        p.id: (p.rel_path, p.rating, p.color_label, p.title, p.description, p.rotation, p.status)
        for p in Photo.select()
    }
    return {
        "photos": photos,
        "tags": {t.name: t.count for t in lib.tags()},
        "tagged": {pid: sorted(lib_tags(pid)) for pid in photos},
        "albums": {
            a.name: sorted((e.photo_id, e.position) for e in a.entries)
            for a in Album.select().order_by(Album.name)
        },
        "roots": [r.path for r in lib.roots()],
    }


def lib_tags(pid: int) -> list[str]:
    from desktop.core.library import photo_tags

    return photo_tags(pid)


def check_undo_redo(lib: Library, change: Any) -> None:
    before = snapshot(lib)
    change()
    after = snapshot(lib)
    assert after != before, "the change changed nothing"
    assert lib.undo() is not None
    assert snapshot(lib) == before
    assert lib.redo() is not None
    assert snapshot(lib) == after
    assert lib.undo() is not None
    assert snapshot(lib) == before


def test_every_edit_undoes_and_redoes_exactly(lib: Library) -> None:
    a, b, c, *_ = ids(lib)
    lib.set_rating([a], 5)
    lib.add_tag("Places/Paris", [a, b])
    lib.add_to_album("Trip", [b, c])
    lib.set_color_label([a], "green")
    edits = [
        lambda: lib.set_rating(ids(lib), 2),
        lambda: lib.set_color_label([a, c], "red"),
        lambda: lib.set_color_label([a], None),
        lambda: lib.add_tag("Places/Paris", [b, c]),
        lambda: lib.add_tag("People/Ann/Smile", [a]),
        lambda: lib.remove_tag("Places/Paris", [a]),
        lambda: lib.delete_tag("Places"),
        lambda: lib.add_to_album("Trip", [a]),
        lambda: lib.add_to_album("New", [a, b]),
        lambda: lib.remove_from_album("Trip", [b]),
        lambda: lib.delete_album("Trip"),
        lambda: lib.set_title([a, b], "Eiffel tower"),
        lambda: lib.set_description([c], "At night"),
        lambda: lib.rotate([a, b], 90),
        lambda: lib.rotate([a], 270),
        lambda: lib.remove_photos([a, b]),
        lambda: lib.remove_root(lib.roots()[0].id),
    ]
    for change in edits:
        check_undo_redo(lib, change)


def test_removed_photos_come_back_with_their_ids_tags_and_albums(lib: Library) -> None:
    a, b, *_ = ids(lib)
    lib.add_tag("family", [a])
    lib.add_to_album("Best", [a, b])
    lib.set_rating([a], 4)
    before = snapshot(lib)
    assert lib.remove_photos([a, b]) == 2
    assert lib.photo(a) is None
    lib.undo()
    assert snapshot(lib) == before


def test_one_action_per_gesture_and_its_label(lib: Library) -> None:
    lib.set_rating(ids(lib), 2)
    actions = lib.history()
    assert len(actions) == 1
    assert actions[0].label == "Rated 6 photos 2 stars"
    assert actions[0].photos == 6


def test_history_survives_a_restart_and_keeps_the_newest_50(lib: Library, tmp_path: Path) -> None:
    a = ids(lib)[0]
    for i in range(history.KEEP + 5):
        lib.set_rating([a], i % 5 + 1)
    lib.set_title([a], "kept")
    paths = lib.paths
    lib.close()
    again = Library(paths)
    try:
        assert len(again.history(100)) == history.KEEP
        result = again.undo()
        assert result is not None and result.action.label == "Titled 1 photo"
        assert again.photo(a).title is None
        assert again.redo() is not None
        assert again.photo(a).title == "kept"
    finally:
        again.close()


def test_a_new_action_drops_the_redo_tail(lib: Library) -> None:
    a = ids(lib)[0]
    lib.set_rating([a], 1)
    lib.set_rating([a], 2)
    lib.undo()
    lib.set_rating([a], 3)
    assert lib.redo() is None
    assert [x.label for x in lib.history()] == ["Rated 1 photo 3 stars", "Rated 1 photo 1 star"]


def test_nothing_to_undo(library: Library) -> None:
    assert library.undo() is None
    assert library.redo() is None


def test_an_edit_that_changes_nothing_is_not_an_action(lib: Library) -> None:
    a = ids(lib)[0]
    lib.set_rating([a], 0)  # already 0
    lib.remove_tag("nothing", [a])
    assert lib.history() == []


def test_trash_moves_the_file_and_undo_puts_it_back(lib: Library, xdg_trash: Path) -> None:
    a, b, *_ = ids(lib)
    lib.add_tag("keep", [a])
    path = Path(lib.photo(a).root.path) / lib.photo(a).rel_path
    before = snapshot(lib)
    report = lib.trash_photos([a])
    assert report.trashed == 1 and not report.failed
    assert not path.exists()
    assert len(list((xdg_trash / "files").iterdir())) == 1
    assert lib.photo(a) is None
    result = lib.undo()
    assert result is not None and result.notes == []
    assert path.exists()
    assert snapshot(lib) == before
    assert list((xdg_trash / "files").iterdir()) == []
    lib.redo()
    assert not path.exists() and lib.photo(a) is None


def test_undo_of_trash_when_the_file_cannot_come_back(lib: Library, xdg_trash: Path) -> None:
    a = ids(lib)[0]
    lib.add_tag("keep", [a])
    lib.trash_photos([a])
    for f in (xdg_trash / "files").iterdir():
        f.unlink()  # the person emptied the trash
    result = lib.undo()
    assert result is not None
    assert "no longer in the trash" in result.notes[0]
    back = lib.photo(a)
    assert back is not None and back.status == "missing"
    assert lib_tags(a) == ["keep"]  # the tags wait for the file


def test_trash_failure_keeps_the_photo(lib: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop.core.ingest import trash

    def refuse(path: Path) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(trash, "move_to_trash", refuse)
    a = ids(lib)[0]
    report = lib.trash_photos([a])
    assert report.trashed == 0
    assert "permission denied" in report.failed[0][1]
    assert lib.photo(a) is not None
    assert lib.history() == []


def test_undo_when_a_rescan_already_brought_the_photo_back(lib: Library) -> None:
    a = ids(lib)[0]
    lib.add_tag("family", [a])
    lib.set_rating([a], 5)
    lib.remove_photos([a])
    lib.scan()  # the file is still there: the scan catalogues it again, under a new id
    lib.undo()
    rows = list(Photo.select())
    assert len(rows) == 6  # no duplicate row
    back = [p for p in rows if p.rating == 5]
    assert len(back) == 1 and lib_tags(back[0].id) == ["family"]


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(home, *args)


def test_cli_undoes_what_the_app_did_and_says_so(tmp_path: Path, make_jpeg: MakeJpeg) -> None:
    folder = tmp_path / "photos"
    make_jpeg(folder / "a.jpg")
    make_jpeg(folder / "b.jpg", color=(0, 0, 200))
    home = tmp_path / "home"
    assert _cli(home, "-q", "add", str(folder)).returncode == 0
    app = Library(resolve_paths(home), source="app")
    try:
        app.set_rating(ids(app), 4)
    finally:
        app.close()
    out = _cli(home, "history", "--json")
    assert '"source": "app"' in out.stdout
    done = _cli(home, "undo")
    assert done.returncode == 0
    assert "Undid: Rated 2 photos 4 stars" in done.stderr
    assert '"rating": 4' not in _cli(home, "ls", "--json").stdout
    assert "Redid: Rated 2 photos 4 stars" in _cli(home, "redo").stderr
    assert "Nothing to redo." in _cli(home, "redo").stderr


def test_migration_from_v1_keeps_user_data(tmp_path: Path) -> None:
    """A v1 catalog (before rotation and history) opens, is backed up, and keeps its tags."""
    import sqlite3

    home = tmp_path / "home"
    lib = Library(resolve_paths(home))
    root = lib.add_root(tmp_path)
    pid = lib.writer.call(lambda: Photo.create(root=root.id, rel_path="x.jpg", taken_local="2020").id)
    lib.add_tag("family", [pid])
    lib.close()
    db = sqlite3.connect(home / "catalog.sqlite3")
    db.execute("DROP TABLE history_entry")
    db.execute("ALTER TABLE photo DROP COLUMN rotation")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    again = Library(resolve_paths(home))
    try:
        assert lib_tags(pid) == ["family"]
        assert again.photo(pid).rotation == 0
        again.rotate([pid], 90)
        assert again.undo() is not None
        assert any(p.name.startswith("catalog-v1-") for p in (home / "backups").iterdir())
    finally:
        again.close()


def test_undo_of_trash_never_takes_over_a_file_that_took_the_name(
    lib: Library, xdg_trash: Path, make_jpeg: MakeJpeg
) -> None:
    a = ids(lib)[0]
    lib.add_tag("keep", [a])
    photo = lib.photo(a)
    path = Path(photo.root.path) / photo.rel_path
    original = path.read_bytes()
    lib.trash_photos([a])
    make_jpeg(path, color=(1, 2, 3))  # another picture now has the name
    newcomer = path.read_bytes()
    result = lib.undo()
    assert result is not None
    back = path.with_name(f"{path.stem} (restored){path.suffix}")
    assert result.notes == [f"{path.name} came back as {back.name}: another file has its name now"]
    assert path.read_bytes() == newcomer and back.read_bytes() == original
    row = lib.photo(a)
    assert row is not None and row.rel_path == back.name and lib_tags(a) == ["keep"]
    lib.redo()  # trashes the photo's own file, not the newcomer
    assert path.read_bytes() == newcomer and not back.exists()
    lib.undo()
    assert back.read_bytes() == original


def test_a_photo_record_lists_its_albums(lib: Library) -> None:
    from desktop.core.library import photo_to_dict

    a = ids(lib)[0]
    lib.add_to_album("Trip", [a])
    lib.add_to_album("Best", [a])
    assert photo_to_dict(lib.photo(a))["albums"] == ["Best", "Trip"]


# Ids are not for ever: SQLite gives a deleted highest id to the next new row. Steps recorded
# before such a reuse must still act on their own photos and folders (found by path).
def _newest(lib: Library) -> int:
    return max(ids(lib))


def test_undo_and_redo_after_a_new_photo_took_a_trashed_photos_id(
    lib: Library, xdg_trash: Path, make_jpeg: MakeJpeg
) -> None:
    a = _newest(lib)
    lib.add_tag("keep", [a])
    lib.set_rating([a], 5)
    lib.trash_photos([a])
    folder = Path(lib.roots()[0].path)
    make_jpeg(folder / "newcomer.jpg", color=(0, 0, 9))
    lib.scan()
    y = lib.photo_by_path(folder / "newcomer.jpg").id
    assert y == a  # the id was given again
    lib.add_tag("family", [y])
    before = snapshot(lib)
    for _ in range(4):
        lib.undo()
    for _ in range(4):
        lib.redo()
    assert snapshot(lib) == before  # the newcomer kept its row, tag and rating throughout
    lib.undo()  # the newcomer's tag
    lib.undo()  # the trash: the photo comes back beside the newcomer, with what it had
    back = [p for p in Photo.select() if p.rating == 5]
    assert len(back) == 1 and lib_tags(back[0].id) == ["keep"] and back[0].id != y
    assert lib_tags(y) == [] and lib.photo(y).rel_path == "newcomer.jpg"


def test_undo_of_a_folder_removal_when_another_folder_took_its_id(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    for name in ("A", "C"):
        make_jpeg(tmp_path / name / "IMG_0001.jpg", color=(9, 9, 9) if name == "A" else (200, 0, 0))
    root_a = library.add_root(tmp_path / "A")
    library.scan()
    library.add_tag("Trip/Rome", ids(library))
    library.remove_root(root_a.id)
    root_c = library.add_root(tmp_path / "C")
    library.scan()
    assert root_c.id == root_a.id
    c_photo = library.photo_by_path(tmp_path / "C" / "IMG_0001.jpg").id
    library.undo()
    a_photo = library.photo_by_path(tmp_path / "A" / "IMG_0001.jpg")
    assert a_photo is not None and lib_tags(a_photo.id) == ["Trip/Rome"]
    assert lib_tags(c_photo) == []
    library.redo()
    assert library.photo(c_photo) is not None  # C's photo is not the one removed again
    assert library.photo_by_path(tmp_path / "A" / "IMG_0001.jpg") is None


def test_undo_of_a_trash_whose_folder_was_merged_into_its_parent(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg, xdg_trash: Path
) -> None:
    make_jpeg(tmp_path / "P" / "p1.jpg")
    make_jpeg(tmp_path / "P" / "sub" / "s1.jpg", color=(0, 90, 0))
    library.add_root(tmp_path / "P" / "sub")
    library.scan()
    s1 = ids(library)[0]
    library.add_tag("Kids", [s1])
    library.trash_photos([s1])
    library.add_root(tmp_path / "P")  # absorbs P/sub
    library.scan()
    result = library.undo()
    assert result is not None and result.notes == []
    back = library.photo_by_path(tmp_path / "P" / "sub" / "s1.jpg")
    assert back is not None and back.status == "ok" and lib_tags(back.id) == ["Kids"]
    assert [r.path for r in library.roots()] == [str(tmp_path / "P")]  # no nested folder again


def test_an_undo_that_breaks_half_way_changes_nothing_and_can_be_run_again(
    lib: Library, xdg_trash: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catalog side of an undo is one transaction; files it already put back count as back."""
    a, b, *_ = ids(lib)
    lib.add_tag("keep", [a, b])
    lib.add_to_album("Trip", [a])
    before = snapshot(lib)
    paths = [Path(lib.photo(i).root.path) / lib.photo(i).rel_path for i in (a, b)]
    lib.trash_photos([a, b])
    trashed = snapshot(lib)
    real_apply = history.apply_step

    def breaks_after_the_photos_return(step: history.Step, remap: history.Remap) -> None:
        real_apply(step, remap)
        if step["op"] == "untrash":
            raise OSError(5, "Input/output error")  # a disk fault, a kill: anything half-way

    monkeypatch.setattr(history, "apply_step", breaks_after_the_photos_return)
    with pytest.raises(OSError):
        lib.undo()
    assert snapshot(lib) == trashed  # no half-restored rows, tags or albums
    assert all(p.exists() for p in paths)  # the files did come back: they stay back
    assert lib.history()[0].undone is False
    monkeypatch.setattr(history, "apply_step", real_apply)
    result = lib.undo()  # the files are where they belong: the undo completes
    assert result is not None and result.notes == []
    assert snapshot(lib) == before
