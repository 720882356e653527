"""A library made by ../shared/tools/make_library.py scans with its manifest's facts right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.core.library import Library
from desktop.core.runtime.paths import resolve_paths


@pytest.fixture
def scanned(small_library: Path, shoebox_home: Path):
    lib = Library(resolve_paths())
    report = lib.scan([lib.add_root(small_library)], workers=2)
    yield lib, small_library, report
    lib.close()


def test_manifest_facts_match_the_catalog(scanned) -> None:
    lib, folder, report = scanned
    manifest = json.loads((folder / "manifest.json").read_text())
    broken = {r["path"] for r in manifest if r["kind"].startswith("broken")}
    good = [r for r in manifest if not r["kind"].startswith("broken")]
    assert report.added == len(good) and report.errors == len(broken)
    assert {str(Path(e["path"]).relative_to(folder.resolve())) for e in lib.errors()} == broken
    reasons = {Path(e["path"]).name: e["reason"] for e in lib.errors()}
    assert "truncated" in reasons["truncated.jpg"]
    assert "empty" in reasons["empty.jpg"]
    assert "not an image" in reasons["not-an-image.jpg"]
    for row in good:
        rec = lib.info(folder / row["path"])
        if row["kind"] in ("photo", "burst"):
            assert rec["taken_at"].startswith(row["date"]), row
            assert rec["taken_at"].endswith(row["offset"]), row
            assert (rec["camera_make"], rec["camera_model"]) == (row["make"], row["model"])
            assert rec["orientation"] == row["orientation"]
            w, h = (120, 160) if row["orientation"] in (6, 8) else (160, 120)
            assert (rec["width"], rec["height"]) == (w, h)
            if row["gps"]:
                lat, lon, alt = row["gps"]
                assert rec["gps_lat"] == pytest.approx(lat, abs=1e-5)
                assert rec["gps_lon"] == pytest.approx(lon, abs=1e-5)
                assert rec["gps_alt"] == pytest.approx(alt, abs=0.05)
            else:
                assert rec["gps_lat"] is None
        if row["kind"] == "duplicate":
            twin = lib.info(folder / row["duplicate_of"])
            assert rec["content_hash"] == twin["content_hash"] and rec["id"] != twin["id"]
        if row["kind"] == "burst":
            original = lib.info(folder / row["burst_of"])
            assert rec["content_hash"] != original["content_hash"]
        if row["kind"] == "png":
            assert rec["format"] == "PNG"
        if row["kind"] == "webp":
            assert rec["format"] == "WEBP"
        if row["kind"] == "no-exif":
            assert rec["taken_at_source"] == "file"
