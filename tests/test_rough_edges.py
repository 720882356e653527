"""The small rough edges a new user hit (issue 9, item 9), each through the code a person runs:
tag counts and leaf names, ``info`` as a person reads it, counted nouns, accent-insensitive matching,
query hints, quiet commands, unreadable folders, ``info`` on a folder, offline model downloads."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.cli.main import run
from desktop.core.catalog.query import QueryError, parse_query
from desktop.core.catalog.schema import Photo
from desktop.core.ingest import scanner as scanner_module
from desktop.core.library import Library
from desktop.core.runtime.paths import resolve_paths
from desktop.core.semantic import clip_models as cm
from desktop.core.semantic.search import SearchService, keyword_search

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def pics(tmp_path: Path, make_jpeg: Any) -> Path:
    folder = tmp_path / "pics"
    make_jpeg(folder / "paris1.jpg", taken=dt.datetime(2019, 6, 3, 9))
    make_jpeg(folder / "paris2.jpg", taken=dt.datetime(2019, 6, 4, 9), color=(10, 200, 10))
    make_jpeg(folder / "trip" / "tokyo.jpg", taken=dt.datetime(2021, 3, 1, 18), color=(5, 50, 90))
    make_jpeg(folder / "trip" / "Zürich.jpg", taken=dt.datetime(2022, 1, 1, 12), color=(90, 50, 5))
    return folder


@pytest.fixture
def home(shoebox_home: Path) -> Path:
    return shoebox_home


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """One command in this process (as ``python main.py ARGS``): exit code, stdout, stderr."""
    capsys.readouterr()
    rc = run(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def added(home: Path, pics: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """``pics`` added and scanned through the CLI."""
    rc, _out, err = cli(capsys, "add", str(pics), "--no-watch")
    assert rc == 0, err
    return pics


@pytest.fixture
def lib(home: Path, pics: Path) -> Iterator[Library]:
    library = Library(resolve_paths(home))
    library.scan([library.add_root(pics)], workers=1)
    yield library
    library.close()


def _ids(lib: Library, *names: str) -> list[int]:
    return [p.id for p in lib.query() if Path(p.rel_path).name in names]


# ------------------------------------------------------------------- tags: counts and leaf names
def test_a_parent_tag_counts_the_photos_of_its_descendants_once(
    added: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p1, p2, tokyo = added / "paris1.jpg", added / "paris2.jpg", added / "trip" / "tokyo.jpg"
    assert cli(capsys, "tag", "add", "Places/Paris", str(p1), str(p2))[0] == 0
    assert cli(capsys, "tag", "add", "Places/Tokyo", str(tokyo))[0] == 0
    assert cli(capsys, "tag", "add", "Places", str(p1))[0] == 0  # on the parent too: counted once
    rc, out, _ = cli(capsys, "tag", "list", "--json")
    counts = {t["name"]: t["count"] for t in json.loads(out)}
    rc, listed, _ = cli(capsys, "ls", "--tag", "Places", "--json")
    assert counts == {"Places": 3, "Places/Paris": 2, "Places/Tokyo": 1}
    assert len(json.loads(listed)) == counts["Places"]
    rc, out, _ = cli(capsys, "tag", "list")
    assert "Places  (3)" in out


def test_a_leaf_name_finds_its_tag_and_an_ambiguous_or_unknown_one_says_so(
    added: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, "tag", "add", "Places/Paris", str(added / "paris1.jpg"))
    rc, out, _ = cli(capsys, "ls", "--tag", "paris", "--json")
    assert rc == 0 and [Path(p["path"]).name for p in json.loads(out)] == ["paris1.jpg"]

    rc, out, err = cli(capsys, "ls", "--tag", "Nowhere")
    assert rc == 1 and out == "" and "No tag named 'Nowhere'" in err

    cli(capsys, "tag", "add", "Trips/Paris", str(added / "paris2.jpg"))
    rc, out, err = cli(capsys, "ls", "--tag", "Paris")
    assert rc == 1 and out == ""
    assert "Places/Paris" in err and "Trips/Paris" in err and err.count("\n") == 1
    rc, out, _ = cli(capsys, "ls", "--tag", "Trips/Paris", "--json")  # the full name still works
    assert [Path(p["path"]).name for p in json.loads(out)] == ["paris2.jpg"]


def test_tag_filters_in_search_queries_use_leaf_names_too(lib: Library) -> None:
    from desktop.core.catalog.filters import FilterError, resolve_tag

    lib.add_tag("Places/Zürich", _ids(lib, "Zürich.jpg"))
    lib.add_tag("People/Anna", _ids(lib, "tokyo.jpg"))
    assert resolve_tag("zurich") == "Places/Zürich"
    hits = keyword_search(lib, "tag:zurich")
    assert [Path(h.path).name for h in hits.hits] == ["Zürich.jpg"]
    with pytest.raises(FilterError, match="No tag named 'Berlin'"):
        keyword_search(lib, "tag:Berlin")
    lib.add_tag("Trips/Anna", _ids(lib, "paris1.jpg"))
    with pytest.raises(FilterError, match="People/Anna, Trips/Anna"):
        keyword_search(lib, "tag:anna")


# ------------------------------------------------------------------- info as a person reads it
def test_info_formats_exposure_sizes_and_times_and_json_keeps_the_numbers(
    added: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = Library(resolve_paths(home))
    try:
        lib.writer.call(
            lambda: Photo.update(exposure_time=0.002, f_number=2.8, focal_length=50.0, gps_alt=35.2).execute()
        )
    finally:
        lib.close()
    photo = added / "paris1.jpg"
    rc, out, _ = cli(capsys, "info", str(photo))
    fields = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in out.splitlines() if line.strip())
    assert fields["exposure_time"] == "1/500 s"
    assert fields["f_number"] == "f/2.8" and fields["focal_length"] == "50 mm" and fields["gps_alt"] == "35 m"
    mtime = dt.datetime.fromtimestamp(photo.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")
    assert fields["mtime"] == mtime
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", fields["added_at"])
    assert re.fullmatch(r"[\d.]+ (bytes|KB)", fields["size_bytes"])
    rc, out, _ = cli(capsys, "info", str(photo), "--json")
    rec = json.loads(out)
    assert rec["exposure_time"] == 0.002 and rec["f_number"] == 2.8 and rec["focal_length"] == 50.0
    assert rec["mtime"] == photo.stat().st_mtime and rec["size_bytes"] == photo.stat().st_size


def test_slow_shutter_speeds_read_in_seconds() -> None:
    from desktop.core.runtime.wording import format_exposure_time

    assert format_exposure_time(1 / 500) == "1/500 s"
    assert format_exposure_time(0.8) == "0.8 s"
    assert format_exposure_time(2.0) == "2 s"


def test_info_on_a_library_folder_says_what_to_do(added: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _out, err = cli(capsys, "info", str(added / "trip"))
    assert rc == 1
    assert f"{added / 'trip'} is a folder in the library (2 photos)" in err
    assert f"ls --folder {added / 'trip'}" in err and "not in the library" not in err
    rc, _out, err = cli(capsys, "info", str(added))
    assert rc == 1 and "(4 photos)" in err


# ------------------------------------------------------------------- counted nouns
def test_counts_are_singular_or_plural(tmp_path: Path, home: Path, make_jpeg: Any, capsys: Any) -> None:
    from desktop.core.runtime.wording import counted

    assert counted(1, "photo") == "1 photo" and counted(0, "photo") == "0 photos"
    assert counted(1200, "photo") == "1,200 photos" and counted(2, "match", "matches") == "2 matches"
    one = make_jpeg(tmp_path / "one" / "a.jpg")
    cli(capsys, "add", str(one.parent), "--no-watch")
    rc, out, _ = cli(capsys, "status")
    assert "(1 photo, not watched)" in out
    rc, _out, err = cli(capsys, "tag", "add", "x", str(one))
    assert "Tagged 1 photo with x." in err


# ------------------------------------------------------------------- accents
def test_keyword_matching_ignores_accents_both_ways(lib: Library) -> None:
    from desktop.core.catalog.filters import fold

    assert fold("Zürich") == "zurich" and fold("ZÜRICH") == fold("zurich")
    assert [Path(h.path).name for h in keyword_search(lib, "Zurich").hits] == ["Zürich.jpg"]
    lib.add_tag("Café", _ids(lib, "tokyo.jpg"))
    assert [Path(h.path).name for h in keyword_search(lib, "cafe").hits] == ["tokyo.jpg"]
    lib.writer.call(
        lambda: (
            Photo.update(title="Lake zurich at dawn").where(Photo.id.in_(_ids(lib, "paris2.jpg"))).execute()
        )
    )
    found = sorted(Path(h.path).name for h in keyword_search(lib, "zürich").hits)
    assert found == ["Zürich.jpg", "paris2.jpg"]
    assert [Path(h.path).name for h in keyword_search(lib, "name:zurich").hits] == ["Zürich.jpg"]


def test_smart_search_keyword_boost_ignores_accents(lib: Library) -> None:
    """The keyword half of a smart search (no model needed for this part)."""
    lib.add_tag("Café", _ids(lib, "tokyo.jpg"))
    service = SearchService(lib, allow_download=False)
    try:
        by_hash = {p.content_hash: p.rel_path for p in lib.query()}
        found = service._keyword_hashes(parse_query("zurich cafe"), [])
        assert sorted(Path(by_hash[h]).name for h in found) == ["Zürich.jpg", "tokyo.jpg"]
    finally:
        service.close()


# ------------------------------------------------------------------- query hints
def test_a_bad_date_gives_its_hint_once() -> None:
    with pytest.raises(QueryError) as info:
        parse_query("beach after:banana")
    assert str(info.value).count("YYYY-MM-DD") == 1 and "after:banana" in str(info.value)
    with pytest.raises(QueryError) as info:
        parse_query("before:2019-13")
    assert str(info.value).count("YYYY-MM-DD") == 1


def test_a_misspelt_filter_is_named_not_searched() -> None:
    with pytest.raises(QueryError, match="Unknown filter 'tga:' — did you mean 'tag:'\\?"):
        parse_query("tga:family beach")
    with pytest.raises(QueryError, match="did you mean 'camera:'"):
        parse_query("camra:canon")
    # quoted, it is text; words that merely have a colon stay text
    assert parse_query('"tga:family"').terms == ["tga", "family"]
    for text in ("meet at 10:30", "see https://example.com", "label:red", "note: pack"):
        assert parse_query(text).text == text


def test_the_cli_search_reports_a_misspelt_filter(added: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(capsys, "search", "tga:family")
    assert rc == 1 and out == "" and "did you mean 'tag:'" in err


# ------------------------------------------------------------------- commands that said nothing
def test_an_empty_ls_says_so(added: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(capsys, "ls", "--after", "2030")
    assert (rc, out, err) == (0, "", "No photos match.\n")
    rc, out, err = cli(capsys, "ls", "--after", "2030", "--json")
    assert rc == 0 and json.loads(out) == [] and err == ""


def test_rate_label_album_and_tag_delete_say_what_they_did(
    added: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = str(added / "paris1.jpg"), str(added / "paris2.jpg")
    assert cli(capsys, "rate", "4", a, b) == (0, "", "Rated 2 photos 4 stars.\n")
    assert cli(capsys, "rate", "1", a)[2] == "Rated 1 photo 1 star.\n"
    assert cli(capsys, "rate", "0", a)[2] == "Cleared the rating of 1 photo.\n"
    rc, out, err = cli(capsys, "rate", "5", a, "--json")
    assert json.loads(out) == {"photos": 1, "rating": 5}
    assert cli(capsys, "label", "red", a)[2] == "Labelled 1 photo red.\n"
    assert cli(capsys, "label", "none", a, b)[2] == "Removed the colour label from 2 photos.\n"
    assert cli(capsys, "album", "add", "Trip", a)[2] == "Added 1 photo to the album Trip.\n"
    assert (
        cli(capsys, "album", "add", "Trip", a, b)[2]
        == "Added 1 photo to the album Trip (1 was in it already).\n"
    )
    rc, out, err = cli(capsys, "album", "remove", "Trip", a, "--json")
    assert err == "Removed 1 photo from the album Trip.\n"
    assert json.loads(out) == {"album": "Trip", "removed": 1}
    rc, out, err = cli(capsys, "album", "remove", "Holiday", a)
    assert rc == 1 and "No album named 'Holiday'" in err
    cli(capsys, "tag", "add", "Places/Paris", a, b)
    cli(capsys, "tag", "add", "Places/Old/Paris", a)
    rc, out, err = cli(capsys, "tag", "delete", "places", "--json")
    assert err == "Deleted the tag Places and 3 tags below it from 2 photos.\n"
    assert json.loads(out) == {
        "deleted": ["Places", "Places/Old", "Places/Old/Paris", "Places/Paris"],
        "photos": 2,
    }
    rc, out, err = cli(capsys, "tag", "delete", "Places")
    assert rc == 1 and "No tag named 'Places'" in err


# ------------------------------------------------------------------- folders the scan cannot enter
def _deny(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """The scanner's os.scandir refuses ``folder`` as a folder without permission does (works as root)."""
    real = os.scandir

    def scandir(path: Any = ".") -> Any:
        if Path(path) == folder:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(scanner_module.os, "scandir", scandir)


