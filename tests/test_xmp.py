"""Tags, ratings, labels, titles and descriptions from digiKam, Lightroom and darktable arrive in Shoebox.

Fixtures are written here by hand in the layouts those programs write: a digiKam
``name.ext.xmp`` (``digiKam:TagsList`` Seq, ``xmp:Rating``, ``digiKam:ColorLabel``), a
Lightroom ``name.xmp`` (``lr:hierarchicalSubject`` Bag with ``|``, ``dc:subject``,
``xmp:Label``, ``dc:title`` Alt), an attribute-style packet and a JPEG with embedded XMP
and IPTC keywords; and bad input: a sidecar that is not XML, an XML bomb, an orphan.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import struct
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from desktop.core import library as library_module
from desktop.core.catalog import db, filters
from desktop.core.ingest import user_data, xmp
from desktop.core.ingest.metadata import read_metadata
from desktop.core.library import Library, photo_tags
from desktop.core.runtime.paths import resolve_paths
from tests.conftest import run_cli

HEAD = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
)
TAIL = '</rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>'
NS = (
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
    'xmlns:lr="http://ns.adobe.com/lightroom/1.0/" xmlns:digiKam="http://www.digikam.org/ns/1.0/" '
    'xmlns:MicrosoftPhoto="http://ns.microsoft.com/photo/1.0/"'
)


def packet(body: str, attrs: str = "") -> str:
    return f'{HEAD}<rdf:Description rdf:about="" {NS} {attrs}>\n{body}\n</rdf:Description>{TAIL}'


def digikam(tags: list[str], rating: int = 4, label: int = 2) -> str:
    items = "".join(f"<rdf:li>{t}</rdf:li>" for t in tags)
    return packet(
        f"<digiKam:TagsList><rdf:Seq>{items}</rdf:Seq></digiKam:TagsList>"
        f"<xmp:Rating>{rating}</xmp:Rating><digiKam:ColorLabel>{label}</digiKam:ColorLabel>"
    )


def lightroom(hierarchical: list[str], subjects: list[str], label: str = "Red", title: str = "Eiffel") -> str:
    bag = "".join(f"<rdf:li>{t}</rdf:li>" for t in hierarchical)
    flat = "".join(f"<rdf:li>{t}</rdf:li>" for t in subjects)
    return packet(
        f"<lr:hierarchicalSubject><rdf:Bag>{bag}</rdf:Bag></lr:hierarchicalSubject>"
        f"<dc:subject><rdf:Bag>{flat}</rdf:Bag></dc:subject>"
        '<dc:title><rdf:Alt><rdf:li xml:lang="fr">Tour</rdf:li>'
        f'<rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>',
        f'xmp:Label="{label}"',
    )


BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    + ']>\n<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>&lol9;</dc:title>'
    "</rdf:Description></rdf:RDF></x:xmpmeta>"
)


# ------------------------------------------------------------------------ parsing


def test_digikam_sidecar() -> None:
    data = xmp.parse_xmp(digikam(["Places/France/Paris", "People/Anna"]).encode())
    assert data.tags == ["Places/France/Paris", "People/Anna"]
    assert (data.rating, data.label) == (4, "orange")


def test_lightroom_sidecar_merges_flat_subjects_into_their_hierarchy() -> None:
    data = xmp.parse_xmp(lightroom(["Places|Paris", "People|Anna"], ["Paris", "Anna", "holiday"]).encode())
    # "Paris" in dc:subject is the leaf of Places|Paris: one tag, not also a top-level Paris
    assert data.tags == ["Places/Paris", "People/Anna", "holiday"]
    assert (data.label, data.title) == ("red", "Eiffel")


def test_attribute_style_packet_and_microsoft_fields() -> None:
    text = packet(
        "<MicrosoftPhoto:LastKeywordXMP><rdf:Bag><rdf:li>Trips/Rome</rdf:li></rdf:Bag>"
        "</MicrosoftPhoto:LastKeywordXMP>",
        'MicrosoftPhoto:Rating="75" xmp:Label="Purple" dc:title="Colosseum" dc:description="At dusk"',
    )
    data = xmp.parse_xmp(text.encode())
    assert data.tags == ["Trips/Rome"]
    assert (data.rating, data.label, data.title, data.description) == (4, "purple", "Colosseum", "At dusk")
    # xmp:Rating wins over Microsoft's scale wherever both are present
    both = packet("", 'MicrosoftPhoto:Rating="99" xmp:Rating="2"')
    assert xmp.parse_xmp(both.encode()).rating == 2


@pytest.mark.parametrize(
    ("value", "stars"), [(0, 0), (1, 1), (25, 2), (50, 3), (75, 4), (99, 5), (120, None)]
)
def test_microsoft_rating_scale(value: int, stars: int | None) -> None:
    assert xmp.microsoft_rating(str(value)) == stars


def test_rejected_is_kept_as_the_catalogs_rejected_flag() -> None:
    data = xmp.parse_xmp(packet("", 'xmp:Rating="-1"').encode())
    assert data.rating == xmp.REJECTED == filters.REJECTED
    assert user_data.changes({"rating": 0}, None, data) == {"rating": filters.REJECTED}
    # a photo the person rated in Shoebox is not rejected by a first read...
    assert user_data.changes({"rating": 3}, None, data) == {}
    # ...but a photo that was 3 stars in the sidecar and is now rejected there is rejected
    before = xmp.OutsideData(rating=3)
    assert user_data.changes({"rating": 3}, before, data) == {"rating": filters.REJECTED}
    # and one the sidecar unrejects comes back unrated
    assert user_data.changes({"rating": -1}, data, xmp.OutsideData(rating=0)) == {"rating": 0}


def test_label_names_are_shoeboxs() -> None:
    assert set(xmp.DIGIKAM_LABELS.values()) == set(library_module.COLOR_LABELS)


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"\x89PNG\r\n\x1a\n not xml at all Rating", "not valid XML"), (BOMB.encode(), "refused")],
)
def test_a_sidecar_that_is_not_xml_or_is_a_bomb_gives_a_reason(content: bytes, reason: str) -> None:
    started = time.monotonic()
    with pytest.raises(xmp.XmpError, match=reason):
        xmp.parse_xmp(content)
    assert time.monotonic() - started < 1


def test_both_sidecars_are_read_and_name_ext_xmp_wins_for_scalars(tmp_path: Path) -> None:
    photo = tmp_path / "IMG_1.jpg"
    photo.write_bytes(b"")
    (tmp_path / "IMG_1.jpg.xmp").write_text(digikam(["People/Anna"], rating=5, label=4))
    (tmp_path / "IMG_1.xmp").write_text(lightroom(["Places|Paris"], ["Paris"], label="Red"))
    found = xmp.read_sidecars(str(photo))
    assert found.data.tags == ["People/Anna", "Places/Paris"]
    assert (found.data.rating, found.data.label, found.data.title) == (5, "green", "Eiffel")
    assert found.errors == [] and found.mtime is not None


def test_embedded_xmp_and_iptc_keywords_are_read_as_tags() -> None:
    buf = io.BytesIO()
    text = lightroom(["Places|Paris"], ["Paris"], label="Yellow", title="Embedded")
    Image.new("RGB", (32, 24), (10, 20, 30)).save(buf, "JPEG", xmp=text.encode())
    iptc = b"".join(struct.pack(">BBBH", 0x1C, 2, 25, len(k)) + k for k in (b"Paris", b"sunset"))
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iptc)) + iptc
    payload = b"Photoshop 3.0\x00" + resource + b"\x00" * (len(iptc) % 2)
    jpeg = buf.getvalue()
    jpeg = jpeg[:2] + b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]
    meta = read_metadata(jpeg, Image.open(io.BytesIO(jpeg)), 0.0)
    assert meta.file_tags == ["Places/Paris", "sunset"]
    assert (meta.file_label, meta.title, meta.keywords) == ("yellow", "Embedded", ["Paris"])


# --------------------------------------------------------------- the catalog


def _info(home: Path, path: Path) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(run_cli(home, "info", "--json", str(path), check=True).stdout)
    return record[0] if isinstance(record, list) else record


def _touch_later(path: Path) -> None:
    st = path.stat()
    os.utime(path, (st.st_atime, st.st_mtime + 5))


@pytest.fixture
def folder(tmp_path: Path, make_jpeg: Any) -> Path:
    pics = tmp_path / "pics"
    make_jpeg(pics / "IMG_1.jpg", color=(10, 10, 10))
    make_jpeg(pics / "IMG_2.jpg", color=(20, 20, 20))
    make_jpeg(pics / "IMG_3.jpg", color=(30, 30, 30))
    make_jpeg(pics / "IMG_4.jpg", color=(40, 40, 40))
    (pics / "IMG_1.jpg.xmp").write_text(digikam(["Places/France/Paris", "People/Anna"]))
    (pics / "IMG_2.xmp").write_text(lightroom(["Places|Paris"], ["Paris", "holiday"]))
    (pics / "IMG_3.jpg.xmp").write_bytes(b"\x00\x01 this is not XML")
    (pics / "IMG_4.jpg.xmp").write_text(BOMB)
    (pics / "deleted.jpg.xmp").write_text(digikam(["Orphan"]))
    return pics


def test_sidecars_arrive_on_add_and_outside_edits_on_rescan(tmp_path: Path, folder: Path) -> None:
    home = tmp_path / "home"
    # reading alone: Shoebox's own sidecar writes (tests/test_sidecar_write.py) would change the sidecars
    run_cli(home, "config", "set", "metadata.write", "off", check=True)
    report = json.loads(run_cli(home, "add", str(folder), "--json", check=True).stdout)
    assert (report["added"], report["errors"], report["sidecar_orphans"]) == (4, 0, 1)
    assert sum("IMG_3.jpg.xmp: not valid XML" in w for w in report["warnings"]) == 1
    assert sum("IMG_4.jpg.xmp: refused" in w for w in report["warnings"]) == 1

    one, two = _info(home, folder / "IMG_1.jpg"), _info(home, folder / "IMG_2.jpg")
    assert (one["tags"], one["rating"], one["color_label"]) == (
        ["People/Anna", "Places/France/Paris"],
        4,
        "orange",
    )
    assert (two["tags"], two["color_label"], two["title"]) == (["Places/Paris", "holiday"], "red", "Eiffel")
    assert _info(home, folder / "IMG_3.jpg")["tags"] == []  # the photo itself is catalogued

    # the person works in Shoebox: a tag of their own and a new title
    run_cli(home, "tag", "add", "mine", str(folder / "IMG_1.jpg"), check=True)
    run_cli(home, "title", "My title", str(folder / "IMG_1.jpg"), check=True)
    # then digiKam changes the sidecar: a new tag and a new rating (no title there)
    sidecar = folder / "IMG_1.jpg.xmp"
    sidecar.write_text(digikam(["Places/France/Paris", "People/Anna", "Events/Wedding"], rating=2))
    _touch_later(sidecar)
    report = json.loads(run_cli(home, "scan", "--json", check=True).stdout)
    assert (report["updated"], report["unchanged"]) == (1, 3)  # only IMG_1 is read again; a bad sidecar once
    one = _info(home, folder / "IMG_1.jpg")
    assert one["tags"] == ["Events/Wedding", "People/Anna", "Places/France/Paris", "mine"]
    assert (one["rating"], one["color_label"], one["title"]) == (2, "orange", "My title")

    # the person removes a sidecar tag and re-rates; a rescan with the sidecar untouched changes nothing
    run_cli(home, "tag", "remove", "People/Anna", str(folder / "IMG_1.jpg"), check=True)
    run_cli(home, "rate", "5", str(folder / "IMG_1.jpg"), check=True)
    report = json.loads(run_cli(home, "scan", "--json", check=True).stdout)
    assert report["updated"] == 0
    # nor does a sidecar change elsewhere: only what changed in it wins
    sidecar.write_text(digikam(["Places/France/Paris", "People/Anna", "Events/Wedding"], rating=2, label=5))
    _touch_later(sidecar)
    run_cli(home, "scan", check=True)
    one = _info(home, folder / "IMG_1.jpg")
    assert one["tags"] == ["Events/Wedding", "Places/France/Paris", "mine"]
    assert (one["rating"], one["color_label"]) == (5, "blue")


def test_a_catalog_from_before_gets_embedded_and_sidecar_data_once(tmp_path: Path, make_jpeg: Any) -> None:
    pics = tmp_path / "pics"
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (1, 2, 3)).save(buf, "JPEG", xmp=lightroom(["Places|Oslo"], ["Oslo"]).encode())
    (pics / "old.jpg").parent.mkdir(parents=True)
    (pics / "old.jpg").write_bytes(buf.getvalue())
    make_jpeg(pics / "side.jpg")
    (pics / "side.xmp").write_text(digikam(["People/Ola"], rating=3, label=7))
    home = tmp_path / "home"
    lib = Library(resolve_paths(home))
    try:
        lib.add_root(pics)
        lib.scan()
    finally:
        lib.close()
    # what the same library looked like under schema v2: no tags came from the files
    catalog = home / "catalog.sqlite3"
    conn = sqlite3.connect(catalog)
    with conn:
        conn.execute("DELETE FROM photo_tag")
        conn.execute("UPDATE photo SET color_label = NULL, title = NULL")
        conn.execute("ALTER TABLE photo DROP COLUMN xmp_mtime")
        conn.execute("ALTER TABLE photo DROP COLUMN xmp_state")
        for column in ("media_kind", "duration", "video_codec", "frame_rate"):  # v4's
            conn.execute(f"ALTER TABLE photo DROP COLUMN {column}")
        conn.execute("PRAGMA user_version = 2")
    conn.close()
    assert db.SCHEMA_VERSION >= 3

    lib = Library(resolve_paths(home))
    try:
        report = lib.scan()
        assert (report.updated, report.unchanged) == (2, 0)
        old, side = (lib.photo_by_path(pics / n) for n in ("old.jpg", "side.jpg"))
        assert old is not None and side is not None
        assert (photo_tags(old.id), old.title, old.color_label) == (["Places/Oslo"], "Eiffel", "red")
        assert (photo_tags(side.id), side.rating, side.color_label) == (["People/Ola"], 3, "grey")
        lib.remove_tag("Places/Oslo", [old.id])
        report = lib.scan()  # once: the next scans read nothing and give back no removed tag
        assert (report.updated, report.unchanged) == (0, 2)
        assert photo_tags(old.id) == []
    finally:
        lib.close()


def test_raws_and_videos_take_their_sidecars_too(
    library: Any, tmp_path: Path, make_dng: Any, make_video: Any
) -> None:
    # Lightroom writes IMG_1.xmp beside RAWs above all; digiKam writes clip.mp4.xmp beside videos
    folder = tmp_path / "card"
    make_dng(folder / "IMG_1.dng")
    (folder / "IMG_1.xmp").write_text(lightroom(["Places|Paris"], ["Paris"]), encoding="utf-8")
    make_video(folder / "clip.mp4")
    (folder / "clip.mp4.xmp").write_text(digikam(["Events/Wedding"], rating=5), encoding="utf-8")
    library.add_root(folder)
    library.scan()
    raw = library.info(folder / "IMG_1.dng")
    video = library.info(folder / "clip.mp4")
    assert raw["tags"] == ["Places/Paris"] and raw["color_label"] == "red" and raw["title"] == "Eiffel"
    assert video["tags"] == ["Events/Wedding"] and video["rating"] == 5


def test_a_rejected_sidecar_and_windows_keywords_arrive_in_the_catalog(
    library: Any, tmp_path: Path, make_jpeg: Any
) -> None:
    folder = tmp_path / "pics"
    make_jpeg(folder / "out_of_focus.jpg", color=(10, 10, 10))
    (folder / "out_of_focus.jpg.xmp").write_text(digikam(["Trips/Rome"], rating=-1), encoding="utf-8")
    windows = Image.Exif()
    windows[0x9C9E] = "Family;Holiday".encode("utf-16-le") + b"\x00\x00"
    Image.new("RGB", (48, 32), (90, 30, 30)).save(folder / "tagged_in_explorer.jpg", exif=windows.tobytes())
    library.add_root(folder)
    library.scan()
    rejected = library.info(folder / "out_of_focus.jpg")
    assert (rejected["rating"], rejected["rejected"], rejected["tags"]) == (-1, True, ["Trips/Rome"])
    assert library.count(filters.PhotoFilter(rejected=True)) == 1
    assert library.count(filters.PhotoFilter(rating_min=0)) == 1  # a rejected photo has no stars, not 0
    assert library.info(folder / "tagged_in_explorer.jpg")["tags"] == ["Family", "Holiday"]


def test_reject_on_the_command_line_is_undoable_and_listed(tmp_path: Path, make_jpeg: Any) -> None:
    home, folder = tmp_path / "home", tmp_path / "pics"
    for i in range(3):
        make_jpeg(folder / f"{i}.jpg", color=(i * 40, 10, 10))
    run_cli(home, "add", str(folder), check=True)
    run_cli(home, "rate", "4", str(folder / "0.jpg"), check=True)
    out = run_cli(home, "reject", "--json", str(folder / "0.jpg"), str(folder / "1.jpg"), check=True)
    assert json.loads(out.stdout) == {"photos": 2, "changed": 2, "rejected": True}
    listed = run_cli(home, "ls", "--rejected", check=True).stdout
    assert "0.jpg" in listed and "1.jpg" in listed and "2.jpg" not in listed
    assert "1.jpg" not in run_cli(home, "ls", "--rating", "0", check=True).stdout
    # a query of filters alone lists its photos without a score column (every hit would say 0.0000)
    found = run_cli(home, "search", "is:rejected", check=True).stdout.split()
    assert sorted(Path(p).name for p in found) == ["0.jpg", "1.jpg"]
    hits = json.loads(run_cli(home, "search", "--json", "is:rejected", check=True).stdout)
    assert [h["score"] for h in hits] == [None, None]
    run_cli(home, "undo", check=True)
    assert _info(home, folder / "0.jpg")["rating"] == 4  # undo brings the stars back
    run_cli(home, "redo", check=True)
    out = run_cli(
        home, "reject", "--clear", "--json", str(folder / "0.jpg"), str(folder / "2.jpg"), check=True
    )
    assert json.loads(out.stdout)["changed"] == 1  # 2.jpg was not rejected
    assert (_info(home, folder / "0.jpg")["rating"], _info(home, folder / "0.jpg")["rejected"]) == (0, False)


def test_a_scan_links_sidecar_tags_per_batch_not_per_photo(
    library: Any, tmp_path: Path, make_jpeg: Any
) -> None:
    """Looking each photo and each tag up through Peewee cost 4 ms a photo: a scan with sidecars was
    a quarter slower than without. A batch now reads the tags once and finds its photos in one query."""
    folder = tmp_path / "pics"
    for i in range(40):
        make_jpeg(folder / f"{i:02d}.jpg", size=(16, 16), color=(i * 5, 0, 0))
        (folder / f"{i:02d}.jpg.xmp").write_text(
            digikam(["Places/Paris", f"People/P{i % 4}"]), encoding="utf-8"
        )
    statements: list[str] = []
    library.writer.call(lambda: db.database.connection().set_trace_callback(statements.append))
    try:
        library.add_root(folder)
        library.scan()
    finally:
        library.writer.call(lambda: db.database.connection().set_trace_callback(None))
    assert library.info(folder / "07.jpg")["tags"] == ["People/P3", "Places/Paris"]
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    by_path = [s for s in selects if '"rel_path" =' in s]
    tag_reads = [s for s in selects if 'FROM "tag"' in s]
    assert len(by_path) < 5, by_path[:5]
    assert len(tag_reads) < 20, tag_reads[:5]
