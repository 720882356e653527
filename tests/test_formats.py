"""desktop.core.ingest.formats: the one list of supported formats, and the scan that follows it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from desktop.core.ingest.formats import BY_EXTENSION, FORMATS, SUPPORTED_EXTENSIONS, format_for, is_image_name
from desktop.core.library import Library
from desktop.core.runtime.paths import resolve_paths

MakeJpeg = Callable[..., Path]


def test_each_extension_belongs_to_one_format_and_is_lower_case_with_a_dot() -> None:
    listed = [ext for fmt in FORMATS for ext in fmt.extensions]
    assert len(listed) == len(set(listed)) == len(BY_EXTENSION)
    assert all(ext.startswith(".") and ext == ext.lower() for ext in listed)
    assert {".jfif", ".jpe", ".hif"} <= SUPPORTED_EXTENSIONS


def test_names_are_matched_by_extension_in_any_case() -> None:
    jpeg = format_for("IMG_0001.JFIF")
    assert jpeg is not None and jpeg.name == "JPEG" and jpeg.kind == "image"
    assert format_for(Path("a/b/photo.HiF")) is BY_EXTENSION[".heif"]
    assert (
        not is_image_name("notes.txt") and not is_image_name("jpg") and not is_image_name("archive.jpg.zip")
    )


def test_a_scan_catalogues_a_file_of_every_registered_extension_and_nothing_else(
    shoebox_home: Path, tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    folder = tmp_path / "photos"
    # Pillow reads by content, so one JPEG under every registered name shows the walk's filter is the registry
    for i, ext in enumerate(sorted(SUPPORTED_EXTENSIONS)):
        make_jpeg(folder / f"img_{i:02d}{ext.upper() if i % 2 else ext}", color=(i * 9, 40, 200 - i * 9))
    make_jpeg(folder / "img_skip.jpeg.bak")
    with Library(resolve_paths()) as lib:
        report = lib.scan([lib.add_root(folder)])
        assert report.added == len(SUPPORTED_EXTENSIONS) and report.errors == 0
        assert lib.photo_by_path(folder / "img_skip.jpeg.bak") is None
