"""Read the tags, rating, colour label, title and description other programs gave a photo.

digiKam, Lightroom, darktable, Immich and Windows keep them in XMP, either in
a sidecar beside the photo (``IMG_1.jpg.xmp`` as digiKam, darktable and Immich
write it, ``IMG_1.xmp`` as Lightroom writes it) or embedded in the file. This
module parses an XMP packet into ``OutsideData`` and finds a photo's sidecars;
the scanner merges the result into the catalog (``scanner.apply_outside``).

Packets are parsed with defusedxml, which refuses entity expansion and DTDs:
a sidecar that is an XML bomb, or not XML at all, gives an ``XmpError`` with a
reason, never a hang or a crash.

Tags are the union of ``digiKam:TagsList`` (``/`` hierarchy),
``lr:hierarchicalSubject`` (``|`` hierarchy), ``MicrosoftPhoto:LastKeywordXMP``
(``/``) and the flat ``dc:subject``; a flat tag that is the leaf of a
hierarchical one ("Paris" beside "Places|Paris") is that tag, not a second one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from desktop.core.ingest.formats import is_raw_name

RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
DC = "{http://purl.org/dc/elements/1.1/}"
XMP = "{http://ns.adobe.com/xap/1.0/}"
LR = "{http://ns.adobe.com/lightroom/1.0/}"
DIGIKAM = "{http://www.digikam.org/ns/1.0/}"
MSPHOTO = "{http://ns.microsoft.com/photo/1.0/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Shoebox's colour labels (``library.COLOR_LABELS``, which this layer cannot import; a test keeps
# them in step) in digiKam's ColorLabel numbering: 1 red ... 7 grey.
DIGIKAM_LABELS = {1: "red", 2: "orange", 3: "yellow", 4: "green", 5: "blue", 6: "purple", 7: "grey"}
# xmp:Label is free text; Lightroom writes the five English names, other tools the rest of them.
_LABEL_NAMES = {name: name for name in DIGIKAM_LABELS.values()} | {"gray": "grey"}

REJECTED = -1  # xmp:Rating -1: Lightroom's and digiKam's "rejected"
MAX_SIDECAR_BYTES = 32 * 1024**2  # darktable's history makes sidecars of a few hundred KB at most
# Most embedded XMP (camera, editing software) carries none of these: such packets skip the parse.
_HINTS = (
    b"purl.org/dc/elements",
    b"Rating",
    b"Label",
    b"TagsList",
    b"hierarchicalSubject",
    b"LastKeywordXMP",
)


class XmpError(Exception):
    """An XMP packet that cannot be read; ``str()`` is the reason shown to people."""


@dataclass
class OutsideData:
    """What other programs recorded about a photo; ``None`` means "not said"."""

    tags: list[str] = field(default_factory=list)  # full paths, "/" between levels
    rating: int | None = None  # 0..5, or REJECTED
    label: str | None = None  # one of DIGIKAM_LABELS' names
    title: str | None = None
    description: str | None = None

    def is_empty(self) -> bool:
        return not self.tags and all(
            v is None for v in (self.rating, self.label, self.title, self.description)
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutsideData:
        return cls(
            tags=[str(t) for t in data.get("tags") or []],
            rating=data.get("rating"),
            label=data.get("label"),
            title=data.get("title"),
            description=data.get("description"),
        )


# ------------------------------------------------------------------------ tags


def _tag_path(text: str, separator: str) -> str | None:
    parts = [p.strip() for p in text.split(separator)]
    # a "/" inside one level of a "|" hierarchy would read as a level of its own in Shoebox
    parts = [p.replace("/", "-") if separator != "/" else p for p in parts]
    parts = [p for p in parts if p]
    return "/".join(parts) if parts else None


def merge_tags(hierarchical: Iterable[str], flat: Iterable[str]) -> list[str]:
    """The union of full tag paths, without a flat tag that is already the leaf of a hierarchical one.

    Case-insensitive, as Shoebox's tags are; the first spelling met is kept.
    """
    found: dict[str, str] = {}
    for tag in hierarchical:
        found.setdefault(tag.lower(), tag)
    leaves = {tag.rsplit("/", 1)[-1].lower() for tag in found}
    for tag in flat:
        if tag.lower() not in leaves and tag.lower() not in found:
            found[tag.lower()] = tag
    return list(found.values())


# ----------------------------------------------------------------------- values


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.replace("\x00", " ").strip()
    return text or None


def _items(element: Element) -> list[str]:
    """The texts of an rdf:Bag/Seq/Alt's items, or the element's own text."""
    items = [_clean(li.text) for li in element.iter(f"{RDF}li")]
    if not items and len(element) == 0:
        items = [_clean(element.text)]
    return [i for i in items if i]


def _lang_alt(element: Element) -> str | None:
    """The x-default (else first) entry of an rdf:Alt, or the element's own text."""
    items = list(element.iter(f"{RDF}li"))
    if not items:
        return _clean(element.text)
    for item in items:
        if item.get(XML_LANG, "").lower() == "x-default" and _clean(item.text):
            return _clean(item.text)
    return next((t for t in (_clean(i.text) for i in items) if t), None)


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def xmp_rating(text: str | None) -> int | None:
    """xmp:Rating: 0..5 stars, -1 rejected; anything else is not a rating."""
    number = _number(text)
    if number is None or not -1 <= number <= 5:
        return None
    return int(number)


