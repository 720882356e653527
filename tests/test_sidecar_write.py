"""Shoebox writes what people give their photos into XMP sidecars that other tools read.

Checked with three readers: Shoebox's own (``ingest.xmp``), exiv2, and exiftool
(skipped where it is not installed). Also: merging keeps other programs' fields,
a removed tag leaves every list, a read-only folder keeps the write pending with
its reason, a killed write leaves no half sidecar, Shoebox's own write is not
read back as an outside change while another program's edit after it wins,
embedding, the trash taking sidecars along, and the CLI.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import exiv2
import pytest

from desktop.core.catalog import sidecar_queue
from desktop.core.catalog.db import database
from desktop.core.ingest import sidecars, xmp, xmp_write
from desktop.core.library import Library, photo_tags
from desktop.core.runtime import messages
from tests.conftest import MakeJpeg, run_cli

DARKTABLE = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:darktable="http://darktable.sf.net/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
   xmp:Rating="2"
   crs:Exposure2012="+0.50"
   darktable:history_end="2">
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:num="0" darktable:operation="exposure" darktable:enabled="1" darktable:params="00ff"/>
     <rdf:li darktable:num="1" darktable:operation="colorin" darktable:enabled="1" darktable:params="gz12eJ"/>
    </rdf:Seq>
   </darktable:history>
   <dc:subject><rdf:Bag><rdf:li>Old</rdf:li></rdf:Bag></dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def exiv2_read(path: Path) -> dict[str, str]:
    image = exiv2.ImageFactory.open(str(path))
    image.readMetadata()
    return {d.key(): d.toString() for d in image.xmpData()}


def one_photo(
    library: Library, folder: Path, make_jpeg: MakeJpeg, name: str = "IMG_1.jpg"
) -> tuple[Path, int]:
    photo = make_jpeg(folder / name)
    library.add_root(folder)
    library.scan()
    found = library.photo_by_path(photo)
    assert found is not None
    return photo, found.id


def test_tags_rating_label_title_round_trip_through_three_readers(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    photo, pid = one_photo(library, tmp_path / "pics", make_jpeg)
    library.add_tag("Places/France/Paris", [pid])
    library.add_tag("Sunset", [pid])
    library.set_rating([pid], 4)
    library.set_color_label([pid], "orange")
    library.set_title([pid], "Tour Eiffel")
    library.set_description([pid], "From the Trocadéro")
    assert sidecar_queue.count() == 1
    report = library.write_sidecars()
    assert (report.written, report.failed) == (1, [])
    sidecar = Path(str(photo) + ".xmp")

    ours = xmp.read_sidecar(str(sidecar))
    assert sorted(ours.tags) == ["Places/France/Paris", "Sunset"]
    assert (ours.rating, ours.label, ours.title, ours.description) == (
        4,
        "orange",
        "Tour Eiffel",
        "From the Trocadéro",
    )
    raw = exiv2_read(sidecar)
    assert raw["Xmp.lr.hierarchicalSubject"] == "Places|France|Paris, Sunset"
    assert raw["Xmp.digiKam.TagsList"] == "Places/France/Paris, Sunset"
    assert raw["Xmp.dc.subject"] == "Paris, Sunset"
    assert raw["Xmp.digiKam.ColorLabel"] == "2"
    assert "Xmp.xmp.Label" not in raw  # orange is not one of Lightroom's five
    assert sidecar_queue.count() == 0
    assert not list(sidecar.parent.glob(".*shoebox-tmp"))

    if shutil.which("exiftool") is None:
        pytest.skip("exiftool is not installed")
    out = subprocess.run(
        [
            "exiftool",
            "-j",
            "-XMP-lr:HierarchicalSubject",
            "-XMP-dc:Subject",
            "-XMP-digiKam:TagsList",
            str(sidecar),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(out.stdout)[0]
    assert seen["HierarchicalSubject"] == ["Places|France|Paris", "Sunset"]
    assert seen["Subject"] == ["Paris", "Sunset"]
    assert seen["TagsList"] == ["Places/France/Paris", "Sunset"]


def test_merge_keeps_foreign_fields_and_a_removed_tag_leaves_every_list(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    folder = tmp_path / "pics"
    sidecar = folder / "IMG_1.jpg.xmp"
    folder.mkdir()
    sidecar.write_text(DARKTABLE)
    photo, pid = one_photo(library, folder, make_jpeg)
    assert photo_tags(pid) == ["Old"]  # read at the scan
    library.add_tag("Trip/Rome", [pid])
    library.write_sidecars()
    raw = exiv2_read(sidecar)
    assert raw["Xmp.crs.Exposure2012"] == "+0.50"
    assert raw["Xmp.darktable.history[2]/darktable:operation"] == "colorin"
    assert raw["Xmp.darktable.history[1]/darktable:params"] == "00ff"
    assert raw["Xmp.darktable.history_end"] == "2"
    assert raw["Xmp.dc.subject"] == "Old, Rome"

    library.remove_tag("Old", [pid])
    library.remove_tag("Trip/Rome", [pid])
    library.write_sidecars()
    raw = exiv2_read(sidecar)
    for key in ("Xmp.dc.subject", "Xmp.lr.hierarchicalSubject", "Xmp.digiKam.TagsList"):
        assert key not in raw
    assert raw["Xmp.darktable.history[2]/darktable:operation"] == "colorin"
    assert xmp.read_sidecar(str(sidecar)).tags == []


def read_only_replace(_src: str, dst: str) -> None:
    raise OSError(errno.EROFS, "Read-only file system", dst)


def test_read_only_folder_stays_pending_with_its_reason_then_succeeds(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "pics"
    photo, pid = one_photo(library, folder, make_jpeg)
    told: list[str] = []
    stop = messages.register(lambda _level, text: told.append(text))
    try:
        library.add_tag("Kept", [pid])
        with monkeypatch.context() as patch:
            if os.geteuid() == 0:  # root writes into a read-only folder: the rename fails as a mount would
                patch.setattr(xmp_write.os, "replace", read_only_replace)
            folder.chmod(0o555)
            try:
                report = library.write_sidecars()
            finally:
                folder.chmod(0o755)
    finally:
        stop()
    # root's writes fail as a read-only mount's (EROFS); anyone else's as a folder without permission
    why = "folder is read-only" if os.geteuid() == 0 else "no permission to write"
    assert report.written == 0 and report.failed[0][1] == why
    assert told == [
        f"1 sidecar could not be written: {why} ({photo}.xmp); "
        "the catalog keeps the change and Shoebox will try again."
    ]
    assert photo_tags(pid) == ["Kept"]
    status = library.sidecar_status()
    assert status["pending"] == 1
    assert status["failed"] == [{"path": str(photo), "reason": why}]
    assert not list(folder.glob(".*"))  # no temporary file left behind

    assert library.write_sidecars().written == 1  # retried at the next drain
    assert xmp.read_sidecar(str(photo) + ".xmp").tags == ["Kept"]
    assert library.sidecar_status()["failed"] == []


def test_a_killed_write_leaves_the_old_sidecar_whole(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "pics"
    folder.mkdir()
    (folder / "IMG_1.jpg.xmp").write_text(DARKTABLE)
    photo, pid = one_photo(library, folder, make_jpeg)
    before = (folder / "IMG_1.jpg.xmp").read_bytes()
    library.add_tag("New", [pid])

    def killed(_src: str, _dst: str) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(xmp_write.os, "replace", killed)
    report = library.write_sidecars(notify=False)
    assert report.failed and (folder / "IMG_1.jpg.xmp").read_bytes() == before
    assert not list(folder.glob(".*shoebox-tmp"))
    monkeypatch.undo()
    # a temporary file that a kill left is overwritten, and never read as a sidecar
    xmp_write.temp_path(str(folder / "IMG_1.jpg.xmp"))
    Path(xmp_write.temp_path(str(folder / "IMG_1.jpg.xmp"))).write_text("<half")
    assert library.scan().sidecar_orphans == 0
    assert library.write_sidecars().written == 1
    assert "New" in xmp.read_sidecar(str(folder / "IMG_1.jpg.xmp")).tags


def test_our_write_is_not_an_outside_change_but_a_later_edit_wins(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    folder = tmp_path / "pics"
    photo, pid = one_photo(library, folder, make_jpeg)
    library.add_tag("Mine", [pid])
    library.set_rating([pid], 3)
    library.write_sidecars()
    report = library.scan()
    assert report.unchanged == 1  # the walk matched our write's mtime: the photo was not read again
    library.set_rating([pid], 5)  # and a later edit in Shoebox is not undone by the scan
    library.remove_tag("Mine", [pid])
    library.write_sidecars()
    library.scan()
    row = library.photo(pid)
    assert row is not None and row.rating == 5 and photo_tags(pid) == []

    sidecar = Path(str(photo) + ".xmp")
    text = sidecar.read_text().replace('xmp:Rating="5"', 'xmp:Rating="1"')
    assert 'xmp:Rating="1"' in text
    sidecar.write_text(text)
    os.utime(sidecar, (sidecar.stat().st_atime, sidecar.stat().st_mtime + 5))
    library.scan()
    row = library.photo(pid)
    assert row is not None and row.rating == 1 and photo_tags(pid) == []


def test_undo_and_date_place_edits_mark_photos_and_write_them(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    folder = tmp_path / "pics"
    photo, pid = one_photo(library, folder, make_jpeg)
    library.set_dates([pid], dt.datetime(2024, 7, 3, 14, 5))
    library.set_place([pid], (48.8584, -2.2945))
    library.write_sidecars()
    raw = exiv2_read(Path(str(photo) + ".xmp"))
    assert raw["Xmp.exif.DateTimeOriginal"].startswith("2024-07-03T14:05")
    assert raw["Xmp.exif.GPSLatitude"].endswith("N") and raw["Xmp.exif.GPSLongitude"].endswith("W")
    library.add_tag("Undone", [pid])
    library.write_sidecars()
    library.undo()
    assert sidecar_queue.count() == 1
    library.write_sidecars()
    assert xmp.read_sidecar(str(photo) + ".xmp").tags == []


def test_writing_off_keeps_the_marks_and_writes_them_once_on_and_lightroom_naming(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    folder = tmp_path / "pics"
    photo, pid = one_photo(library, folder, make_jpeg)
    library.set_setting(sidecar_queue.SETTING_WRITE, "off")
    drains: list[None] = []
    stop = sidecar_queue.on_marked(lambda: drains.append(None))
    try:
        library.add_tag("Quiet", [pid])
    finally:
        stop()
    assert drains == []  # no drain is started while writing is off ...
    assert sidecar_queue.count() == 1 and library.write_sidecars().off  # ... but the change waits
    assert not list(folder.glob("*.xmp"))
    library.set_setting(sidecar_queue.SETTING_WRITE, "sidecars")
    library.set_setting(sidecar_queue.SETTING_NAMING, "name.xmp")
    assert library.write_sidecars().written == 1
    assert sidecar_queue.count() == 0
    assert (folder / "IMG_1.xmp").exists() and not Path(str(photo) + ".xmp").exists()
    assert xmp.read_sidecar(str(folder / "IMG_1.xmp")).tags == ["Quiet"]


def test_an_existing_lightroom_sidecar_gets_the_change_rather_than_a_second_sidecar(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    folder = tmp_path / "pics"
    photo = make_jpeg(folder / "IMG_1.jpg")
    (folder / "IMG_1.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="5"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    library.scan([library.add_root(folder)])
    (pid,) = [p.id for p in library.query()]
    library.add_tag("Trips/Lisbon", [pid])  # the naming setting says name.ext.xmp (the default)
    assert library.write_sidecars().written == 1
    assert not Path(str(photo) + ".xmp").exists()
    back = xmp.read_sidecar(str(folder / "IMG_1.xmp"))
    assert back.tags == ["Trips/Lisbon"] and back.rating == 5


def test_embed_writes_into_a_jpeg_and_leaves_a_heic_alone(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    folder = tmp_path / "pics"
    photo = make_jpeg(folder / "IMG_1.jpg")
    # a file named .heic (its bytes are a JPEG, which the scan reads): exiv2 is never asked to write into it
    heic = make_jpeg(folder / "IMG_2.heic", color=(10, 10, 200))
    library.add_root(folder)
    library.scan()
    ids = [p.id for p in (library.photo_by_path(f) for f in (photo, heic)) if p]
    assert len(ids) == 2
    heic_bytes = heic.read_bytes()
    library.set_setting(sidecar_queue.SETTING_WRITE, "embed")
    library.add_tag("Inside", ids)
    report = library.write_sidecars()
    assert (report.written, report.embedded, report.failed) == (2, 1, [])
    assert xmp.parse_xmp(exiv2_read_packet(photo)).tags == ["Inside"]
    assert heic.read_bytes() == heic_bytes
    assert xmp.read_sidecar(str(heic) + ".xmp").tags == ["Inside"]
    assert xmp.read_sidecar(str(photo) + ".xmp").tags == ["Inside"]


def exiv2_read_packet(path: Path) -> bytes:
    image = exiv2.ImageFactory.open(str(path))
    image.readMetadata()
    return (
        bytes(image.xmpPacket(), "utf-8") if isinstance(image.xmpPacket(), str) else bytes(image.xmpPacket())
    )


def test_the_trash_takes_sidecars_along_and_undo_brings_them_back(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg, xdg_trash: Path
) -> None:
    folder = tmp_path / "pics"
    photo, pid = one_photo(library, folder, make_jpeg)
    library.add_tag("Bin", [pid])
    library.write_sidecars()
    sidecar = Path(str(photo) + ".xmp")
    assert sidecar.exists()
    assert library.trash_photos([pid]).trashed == 1
    assert not photo.exists() and not sidecar.exists()
    assert sorted(p.name for p in (xdg_trash / "files").iterdir()) == ["IMG_1.jpg", "IMG_1.jpg.xmp"]
    library.undo()
    assert photo.exists() and sidecar.exists()


def test_orphans_are_counted(library: Library, tmp_path: Path, make_jpeg: MakeJpeg) -> None:
    folder = tmp_path / "pics"
    one_photo(library, folder, make_jpeg)
    (folder / "IMG_9.jpg.xmp").write_text(DARKTABLE)
    (folder / "IMG_1.xmp").write_text(DARKTABLE)  # Lightroom's name for IMG_1.jpg: not an orphan
    (folder / "GONE.xmp").write_text(DARKTABLE)
    assert library.sidecar_status()["orphans"] == 2
    assert library.status()["sidecar_orphans"] == 2
    assert sorted(Path(p).name for p in sidecars.orphans([str(folder)])) == ["GONE.xmp", "IMG_9.jpg.xmp"]


def cli_json(home: Path, *args: str) -> Any:
    return json.loads(run_cli(home, *args, check=True).stdout)


def test_cli_config_and_sidecars(tmp_path: Path, make_jpeg: MakeJpeg) -> None:
    home = tmp_path / "home"
    photo = make_jpeg(tmp_path / "pics" / "IMG_1.jpg")
    run_cli(home, "add", str(tmp_path / "pics"), check=True)
    assert cli_json(home, "config", "get", "--json") == {
        "metadata.write": "sidecars",
        "metadata.sidecar_name": "name.ext.xmp",
        "library.group_pairs": "on",
        "processing.cache_mb": "2048",
    }
    run_cli(home, "config", "set", "library.group_pairs", "off", check=True)
    assert cli_json(home, "pairs", "--json") == {"group_pairs": False}
    run_cli(home, "config", "set", "library.group_pairs", "on", check=True)
    bad = run_cli(home, "config", "set", "metadata.write", "always")
    assert bad.returncode == 1
    assert bad.stderr.strip() == ("shoebox: metadata.write is one of off, sidecars, embed, not 'always'.")
    assert run_cli(home, "config", "set", "nope", "1").returncode == 1
    run_cli(home, "config", "set", "metadata.write", "sidecars", check=True)
    assert run_cli(home, "config", "get", "metadata.write", check=True).stdout.strip() == "sidecars"
    assert (
        "library.group_pairs = on" in run_cli(home, "config", check=True).stdout
    )  # plain 'config' lists all
    assert "metadata.write: off|sidecars|embed" in run_cli(home, "config", "set", "--help").stdout
    # an edit command writes its own sidecars before it exits
    run_cli(home, "tag", "add", "Cli", str(photo), check=True)
    assert xmp.read_sidecar(str(photo) + ".xmp").tags == ["Cli"]
    assert cli_json(home, "sidecars", "status", "--json") == {
        "pending": 0,
        "failed": [],
        "orphans": 0,
        "mode": "sidecars",
        "naming": "name.ext.xmp",
    }
    os.unlink(str(photo) + ".xmp")
    assert cli_json(home, "sidecars", "write", "--all", "--json")["written"] == 1
    assert Path(str(photo) + ".xmp").exists()
    assert run_cli(home, "sidecars", "read", "--all", check=True).returncode == 0


def test_the_watcher_does_not_read_back_our_own_write(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desktop.core.ingest.scanner import Scanner
    from desktop.core.ingest.watcher import LibraryWatcher

    folder = tmp_path / "pics"
    photo, pid = one_photo(library, folder, make_jpeg)
    library.add_tag("Mine", [pid])
    library.write_sidecars()
    processed: list[list[str]] = []
    real = Scanner.process_paths

    def spy(self: Scanner, root: Any, rels: list[str], *rest: Any) -> Any:
        processed.append(list(rels))
        return real(self, root, rels, *rest)

    monkeypatch.setattr(Scanner, "process_paths", spy)
    watcher = LibraryWatcher(library)
    watcher._roots = library.roots()  # what start() sets, without an observer thread
    watcher.flush_paths([str(photo)])  # what the sidecar's events turn into
    assert processed == []
    sidecar = Path(str(photo) + ".xmp")
    os.utime(sidecar, (sidecar.stat().st_atime, sidecar.stat().st_mtime + 3))  # another program's edit
    watcher.flush_paths([str(photo)])
    assert processed == [["IMG_1.jpg"]]


def test_a_photo_renamed_outside_takes_its_sidecars_along(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    from desktop.core.ingest.watcher import LibraryWatcher

    folder = tmp_path / "pics"
    photo, pid = one_photo(library, folder, make_jpeg)
    make_jpeg(folder / "IMG_2.jpg", color=(10, 200, 10))
    library.scan()
    lightroom = folder / "IMG_2.xmp"
    lightroom.write_text(DARKTABLE, encoding="utf-8")
    library.add_tag("Mine", [pid])
    library.write_sidecars()
    watcher = LibraryWatcher(library)
    watcher._roots = library.roots()  # what start() sets, without an observer thread
    (folder / "sub").mkdir()
    for old, new in ((photo, folder / "sub" / "beach.jpg"), (folder / "IMG_2.jpg", folder / "dune.jpg")):
        os.rename(old, new)  # a file manager moves the photo alone
        watcher._moved(str(old), str(new), False)  # the event it makes
    assert not Path(str(photo) + ".xmp").exists() and not lightroom.exists()
    assert xmp.read_sidecar(str(folder / "sub" / "beach.jpg.xmp")).tags == ["Mine"]
    assert (folder / "dune.xmp").exists()
    assert library.photo_by_path(folder / "sub" / "beach.jpg") is not None


def test_a_raw_and_its_jpeg_share_a_lightroom_sidecar(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg, make_dng: Any
) -> None:
    folder = tmp_path / "pics"
    taken = dt.datetime(2024, 7, 3, 14, 5)
    make_jpeg(folder / "IMG_1.jpg", taken=taken)
    make_dng(folder / "IMG_1.dng", taken=taken)  # the camera's twins: one item
    library.add_root(folder)
    library.scan()
    cover = library.photo_by_path(folder / "IMG_1.jpg")
    assert cover is not None
    library.set_setting(sidecar_queue.SETTING_NAMING, "name.xmp")
    library.add_tag("Both", [cover.id])  # reaches the RAW too
    report = library.write_sidecars()
    assert (report.written, report.failed) == (2, [])
    assert xmp.read_sidecar(str(folder / "IMG_1.xmp")).tags == ["Both"]
    assert sorted(p.name for p in folder.iterdir()) == ["IMG_1.dng", "IMG_1.jpg", "IMG_1.xmp"]


@pytest.mark.parametrize("naming", ["name.xmp", "name.ext.xmp"])
def test_two_shots_of_one_name_never_share_a_sidecar(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg, make_dng: Any, naming: str
) -> None:
    """A JPEG and a RAW of one name from other moments are two items; Lightroom's IMG_1.xmp is the RAW's
    and the JPEG's tags and rating go to IMG_1.jpg.xmp, so neither photo takes the other's."""
    folder = tmp_path / "pics"
    jpeg = make_jpeg(folder / "IMG_1.jpg", taken=dt.datetime(2013, 1, 14, 9, 0))
    raw = make_dng(folder / "IMG_1.dng", taken=dt.datetime(2024, 7, 3, 14, 5))
    library.add_root(folder)
    library.scan()
    j, r = library.photo_by_path(jpeg), library.photo_by_path(raw)
    assert j is not None and r is not None and len(library.query()) == 2
    library.set_setting(sidecar_queue.SETTING_NAMING, naming)
    if naming == "name.ext.xmp":  # Lightroom already keeps the RAW's sidecar under its name
        library.set_setting(sidecar_queue.SETTING_NAMING, "name.xmp")
        library.add_tag("RawOnly", [r.id])
        library.write_sidecars()
        library.set_setting(sidecar_queue.SETTING_NAMING, naming)
    else:
        library.add_tag("RawOnly", [r.id])
    library.set_rating([r.id], 5)
    library.add_tag("JpegOnly", [j.id])
    library.set_rating([j.id], 1)
    assert library.write_sidecars().failed == []
    assert xmp.read_sidecar(str(folder / "IMG_1.jpg.xmp")).tags == ["JpegOnly"]
    assert xmp.read_sidecar(str(folder / "IMG_1.jpg.xmp")).rating == 1
    raw_sidecar = folder / "IMG_1.xmp"  # the RAW keeps Lightroom's sidecar in both namings
    assert xmp.read_sidecar(str(raw_sidecar)).tags == ["RawOnly"]
    library.read_sidecars(everything=True)
    for pid, tags, rating in ((j.id, ["JpegOnly"], 1), (r.id, ["RawOnly"], 5)):
        info = library.photo_info(pid)
        assert info is not None and (info["tags"], info["rating"]) == (tags, rating)


def test_read_all_rereads_a_sidecar_whose_mtime_did_not_move(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    folder = tmp_path / "pics"
    photo, pid = one_photo(library, folder, make_jpeg)
    library.set_rating([pid], 2)
    library.write_sidecars()
    sidecar = Path(str(photo) + ".xmp")
    st = sidecar.stat()
    sidecar.write_text(sidecar.read_text().replace('xmp:Rating="2"', 'xmp:Rating="4"'))
    os.utime(sidecar, ns=(st.st_atime_ns, st.st_mtime_ns))  # a tool that kept the time
    library.read_sidecars()
    row = library.photo(pid)
    assert row is not None and row.rating == 2
    library.read_sidecars(everything=True)
    row = library.photo(pid)
    assert row is not None and row.rating == 4


def test_embedding_a_removed_tag_also_leaves_the_files_iptc_keywords(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    folder = tmp_path / "pics"
    photo = make_jpeg(folder / "IMG_1.jpg")
    image = exiv2.ImageFactory.open(str(photo))
    image.readMetadata()
    iptc = image.iptcData()
    iptc["Iptc.Application2.Keywords"] = "Old"
    image.setIptcData(iptc)
    image.writeMetadata()
    del image
    library.add_root(folder)
    library.scan()
    found = library.photo_by_path(photo)
    assert found is not None and photo_tags(found.id) == ["Old"]
    library.set_setting(sidecar_queue.SETTING_WRITE, "embed")
    library.remove_tag("Old", [found.id])
    library.add_tag("New", [found.id])
    assert library.write_sidecars().embedded == 1
    image = exiv2.ImageFactory.open(str(photo))
    image.readMetadata()
    assert [d.toString() for d in image.iptcData() if d.key() == "Iptc.Application2.Keywords"] == ["New"]


def test_a_failure_of_several_names_their_folder_and_the_first_and_permission_is_not_read_only(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "pics"
    for name in ("IMG_1.jpg", "IMG_2.jpg"):
        make_jpeg(folder / name)
    library.add_root(folder)
    library.scan()
    ids = [p.id for p in (library.photo_by_path(folder / n) for n in ("IMG_1.jpg", "IMG_2.jpg")) if p]
    library.add_tag("Kept", ids)
    told: list[str] = []
    stop = messages.register(lambda _level, text: told.append(text))
    try:
        with monkeypatch.context() as patch:
            patch.setattr(xmp_write.os, "replace", read_only_replace)
            library.write_sidecars()

        def immutable(_src: str, dst: str) -> None:  # chattr +i on the sidecar, in a writable folder
            raise OSError(errno.EPERM, "Operation not permitted", dst)

        with monkeypatch.context() as patch:
            patch.setattr(xmp_write.os, "replace", immutable)
            library.write_sidecars()
    finally:
        stop()
    assert told == [
        f"2 sidecars could not be written: folder is read-only ({folder}, first: IMG_1.jpg.xmp); "
        "the catalog keeps the change and Shoebox will try again.",
        f"2 sidecars could not be written: no permission to write ({folder}, first: IMG_1.jpg.xmp); "
        "the catalog keeps the change and Shoebox will try again.",
    ]
    assert sidecars.where(["/a/x.xmp", "/b/y.xmp"]) == "first: /a/x.xmp"
    assert xmp_write.reason(OSError(errno.EACCES, "Permission denied")) == "no permission to write"
    assert xmp_write.reason(OSError(errno.EROFS, "Read-only file system")) == "folder is read-only"


def test_write_all_writes_only_photos_with_user_data_or_a_sidecar(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    folder = tmp_path / "pics"
    names = ["tagged", "rejected", "label", "title", "dated", "sidecar", "untouched"]
    for name in names:
        make_jpeg(folder / f"{name}.jpg")
    (folder / "sidecar.jpg.xmp").write_text(DARKTABLE)  # a sidecar from darktable: brought up to date
    library.add_root(folder)
    library.scan()
    ids = {n: p.id for n in names if (p := library.photo_by_path(folder / f"{n}.jpg")) is not None}
    library.set_setting(sidecar_queue.SETTING_WRITE, "off")  # the edits only wait
    library.add_tag("Kept", [ids["tagged"]])
    library.set_rejected([ids["rejected"]])
    library.set_color_label([ids["label"]], "red")
    library.set_title([ids["title"]], "A title")
    library.set_dates([ids["dated"]], dt.datetime(2020, 5, 17, 10, 0))
    with database.atomic():  # as if the edits had been written before: nothing is pending
        database.execute_sql("DELETE FROM sidecar_pending")
    library.set_setting(sidecar_queue.SETTING_WRITE, "sidecars")
    report = library.write_sidecars(everything=True)
    assert (report.written, report.failed) == (6, [])
    assert sorted(p.name for p in folder.glob("*.xmp")) == [
        f"{n}.jpg.xmp" for n in sorted(names) if n != "untouched"
    ]
    assert xmp.read_sidecar(str(folder / "rejected.jpg.xmp")).rating == -1


def test_cli_off_keeps_changes_and_turning_it_on_writes_them_told_once(
    tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    home = tmp_path / "home"
    folder = tmp_path / "pics"
    photos = [make_jpeg(folder / f"IMG_{i}.jpg") for i in (1, 2, 3)]
    run_cli(home, "add", str(folder), check=True)
    run_cli(home, "config", "set", "metadata.write", "off", check=True)
    run_cli(home, "tag", "add", "Later", *map(str, photos), check=True)
    assert not list(folder.glob("*.xmp"))
    assert cli_json(home, "sidecars", "status", "--json")["pending"] == 3
    off = run_cli(home, "sidecars", "write")
    assert off.returncode == 1
    assert "3 photos' changes will be written when it is on" in off.stderr
    run_cli(home, "config", "set", "metadata.write", "sidecars", check=True)  # writes what waited
    assert [xmp.read_sidecar(str(p) + ".xmp").tags for p in photos] == [["Later"]] * 3
    assert cli_json(home, "sidecars", "status", "--json")["pending"] == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a folder without write permission")
def test_cli_sidecars_write_tells_a_failure_once(tmp_path: Path, make_jpeg: MakeJpeg) -> None:
    home = tmp_path / "home"
    folder = tmp_path / "pics"
    photo = make_jpeg(folder / "IMG_1.jpg")
    run_cli(home, "add", str(folder), check=True)
    folder.chmod(0o555)
    try:
        run_cli(home, "tag", "add", "X", str(photo), check=True)
        out = run_cli(home, "sidecars", "write")
    finally:
        folder.chmod(0o755)
    assert out.stderr.count("could not be written") == 1


def test_cli_sidecars_write_tells_a_failure_once_in_process(
    tmp_path: Path, make_jpeg: MakeJpeg, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from desktop.cli import main as cli_main

    home = tmp_path / "home"
    folder = tmp_path / "pics"
    photo = make_jpeg(folder / "IMG_1.jpg")
    monkeypatch.setenv("SHOEBOX_HOME", str(home))
    assert cli_main.run(["add", str(folder)]) == 0
    monkeypatch.setattr(xmp_write.os, "replace", read_only_replace)
    assert cli_main.run(["tag", "add", "X", str(photo)]) == 0
    capsys.readouterr()
    assert cli_main.run(["sidecars", "write"]) == 1
    err = capsys.readouterr().err
    assert err.count("could not be written") == 1, err
    assert "Wrote 0 sidecars." in err


def test_read_all_counts_only_photos_whose_values_changed(
    library: Library, tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    folder = tmp_path / "pics"
    for i in range(4):
        make_jpeg(folder / f"IMG_{i}.jpg")
    library.add_root(folder)
    library.scan()
    first = library.photo_by_path(folder / "IMG_0.jpg")
    assert first is not None
    library.set_rating([first.id], 2)
    library.write_sidecars()
    assert library.read_sidecars(everything=True).updated == 0
    sidecar = folder / "IMG_0.jpg.xmp"
    sidecar.write_text(sidecar.read_text().replace('xmp:Rating="2"', 'xmp:Rating="5"'))
    assert library.read_sidecars(everything=True).updated == 1
