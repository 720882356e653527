"""RAW+JPEG pairs and Live Photos: formed by the scan, shown once, edited together, dissolved safely."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from desktop.core.catalog import db
from desktop.core.catalog.filters import PhotoFilter
from desktop.core.ingest.pairing import PairFileRow, decide
from desktop.core.library import Library
from desktop.core.runtime.paths import resolve_paths
from tests.conftest import run_cli

TAKEN = dt.datetime(2023, 5, 1, 9, 30)


@pytest.fixture
def lib(shoebox_home: Path):
    library = Library(resolve_paths())
    yield library
    library.close()


def _raw_pair(folder: Path, make_jpeg, make_dng, stem: str = "IMG_0001") -> tuple[Path, Path]:
    jpeg = make_jpeg(folder / f"{stem}.JPG", taken=TAKEN)
    raw = make_dng(folder / f"{stem.lower()}.dng", taken=TAKEN)  # the stem matches whatever its case
    return jpeg, raw


def _ids(lib: Library, *paths: Path) -> list[int]:
    found, missing = lib.photo_ids_for_paths(paths)
    assert not missing
    return found


def _listed(lib: Library, f: PhotoFilter | None = None) -> list[str]:
    return sorted(Path(p.rel_path).name for p in lib.query(f))


def test_a_raw_and_a_jpeg_of_one_stem_are_one_item_with_the_jpeg_as_cover(
    lib: Library, tmp_path: Path, make_jpeg, make_dng
) -> None:
    jpeg, raw = _raw_pair(tmp_path / "pics", make_jpeg, make_dng)
    make_jpeg(tmp_path / "pics" / "other.jpg", color=(1, 2, 3))
    root = lib.add_root(tmp_path / "pics")
    lib.scan([root])
    assert _listed(lib) == ["IMG_0001.JPG", "other.jpg"]
    assert lib.count() == 2
    cover_id, raw_id = _ids(lib, jpeg, raw)
    record = lib.reads.record(cover_id)
    assert record is not None and record.companion == "raw+jpeg" and record.motion_path is None
    page = lib.reads.page(PhotoFilter(), 10)
    assert [r.name for r in page].count("IMG_0001.JPG") == 1 and all(r.id != raw_id for r in page)
    info = lib.photo_info(cover_id)
    assert info is not None
    assert [(c["path"], c["kind"], c["format"]) for c in info["companions"]] == [
        (str(raw), "raw+jpeg", "DNG")
    ]
    assert lib.status()["photos"] == 2
    assert sum(lib.reads.day_counts(PhotoFilter(), ["2023"]).values()) == 1
    assert lib.reads.folder_counts()[root.id][""] == 2
    assert [r.photos for r in lib.reads.roots()] == [2]
    # the setting shows the two files as two items
    lib.set_group_pairs(False)
    assert not lib.group_pairs()
    assert _listed(lib) == ["IMG_0001.JPG", "img_0001.dng", "other.jpg"]
    assert lib.count() == 3 and lib.status()["photos"] == 3
    assert lib.reads.record(cover_id).companion is None  # type: ignore[union-attr]
    lib.set_group_pairs(True)
    assert lib.count() == 2


def test_a_short_mov_of_the_stills_stem_is_its_live_photo_and_a_long_one_is_not(
    lib: Library, tmp_path: Path, make_jpeg, make_video
) -> None:
    folder = tmp_path / "phone"
    still = make_jpeg(folder / "IMG_5000.JPG", taken=TAKEN)
    clip = make_video(folder / "IMG_5000.MOV", seconds=2)
    make_jpeg(folder / "IMG_5001.JPG", taken=TAKEN, color=(5, 5, 5))
    make_video(folder / "IMG_5001.MOV", seconds=10)  # a video of its own, not a Live Photo
    lib.scan([lib.add_root(folder)])
    assert _listed(lib) == ["IMG_5000.JPG", "IMG_5001.JPG", "IMG_5001.MOV"]
    record = lib.reads.record(_ids(lib, still)[0])
    assert record is not None and record.companion == "live" and record.motion_path == str(clip)


def test_apples_content_identifier_pairs_a_live_photo_whatever_the_names(
    lib: Library, tmp_path: Path, make_jpeg, make_video
) -> None:
    folder = tmp_path / "export"
    still = make_jpeg(folder / "Beach.jpg", taken=TAKEN, content_id="6A1B-22C3")
    clip = make_video(folder / "clip-0042.mov", seconds=3, content_id="6A1B-22C3")
    # the same stem but another identifier: two different moments, never paired
    make_jpeg(folder / "IMG_7.jpg", content_id="AAAA", color=(9, 9, 9))
    make_video(folder / "IMG_7.mov", seconds=2, content_id="BBBB")
    lib.scan([lib.add_root(folder)])
    assert lib.photo_info(_ids(lib, still)[0])["companions"][0]["path"] == str(clip)  # type: ignore[index]
    assert _listed(lib) == ["Beach.jpg", "IMG_7.jpg", "IMG_7.mov"]


def test_decide_pairs_only_unambiguous_names() -> None:
    rows = [
        PairFileRow(1, "a/X.jpg", "ok", None, None),
        PairFileRow(2, "a/X.heic", "ok", None, None),
        PairFileRow(3, "a/X.cr2", "ok", None, None),  # two stills of that stem: which is the cover?
        PairFileRow(4, "a/Y.png", "ok", None, None),
        PairFileRow(5, "a/Y.nef", "ok", None, None),  # a PNG is no camera's twin of a RAW
        PairFileRow(6, "a/Z.jpg", "ok", None, None),
        PairFileRow(7, "a/Z.mov", "ok", None, None),  # a clip of unknown length
        PairFileRow(8, "a/W.jpg", "missing", None, None),
        PairFileRow(9, "a/W.arw", "ok", None, None),  # its JPEG is gone
        PairFileRow(10, "a/V.heic", "ok", None, None),
        PairFileRow(11, "a/v.MOV", "ok", 2.9, None),
    ]
    assert decide(rows) == {11: (10, "live")}


def test_files_of_one_name_from_other_moments_or_cameras_are_not_paired(
    lib: Library, tmp_path: Path, make_jpeg, make_dng, make_video
) -> None:
    folder = tmp_path / "mixed"
    # a camera's counter came round again: the same name, eleven years and one camera apart
    make_jpeg(folder / "DSC_0101.JPG", taken=dt.datetime(2013, 1, 14, 12, 0), make="SONY", model="DSC-RX100")
    make_dng(folder / "DSC_0101.DNG", taken=dt.datetime(2024, 7, 3, 9, 0), make="Canon", model="EOS R6")
    # the same moment but another camera
    make_jpeg(folder / "DSC_0202.JPG", taken=TAKEN, make="SONY", model="DSC-RX100", color=(3, 3, 3))
    make_dng(folder / "DSC_0202.DNG", taken=TAKEN, make="Canon", model="EOS R6")
    # a clip of the still's name made a day later is a video of its own
    make_jpeg(folder / "IMG_0303.JPG", taken=TAKEN, color=(7, 7, 7))
    make_video(folder / "IMG_0303.MOV", seconds=2, creation="2023-05-02T09:30:00")
    # the camera's twins: one second apart (sub-second stamps differ), one camera in different case
    make_jpeg(folder / "DSC_0404.JPG", taken=TAKEN, make="SONY", model="DSC-RX100", color=(9, 9, 9))
    make_dng(folder / "DSC_0404.DNG", taken=TAKEN + dt.timedelta(seconds=1), make="Sony", model="DSC-RX100")
    # a Live Photo's clip starts a moment before its still
    make_jpeg(folder / "IMG_0505.JPG", taken=TAKEN, color=(11, 11, 11))
    make_video(folder / "IMG_0505.MOV", seconds=2, creation="2023-05-01T09:29:58")
    lib.scan([lib.add_root(folder)])
    assert _listed(lib) == [
        "DSC_0101.DNG",
        "DSC_0101.JPG",
        "DSC_0202.DNG",
        "DSC_0202.JPG",
        "DSC_0404.JPG",
        "IMG_0303.JPG",
        "IMG_0303.MOV",
        "IMG_0505.JPG",
    ]


def test_decide_compares_only_the_cameras_own_capture_times() -> None:
    def row(pid: int, name: str, taken: str | None, source: str | None, duration: float | None = None):
        return PairFileRow(pid, name, "ok", duration, None, taken, taken, source)

    rows = [
        # a date the person set is never held against the camera's: the pair stays
        row(1, "A.jpg", "2020-01-01T10:00:00", "user"),
        row(2, "A.nef", "2013-01-14T12:00:00", "DateTimeOriginal"),
        # a file's modification time proves nothing
        row(3, "B.jpg", "2020-01-01T10:00:00", "file"),
        row(4, "B.cr2", "2013-01-14T12:00:00", "DateTimeOriginal"),
        # offsets known on both: the same instant written in two zones
        row(5, "C.heic", "2023-05-01T09:30:00+02:00", "DateTimeOriginal"),
        row(6, "C.mov", "2023-05-01T07:29:59+00:00", "QuickTime creationdate", 2.5),
        # a UTC creation time turned local by a guessed zone is not compared with a zoneless still
        row(7, "D.jpg", "2023-05-01T09:30:00", "DateTimeOriginal"),
        row(8, "D.mov", "2023-05-01T15:30:00", "creation_time", 2.5),
        # both the camera's and apart: no pair
        row(9, "E.jpg", "2023-05-01T09:30:00", "DateTimeOriginal"),
        row(10, "E.arw", "2023-05-01T09:30:03", "DateTimeOriginal"),
        row(11, "F.jpg", "2023-05-01T09:30:00", "DateTimeOriginal"),
        row(12, "F.mov", "2023-05-01T09:30:20", "QuickTime creationdate", 2.5),
    ]
    assert decide(rows) == {2: (1, "raw+jpeg"), 4: (3, "raw+jpeg"), 6: (5, "live"), 8: (7, "live")}


def test_a_date_set_on_a_pair_keeps_it_after_a_rescan(
    lib: Library, tmp_path: Path, make_jpeg, make_dng
) -> None:
    jpeg, raw = _raw_pair(tmp_path / "pics", make_jpeg, make_dng)
    root = lib.add_root(tmp_path / "pics")
    lib.scan([root])
    cover, companion = _ids(lib, jpeg, raw)
    lib.set_group_pairs(False)
    lib.shift_dates([cover], dt.timedelta(days=400))  # only the JPEG's date moves
    lib.set_group_pairs(True)
    lib.scan([root])
    assert _listed(lib) == ["IMG_0001.JPG"]
    assert lib.reads.record(cover).companion == "raw+jpeg"  # type: ignore[union-attr]


def test_edits_of_a_pair_reach_both_files_and_undo_restores_both(
    lib: Library, tmp_path: Path, make_jpeg, make_dng
) -> None:
    jpeg, raw = _raw_pair(tmp_path / "pics", make_jpeg, make_dng)
    lib.scan([lib.add_root(tmp_path / "pics")])
    cover, companion = _ids(lib, jpeg, raw)
    lib.add_tag("Trips/Rome", [cover])
    lib.set_rating([cover], 4)
    lib.set_color_label([cover], "green")
    lib.set_title([cover], "Forum")
    lib.set_description([cover], "at dawn")
    for pid in (cover, companion):
        info = lib.photo_info(pid)
        assert info is not None
        assert (info["tags"], info["rating"], info["color_label"], info["title"], info["description"]) == (
            ["Trips/Rome"],
            4,
            "green",
            "Forum",
            "at dawn",
        )
    assert lib.history(1)[0].label == "Described 1 photo"
    assert [t.count for t in lib.tags() if t.name == "Trips/Rome"] == [1]
    for _ in range(5):
        assert lib.undo() is not None
    for pid in (cover, companion):
        info = lib.photo_info(pid)
        assert info is not None
        assert (info["tags"], info["rating"], info["color_label"], info["title"]) == ([], 0, None, None)
    for _ in range(5):
        assert lib.redo() is not None
    assert lib.photo_info(companion)["rating"] == 4  # type: ignore[index]
    assert lib.photo_info(companion)["tags"] == ["Trips/Rome"]  # type: ignore[index]


def test_rejecting_a_pair_rejects_both_files_and_counts_one_item(
    lib: Library, tmp_path: Path, make_jpeg, make_dng
) -> None:
    jpeg, raw = _raw_pair(tmp_path / "pics", make_jpeg, make_dng)
    lib.scan([lib.add_root(tmp_path / "pics")])
    cover, companion = _ids(lib, jpeg, raw)
    assert lib.set_rejected([cover]) == 1
    assert [lib.photo_info(pid)["rating"] for pid in (cover, companion)] == [-1, -1]  # type: ignore[index]
    assert lib.undo() is not None
    assert [lib.photo_info(pid)["rating"] for pid in (cover, companion)] == [0, 0]  # type: ignore[index]


def test_a_pair_that_loses_a_file_dissolves_and_the_other_keeps_its_tags(
    lib: Library, tmp_path: Path, make_jpeg, make_dng
) -> None:
    folder = tmp_path / "pics"
    jpeg, raw = _raw_pair(folder, make_jpeg, make_dng)
    root = lib.add_root(folder)
    lib.scan([root])
    cover, companion = _ids(lib, jpeg, raw)
    lib.add_tag("keep", [cover])
    lib.set_rating([cover], 5)
    jpeg.unlink()
    lib.scan([root])
    assert _listed(lib) == ["img_0001.dng"]
    info = lib.photo_info(companion)
    assert info is not None and info["companion_of"] is None
    assert (info["tags"], info["rating"]) == (["keep"], 5)
    # the JPEG comes back: the pair forms again, the JPEG with its own tags
    make_jpeg(jpeg, taken=TAKEN)
    lib.scan([root])
    assert _listed(lib) == ["IMG_0001.JPG"]
    assert lib.photo_info(companion)["companion_of"] == cover  # type: ignore[index]


def test_a_renamed_file_leaves_its_pair(lib: Library, tmp_path: Path, make_jpeg, make_dng) -> None:
    folder = tmp_path / "pics"
    jpeg, raw = _raw_pair(folder, make_jpeg, make_dng)
    root = lib.add_root(folder)
    lib.scan([root])
    cover, companion = _ids(lib, jpeg, raw)
    raw.rename(folder / "renamed.dng")
    lib.scan([root])
    assert _listed(lib) == ["IMG_0001.JPG", "renamed.dng"]
    assert lib.photo_info(companion)["path"] == str(folder / "renamed.dng")  # type: ignore[index]
    assert lib.reads.record(cover).companion is None  # type: ignore[union-attr]


def test_a_pair_forming_shares_tags_and_fills_what_one_file_lacks(
    lib: Library, tmp_path: Path, make_jpeg, make_dng
) -> None:
    folder = tmp_path / "pics"
    jpeg = make_jpeg(folder / "IMG_2.jpg", taken=TAKEN)
    root = lib.add_root(folder)
    lib.scan([root])
    (cover,) = _ids(lib, jpeg)
    lib.add_tag("from-jpeg", [cover])
    raw = make_dng(folder / "IMG_2.dng", taken=TAKEN)
    lib.scan([root])
    (companion,) = _ids(lib, raw)
    assert lib.photo_info(companion)["tags"] == ["from-jpeg"]  # type: ignore[index]
    assert lib.count() == 1


def test_trash_of_a_cover_takes_its_companion_and_undo_brings_both(
    lib: Library, tmp_path: Path, make_jpeg, make_video, xdg_trash: Path
) -> None:
    folder = tmp_path / "phone"
    still = make_jpeg(folder / "IMG_1.jpg", taken=TAKEN)
    clip = make_video(folder / "IMG_1.mov", seconds=2)
    lib.scan([lib.add_root(folder)])
    (cover,) = _ids(lib, still)
    assert lib.reads.companion_count([cover]) == 1
    report = lib.trash_photos([cover])
    assert report.trashed == 1 and not still.exists() and not clip.exists()
    assert lib.history(1)[0].label == "Moved 1 photo to the trash"
    lib.undo()
    assert still.exists() and clip.exists()
    record = lib.reads.record(cover)
    assert record is not None and record.companion == "live" and lib.count() == 1


def test_search_and_similar_return_a_pair_once(lib: Library, tmp_path: Path, make_jpeg, make_dng) -> None:
    from desktop.core.semantic.search import keyword_search

    jpeg, raw = _raw_pair(tmp_path / "pics", make_jpeg, make_dng, stem="Rome_1")
    lib.scan([lib.add_root(tmp_path / "pics")])
    hits = keyword_search(lib, "rome")
    assert [Path(h.path).name for h in hits.hits] == ["Rome_1.JPG"]
    lib.add_tag("Italy", _ids(lib, jpeg))
    assert [Path(h.path).name for h in keyword_search(lib, "tag:Italy").hits] == ["Rome_1.JPG"]


def test_smart_search_rows_leave_out_companions(lib: Library, tmp_path: Path, make_jpeg, make_dng) -> None:
    """``SearchService._rows`` turns scored content hashes into hits: a RAW's hash never makes a second hit."""
    from desktop.core.semantic.search import SearchService

    jpeg, raw = _raw_pair(tmp_path / "pics", make_jpeg, make_dng)
    lib.scan([lib.add_root(tmp_path / "pics")])
    hashes = {lib.photo_info(pid)["content_hash"]: 0.5 for pid in _ids(lib, jpeg, raw)}  # type: ignore[index]
    service = SearchService.__new__(SearchService)
    hits = service._rows(hashes, PhotoFilter(), set())
    assert [Path(h.path).name for h in hits] == ["IMG_0001.JPG"]
    lib.set_group_pairs(False)
    assert len(service._rows(hashes, PhotoFilter(), set())) == 2