def test_a_folder_the_scan_cannot_enter_is_listed_until_it_can(
    lib: Library, pics: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trip = pics / "trip"
    with monkeypatch.context() as m:
        _deny(m, trip)
        report = lib.scan(workers=1)
    assert report.errors == 1 and not report.warnings
    assert [(e["path"], e["reason"]) for e in lib.errors()] == [
        (str(trip), "Permission denied: cannot open this folder")
    ]
    # its photos may well still be there: they are not declared missing
    assert sorted(Path(p.rel_path).name for p in lib.query()) == [
        "Zürich.jpg",
        "paris1.jpg",
        "paris2.jpg",
        "tokyo.jpg",
    ]
    report = lib.scan(workers=1)  # readable again
    assert lib.errors() == [] and report.errors == 0
    assert lib.count() == 4


def test_an_unreadable_folder_shows_in_the_cli_errors(
    added: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, make_jpeg: Any
) -> None:
    locked = added / "locked"
    make_jpeg(locked / "x.jpg")
    _deny(monkeypatch, locked)
    rc, _out, err = cli(capsys, "scan")
    assert rc == 0 and "1 could not be read" in err
    rc, out, _ = cli(capsys, "errors", "--json")
    assert json.loads(out) == [{"path": str(locked), "reason": "Permission denied: cannot open this folder"}]


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_a_real_chmod_000_folder_is_listed(lib: Library, pics: Path, make_jpeg: Any) -> None:
    locked = pics / "locked"
    make_jpeg(locked / "x.jpg")
    locked.chmod(0)
    try:
        try:
            os.listdir(locked)
        except PermissionError:
            pass
        else:
            pytest.skip("this user (root) can read a chmod-000 folder; the os.scandir tests above cover it")
        lib.scan(workers=1)
        assert [e["path"] for e in lib.errors()] == [str(locked)]
    finally:
        locked.chmod(0o755)
    lib.scan(workers=1)
    assert lib.errors() == [] and lib.count() == 5


# ------------------------------------------------------------------- offline model download
def test_messages_are_cut_where_words_end() -> None:
    from desktop.core.runtime.wording import brief

    text = "Please check your connection and try again or make sure the repository exists. " * 6
    short = brief(text, 120)
    assert len(short) <= 120 and short.endswith("…")
    words = set(text.split())
    assert all(w in words for w in short.rstrip(" …").split())
    assert brief("short enough") == "short enough"


def test_offline_model_download_says_so_within_seconds(tmp_path: Path) -> None:
    if cm.hub_reachable():
        pytest.skip("the model hub is reachable from here; this checks the offline answer")
    env = dict(os.environ, SHOEBOX_HOME=str(tmp_path / "home"))
    env.pop("HF_HUB_OFFLINE", None)
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(REPO / "main.py"), "model", "download", "vit-b-32"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    elapsed = time.monotonic() - t0
    assert proc.returncode == 1 and elapsed < 5, (elapsed, proc.stderr)
    err = proc.stderr.strip()
    assert err.count("\n") == 0, err  # one message, no log lines of the hub client
    assert "WARNING" not in err and "Retry" not in err
    assert "no internet connection" in err and "model use vit-b-32 --weights FILE" in err
    assert err.endswith("works without it.")


def test_hub_client_warnings_are_silenced_and_its_error_cut_at_a_word(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    tail = "and a long tail of details " * 20

    def failing_fetch(cfg: dict[str, Any], cache_dir: str) -> str:
        logging.getLogger("huggingface_hub.utils._http").warning("Retrying in 8s [Retry 5/5].")
        raise OSError("Connection reset by peer " + tail)

    monkeypatch.setattr(cm, "hub_reachable", lambda timeout=1.5: True)  # online, then the link drops
    monkeypatch.setattr(cm, "_pretrained_cfg", lambda spec: {"hf_hub": "someone/some-model/"})
    monkeypatch.setattr(cm, "_fetch_pretrained", failing_fetch)
    caplog.set_level(logging.WARNING)
    spec = cm.load_manifest().default_entry().spec()
    with pytest.raises(cm.ModelUnavailable) as info:
        cm.download_weights(spec, tmp_path / "models")
    assert "Retrying" not in caplog.text
    reason = re.search(r"could not be downloaded \((.*?)\)\. Connect", str(info.value))
    assert reason is not None and reason.group(1).endswith("…")
    words = set(("OSError: Connection reset by peer " + tail).split())
    assert all(w in words for w in reason.group(1).rstrip("…").split())
