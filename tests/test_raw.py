"""Camera RAW files on real DNGs (written with pidng): catalogued, shown upright, searchable, bad ones listed."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from desktop.core.catalog.query import parse_query
from desktop.core.imaging import raw
from desktop.core.imaging.decode import ImageError, load_upright
from desktop.core.imaging.thumbnails import PreviewCache, ThumbnailCache, remake_thumbnail
from desktop.core.ingest import formats
from desktop.core.ingest.scan_worker import process_file
from desktop.core.library import Library
from tests.conftest import REPO, MakeDng, run_cli

RAW_SUFFIXES = [
    ".cr2",
    ".cr3",
    ".nef",
    ".nrw",
    ".arw",
    ".sr2",
    ".raf",
    ".orf",
    ".rw2",
    ".pef",
    ".dng",
    ".srw",
    ".3fr",
    ".iiq",
    ".erf",
    ".kdc",
    ".mrw",
    ".x3f",
]


def _reddish(img: Image.Image) -> bool:
    r, g, b = img.convert("RGB").resize((1, 1)).getpixel((0, 0))  # type: ignore[misc]
    return bool(r > 150 and g < 90 and b < 90)


def test_every_raw_extension_is_a_raw_format_of_the_one_registry() -> None:
    for suffix in RAW_SUFFIXES:
        fmt = formats.format_for(f"IMG_0001{suffix.upper()}")
        assert fmt is not None and fmt.kind == formats.KIND_RAW, suffix
        assert formats.is_image_name(f"a{suffix}") and formats.is_raw_name(f"a{suffix}")
        assert f"*{suffix}" in formats.glob_patterns()
    assert formats.format_for("x.cr2") == formats.Format("Canon CR2", formats.KIND_RAW, (".cr2",))
    assert not formats.is_raw_name("photo.jpg") and not formats.is_raw_name("photo.tif")


def test_a_dng_without_preview_is_developed_at_half_size(make_dng: MakeDng, tmp_path: Path) -> None:
    data = make_dng(tmp_path / "plain.dng", size=(256, 192)).read_bytes()
    with raw.RawFile(data) as raw_file:
        assert (raw_file.info.width, raw_file.info.height, raw_file.info.orientation) == (256, 192, 1)
        picture, orientation = raw_file.picture(64)
    # no embedded preview: LibRaw develops it at half size, already upright
    assert picture.size == (128, 96) and orientation == 1
    # the bright corner written into the sensor data is top-left in the developed picture
    assert picture.getpixel((5, 5)) > picture.getpixel((120, 90))  # type: ignore[operator]


def test_the_embedded_preview_is_used_and_turned_by_the_raws_orientation(
    make_dng: MakeDng, tmp_path: Path
) -> None:
    # a landscape 640×480 preview, stored unturned, in a RAW whose orientation is 6 (turn 90° clockwise)
    path = make_dng(tmp_path / "tall.dng", orientation=6, preview=(640, 480))
    cache = ThumbnailCache(tmp_path / "thumbs")
    with Image.open(io.BytesIO(remake_thumbnail(cache, "ab" * 16, path))) as thumb:
        thumb.load()
    assert thumb.size == (
        256,
        341,
    )  # portrait, short side 256: turned, from the preview (the sensor is 256×192)
    assert _reddish(thumb)  # the preview's colour, not a developed sensor picture
    assert cache.has("ab" * 16)


def test_the_viewer_develops_when_the_preview_is_too_small_and_uses_a_large_one(
    make_dng: MakeDng, tmp_path: Path
) -> None:
    small = make_dng(tmp_path / "small-preview.dng", orientation=6, preview=(64, 48))
    shown = load_upright(small, max_side=2048)
    # 64×48 is under the viewer's 1440: developed at half size (128×96), upright
    assert shown.size == (96, 128) and not _reddish(shown)
    # a preview under 1440 that is still bigger than the half-size development wins (the viewer once
    # showed a 192×256 development instead of the 640×480 preview the grid showed)
    mid = make_dng(tmp_path / "mid-preview.dng", orientation=6, preview=(640, 480))
    shown = load_upright(mid, max_side=2048)
    assert shown.size == (480, 640) and _reddish(shown)
    large = make_dng(tmp_path / "large-preview.dng", orientation=8, preview=(1920, 1440))
    shown = load_upright(large, max_side=1000)
    assert shown.size == (750, 1000) and _reddish(shown)
    # the preview cache keeps it, so it is made once
    previews = PreviewCache(tmp_path / "previews", long_side=1000)
    first = previews.get_or_make("cd" * 16, large)
    made = first.stat().st_mtime_ns
    assert previews.get_or_make("cd" * 16, large).stat().st_mtime_ns == made
    with Image.open(first) as cached:
        assert cached.size == (750, 1000)


def test_broken_raws_get_a_reason(make_dng: MakeDng, tmp_path: Path, make_jpeg) -> None:
    good = make_dng(tmp_path / "good.dng").read_bytes()
    cases = {
        "truncated.dng": good[:2048],
        "text.nef": b"this is not a photo, just some notes\n" * 3,
        "empty.cr2": b"",
    }
    reasons = {}
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ImageError) as caught:
            load_upright(path)
        reasons[name] = caught.value.reason
    assert reasons["truncated.dng"].startswith("not a readable RAW file (LibRaw: ")
    assert "truncated" in reasons["truncated.dng"]
    assert reasons["text.nef"] == "not an image: the file contains text"
    assert "empty" in reasons["empty.cr2"]


def test_a_jpeg_under_a_raw_name_is_read_as_the_jpeg_it_is(make_jpeg, tmp_path: Path) -> None:
    path = tmp_path / "photo.arw"
    path.write_bytes(make_jpeg(tmp_path / "p.jpg", size=(64, 48), orientation=6).read_bytes())
    assert not raw.reads_as_raw(path, path.read_bytes())
    assert load_upright(path).size == (48, 64)
    result = process_file(str(path), None)
    assert result.error is None and result.meta["format"] == "JPEG"


def test_scan_worker_catalogues_a_dng_with_its_own_exif(make_dng: MakeDng, tmp_path: Path) -> None:
    path = make_dng(
        tmp_path / "IMG_0001.dng",
        make="Canon",
        model="EOS R5",
        orientation=6,
        taken=dt.datetime(2021, 7, 3, 14, 5, 9),
        exposure=(1, 250),
        gps=(48.8584, 2.2945),
    )
    result = process_file(str(path), str(tmp_path / "thumbs"))
    assert result.error is None, result.error
    meta = result.meta
    # the developed picture's size, turned by the orientation (the sensor is 256×192)
    assert (meta["width"], meta["height"], meta["orientation"], meta["format"]) == (192, 256, 6, "DNG")
    assert (meta["camera_make"], meta["camera_model"]) == ("Canon", "EOS R5")
    assert (
        meta["taken_local"] == "2021-07-03T14:05:09.000000" and meta["taken_at_source"] == "DateTimeOriginal"
    )
    assert meta["exposure_time"] == pytest.approx(1 / 250)
    assert meta["gps_lat"] == pytest.approx(48.8584, abs=1e-4) and meta["gps_lon"] == pytest.approx(
        2.2945, abs=1e-4
    )


def test_a_folder_of_raws_scans_with_the_bad_ones_listed(
    library: Library, make_dng: MakeDng, tmp_path: Path
) -> None:
    folder = tmp_path / "card"
    good = make_dng(
        folder / "DSC_0001.DNG",
        make="Nikon",
        model="Z 6",
        orientation=6,
        taken=dt.datetime(2022, 5, 1, 9, 30),
    )
    (folder / "cut.dng").write_bytes(good.read_bytes()[:2048])
    (folder / "notes.nef").write_text("shot list: beach at noon, pier at dusk\n")
    report = library.scan([library.add_root(folder)])
    assert (report.added, report.errors) == (1, 2)
    info = library.info(good)
    assert (info["width"], info["height"], info["format"]) == (192, 256, "DNG")
    assert (info["camera_make"], info["camera_model"]) == ("Nikon", "Z 6")
    assert info["taken_at"].startswith("2022-05-01T09:30")
    thumb = library.thumbnails.path_for(info["content_hash"])
    with Image.open(thumb) as img:
        assert img.height > img.width  # orientation 6: a portrait thumbnail
    reasons = {Path(e["path"]).name: e["reason"] for e in library.errors()}
    assert set(reasons) == {"cut.dng", "notes.nef"}
    assert reasons["cut.dng"].startswith("not a readable RAW file (LibRaw: ")
    assert reasons["notes.nef"] == "not an image: the file contains text"
    # searchable like any photo: by camera, and by name
    assert library.count(parse_query("camera:nikon").filter) == 1
    assert library.count(parse_query("name:DSC_0001").filter) == 1


def test_main_py_import_copies_a_dng_into_its_date_folder(make_dng: MakeDng, tmp_path: Path) -> None:
    home = tmp_path / "home"
    src = make_dng(tmp_path / "card" / "IMG_2001.dng", taken=dt.datetime(2019, 8, 14, 18, 0))
    proc = run_cli(home, "import", str(src), "--json", check=True)
    report = json.loads(proc.stdout)
    assert len(report["imported"]) == 1
    copied = Path(report["imported"][0])
    assert copied.parent.parts[-2:] == ("2019", "08") and copied.read_bytes() == src.read_bytes()
    info = json.loads(run_cli(home, "info", str(copied), "--json", check=True).stdout)
    assert info["status"] == "ok" and info["format"] == "DNG"


def test_light_commands_do_not_load_libraw_or_ffmpeg(make_dng: MakeDng, tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = tmp_path / "card"
    make_dng(folder / "IMG_0001.dng")
    run_cli(home, "add", "--no-watch", str(folder), check=True)
    code = (
        "import sys; from desktop.cli.main import run\n"
        "for argv in (['status', '--json'], ['ls', '--json']):\n"
        "    assert run(argv) == 0\n"
        "assert 'rawpy' not in sys.modules\n"
        "assert 'av' not in sys.modules  # PyAV loads FFmpeg's libraries: only a video's reader needs them\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=dict(os.environ, SHOEBOX_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr


def test_raws_exifread_cannot_walk_are_read_with_exiv2(
    make_dng: MakeDng, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CR3, RAF, MRW, X3F: exifread finds no EXIF, exiv2 reads their containers. No CR3 can be made
    here, so a DNG takes the same route with exifread made blind, as it is to those containers."""
    from desktop.core.ingest import exiv2_exif, metadata

    path = make_dng(
        tmp_path / "IMG_0002.dng",
        make="Canon",
        model="EOS R6",
        taken=dt.datetime(2022, 5, 1, 9, 30, 15),
        exposure=(1, 60),
        gps=(35.6812, -139.7671),
    )
    monkeypatch.setattr(metadata, "_read_exif", lambda *_args: {})
    read: list[int] = []
    real = exiv2_exif.exif_values
    monkeypatch.setattr(exiv2_exif, "exif_values", lambda data: read.append(len(data)) or real(data))
    result = process_file(str(path), None)
    assert result.error is None, result.error
    meta = result.meta
    assert read, "the exiv2 route was not taken"
    assert (meta["camera_make"], meta["camera_model"]) == ("Canon", "EOS R6")
    assert meta["taken_local"] == "2022-05-01T09:30:15.000000"
    assert meta["taken_at_source"] == "DateTimeOriginal"
    assert meta["exposure_time"] == pytest.approx(1 / 60)
    assert meta["gps_lat"] == pytest.approx(35.6812, abs=1e-4)
    assert meta["gps_lon"] == pytest.approx(-139.7671, abs=1e-4)