def microsoft_rating(text: str | None) -> int | None:
    """MicrosoftPhoto:Rating's 0..99 as stars, the way Windows maps them (1, 25, 50, 75, 99)."""
    number = _number(text)
    if number is None or not 0 <= number <= 99:
        return None
    if number == 0:
        return 0
    for stars, upper in ((1, 12), (2, 37), (3, 62), (4, 87)):
        if number <= upper:
            return stars
    return 5


def label_name(text: str | None) -> str | None:
    """xmp:Label ("Red", Lightroom's names, or any of Shoebox's) as Shoebox's label name."""
    return _LABEL_NAMES.get((text or "").strip().lower())


def digikam_label(text: str | None) -> str | None:
    number = _number(text)
    return DIGIKAM_LABELS.get(int(number)) if number is not None and number == int(number) else None


# ----------------------------------------------------------------------- parse


def _fields(desc: Element) -> Iterable[tuple[str, str | None, Element | None]]:
    """(qualified name, attribute text or None, element or None) of each property of an rdf:Description."""
    for name, value in desc.attrib.items():
        yield name, value, None
    for child in desc:
        yield child.tag, None, child


def parse_xmp(packet: bytes, skip_unlikely: bool = False) -> OutsideData:
    """The tags, rating, label, title and description in one XMP packet.

    Raises ``XmpError`` when the packet is not XML or tries entity expansion.
    ``skip_unlikely``: return nothing, unparsed, for a packet that names none of
    these fields (what a camera embeds), as the scan of embedded XMP does.
    """
    found = OutsideData()
    if skip_unlikely and not any(hint in packet for hint in _HINTS):
        return found
    end = packet.rfind(b"</x:xmpmeta>")
    if end != -1:  # drop the closing <?xpacket?> and the padding after it
        packet = packet[: end + len(b"</x:xmpmeta>")]
    try:
        root = fromstring(packet.strip(b"\x00 \t\r\n\xef\xbb\xbf"), forbid_dtd=True)
    except DefusedXmlException:
        raise XmpError("refused: the XMP declares entities or a DTD (an XML bomb?)") from None
    except (ParseError, ValueError) as exc:
        raise XmpError(f"not valid XML ({exc})") from None
    hierarchical: list[str] = []
    flat: list[str] = []
    ms_rating: int | None = None
    dk_label: str | None = None
    for desc in root.iter(f"{RDF}Description"):
        for name, text, element in _fields(desc):
            values = [text] if element is None else _items(element)
            if name == f"{DIGIKAM}TagsList" or name == f"{MSPHOTO}LastKeywordXMP":
                hierarchical += [t for t in (_tag_path(v, "/") for v in values if v) if t]
            elif name == f"{LR}hierarchicalSubject":
                hierarchical += [t for t in (_tag_path(v, "|") for v in values if v) if t]
            elif name == f"{DC}subject":
                flat += [t for t in (_tag_path(v, "/") for v in values if v) if t]
            elif name == f"{XMP}Rating" and found.rating is None:
                found.rating = xmp_rating(values[0] if values else None)
            elif name == f"{MSPHOTO}Rating" and ms_rating is None:
                ms_rating = microsoft_rating(values[0] if values else None)
            elif name == f"{XMP}Label" and found.label is None:
                found.label = label_name(values[0] if values else None)
            elif name == f"{DIGIKAM}ColorLabel" and dk_label is None:
                dk_label = digikam_label(values[0] if values else None)
            elif name == f"{DC}title" and found.title is None:
                found.title = _clean(text) if element is None else _lang_alt(element)
            elif name == f"{DC}description" and found.description is None:
                found.description = _clean(text) if element is None else _lang_alt(element)
    found.tags = merge_tags(hierarchical, flat)
    found.rating = found.rating if found.rating is not None else ms_rating
    found.label = found.label or dk_label
    return found


