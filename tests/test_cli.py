"""The headless command line, run as a user would: ``python main.py ...``."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli

REPO = Path(__file__).resolve().parent.parent

INFO_KEYS = {
    "path",
    "width",
    "height",
    "orientation",
    "format",
    "taken_at",
    "taken_at_source",
    "camera_make",
    "camera_model",
    "lens",
    "focal_length",
    "f_number",
    "exposure_time",
    "iso",
    "gps_lat",
    "gps_lon",
    "gps_alt",
    "rating",
    "tags",
    "content_hash",
    "size_bytes",
}


def sb(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run_cli(home, *args, check=check)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def pics(tmp_path: Path, make_jpeg) -> Path:
    folder = tmp_path / "pics"
    make_jpeg(
        folder / "2019" / "paris.jpg",
        taken=dt.datetime(2019, 6, 3, 9),
        make="Canon",
        model="Canon EOS 80D",
        gps=(48.85, 2.29),
    )
    make_jpeg(
        folder / "2021" / "tokyo.jpg",
        taken=dt.datetime(2021, 3, 1, 18),
        make="SONY",
        model="ILCE-7M3",
        color=(5, 50, 90),
    )
    make_jpeg(
        folder / "2023" / "home.jpg",
        taken=dt.datetime(2023, 12, 24, 20),
        make="Apple",
        model="iPhone 12",
        color=(250, 250, 10),
    )
    (folder / "broken.jpg").write_text("not a photo")
    return folder


def test_add_status_errors_info(home: Path, pics: Path) -> None:
    proc = sb(home, "add", str(pics))
    assert "3 new" in proc.stderr and "1 could not be read" in proc.stderr
    status = json.loads(sb(home, "status", "--json").stdout)
    assert (status["photos"], status["errors"], status["missing"]) == (3, 1, 0)
    assert status["roots"][0]["path"] == str(pics.resolve()) and status["roots"][0]["watched"] is True
    errors = json.loads(sb(home, "errors", "--json").stdout)
    assert errors == [{"path": str(pics.resolve() / "broken.jpg"), "reason": errors[0]["reason"]}]
    assert "not an image" in errors[0]["reason"]
    info = json.loads(sb(home, "info", str(pics / "2019" / "paris.jpg"), "--json").stdout)
    assert set(info) >= INFO_KEYS
    assert info["camera_make"] == "Canon" and info["taken_at"].startswith("2019-06-03T09:00:00")


def test_tags_ls_filters_and_rating(home: Path, pics: Path) -> None:
    sb(home, "add", "--no-watch", str(pics))
    paris, tokyo = str(pics / "2019" / "paris.jpg"), str(pics / "2021" / "tokyo.jpg")
    sb(home, "tag", "add", "Places/Paris", paris)
    sb(home, "tag", "add", "trips", paris, tokyo)
    sb(home, "rate", "4", tokyo)
    tags = json.loads(sb(home, "tag", "list", "--json").stdout)
    # a parent counts the photos under it, as ls --tag lists them
    assert {t["name"]: t["count"] for t in tags} == {"Places": 1, "Places/Paris": 1, "trips": 2}

    def ls(*a: str) -> list[str]:
        return [Path(r["path"]).name for r in json.loads(sb(home, "ls", "--json", *a).stdout)]

    assert ls() == ["home.jpg", "tokyo.jpg", "paris.jpg"]  # newest first
    assert ls("--tag", "Places") == ["paris.jpg"]  # a tag includes its children
    assert ls("--tag", "trips", "--after", "2020") == ["tokyo.jpg"]
    assert ls("--before", "2021-03") == ["paris.jpg"]
    assert ls("--camera", "sony") == ["tokyo.jpg"]
    assert ls("--folder", str(pics / "2023")) == ["home.jpg"]
    assert ls("--rating", "4") == ["tokyo.jpg"]
    sb(home, "tag", "remove", "trips", tokyo)
    assert ls("--tag", "trips") == ["paris.jpg"]
    assert json.loads(sb(home, "info", paris, "--json").stdout)["tags"] == ["Places/Paris", "trips"]


def test_errors_and_usage_exit_codes(home: Path, tmp_path: Path) -> None:
    proc = sb(home, "info", str(tmp_path / "nope.jpg"), check=False)
    assert proc.returncode == 1 and "not in the library" in proc.stderr and "Traceback" not in proc.stderr
    proc = sb(home, "add", str(tmp_path / "no-such-folder"), check=False)
    assert proc.returncode == 1 and "does not exist" in proc.stderr
    proc = sb(home, "ls", "--after", "last tuesday", check=False)
    assert proc.returncode == 1 and "not a date" in proc.stderr
    proc = sb(home, "frobnicate", check=False)
    assert proc.returncode == 2
    proc = sb(home, "rate", "9", "x.jpg", check=False)
    assert proc.returncode == 2


def test_import_copies_by_date_and_skips_duplicates(
    home: Path, pics: Path, tmp_path: Path, make_jpeg
) -> None:
    sb(home, "add", str(pics))
    outside = tmp_path / "card"
    make_jpeg(outside / "DSC_0001.jpg", taken=dt.datetime(2024, 7, 5, 12), color=(1, 99, 1))
    make_jpeg(outside / "DSC_0002.jpg", taken=dt.datetime(2024, 8, 1, 12), color=(1, 99, 2))
    (outside / "paris-again.jpg").write_bytes((pics / "2019" / "paris.jpg").read_bytes())
    proc = sb(home, "import", str(outside))
    assert "2 imported" in proc.stderr and "already in the library" in proc.stderr
    imports = home / "Imports"
    assert (imports / "2024" / "07" / "DSC_0001.jpg").is_file()
    assert (imports / "2024" / "08" / "DSC_0002.jpg").is_file()
    # the same name again, different content: never overwritten
    make_jpeg(outside / "again" / "DSC_0001.jpg", taken=dt.datetime(2024, 7, 9, 12), color=(200, 0, 200))
    sb(home, "import", str(outside / "again" / "DSC_0001.jpg"))
    assert (imports / "2024" / "07" / "DSC_0001 (1).jpg").is_file()
    status = json.loads(sb(home, "status", "--json").stdout)
    assert status["photos"] == 6


def test_light_commands_do_not_import_torch_or_qt(home: Path, pics: Path) -> None:
    sb(home, "add", "--no-watch", str(pics))
    code = (
        "import sys; from desktop.cli.main import run\n"
        f"for argv in (['status','--json'], ['ls','--json'], ['tag','list'], ['info', {str(pics / '2019' / 'paris.jpg')!r}]):\n"
        "    assert run(argv) == 0\n"
        "heavy = [m for m in ('torch', 'open_clip', 'PySide6') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    env = dict(os.environ, SHOEBOX_HOME=str(home))
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.slow
def test_kill_mid_scan_then_resume_loses_nothing(home: Path, tmp_path: Path, make_jpeg) -> None:
    folder = tmp_path / "big"
    for i in range(400):
        make_jpeg(folder / f"d{i % 7}" / f"{i:04d}.jpg", size=(48, 36), color=(i % 256, (3 * i) % 256, 7))
    # tag a first photo, then kill a second scan of a grown library half-way
    sb(home, "add", str(folder / "d0"))
    first = folder / "d0" / "0000.jpg"
    sb(home, "tag", "add", "keep-me", str(first))
    env = dict(os.environ, SHOEBOX_HOME=str(home))
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "main.py"), "add", str(folder)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    db = home / "catalog.sqlite3"
    import sqlite3

    def count() -> int:
        con = sqlite3.connect(db, timeout=10)
        try:
            return int(con.execute("select count(*) from photo").fetchone()[0])
        finally:
            con.close()

    while time.monotonic() < deadline and proc.poll() is None and count() < 120:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert count() < 400 or proc.returncode == 0
    sb(home, "scan")
    status = json.loads(sb(home, "status", "--json").stdout)
    assert (status["photos"], status["errors"], status["missing"]) == (400, 0, 0)
    info = json.loads(sb(home, "info", str(first), "--json").stdout)
    assert info["tags"] == ["keep-me"]
    con = sqlite3.connect(db)
    dupes = con.execute(
        "select count(*) from (select root_id, rel_path from photo group by 1,2 having count(*)>1)"
    )
    assert dupes.fetchone()[0] == 0
    con.close()


def test_recent_imports_view_shows_only_imported_photos(
    home: Path, pics: Path, tmp_path: Path, make_jpeg
) -> None:
    from desktop.core.catalog.filters import PhotoFilter
    from desktop.core.library import Library
    from desktop.core.runtime.paths import resolve_paths

    sb(home, "add", "--no-watch", str(pics))
    make_jpeg(tmp_path / "card" / "new.jpg", color=(3, 200, 3))
    sb(home, "import", str(tmp_path / "card"))
    lib = Library(resolve_paths(home))
    try:
        recent = lib.query(PhotoFilter(recent_days=30, imported_only=True))
        assert [Path(p.rel_path).name for p in recent] == ["new.jpg"]
    finally:
        lib.close()


def test_search_without_a_model_falls_back_to_names_and_tags(home: Path, pics: Path) -> None:
    sb(home, "add", "--no-watch", str(pics))
    sb(home, "tag", "add", "holiday", str(pics / "2021" / "tokyo.jpg"))
    proc = sb(home, "search", "paris", "--json")
    assert [Path(r["path"]).name for r in json.loads(proc.stdout)] == ["paris.jpg"]
    # a search never tries a download (that path would say it could not be downloaded)
    assert "Smart search is not available" in proc.stderr and "not downloaded yet: get it with" in proc.stderr
    proc = sb(home, "search", "holiday after:2020", "--json")
    assert [Path(r["path"]).name for r in json.loads(proc.stdout)] == ["tokyo.jpg"]
    # word matches carry no score worth printing: just the paths
    assert sb(home, "search", "paris").stdout.strip() == str(pics / "2019" / "paris.jpg")


def test_similar_to_an_unreadable_file_is_a_clear_error(home: Path, pics: Path) -> None:
    proc = sb(
        home,
        "similar",
        str(pics / "broken.jpg"),
        "--model",
        "ViT-B-32",
        "--weights",
        str(pics / "missing.safetensors"),
        check=False,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr


def test_import_does_not_copy_files_that_are_not_photos(home: Path, tmp_path: Path, make_jpeg) -> None:
    card = tmp_path / "card"
    make_jpeg(card / "ok.jpg")
    (card / "zero.jpg").write_bytes(b"")
    (card / "text.jpg").write_text("not a photo")
    for _ in range(2):
        proc = sb(home, "import", str(card), check=False)
    assert "empty file" in proc.stderr and "not an image" in proc.stderr
    copied = sorted(p.name for p in (home / "Imports").rglob("*.jpg"))
    assert copied == ["ok.jpg"]


def test_photos_are_named_by_path_or_by_catalog_id(home: Path, pics: Path) -> None:
    sb(home, "add", "--no-watch", str(pics))
    listed = json.loads(sb(home, "ls", "--json").stdout)
    paris = next(p for p in listed if p["path"].endswith("paris.jpg"))
    info = json.loads(sb(home, "info", str(paris["id"]), "--json").stdout)
    assert info["path"] == paris["path"]  # `ls --json` and `info` show ids; commands take them
    sb(home, "tag", "add", "trips", str(paris["id"]))
    assert json.loads(sb(home, "info", paris["path"], "--json").stdout)["tags"] == ["trips"]
    bad = sb(home, "info", "99999", check=False)
    assert bad.returncode == 1 and "No photo has the id 99999" in bad.stderr
    similar = sb(home, "similar", str(paris["id"]), check=False)
    assert similar.returncode == 1 and "does not exist" not in similar.stderr  # the id was understood