def test_exiv2_reads_nothing_from_a_damaged_file_without_raising(make_dng: MakeDng, tmp_path: Path) -> None:
    from desktop.core.ingest.exiv2_exif import exif_values

    whole = make_dng(tmp_path / "a.dng").read_bytes()
    assert exif_values(b"not a raw file at all" * 10) == {}
    assert isinstance(exif_values(whole[:200]), dict)  # cut inside its IFDs


def test_exiv2_agrees_with_exifread_on_the_corpus_tiffs(corpus: Path) -> None:
    """The corpus has no CR3/RAF/MRW/X3F; its camera TIFFs check exiv2's route against exifread's."""
    from desktop.core.ingest.exiv2_exif import exif_values
    from desktop.core.ingest.metadata import PhotoMetadata, fill_from_exif, read_metadata

    tiffs = sorted((corpus / "tiff").glob("*.tif*"))
    if not tiffs:
        pytest.skip(f"no TIFFs in {corpus / 'tiff'}")
    fields = ("camera_make", "camera_model", "taken_local", "exposure_time", "f_number", "iso", "gps_lat")
    for tiff in tiffs:
        data = tiff.read_bytes()
        with Image.open(io.BytesIO(data)) as img:
            expected = read_metadata(data, img, 0.0)
        got = PhotoMetadata()
        fill_from_exif(got, exif_values(data), 0.0)
        for name in fields:
            assert getattr(got, name) == pytest.approx(getattr(expected, name)), (tiff.name, name)
