"""Parse a smart-search query: free text mixed with filters, in one string.

Syntax (filters can appear anywhere; every filter must hold; the rest is the
free text that CLIP and the keyword match rank by)::

    dog on the beach tag:family after:2019-06 camera:canon place:"near 48.85,2.29"

    tag:NAME          has the tag (hierarchical: tag:Places includes Places/Paris);
                      repeat for several tags, all must match
    after:DATE        taken on or after DATE; DATE is YYYY, YYYY-MM or YYYY-MM-DD
                      (after:2019-06 = from 1 June 2019 on)
    before:DATE       taken before DATE begins (before:2020 = up to 31 Dec 2019)
    camera:TEXT       camera make or model contains TEXT (camera:canon, camera:"eos 5d")
    folder:PATH       in the folder PATH or below it (~ expands)
    rating:N          rated N stars or more; also rating>=N, rating>N, rating=N
                      (a rejected photo has no stars: rating>=0 leaves it out)
    is:rejected       flagged rejected (X in the app, ``reject`` on the command
                      line, xmp:Rating -1 from Lightroom or digiKam);
                      -is:rejected leaves rejected photos out
    album:NAME        in the album NAME
    place:"near LAT,LON [R km]"
                      taken within R km (default 10 km; also m) of LAT,LON;
                      "near" may be left out: place:48.85,2.29
    name:TEXT         the file name contains TEXT (also file:TEXT)
    similar:ID        photos that look like the library photo ID, or like an image
                      file: similar:"/path/to/picture.jpg" (what *Find similar* and
                      an image dropped on the search field write); the rest of the
                      query refines it. Needs the smart-search model.

Values with spaces go in double quotes: ``album:"Summer 2020"``. Keys are
case-insensitive. A word with a colon whose key is not one of the above (a
time like 10:30, a URL) stays part of the free text, unless its key looks like
a misspelt filter (``tga:family``): that is an error that names the filter
meant, and quotes make it free text (``"tga:family"``). ``parse_query`` raises
``QueryError`` (a ``ValueError``) with a message that says how to fix a bad value.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from desktop.core.catalog.filters import PhotoFilter, fold, parse_date
from desktop.core.runtime.errors import ShoeboxError

DEFAULT_RADIUS_KM = 10.0
STOP_WORDS = frozenset(
    [
        "the",
        "and",
        "with",
        "for",
        "from",
        "that",
        "this",
        "are",
        "was",
        "were",
        "has",
        "have",
        "his",
        "her",
        "its",
        "our",
        "their",
        "a",
        "an",
        "of",
        "on",
        "in",
        "at",
        "to",
        "by",
        "photo",
        "photos",
        "picture",
        "pictures",
        "image",
        "images",
    ]
)
KEYS = {"tag", "after", "before", "camera", "folder", "rating", "album", "place", "name", "file", "is"}
FLAGS = ("rejected",)  # the values of is: (and -is:)
SIMILAR_KEY = "similar"  # not a filter: it names the photo (or image file) the query starts from
# what a misspelt key is compared with: the filters, and similar:ID
SUGGESTED_KEYS = sorted(KEYS | {SIMILAR_KEY})

_TOKEN = re.compile(
    r'(?P<neg>-?)(?P<key>[A-Za-z]+)(?P<op>>=|<=|:|>|<|=)(?P<val>"[^"]*"?|\S*)'
    r'|"(?P<phrase>[^"]*)"?'
    r"|(?P<word>\S+)"
)
_PLACE = re.compile(
    r"^\s*(?:near\s+)?(?P<lat>[-+]?\d+(?:\.\d+)?)\s*,\s*(?P<lon>[-+]?\d+(?:\.\d+)?)"
    r"(?:\s+(?P<r>\d+(?:\.\d+)?)\s*(?P<unit>km|m)?)?\s*$",
    re.IGNORECASE,
)


class QueryError(ShoeboxError, ValueError):
    """A filter value that does not parse; the message says how to write it."""


@dataclass
class ParsedQuery:
    text: str  # the free text, filters removed
    filter: PhotoFilter = field(default_factory=PhotoFilter)
    terms: list[str] = field(default_factory=list)  # free-text words, for keyword matching
    similar: int | Path | None = None  # similar:ID (a photo id) or similar:"PATH" (any image file)

    def keyword_filter(self) -> PhotoFilter:
        """What the query finds without a model: its filters, and each free-text word in a file
        name, title, description, keyword or tag. Free text with no word worth matching on its own
        (stop words, short numbers: "the", "12") is matched as typed rather than dropped, which
        would list every photo."""
        if not self.text:
            return self.filter
        return replace(self.filter, words=tuple(self.terms) or (self.text,))


def _unquote(v: str) -> str:
    v = v.strip()
    if v.startswith('"'):
        v = v[1:]
    if v.endswith('"'):
        v = v[:-1]
    return v.strip()


_COORDINATES = re.compile(r"^\s*(?P<lat>[-+]?\d+(?:\.\d+)?)\s*[, ]\s*(?P<lon>[-+]?\d+(?:\.\d+)?)\s*$")


def parse_coordinates(value: str) -> tuple[float, float]:
    """``48.8584, 2.2945`` (latitude first, as maps copy them) → (lat, lon); for ``place set``."""
    m = _COORDINATES.match(value)
    if not m:
        raise QueryError(
            f"'{value}' is not a place; write latitude,longitude in degrees, e.g. 48.8584,2.2945."
        )
    lat, lon = float(m.group("lat")), float(m.group("lon"))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise QueryError(
            f"{lat},{lon} is not a place: latitude is -90…90 and longitude -180…180 (latitude first)."
        )
    return lat, lon


def parse_place(value: str) -> tuple[float, float, float]:
    m = _PLACE.match(value)
    if not m:
        raise QueryError(
            f'place:"{value}" is not a place; write place:"near 48.85,2.29" or place:"near 48.85,2.29 5km".'
        )
    lat, lon = float(m.group("lat")), float(m.group("lon"))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise QueryError(f"place: {lat},{lon} is not a latitude,longitude pair (latitude first).")
    radius = DEFAULT_RADIUS_KM
    if m.group("r"):
        radius = float(m.group("r"))
        if (m.group("unit") or "km").lower() == "m":
            radius /= 1000.0
    return lat, lon, radius


def _rating(op: str, value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise QueryError(f"rating{op}{value}: a rating is a number of stars, 0 to 5 (rating>=4).") from None
    if op == ">":
        n += 1
    if not 0 <= n <= 5:
        raise QueryError(f"rating{op}{value}: a rating is 0 to 5 stars.")
    return n


def _flag(value: str, negated: bool) -> bool:
    """is:rejected → True, -is:rejected → False."""
    if value.lower() not in FLAGS:
        raise QueryError(f"is:{value}: write is:rejected (or -is:rejected to leave rejected photos out).")
    return not negated


def _misspelt_filter(key: str, op: str, value: str) -> QueryError | None:
    """An error naming the filter ``key`` was probably meant to be (``tga:`` → ``tag:``), or None
    for a word that merely has a colon (a time, a URL, "note: ...")."""
    if not value or key in SUGGESTED_KEYS:
        return None
    # typos rarely hit the first letter; without this "label:" would suggest "place:"
    same_start = [k for k in SUGGESTED_KEYS if k[0] == key[0]]
    close = difflib.get_close_matches(key, same_start, n=1, cutoff=0.6)
    if not close:
        return None
    return QueryError(
        f"Unknown filter '{key}{op}' — did you mean '{close[0]}{op}'? "
        "(To search for the words themselves, put them in double quotes.)"
    )


def parse_query(query: str, base: PhotoFilter | None = None) -> ParsedQuery:
    """Split ``query`` into free text and a ``PhotoFilter`` (added to ``base`` if given)."""
    f = PhotoFilter(**vars(base)) if base is not None else PhotoFilter()
    f.tags = list(f.tags)
    words: list[str] = []
    similar: int | Path | None = None
    for m in _TOKEN.finditer(query):
        if m.group("key") is not None:
            key, op, raw = m.group("key").lower(), m.group("op"), m.group("val")
            value = _unquote(raw)
            if key == SIMILAR_KEY and op == ":":
                if not value:
                    raise QueryError(
                        'similar: needs a photo id or an image file, e.g. similar:42 or similar:"photo.jpg".'
                    )
                similar = int(value) if value.isdigit() else Path(value).expanduser()
                continue
            if m.group("neg") and key != "is":  # only a flag can be negated: "-tag:x" stays free text
                words.append(m.group(0))
                continue
            if key not in KEYS or (op != ":" and key != "rating"):
                typo = _misspelt_filter(key, op, value)
                if typo is not None:
                    raise typo
                words.append(m.group(0))
                continue
            if not value:
                raise QueryError(f"{key}{op} needs a value, e.g. {key}:something (quote values with spaces).")
            try:
                if key == "tag":
                    f.tags.append(value)
                elif key == "after":
                    f.after = parse_date(value)
                elif key == "before":
                    f.before = parse_date(value)
                elif key == "camera":
                    f.camera = value
                elif key == "folder":
                    f.folder = Path(value).expanduser()
                elif key == "rating":
                    f.rating_min = _rating(op, value)
                elif key == "album":
                    f.album = value
                elif key == "place":
                    f.near = parse_place(value)
                elif key in ("name", "file"):
                    f.name = value
                elif key == "is":
                    f.rejected = _flag(value, negated=bool(m.group("neg")))
            except QueryError:
                raise
            except ValueError as exc:
                if key in ("after", "before"):  # one hint, not parse_date's and ours
                    raise QueryError(
                        f"{key}:{value} is not a date; write YYYY, YYYY-MM or YYYY-MM-DD ({key}:2019-06)."
                    ) from None
                raise QueryError(f"{key}:{value}: {exc}") from None
        elif m.group("phrase") is not None:
            if m.group("phrase").strip():
                words.append(m.group("phrase").strip())
        else:
            words.append(m.group("word"))
    text = " ".join(words).strip()
    # stop words and short numbers would match half the file names ("IMG_0012"), not intent;
    # the terms are folded, as the text they are matched against is ("zurich" finds "Zürich")
    terms = [
        t
        for t in re.findall(r"[\w'-]+", fold(text))
        if len(t) > 2 and t not in STOP_WORDS and not (t.isdigit() and len(t) < 4)
    ]
    return ParsedQuery(text=text, filter=f, terms=terms, similar=similar)