def combine(first: OutsideData, *others: OutsideData) -> OutsideData:
    """The union of the tags; each scalar field from the first that says it."""
    sources = [first, *others]
    out = OutsideData()
    hier = [t for s in sources for t in s.tags if "/" in t]
    flat = [t for s in sources for t in s.tags if "/" not in t]
    out.tags = merge_tags(hier, flat)
    for name in ("rating", "label", "title", "description"):
        setattr(out, name, next((getattr(s, name) for s in sources if getattr(s, name) is not None), None))
    return out


# --------------------------------------------------------------------- sidecars

SIDECAR_SUFFIXES = (".xmp", ".XMP")


def is_sidecar_name(name: str) -> bool:
    return name.lower().endswith(".xmp")


def sidecar_candidates(photo: str) -> list[str]:
    """Where a photo's sidecars may be, the one that wins for scalar fields first:
    ``IMG_1.jpg.xmp`` (digiKam, darktable, Immich), then ``IMG_1.xmp`` (Lightroom)."""
    stem = os.path.splitext(photo)[0]
    return [photo + s for s in SIDECAR_SUFFIXES] + [stem + s for s in SIDECAR_SUFFIXES]


@dataclass
class Sidecars:
    """A photo's sidecars as read by a scan worker."""

    mtime: float | None = None  # the newest sidecar's, None when it has none
    data: OutsideData = field(default_factory=OutsideData)
    errors: list[str] = field(default_factory=list)  # "/photos/IMG_1.xmp: not valid XML (...)"


def read_sidecar(path: str) -> OutsideData:
    """Parse one sidecar; ``XmpError`` or ``OSError`` when it cannot be read."""
    with open(path, "rb") as fh:
        data = fh.read(MAX_SIDECAR_BYTES + 1)
    if len(data) > MAX_SIDECAR_BYTES:
        raise XmpError(f"too large for a sidecar (over {MAX_SIDECAR_BYTES // 1024**2} MB)")
    return parse_xmp(data)


def sidecar_mtime(mtimes: Sequence[float | None]) -> float | None:
    """The one number stored per photo: a change, an addition or a removal of a sidecar moves it."""
    real = [m for m in mtimes if m is not None]
    return max(real) + len(real) * 1e-7 if real else None


def _name_taken(photo: str) -> bool:
    """Another RAW file in the folder has the photo's name (``IMG_1.CR2`` beside ``IMG_1.jpg``)."""
    folder, name = os.path.split(photo)
    stem = os.path.splitext(name)[0]
    if is_raw_name(name):
        return False
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return False
    return any(n != name and os.path.splitext(n)[0] == stem and is_raw_name(n) for n in names)


def read_sidecars(photo: str) -> Sidecars:
    """Find and read a photo's sidecars (a few ``stat`` calls when it has none)."""
    result = Sidecars()
    read: list[OutsideData] = []
    mtimes: list[float | None] = []
    seen: set[tuple[int, int]] = set()
    own = False  # the photo has a sidecar of its own name (IMG_1.jpg.xmp)
    for candidate in sidecar_candidates(photo):
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:  # ".xmp" and ".XMP" are one file on a case-insensitive disk
            continue
        seen.add((st.st_dev, st.st_ino))
        mtimes.append(st.st_mtime)  # counted either way: the scan's walk compares the same set of files
        if candidate.startswith(photo):
            own = True
        elif own and _name_taken(photo):
            # IMG_1.xmp beside a JPEG that has its own IMG_1.jpg.xmp and a RAW of that name: Lightroom's
            # sidecar is the RAW's (Shoebox writes an unpaired JPEG's to IMG_1.jpg.xmp), not this photo's
            continue
        try:
            read.append(read_sidecar(candidate))
        except (XmpError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            result.errors.append(f"{candidate}: {reason}")
    result.mtime = sidecar_mtime(mtimes)
    if read:
        result.data = combine(*read)
    return result
