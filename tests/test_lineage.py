"""Lineage both ways: ``lineage PATH --json`` for a source photo and for its output (also once the output
was renamed), the info record's lineage, and the sentence for a path that is neither."""

from __future__ import annotations

import json
from pathlib import Path

from desktop.core.library import Library
from desktop.core.processing import lineage
from desktop.core.processing.lineage import LineageRow
from desktop.core.runtime.paths import resolve_paths
from tests.conftest import MakeJpeg, run_cli

STEPS = [
    {"op": "resize", "version": 1, "params": {"long_edge": 2048}},
    {"op": "jpeg", "version": 1, "params": {}},
]


def _made(tmp_path: Path, make_jpeg: MakeJpeg, watch_exports: bool = False) -> tuple[Path, Path, Path]:
    """A library whose IMG_1234.jpg was exported by "Web 2048 px" to exports/IMG_1234_web-2048.jpg."""
    home, pics, exports = tmp_path / "home", tmp_path / "pics", tmp_path / "exports"
    pics.mkdir()
    exports.mkdir()
    src = make_jpeg(pics / "IMG_1234.jpg", color=(10, 200, 30))
    out = make_jpeg(exports / "IMG_1234_web-2048.jpg", size=(32, 24), color=(10, 190, 40))
    with Library(resolve_paths(home)) as lib:
        lib.add_root(pics)
        if watch_exports:
            lib.add_root(exports)
        lib.scan()
        photo = lib.photo_by_path(src)
        assert photo is not None
        row = LineageRow(
            output_path=str(out),
            output_hash=lineage.file_hash(out),
            source_path=str(src),
            source_hash=str(photo.content_hash),
            source_photo=photo.id,
            recipe="web-2048",
            recipe_name="Web 2048 px",
            recipe_version=1,
            params=STEPS,
            task=7,
        )
        lineage.record(lib, [row])
    return home, src, out


def test_lineage_both_ways_and_after_a_rename(tmp_path: Path, make_jpeg: MakeJpeg) -> None:
    home, src, out = _made(tmp_path, make_jpeg)

    made = json.loads(run_cli(home, "lineage", str(src), "--json", check=True).stdout)
    assert made["derived_from"] == []
    [o] = made["outputs"]
    assert o["path"] == str(out) and o["recipe"] == "web-2048" and o["recipe_name"] == "Web 2048 px"
    assert o["params"] == STEPS and o["task"] == 7 and o["content_hash"] == lineage.file_hash(out)
    assert o["time"][:4].isdigit() and "T" in o["time"]

    back = json.loads(run_cli(home, "lineage", str(out), "--json", check=True).stdout)
    assert back["outputs"] == []
    [d] = back["derived_from"]
    assert d["path"] == str(src) and d["recipe"] == "web-2048" and d["params"] == STEPS

    # moved and renamed: recognised by its content
    moved = tmp_path / "elsewhere" / "holiday.jpg"
    moved.parent.mkdir()
    out.rename(moved)
    again = json.loads(run_cli(home, "lineage", str(moved), "--json", check=True).stdout)
    assert [x["path"] for x in again["derived_from"]] == [str(src)]

    plain = run_cli(home, "lineage", str(moved), check=True).stdout
    assert f"Derived from {src}" in plain and "Web 2048 px" in plain
    plain = run_cli(home, "lineage", str(src), check=True).stdout
    assert "Exported once" in plain and str(out) in plain


def test_a_path_that_is_neither_is_one_sentence(tmp_path: Path, make_jpeg: MakeJpeg) -> None:
    home, _src, _out = _made(tmp_path, make_jpeg)
    gone = run_cli(home, "lineage", str(tmp_path / "nothing.jpg"))
    assert (
        gone.returncode == 1
        and "neither a file nor a photo" in gone.stderr
        and "Traceback" not in gone.stderr
    )
    other = make_jpeg(tmp_path / "other.jpg", color=(1, 2, 3))
    unrelated = run_cli(home, "lineage", str(other))
    assert unrelated.returncode == 1 and "was not made by Shoebox" in unrelated.stderr


