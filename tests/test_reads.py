"""Core's typed catalog reads (``Library.reads``): what the app's grid, panels and settings read."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.core.catalog.filters import PhotoFilter
from desktop.core.catalog.reads import (
    STATUS_MISSING,
    PhotoRecord,
    RootEntry,
    RootInfo,
    SelectionSummary,
    UserData,
)
from desktop.core.catalog.schema import Photo
from desktop.core.library import Library
from desktop.core.runtime.paths import resolve_paths


@pytest.fixture
def lib(tmp_path: Path, make_jpeg: Any) -> Iterator[Library]:
    """Five photos on three days, one of them in a subfolder, and a second, empty folder."""
    folder = tmp_path / "Pictures"
    for name, taken in [
        ("beach.jpg", dt.datetime(2023, 7, 1, 10, 0)),
        ("dune.jpg", dt.datetime(2023, 7, 1, 11, 0)),
        ("snow.jpg", dt.datetime(2022, 12, 24, 9, 0)),
        ("trip/car.jpg", dt.datetime(2021, 5, 3, 15, 30)),
        ("trip/road.jpg", dt.datetime(2021, 5, 3, 16, 0)),
    ]:
        make_jpeg(folder / name, size=(96, 64), taken=taken, color=(len(name) * 20 % 256, 90, 40))
    (tmp_path / "Empty").mkdir()
    library = Library(resolve_paths(tmp_path / "home"), source="app")
    library.scan([library.add_root(folder)], workers=1)
    library.add_root(tmp_path / "Empty", watched=False)
    yield library
    library.close()


def _ids_by_name(lib: Library) -> dict[str, int]:
    return {Path(p.rel_path).name: p.id for p in lib.query()}


def test_pages_follow_library_query_by_keyset_with_undated_photos(lib: Library) -> None:
    undated = [p.id for p in lib.query()][1::2]
    lib.writer.call(lambda: Photo.update(taken_local="").where(Photo.id.in_(undated)).execute())
    for newest in (True, False):
        expected = [p.id for p in lib.query(newest_first=newest)]
        for size in (1, 2, 3):
            got: list[int] = []
            after = None
            while page := lib.reads.page(PhotoFilter(), size, newest, after):
                assert all(isinstance(r, PhotoRecord) for r in page)
                got += [r.id for r in page]
                after = (page[-1].taken_local, page[-1].id)
            assert got == expected, (newest, size)
    # the CLI's keyset paging walks the same order
    first = lib.query(limit=2)
    rest = lib.query(after_key=(first[-1].taken_local, first[-1].id))
    assert [p.id for p in first + rest] == [p.id for p in lib.query()]


def test_a_page_is_plain_records_that_cannot_change(lib: Library) -> None:
    rec = lib.reads.page(PhotoFilter(), 1)[0]
    assert rec.name == "dune.jpg" and rec.path.endswith("/Pictures/dune.jpg")
    assert rec.taken_local.startswith("2023-07-01T11:00") and rec.status == "ok" and rec.content_hash
    assert (rec.width, rec.height, rec.rotation) == (96, 64, 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.rating = 3  # type: ignore[misc]


def test_day_counts_cover_only_the_years_asked(lib: Library) -> None:
    assert lib.reads.day_counts(PhotoFilter(), ["2023", "2021"]) == {"2023-07-01": 2, "2021-05-03": 2}
    assert lib.reads.day_counts(PhotoFilter(), ["2022"]) == {"2022-12-24": 1}
    assert lib.reads.day_counts(PhotoFilter(rating_min=1), ["2023"]) == {}
    assert lib.reads.day_counts(PhotoFilter(), []) == {}


def test_records_taken_and_user_data_by_id_skip_gone_ids(lib: Library) -> None:
    ids = _ids_by_name(lib)
    wanted = [ids["snow.jpg"], ids["car.jpg"], 999_999]
    records = lib.reads.records(wanted)
    assert set(records) == {ids["snow.jpg"], ids["car.jpg"]}
    assert records[ids["car.jpg"]].path.endswith("/Pictures/trip/car.jpg")
    assert lib.reads.record(ids["snow.jpg"]) == records[ids["snow.jpg"]]
    assert lib.reads.record(999_999) is None
    assert lib.reads.taken(wanted) == {
        ids["snow.jpg"]: "2022-12-24T09:00:00.000000",
        ids["car.jpg"]: "2021-05-03T15:30:00.000000",
    }
    lib.set_rating([ids["snow.jpg"]], 4)
    lib.set_color_label([ids["snow.jpg"]], "red")
    lib.rotate([ids["car.jpg"]], 90)
    assert lib.reads.user_data(wanted) == {
        ids["snow.jpg"]: UserData(4, "red", 0),
        ids["car.jpg"]: UserData(0, None, 90),
    }
    assert lib.reads.record(ids["car.jpg"]).shown_size == (64, 96)  # type: ignore[union-attr]
    assert lib.reads.records([]) == {} and lib.reads.taken([]) == {} and lib.reads.user_data([]) == {}


def test_many_ids_are_one_parameter_not_chunks(lib: Library) -> None:
    ids = _ids_by_name(lib)
    many = [ids["beach.jpg"], *range(1_000_000, 1_040_000)]  # past SQLite's 32766 bound parameters
    assert set(lib.reads.records(many)) == {ids["beach.jpg"]}
    assert lib.reads.selection(many).ids == (ids["beach.jpg"],)


def test_selection_summarises_what_photos_share(lib: Library) -> None:
    ids = _ids_by_name(lib)
    beach, dune, snow = ids["beach.jpg"], ids["dune.jpg"], ids["snow.jpg"]
    lib.add_tag("Places/Coast", [beach, dune])
    lib.add_tag("summer", [beach])
    lib.set_rating([beach, dune], 3)
    lib.set_title([beach, dune], "Holiday")
    summary = lib.reads.selection([beach, dune, 999_999])
    assert isinstance(summary, SelectionSummary)
    assert sorted(summary.ids) == sorted([beach, dune])
    assert summary.tag_counts == (("Places/Coast", 2), ("summer", 1))
    assert summary.ratings == {3} and summary.labels == {None}
    assert summary.titles == {"Holiday"} and summary.descriptions == {None}
    assert (
        summary.first_taken == "2023-07-01T10:00:00.000000"
        and summary.last_taken == "2023-07-01T11:00:00.000000"
    )
    sizes = {Path(p.rel_path).name: p.size_bytes for p in lib.query()}
    assert summary.total_bytes == sizes["beach.jpg"] + sizes["dune.jpg"]
    mixed = lib.reads.selection([beach, snow])
    assert mixed.ratings == {3, 0} and mixed.titles == {"Holiday", None}
    assert mixed.first_taken == "2022-12-24T09:00:00.000000"
    assert lib.reads.selection([]).ids == ()


def test_folder_counts_group_photos_on_disk_by_folder(lib: Library) -> None:
    root = next(r for r in lib.roots() if r.path.endswith("Pictures"))
    assert lib.reads.folder_counts() == {root.id: {"": 3, "trip": 2}}
    gone = _ids_by_name(lib)["road.jpg"]
    lib.writer.call(lambda: Photo.update(status=STATUS_MISSING).where(Photo.id == gone).execute())
    assert lib.reads.folder_counts() == {root.id: {"": 3, "trip": 1}}


def test_roots_list_every_folder_with_its_photos_on_disk(lib: Library, tmp_path: Path) -> None:
    roots = lib.reads.roots()
    assert [type(r) for r in roots] == [RootInfo, RootInfo]
    assert [(Path(r.path).name, r.photos, r.watched) for r in roots] == [
        ("Empty", 0, False),
        ("Pictures", 5, True),
    ]
    pictures = roots[1]
    assert isinstance(pictures.last_scan_at, dt.datetime) and roots[0].last_scan_at is None
    assert not pictures.is_import_target
    gone = _ids_by_name(lib)["road.jpg"]
    lib.writer.call(lambda: Photo.update(status=STATUS_MISSING).where(Photo.id == gone).execute())
    assert lib.reads.roots()[1].photos == 4
    assert lib.reads.root_photo_count(pictures.id) == 5  # removing the folder forgets the missing one too
    assert lib.reads.root_photo_count(roots[0].id) == 0


def test_undo_state_names_the_next_undo_and_redo(lib: Library) -> None:
    assert lib.reads.undo_state().undo is None and lib.reads.undo_state().redo is None
    ids = list(_ids_by_name(lib).values())
    lib.set_rating(ids[:2], 2)
    lib.add_tag("family", ids[:1])
    state = lib.reads.undo_state()
    assert state.undo is not None and state.undo.label.startswith("Tagged") and state.redo is None
    lib.undo()
    state = lib.reads.undo_state()
    assert state.undo is not None and state.undo.label == "Rated 2 photos 2 stars"
    assert state.redo is not None and state.redo.label.startswith("Tagged")


def test_photo_info_is_the_info_record(lib: Library) -> None:
    pid = _ids_by_name(lib)["car.jpg"]
    lib.add_tag("cars", [pid])
    info = lib.photo_info(pid)
    assert info is not None and info == lib.info(Path(info["path"]))
    assert info["tags"] == ["cars"] and info["width"] == 96
    assert lib.photo_info(999_999) is None


def test_root_entries_are_plain_folders_without_counts(lib: Library, tmp_path: Path) -> None:
    entries = lib.reads.root_entries()
    assert [(e.path, e.watched) for e in entries] == [
        (str(tmp_path / "Empty"), False),
        (str(tmp_path / "Pictures"), True),
    ]
    assert all(isinstance(e, RootEntry) for e in entries)
    assert lib.reads.root_entry(entries[1].id) == entries[1]
    lib.remove_root(entries[0].id)
    assert lib.reads.root_entry(entries[0].id) is None
    assert [e.id for e in lib.reads.root_entries()] == [entries[1].id]


def test_record_by_path_finds_a_photo_through_a_symlink(lib: Library, tmp_path: Path) -> None:
    photo = tmp_path / "Pictures" / "trip" / "car.jpg"
    record = lib.record_by_path(photo)
    assert isinstance(record, PhotoRecord) and record.path == str(photo)
    link = tmp_path / "link.jpg"
    link.symlink_to(photo)
    assert lib.record_by_path(link) == record
    assert lib.record_by_path(tmp_path / "Pictures" / "nope.jpg") is None
    assert lib.record_by_path(tmp_path / "elsewhere.jpg") is None


def test_scan_folders_scans_only_the_folders_asked_and_skips_gone_ids(
    lib: Library, tmp_path: Path, make_jpeg: Any
) -> None:
    pictures, empty = (lib.reads.root_entry(e.id) for e in lib.reads.root_entries()[::-1])
    assert pictures is not None and empty is not None
    make_jpeg(tmp_path / "Pictures" / "new.jpg", size=(32, 32))
    make_jpeg(tmp_path / "Empty" / "first.jpg", size=(32, 32))
    report = lib.scan_folders([empty.id, 99999])
    assert report.added == 1
    assert lib.record_by_path(tmp_path / "Pictures" / "new.jpg") is None
    assert lib.scan_folders(None).added == 1  # every folder: the one left behind
    assert lib.record_by_path(tmp_path / "Pictures" / "new.jpg") is not None