def test_cli_pairs_setting_and_info_lists_companions(shoebox_home: Path, tmp_path: Path, make_jpeg, make_dng):
    jpeg, raw = _raw_pair(tmp_path / "pics", make_jpeg, make_dng)
    run_cli(shoebox_home, "add", str(tmp_path / "pics"), check=True)
    info = json.loads(run_cli(shoebox_home, "info", str(jpeg), "--json", check=True).stdout)
    assert [c["path"] for c in info["companions"]] == [str(raw)]
    text = run_cli(shoebox_home, "info", str(jpeg), check=True).stdout
    assert "companions" in text and raw.name in text
    ls = json.loads(run_cli(shoebox_home, "ls", "--json", check=True).stdout)
    assert len(ls) == 1
    off = run_cli(shoebox_home, "pairs", "off", "--json", check=True)
    assert json.loads(off.stdout) == {"group_pairs": False}
    assert len(json.loads(run_cli(shoebox_home, "ls", "--json", check=True).stdout)) == 2
    assert "one item" in run_cli(shoebox_home, "pairs", "on", check=True).stderr


def test_the_v6_migration_adds_the_pair_columns_and_the_next_scan_pairs(
    shoebox_home: Path, tmp_path: Path, make_jpeg, make_dng
) -> None:
    jpeg, raw = _raw_pair(tmp_path / "pics", make_jpeg, make_dng)
    with Library(resolve_paths()) as library:
        library.add_root(tmp_path / "pics")
        library.scan()
    catalog = resolve_paths().catalog_db
    con = sqlite3.connect(catalog)
    for column in ("companion_of", "companion_kind", "content_id"):
        con.execute(f"DROP INDEX IF EXISTS photo_{column}")
        con.execute(f"ALTER TABLE photo DROP COLUMN {column}")
    con.execute("PRAGMA user_version = 4")
    con.commit()
    con.close()
    with Library(resolve_paths()) as library:
        assert library.count() == 2  # not paired yet: no scan has looked
        library.scan()
        assert library.count() == 1
    con = sqlite3.connect(catalog)
    assert con.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION
    con.close()


def test_watcher_moves_and_deletes_follow_pairs(lib: Library, tmp_path: Path, make_jpeg, make_dng) -> None:
    from desktop.core.ingest.watcher import LibraryWatcher

    folder = tmp_path / "pics"
    jpeg, raw = _raw_pair(folder, make_jpeg, make_dng)
    lib.scan([lib.add_root(folder)])
    cover, companion = _ids(lib, jpeg, raw)
    watcher = LibraryWatcher(lib)
    watcher._roots = list(lib.roots())
    moved = folder / "elsewhere.dng"
    shutil.move(raw, moved)
    watcher._moved(str(raw), str(moved), False)
    assert lib.count() == 2 and lib.photo_info(companion)["companion_of"] is None  # type: ignore[index]
    shutil.move(moved, raw)
    watcher._moved(str(moved), str(raw), False)
    assert lib.count() == 1
    jpeg.unlink()
    watcher._deleted(str(jpeg), False)
    assert _listed(lib) == ["img_0001.dng"]
    make_jpeg(jpeg, taken=TAKEN)  # it comes back: the watcher's update pairs it again
    watcher.flush_paths([str(jpeg)])
    assert _listed(lib) == ["IMG_0001.JPG"]
