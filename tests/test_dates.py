"""Batch date fixes: shift (a camera left on home time), set with or without keeping the intervals,
undo, and a rescan of a changed file keeps what the person set (dates, titles)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from desktop.core.catalog.dates import DateSyntaxError, parse_shift, parse_when
from desktop.core.library import Library, LibraryError
from tests.conftest import run_cli


@pytest.fixture
def trip(library: Library, tmp_path: Path, make_jpeg: Any) -> tuple[Library, Path, list[int]]:
    folder = tmp_path / "trip"
    for i, hour in enumerate((8, 9, 13)):
        make_jpeg(folder / f"p{i}.jpg", color=(40 * i, 90, 30), taken=dt.datetime(2024, 7, 3, hour, 5))
    library.add_root(folder)
    library.scan()
    ids = [library.photo_by_path(folder / f"p{i}.jpg").id for i in range(3)]  # type: ignore[union-attr]
    return library, folder, ids


def _local(lib: Library, pid: int) -> str:
    return str(lib.photo_info(pid)["taken_at"])[:16]  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("+6h", dt.timedelta(hours=6)),
        ("-30m", dt.timedelta(minutes=-30)),
        ("+1d2h", dt.timedelta(days=1, hours=2)),
        ("-1w", dt.timedelta(weeks=-1)),
        ("+90s", dt.timedelta(seconds=90)),
    ],
)
def test_shifts_parse(text: str, delta: dt.timedelta) -> None:
    assert parse_shift(text) == delta


@pytest.mark.parametrize("text", ["6h", "+", "+6x", "+h", "tomorrow", "+6h30"])
def test_bad_shifts_say_how_to_write_one(text: str) -> None:
    with pytest.raises(DateSyntaxError, match="write it like"):
        parse_shift(text)


def test_dates_parse_with_a_space_or_a_t() -> None:
    assert parse_when("2024-07-03 14:05") == parse_when("2024-07-03T14:05") == dt.datetime(2024, 7, 3, 14, 5)
    with pytest.raises(DateSyntaxError):
        parse_when("03/07/2024")


def test_shift_moves_every_date_and_one_undo_takes_it_back(trip: Any) -> None:
    lib, _folder, ids = trip
    assert lib.shift_dates(ids[:2], dt.timedelta(hours=6)) == 2
    assert [_local(lib, i) for i in ids] == ["2024-07-03T14:05", "2024-07-03T15:05", "2024-07-03T13:05"]
    assert "Shifted the dates of 2 photos by +6 h" in lib.history()[0].label
    lib.undo()
    assert [_local(lib, i) for i in ids] == ["2024-07-03T08:05", "2024-07-03T09:05", "2024-07-03T13:05"]


def test_set_keeping_intervals_moves_the_earliest_to_the_date_and_the_others_along(trip: Any) -> None:
    lib, _folder, ids = trip
    lib.set_dates(ids, dt.datetime(2025, 1, 1, 10, 0), keep_intervals=True)
    assert [_local(lib, i) for i in ids] == ["2025-01-01T10:00", "2025-01-01T11:00", "2025-01-01T15:00"]
    lib.set_dates(ids, dt.datetime(2020, 5, 5, 5, 5))
    assert {_local(lib, i) for i in ids} == {"2020-05-05T05:05"}


def test_a_changed_file_keeps_the_date_and_title_the_person_gave_it(trip: Any, make_jpeg: Any) -> None:
    lib, folder, ids = trip
    lib.shift_dates([ids[0]], dt.timedelta(hours=-2))
    lib.set_title([ids[0]], "Breakfast")
    # an outside editor re-saves the file: new bytes, a new mtime, the camera's date and no title
    make_jpeg(folder / "p0.jpg", size=(80, 60), color=(1, 2, 3), taken=dt.datetime(2024, 7, 3, 8, 5))
    report = lib.scan()
    assert report.updated == 1
    info = lib.photo_info(ids[0])
    assert (
        info is not None and info["taken_at"].startswith("2024-07-03T06:05") and info["title"] == "Breakfast"
    )
    assert info["width"] == 80  # the file's own facts are read again


def test_a_file_that_becomes_unreadable_keeps_its_title(trip: Any) -> None:
    lib, folder, ids = trip
    lib.set_title([ids[1]], "Harbour")
    (folder / "p1.jpg").write_bytes(b"damaged")
    lib.scan()
    info = lib.photo_info(ids[1])
    assert info is not None and info["status"] == "error" and info["title"] == "Harbour"


def test_cli_date_shift_with_a_minus_and_date_set(tmp_path: Path, make_jpeg: Any) -> None:
    home = tmp_path / "home"
    photo = make_jpeg(tmp_path / "pics" / "a.jpg", taken=dt.datetime(2024, 7, 3, 8, 5))
    run_cli(home, "add", "--no-watch", str(photo.parent), check=True)
    proc = run_cli(home, "date", "shift", "-30m", str(photo), check=True)  # "-30m" is not an option
    assert "Shifted the dates of 1 photo by -30m" in proc.stderr
    info = json.loads(run_cli(home, "info", str(photo), "--json", check=True).stdout)
    assert info["taken_at"].startswith("2024-07-03T07:35")
    run_cli(home, "date", "set", "2023-12-24 18:00", "1", check=True)
    info = json.loads(run_cli(home, "info", "1", "--json", check=True).stdout)
    assert info["taken_at"].startswith("2023-12-24T18:00")
    bad = run_cli(home, "date", "shift", "6h", str(photo))
    assert bad.returncode == 1 and "write it like +6h" in bad.stderr


def test_set_place_is_undoable_and_a_rescan_keeps_it(trip: Any, make_jpeg: Any) -> None:
    lib, folder, ids = trip
    lib.set_place(ids[:2], (48.8584, 2.2945))
    assert (lib.photo_info(ids[0])["gps_lat"], lib.photo_info(ids[0])["gps_lon"]) == (48.8584, 2.2945)  # type: ignore[index]
    assert "Set the place of 2 photos" in lib.history()[0].label
    # the file is re-saved without GPS: the place the person gave it stays
    make_jpeg(folder / "p0.jpg", size=(80, 60), color=(1, 2, 3), taken=dt.datetime(2024, 7, 3, 8, 5))
    lib.scan()
    assert lib.photo_info(ids[0])["gps_lat"] == 48.8584  # type: ignore[index]
    lib.undo()
    assert lib.photo_info(ids[1])["gps_lat"] is None  # type: ignore[index]
    with pytest.raises(LibraryError):
        lib.set_place(ids, (91.0, 0.0))


def test_cli_place_set_from_coordinates_a_negative_latitude_or_another_photo(
    tmp_path: Path, make_jpeg: Any
) -> None:
    home = tmp_path / "home"
    for name in ("a", "b"):
        make_jpeg(tmp_path / "pics" / f"{name}.jpg", color=(200 if name == "a" else 10, 40, 40))
    run_cli(home, "add", "--no-watch", str(tmp_path / "pics"), check=True)
    run_cli(home, "place", "set", "-33.8568,151.2153", "1", check=True)  # "-33…" is not an option
    run_cli(home, "place", "set", "--from", "1", "2", check=True)
    info = json.loads(run_cli(home, "info", "2", "--json", check=True).stdout)
    assert (info["gps_lat"], info["gps_lon"]) == (-33.8568, 151.2153)
    run_cli(home, "place", "clear", "2", check=True)
    assert json.loads(run_cli(home, "info", "2", "--json", check=True).stdout)["gps_lat"] is None
    bad = run_cli(home, "place", "set", "Paris", "1")
    assert bad.returncode == 1 and "latitude,longitude" in bad.stderr


def test_cli_date_says_when_nothing_changed_or_what_is_missing(tmp_path: Path, make_jpeg: Any) -> None:
    home = tmp_path / "home"
    make_jpeg(tmp_path / "pics" / "a.jpg", taken=dt.datetime(2024, 7, 3, 8, 5))
    run_cli(home, "add", "--no-watch", str(tmp_path / "pics"), check=True)
    same = run_cli(home, "date", "set", "2024-07-03 08:05", "1", check=True)
    assert "No date changed" in same.stderr and "undo" not in same.stderr  # nothing was recorded to undo
    bare = run_cli(home, "date", "shift", "+6h")
    assert bare.returncode == 1 and "Say which photos to shift" in bare.stderr
    huge = run_cli(home, "date", "shift", "+3000000d", "1")
    assert huge.returncode == 1 and "150 years" in huge.stderr and "OverflowError" not in huge.stderr
