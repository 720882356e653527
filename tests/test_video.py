"""Videos: catalogued with their duration, displayed size, date and place; a poster for the grid; bad ones listed."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from desktop.core.catalog import db
from desktop.core.imaging import video as video_reader
from desktop.core.ingest import scan_worker
from desktop.core.ingest.formats import format_for, is_image_name, is_video_name
from desktop.core.ingest.video import HASH_EDGE_BYTES, hash_video, parse_date, parse_iso6709
from desktop.core.library import Library
from desktop.core.runtime.paths import resolve_paths
from desktop.core.runtime.wording import format_duration, format_video
from tests.conftest import MakeVideo, run_cli


@pytest.fixture
def lib(shoebox_home: Path):
    library = Library(resolve_paths())
    yield library
    library.close()


def _luma(path: Path) -> float:
    with Image.open(path) as img:
        return float(ImageStat.Stat(img.convert("L")).mean[0])


def test_every_video_extension_is_a_video_kind() -> None:
    for name in ("a.mp4", "b.MOV", "c.m4v", "d.3gp", "e.mkv", "f.webm", "g.avi", "h.MTS", "i.m2ts"):
        assert is_video_name(name) and is_image_name(name), name  # scanned, watched, imported, dropped
    assert not is_video_name("a.jpg") and format_for("x.mov") is not None


def test_scan_catalogues_videos_and_lists_broken_ones(lib: Library, tmp_path: Path, make_video) -> None:
    folder = tmp_path / "clips"
    make_video(folder / "beach.mp4", seconds=2, creation_time="2024-07-03T12:05:00.000000Z")
    make_video(
        folder / "IMG_0001.MOV",
        seconds=3,
        size=(160, 90),
        rotate=90,
        creation="2024-07-03T14:05:00+0200",
        location="+48.8577+002.2950+035.000/",
        make="Apple",
        model="iPhone 15",
        color=(30, 80, 220),
    )
    (folder / "empty.mov").write_bytes(b"")
    (folder / "notes.mp4").write_text("this is a text file, not a video\n")
    make_video(folder / "voice.mp4", seconds=1, audio_only=True)
    whole = make_video(tmp_path / "whole.mp4", seconds=2).read_bytes()
    (folder / "cut.mp4").write_bytes(whole[: len(whole) // 2])  # the index (moov) is written last: cut off

    report = lib.scan([lib.add_root(folder)])

    reasons = {Path(e["path"]).name: e["reason"] for e in lib.errors()}
    assert set(reasons) == {"empty.mov", "notes.mp4", "voice.mp4", "cut.mp4"}
    assert "empty" in reasons["empty.mov"]
    assert reasons["notes.mp4"].startswith("not a playable video")
    assert reasons["voice.mp4"] == "not a playable video: no video stream"
    assert reasons["cut.mp4"].startswith("not a playable video")
    assert report.added == 2

    mp4 = lib.info(folder / "beach.mp4")
    assert (mp4["kind"], mp4["duration"], mp4["codec"], mp4["frame_rate"]) == ("video", 2.0, "h264", 10.0)
    assert (mp4["width"], mp4["height"], mp4["format"]) == (160, 90, "MP4")
    # creation_time is UTC: shown in this computer's zone
    utc = dt.datetime(2024, 7, 3, 12, 5, tzinfo=dt.UTC)
    assert mp4["taken_at"] == utc.astimezone().isoformat()

    mov = lib.info(folder / "IMG_0001.MOV")
    assert mov["kind"] == "video" and mov["duration"] == 3.0
    assert (mov["width"], mov["height"]) == (90, 160)  # stored landscape, shown portrait
    assert mov["taken_at"] == "2024-07-03T14:05:00+02:00"  # the phone's own time and offset
    assert (mov["gps_lat"], mov["gps_lon"], mov["gps_alt"]) == (48.8577, 2.295, 35.0)
    assert (mov["camera_make"], mov["camera_model"]) == ("Apple", "iPhone 15")

    for info in (mp4, mov):
        thumb = lib.thumbnails.path_for(info["content_hash"])
        assert thumb.is_file() and _luma(thumb) > 50  # the coloured frames, not black
    with Image.open(lib.thumbnails.path_for(mov["content_hash"])) as img:
        assert img.height > img.width  # the poster is turned like the video
        # the green mark at the stored frame's top-left is at the top-right once turned clockwise
        r, g, b = img.convert("RGB").getpixel((img.width - 3, 3))
        assert g > 150 and r < 100

    rec = lib.reads.records([mov["id"]])[mov["id"]]
    assert rec.is_video and rec.duration == 3.0
    photo_like = lib.reads.records([mp4["id"]])[mp4["id"]]
    assert photo_like.duration == 2.0


def test_a_photo_is_an_image_kind(lib: Library, tmp_path: Path, make_jpeg) -> None:
    make_jpeg(tmp_path / "p" / "a.jpg")
    lib.scan([lib.add_root(tmp_path / "p")])
    info = lib.info(tmp_path / "p" / "a.jpg")
    assert (info["kind"], info["duration"], info["codec"]) == ("image", None, None)
    assert not lib.reads.records([info["id"]])[info["id"]].is_video


def test_poster_skips_a_black_opening(tmp_path: Path, make_video) -> None:
    clip = make_video(tmp_path / "fade.mp4", seconds=10, black_first=2.5)  # 10% in (1 s) is black
    info = video_reader.probe(clip)
    assert info.poster is not None
    assert ImageStat.Stat(info.poster.convert("L")).mean[0] > 50


def test_a_huge_video_is_read_by_its_edges_only(tmp_path: Path, monkeypatch) -> None:
    """A 4 GB file costs a header read and 2 MiB of hashing, not 4 GB (sparse: nothing is on disk)."""
    big = tmp_path / "huge.mov"
    with open(big, "wb") as fh:
        fh.truncate(4 * 1024**3)
    read: list[int] = []
    real_open = open

    class Counting:
        def __init__(self, fh) -> None:
            self.fh = fh

        def read(self, n: int = -1) -> bytes:
            data = self.fh.read(n)
            read.append(len(data))
            return data

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self.fh.close()

    from desktop.core.ingest import video as ingest_video

    monkeypatch.setattr(ingest_video, "open", lambda *a, **k: Counting(real_open(*a, **k)), raising=False)
    started = time.monotonic()
    result = scan_worker.process_file(str(big), str(tmp_path / "thumbs"))
    assert time.monotonic() - started < 10
    assert sum(read) == 2 * HASH_EDGE_BYTES
    assert result.content_hash and result.error and result.error.startswith("not a playable video")
    assert "too large" not in result.error


def test_video_hash_sees_both_ends_and_the_size(tmp_path: Path) -> None:
    size = 3 * HASH_EDGE_BYTES
    base = bytearray(size)
    a = tmp_path / "a.mp4"
    a.write_bytes(base)
    changed_tail = bytearray(base)
    changed_tail[-1] = 1
    b = tmp_path / "b.mp4"
    b.write_bytes(changed_tail)
    c = tmp_path / "c.mp4"
    c.write_bytes(base + b"\0")
    hashes = {hash_video(str(p), p.stat().st_size) for p in (a, b, c)}
    assert len(hashes) == 3


def test_dates_and_places_from_tags() -> None:
    assert parse_date("2024-07-03T14:05:00+0200") == dt.datetime(
        2024, 7, 3, 14, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))
    )
    assert parse_date("1904-01-01T00:00:00.000000Z") is None  # a clock never set
    assert parse_date("garbage") is None
    assert parse_iso6709("-33.8688+151.2093/") == (-33.8688, 151.2093, None)
    assert parse_iso6709("+00.0000+000.0000/") is None
    assert parse_iso6709("+91.0+000.1/") is None


def test_duration_and_video_wording() -> None:
    assert [format_duration(s) for s in (0.4, 12.4, 62, 3723)] == ["0:00", "0:12", "1:02", "1:02:03"]
    assert format_video(12.4, "h264", 29.97) == "0:12 · H.264 · 29.97 fps"
    assert format_video(None, None, None) is None


def test_info_json_shows_kind_and_duration(tmp_path: Path, make_video) -> None:
    home = tmp_path / "home"
    clip = make_video(tmp_path / "v" / "clip.mp4", seconds=2)
    run_cli(home, "add", str(tmp_path / "v"), check=True)
    out = json.loads(run_cli(home, "info", str(clip), "--json", check=True).stdout)
    assert (out["kind"], out["duration"], out["codec"]) == ("video", 2.0, "h264")


def test_migration_adds_the_video_columns(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite3"
    db.init_db(path)
    db.close_db()
    con = sqlite3.connect(path)
    con.execute(
        "INSERT INTO root (path, watched, is_import_target, added_at) VALUES ('/p', 1, 0, '2024-01-01')"
    )
    con.execute(
        "INSERT INTO photo (root_id, rel_path, size_bytes, mtime, status, added_at, updated_at, "
        "taken_local, rating, rotation, media_kind) VALUES (1, 'a.jpg', 1, 0, 'ok', '2024-01-01', "
        "'2024-01-01', '', 3, 0, 'image')"
    )
    for column in ("media_kind", "duration", "video_codec", "frame_rate"):
        con.execute(f"ALTER TABLE photo DROP COLUMN {column}")
    con.execute("PRAGMA user_version = 3")  # before v4, which added the video columns
    con.commit()
    con.close()
    db.init_db(path, tmp_path / "backups")
    db.close_db()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION
    assert con.execute("SELECT media_kind, duration, rating FROM photo").fetchall() == [("image", None, 3)]
    con.close()


def test_a_wiped_cache_remakes_a_videos_thumbnail_and_the_viewer_loads_its_poster(
    tmp_path: Path, make_video: MakeVideo
) -> None:
    from desktop.core.imaging.decode import load_upright
    from desktop.core.imaging.thumbnails import ThumbnailCache, ensure_thumbnail

    clip = make_video(tmp_path / "clip.mp4")
    cache = ThumbnailCache(tmp_path / "thumbs")
    path = ensure_thumbnail(cache, "ab" * 16, clip)  # before: read the whole file and asked Pillow
    assert path.is_file()
    with Image.open(path) as thumb:
        assert thumb.size[0] > 0 and max(ImageStat.Stat(thumb.convert("L")).mean) > 10  # not black
    assert max(load_upright(clip, 64).size) <= 64


def test_the_scan_converts_a_1080p_poster_at_thumbnail_size(
    tmp_path: Path, make_video: MakeVideo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FFmpeg scales the poster keyframe while converting it for the scan: a full-size 1080p RGB picture
    (and its resize) cost most of a clip's scan time, for a 256 px thumbnail."""
    clip = make_video(tmp_path / "hd.mp4", seconds=1, size=(1920, 1080))
    sizes: list[tuple[int, int]] = []
    real = video_reader._picture

    def recording(*args: object, **kwargs: object) -> Image.Image:
        img = real(*args, **kwargs)  # type: ignore[arg-type]
        sizes.append(img.size)
        return img

    monkeypatch.setattr(video_reader, "_picture", recording)
    thumbs = tmp_path / "thumbs"
    result = scan_worker.process_file(str(clip), str(thumbs))
    assert result.error is None and result.meta is not None
    assert sizes and all(min(s) == 256 for s in sizes)  # 455 x 256, never 1920 x 1080
    with Image.open(next(thumbs.rglob("*.jpg"))) as thumb:
        assert min(thumb.size) == 256
    # the viewer's poster (no short side asked for) keeps its size
    full = video_reader.probe(clip).poster
    assert full is not None and full.size == (1920, 1080)


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        # 12:05 UTC on 3 July: 21:05 in Tokyo (UTC+9), 08:05 in New York (daylight time, UTC-4)
        ("+35.6812+139.7671+040.000/", "2024-07-03T21:05:00+09:00"),
        ("+40.7580-073.9855/", "2024-07-03T08:05:00-04:00"),
    ],
)
def test_utc_creation_time_is_shown_in_the_zone_of_the_videos_place(
    tmp_path: Path, make_video: MakeVideo, location: str, expected: str
) -> None:
    clip = make_video(
        tmp_path / "clip.mov", seconds=1, creation_time="2024-07-03T12:05:00.000000Z", location=location
    )
    result = scan_worker.process_file(str(clip), None)
    assert result.error is None
    assert result.meta["taken_at"] == expected
    assert result.meta["taken_local"] == expected[:19] + ".000000"
    assert result.meta["taken_at_source"] == "creation_time"


def test_a_winter_date_takes_that_places_standard_time() -> None:
    from desktop.core.ingest.video import zone_at

    zone = zone_at(40.758, -73.9855)
    assert zone is not None
    winter = dt.datetime(2024, 1, 15, 12, 0, tzinfo=dt.UTC).astimezone(zone)
    assert winter.utcoffset() == dt.timedelta(hours=-5)
