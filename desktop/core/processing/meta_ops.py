"""What metadata an output carries: the ``metadata_policy`` operation and the payload encoders write.

``keep`` (the default) writes the source's EXIF (Orientation 1: the pixels are upright already; the pixel
dimensions of the output) and an XMP packet with the catalog's tags, title, description, rating and
colour label and ``xmpMM:DerivedFrom`` naming the source (file name and ``xxh3:`` content hash).
``strip_location`` is ``keep`` without GPS; ``strip`` writes no EXIF, XMP or IPTC. Every policy keeps the
colour profile: without it the colours change. ``artist``/``copyright`` go to EXIF Artist/Copyright and
to ``dc:creator``/``dc:rights``. Built in memory, no timestamps: the same input gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import exiv2
from PIL import Image

from desktop.core.ingest import xmp_write
from desktop.core.processing.operations import operation
from desktop.core.processing.params import Param
from desktop.core.processing.render import Frame

POLICIES = ("keep", "strip", "strip_location")
_ORIENTATION, _ARTIST, _COPYRIGHT = 0x0112, 0x013B, 0x8298
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_PIXEL_X, _PIXEL_Y = 0xA002, 0xA003


@operation(
    "metadata_policy",
    1,
    "Metadata",
    policy=Param("choice", "keep", choices=POLICIES, help="what the output keeps of the photo's metadata"),
    artist=Param("str", None, optional=True),
    copyright=Param("str", None, optional=True),
)
def metadata_policy(frames: list[Frame], p: dict[str, Any]) -> list[Frame]:
    for frame in frames:
        frame.metadata = dict(p)
    return frames


@dataclass
class Payload:
    """What an encoder writes beside the pixels."""

    exif: Image.Exif | None = None
    xmp: bytes | None = None
    written: list[str] = field(default_factory=list)  # "exif", "xmp": for Rendered.info


def payload(frame: Frame, size: tuple[int, int]) -> Payload:
    """The EXIF and XMP an output of ``size`` carries under the frame's metadata policy."""
    policy = frame.metadata.get("policy", "keep")
    if policy == "strip":
        return Payload()
    out = Payload(exif=_exif(frame, size, policy), xmp=_xmp(frame))
    out.written = [name for name, value in (("exif", out.exif), ("xmp", out.xmp)) if value is not None]
    return out


def _exif(frame: Frame, size: tuple[int, int], policy: str) -> Image.Exif | None:
    exif = Image.Exif()
    if frame.exif:
        try:
            exif.load(frame.exif)
        except Exception:  # a damaged EXIF block is left out rather than failing the output
            exif = Image.Exif()
    artist, rights = frame.metadata.get("artist"), frame.metadata.get("copyright")
    if not len(exif) and not artist and not rights:
        return None
    exif[_ORIENTATION] = 1
    if policy == "strip_location" and _GPS_IFD in exif:
        del exif[_GPS_IFD]
    if _EXIF_IFD in exif:
        sub = exif.get_ifd(_EXIF_IFD)
        if _PIXEL_X in sub or _PIXEL_Y in sub:
            sub[_PIXEL_X], sub[_PIXEL_Y] = size
    # EXIF text is ASCII by the letter; UTF-8 is what exiftool, exiv2 and the photo apps read ("©")
    if artist:
        exif[_ARTIST] = artist.encode("utf-8")
    if rights:
        exif[_COPYRIGHT] = rights.encode("utf-8")
    return exif


def _xmp(frame: Frame) -> bytes | None:
    record = frame.source.record
    meta = frame.metadata
    with xmp_write.EXIV2_LOCK:
        data = exiv2.XmpData()
        if record:
            rating = record.get("rating")
            values = xmp_write.SidecarValues(
                tags=[str(t) for t in record.get("tags") or []],
                rating=int(rating) if isinstance(rating, int) else 0,
                label=record.get("color_label") if isinstance(record.get("color_label"), str) else None,
                title=record.get("title") or None,
                description=record.get("description") or None,
            )
            xmp_write.apply_values(data, values)
        data["Xmp.xmpMM.DerivedFrom/stRef:filePath"] = frame.source.path.name
        if frame.source.content_hash:
            data["Xmp.xmpMM.DerivedFrom/stRef:documentID"] = "xxh3:" + frame.source.content_hash
        if meta.get("artist"):
            creator = exiv2.Value.create(exiv2.TypeId.xmpSeq)
            creator.read(meta["artist"])
            data["Xmp.dc.creator"] = creator
        if meta.get("copyright"):
            rights = exiv2.Value.create(exiv2.TypeId.langAlt)
            rights.read(f'lang="x-default" {meta["copyright"]}')
            data["Xmp.dc.rights"] = rights
        code, packet = exiv2.XmpParser.encode(data, exiv2.XmpParser.XmpFormatFlags.useCompactFormat, 0)
    if code != 0:
        return None
    return str(packet).encode("utf-8")


# TIFF keeps its picture's structure in the same IFD as EXIF's; these tags are the picture's, not the photo's
_TIFF_OWN = frozenset(
    "Exif.Image." + name
    for name in [
        "ImageWidth",
        "ImageLength",
        "BitsPerSample",
        "Compression",
        "PhotometricInterpretation",
        "StripOffsets",
        "SamplesPerPixel",
        "RowsPerStrip",
        "StripByteCounts",
        "PlanarConfiguration",
        "ExifTag",
        "GPSTag",
        "InterColorProfile",
        "JPEGInterchangeFormat",
        "JPEGInterchangeFormatLength",
        "TileWidth",
        "TileLength",
        "TileOffsets",
        "TileByteCounts",
        "ExtraSamples",
        "SampleFormat",
        "Predictor",
        "NewSubfileType",
        "SubIFDs",
        "XMLPacket",
    ]
)


def into_tiff(data: bytes, exif: Image.Exif | None, xmp: bytes | None) -> bytes:
    """``data`` (a TIFF) with ``exif`` and ``xmp`` written into it by exiv2 (libtiff cannot write EXIF
    sub-IFDs)."""
    blob = exif.tobytes() if exif is not None else b"Exif\x00\x00"
    if not blob.startswith(b"Exif\x00\x00"):
        blob = b"Exif\x00\x00" + blob
    # a minimal JPEG carrying the block is the way to hand exiv2 an EXIF block to parse
    carrier = b"\xff\xd8\xff\xe1" + (len(blob) + 2).to_bytes(2, "big") + blob + b"\xff\xd9"
    with xmp_write.EXIV2_LOCK:
        source = exiv2.ImageFactory.open(carrier)
        source.readMetadata()
        image = exiv2.ImageFactory.open(data)
        image.readMetadata()
        target = image.exifData()
        for datum in source.exifData() if exif is not None else []:
            key = datum.key()
            if key in _TIFF_OWN or key.startswith("Exif.Thumbnail."):
                continue
            target[key] = datum.value()
        if xmp:
            image.setXmpPacket(xmp.decode("utf-8"))
        image.writeMetadata()
        io_ = image.io()
        io_.open()
        try:
            out = bytes(io_.mmap())
        finally:
            io_.munmap()
            io_.close()
    return out
