"""Write a photo's user data into its XMP sidecar (and, when asked, into the file itself) with exiv2.

What is written: ``dc:subject`` (leaf names), ``lr:hierarchicalSubject``
(``|``), ``digiKam:TagsList`` (``/``), ``xmp:Rating`` (-1: rejected),
``xmp:Label`` (Lightroom's five names) and ``digiKam:ColorLabel`` (1 red … 7
grey), ``dc:title`` and ``dc:description`` (x-default), and the date and
place when the person set them in Shoebox. Writing merges: an existing
sidecar keeps every other field and namespace (darktable's history,
Lightroom's develop settings), and a value of ours that is gone (a tag
removed in Shoebox) is removed from every list that carried it.

A sidecar is built in a hidden temporary file beside it, synced, and renamed
over the old one, so a kill never leaves half a sidecar. exiv2 is not
thread-safe: every call into it here holds ``EXIV2_LOCK``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import threading
from dataclasses import dataclass, field

import exiv2

from desktop.core.ingest.xmp import DIGIKAM_LABELS, SIDECAR_SUFFIXES

EXIV2_LOCK = threading.Lock()
# what exiv2 writes XMP into in place; HEIC, CR3 and the other ISO-BMFF files and videos it cannot
EMBEDDABLE = frozenset({".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".dng"})
TEMP_SUFFIX = ".shoebox-tmp"  # hidden name + this suffix: no scan or watcher takes it for a sidecar

_DIGIKAM_NUMBER = {name: number for number, name in DIGIKAM_LABELS.items()}
_LIGHTROOM_LABELS = {"red": "Red", "yellow": "Yellow", "green": "Green", "blue": "Blue", "purple": "Purple"}
_DATE_KEYS = ("Xmp.exif.DateTimeOriginal", "Xmp.xmp.CreateDate", "Xmp.photoshop.DateCreated")
_PLACE_KEYS = ("Xmp.exif.GPSLatitude", "Xmp.exif.GPSLongitude", "Xmp.exif.GPSVersionID")
_OUR_KEYS = (
    "Xmp.dc.subject",
    "Xmp.lr.hierarchicalSubject",
    "Xmp.digiKam.TagsList",
    "Xmp.xmp.Rating",
    "Xmp.xmp.Label",
    "Xmp.digiKam.ColorLabel",
    "Xmp.dc.title",
    "Xmp.dc.description",
)

with EXIV2_LOCK:  # exiv2 knows these prefixes; registering again is harmless and makes sure of it
    exiv2.XmpProperties.registerNs("http://www.digikam.org/ns/1.0/", "digiKam")
    exiv2.XmpProperties.registerNs("http://ns.adobe.com/lightroom/1.0/", "lr")


@dataclass(frozen=True)
class SidecarValues:
    """What Shoebox writes for one photo."""

    tags: list[str] = field(default_factory=list)  # full paths, "/" between levels
    rating: int = 0  # 0..5, -1 rejected
    label: str | None = None  # one of Shoebox's colour label names
    title: str | None = None
    description: str | None = None
    taken_at: str | None = None  # ISO 8601; written when write_date
    write_date: bool = False
    place: tuple[float, float] | None = None  # written (or removed) when write_place
    write_place: bool = False


class WriteFailed(Exception):
    """A sidecar or file that could not be written; ``str()`` is the reason shown to people."""


def sidecar_path(photo: str, naming_lightroom: bool, may_share: bool = True) -> str:
    """Where the photo's sidecar goes: ``IMG_1.jpg.xmp`` or, Lightroom's way, ``IMG_1.xmp``.

    A sidecar the photo already has is written to, whichever way it is named (also ``.XMP``): a
    Lightroom ``IMG_1.xmp`` gets the change rather than a second sidecar beside it that Lightroom would
    never read. The naming setting decides only where a new sidecar goes. ``may_share=False`` (another
    photo of that name, not its pair, owns ``IMG_1.xmp``): only the photo's own ``IMG_1.jpg.xmp``.
    """
    own, shared = photo, os.path.splitext(photo)[0]
    if not may_share:
        bases: tuple[str, ...] = (own,)
    else:
        bases = (shared, own) if naming_lightroom else (own, shared)
    for base in bases:
        for suffix in SIDECAR_SUFFIXES:
            if os.path.exists(base + suffix):
                return base + suffix
    return bases[0] + SIDECAR_SUFFIXES[0]


def temp_path(target: str) -> str:
    folder, name = os.path.split(target)
    return os.path.join(folder, f".{name}{TEMP_SUFFIX}")


def reason(exc: BaseException) -> str:
    """A short reason for a failed write, the way people read it."""
    if isinstance(exc, WriteFailed):
        return str(exc)
    if isinstance(exc, OSError):
        if exc.errno == errno.EROFS:
            return "folder is read-only"
        # a folder without write permission, or a sidecar made immutable (chattr +i) in a writable one
        if exc.errno in (errno.EACCES, errno.EPERM):
            return "no permission to write"
        if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            return "disk is full"
        if exc.errno == errno.ENOENT:
            return "folder is gone"
        return exc.strerror or str(exc)
    return str(exc) or type(exc).__name__


def _gps(value: float, positive: str, negative: str) -> str:
    """XMP's GPS coordinate form: ``48,51.39600N``."""
    degrees = int(abs(value))
    minutes = (abs(value) - degrees) * 60
    return f"{degrees},{minutes:.6f}{positive if value >= 0 else negative}"