def test_the_info_record_names_exports_and_sources(tmp_path: Path, make_jpeg: MakeJpeg) -> None:
    # the output lands in a watched folder: catalogued as a photo, recognised as derived by its content
    home, src, out = _made(tmp_path, make_jpeg, watch_exports=True)
    with Library(resolve_paths(home)) as lib:
        source, derived = lib.photo_by_path(src), lib.photo_by_path(out)
        assert source is not None and derived is not None
        src_info, out_info = lib.photo_info(source.id), lib.photo_info(derived.id)
        assert src_info is not None and out_info is not None
        said = lineage.summary(src_info["lineage"])
        assert said["exported"] == "Exported once" and said["derived"] is None
        assert str(out) in said["exports"][0] and "Web 2048 px" in said["exports"][0]
        said = lineage.summary(out_info["lineage"])
        assert said["derived"] == "Derived from IMG_1234.jpg by Web 2048 px" and said["exported"] is None
        # the source photo moved: its lineage follows the row, not the old path
        moved = src.parent / "sub" / "IMG_1234.jpg"
        moved.parent.mkdir()
        src.rename(moved)
        lib.scan()
        out_info = lib.photo_info(derived.id)
        assert out_info is not None and out_info["lineage"]["derived_from"][0]["path"] == str(moved)
    info = json.loads(run_cli(home, "info", str(out), "--json", check=True).stdout)
    assert info["lineage"]["derived_from"][0]["recipe_name"] == "Web 2048 px"


def test_summary_counts_exports() -> None:
    row = {
        "path": "/x/a.jpg",
        "recipe": "web-2048",
        "recipe_name": "Web 2048 px",
        "time": "2026-01-02T03:04:05",
    }
    said = lineage.summary({"derived_from": [], "outputs": [dict(row, task=None)] * 3})
    assert said["exported"] == "Exported 3 times" and len(said["exports"]) == 3
    assert said["exports"][0] == "/x/a.jpg · Web 2048 px · 2026-01-02 03:04:05"
    # the same bytes made twice from one source are one source; another source is counted
    twice = [dict(row, content_hash="aa", path="/p/IMG_1.jpg")] * 2
    assert (
        lineage.summary({"derived_from": twice, "outputs": []})["derived"]
        == "Derived from IMG_1.jpg by Web 2048 px"
    )
    both = [*twice, dict(row, content_hash="bb", path="/p/IMG_2.jpg")]
    said = lineage.summary({"derived_from": both, "outputs": []})
    assert said["derived"] == "Derived from IMG_1.jpg by Web 2048 px (and 1 other source)"


def test_an_original_export_is_a_copy_of_its_source_not_its_parent(
    tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    """*Original* writes a byte-identical copy: the source must not read as derived from itself, nor the copy
    as the one that was exported."""
    home, pics, out = tmp_path / "home", tmp_path / "pics", tmp_path / "out"
    pics.mkdir()
    src = make_jpeg(pics / "IMG_1.jpg")
    run_cli(home, "add", str(pics), check=True)
    run_cli(home, "process", "original", str(src), "--out", str(out), check=True)
    copy = out / "IMG_1.jpg"
    assert copy.read_bytes() == src.read_bytes()

    of_source = json.loads(run_cli(home, "lineage", str(src), "--json", check=True).stdout)
    assert of_source["derived_from"] == [] and [o["path"] for o in of_source["outputs"]] == [str(copy)]
    of_copy = json.loads(run_cli(home, "lineage", str(copy), "--json", check=True).stdout)
    assert [d["path"] for d in of_copy["derived_from"]] == [str(src)] and of_copy["outputs"] == []


def test_an_export_served_from_the_cache_names_its_source_once(tmp_path: Path, make_jpeg: MakeJpeg) -> None:
    """Three exports of one photo by one recipe are the same bytes: each output is derived from that photo
    once, not once per export; the plain ``info`` says it in words, and an Original's sidecar is no export."""
    home, pics = tmp_path / "home", tmp_path / "pics"
    pics.mkdir()
    src = make_jpeg(pics / "IMG_1.jpg")
    (pics / "IMG_1.jpg.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>'
    )
    run_cli(home, "add", str(pics), check=True)
    for out in ("a", "b", "c"):
        run_cli(home, "process", "web-2048", str(src), "--out", str(tmp_path / out), check=True)
    made = json.loads(run_cli(home, "lineage", str(tmp_path / "b" / "IMG_1_web-2048.jpg"), "--json").stdout)
    assert [d["path"] for d in made["derived_from"]] == [str(src)]
    run_cli(home, "process", "original", str(src), "--out", str(tmp_path / "orig"), check=True)
    assert (tmp_path / "orig" / "IMG_1.jpg").is_file()
    outputs = json.loads(run_cli(home, "lineage", str(src), "--json").stdout)["outputs"]
    assert len(outputs) == 4 and not any(o["path"].endswith(".xmp") for o in outputs)
    info = run_cli(home, "info", str(src), check=True).stdout
    assert "Exported 4 times" in info and "derived_from" not in info