def _erase(data: exiv2.XmpData, keys: tuple[str, ...]) -> None:
    """Remove ``keys`` with their array items and struct fields."""
    prefixes = tuple(k + "[" for k in keys) + tuple(k + "/" for k in keys)
    doomed = [name for name in (d.key() for d in data) if name in keys or name.startswith(prefixes)]
    for name in doomed:
        found = data.findKey(exiv2.XmpKey(name))
        if found != data.end():
            data.erase(found)


def _array(kind: exiv2.TypeId, items: list[str]) -> exiv2.Value:
    value = exiv2.Value.create(kind)
    for item in items:
        value.read(item)
    return value


def _lang_alt(text: str) -> exiv2.Value:
    value = exiv2.Value.create(exiv2.TypeId.langAlt)
    value.read(f'lang="x-default" {text}')
    return value


def _leaves(tags: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for tag in tags:
        leaf = tag.rsplit("/", 1)[-1]
        seen.setdefault(leaf.lower(), leaf)
    return list(seen.values())


def apply_values(data: exiv2.XmpData, values: SidecarValues) -> None:
    """Put ``values`` into ``data``, replacing ours and leaving every other field as it is."""
    _erase(data, _OUR_KEYS)
    if values.tags:
        tags = sorted(values.tags, key=str.lower)
        data["Xmp.dc.subject"] = _array(exiv2.TypeId.xmpBag, _leaves(tags))
        data["Xmp.lr.hierarchicalSubject"] = _array(exiv2.TypeId.xmpBag, [t.replace("/", "|") for t in tags])
        data["Xmp.digiKam.TagsList"] = _array(exiv2.TypeId.xmpSeq, tags)
    data["Xmp.xmp.Rating"] = str(int(values.rating))
    if values.label in _LIGHTROOM_LABELS:
        data["Xmp.xmp.Label"] = _LIGHTROOM_LABELS[values.label]
    if values.label in _DIGIKAM_NUMBER:
        data["Xmp.digiKam.ColorLabel"] = str(_DIGIKAM_NUMBER[values.label])
    if values.title:
        data["Xmp.dc.title"] = _lang_alt(values.title)
    if values.description:
        data["Xmp.dc.description"] = _lang_alt(values.description)
    if values.write_date and values.taken_at:
        _erase(data, _DATE_KEYS)
        for key in _DATE_KEYS:
            data[key] = values.taken_at
    if values.write_place:
        _erase(data, _PLACE_KEYS)
        if values.place is not None:
            lat, lon = values.place
            data["Xmp.exif.GPSVersionID"] = "2.2.0.0"
            data["Xmp.exif.GPSLatitude"] = _gps(lat, "N", "S")
            data["Xmp.exif.GPSLongitude"] = _gps(lon, "E", "W")


_IPTC_KEYS = ("Iptc.Application2.Keywords", "Iptc.Application2.ObjectName", "Iptc.Application2.Caption")


def _iptc_values(data: exiv2.IptcData, values: SidecarValues) -> None:
    """The file's IPTC keywords, title and caption made to agree with the XMP (readers take their union)."""
    had = any(d.key() in _IPTC_KEYS for d in data)
    while True:
        found = next((i for i, d in enumerate(data) if d.key() in _IPTC_KEYS), None)
        if found is None:
            break
        doomed = [d.key() for d in data][found]
        data.erase(data.findKey(exiv2.IptcKey(doomed)))
    if not had:  # a file that had no IPTC keeps having none: its XMP says it all
        return
    for leaf in _leaves(values.tags):
        datum = exiv2.Iptcdatum(exiv2.IptcKey("Iptc.Application2.Keywords"))
        datum.setValue(leaf)
        data.add(datum)
    if values.title:
        data["Iptc.Application2.ObjectName"] = values.title
    if values.description:
        data["Iptc.Application2.Caption"] = values.description


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sidecar_bytes(existing: bytes | None, values: SidecarValues) -> bytes:
    """The sidecar with ``values`` merged into ``existing`` (None: a new one), built in memory."""
    with EXIV2_LOCK:
        if existing is not None:
            try:
                image = exiv2.ImageFactory.open(existing)
                image.readMetadata()
            except exiv2.Exiv2Error as exc:
                raise WriteFailed(f"the sidecar is not readable XMP ({exc}); fix or remove it") from exc
            data = image.xmpData()
        else:
            data = exiv2.XmpData()
        apply_values(data, values)
        code, packet = exiv2.XmpParser.encode(data, exiv2.XmpParser.XmpFormatFlags.useCompactFormat, 0)
    if code != 0:
        raise WriteFailed(f"exiv2 could not encode it (error {code})")
    return str(packet).encode("utf-8")


def write_sidecars(items: list[tuple[str, SidecarValues]]) -> dict[str, BaseException]:
    """Merge each ``(target, values)`` into its sidecar; returns the failures by target.

    Every sidecar is first written whole to a hidden temporary file beside it; the
    temporary files are flushed to disk together (one ``sync`` for the batch: a sync per
    file made 10,000 sidecars take minutes), then each is renamed over its sidecar. A kill
    at any point leaves each sidecar either as it was or as written, never half.
    """
    failed: dict[str, BaseException] = {}
    ready: list[tuple[str, str]] = []
    for target, values in items:
        tmp = temp_path(target)
        try:
            existing: bytes | None = None
            if os.path.exists(target):
                with open(target, "rb") as fh:
                    existing = fh.read()
            data = sidecar_bytes(existing, values)
            # a read-only folder fails here, as an OSError with its errno (a temporary file that a
            # killed write left is overwritten)
            with open(tmp, "wb") as fh:
                fh.write(data)
                if not hasattr(os, "sync"):  # Windows: no sync of everything, each file then
                    fh.flush()
                    os.fsync(fh.fileno())
            with contextlib.suppress(OSError):
                shutil.copymode(target, tmp)
            ready.append((target, tmp))
        except (OSError, WriteFailed) as exc:
            failed[target] = exc
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    if hasattr(os, "sync") and ready:
        os.sync()
    folders: set[str] = set()
    for target, tmp in ready:
        try:
            os.replace(tmp, target)
            folders.add(os.path.dirname(target) or ".")
        except OSError as exc:
            failed[target] = exc
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    for folder in folders:  # the renames are durable once their folders are synced
        with contextlib.suppress(OSError):
            _fsync(folder)
    return failed


def write_sidecar(target: str, values: SidecarValues) -> None:
    """Merge ``values`` into the one sidecar at ``target``; raises ``OSError`` or ``WriteFailed``."""
    failed = write_sidecars([(target, values)])
    if target in failed:
        raise failed[target]


def can_embed(photo: str) -> bool:
    return os.path.splitext(photo)[1].lower() in EMBEDDABLE


def embed(photo: str, values: SidecarValues) -> None:
    """Write ``values`` into the XMP inside a JPEG, TIFF or DNG (exiv2 rewrites the file)."""
    if not os.access(photo, os.W_OK):
        raise WriteFailed("the file is read-only")
    with EXIV2_LOCK:
        try:
            image = exiv2.ImageFactory.open(photo)
            image.readMetadata()
            data = image.xmpData()
            apply_values(data, values)
            image.setXmpData(data)
            iptc = image.iptcData()
            _iptc_values(iptc, values)
            image.setIptcData(iptc)
            image.writeMetadata()
        except exiv2.Exiv2Error as exc:
            raise WriteFailed(f"exiv2 could not write into the file ({exc})") from exc
