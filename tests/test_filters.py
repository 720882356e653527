"""Each photo filter alone, then a few together, on a small catalog built by hand.

The catalog (``shelf``): six photos whose differences are obvious, so the expected
names of each filter can be read off the table below.

    name        folder          taken                 camera              rating  tags              other
    beach.jpg   photos/2019     2019-06-15 18:00      Canon EOS 5D        5       Places/Paris,     album Trip, in Paris,
                                                                                  family            title "Sunset at the beach"
    dog.jpg     photos/2019     2019-12-31 23:59      FUJIFILM X-T3       3       family            in London
    cat.jpg     photos/2020     2020-01-01 00:00      Canon EOS R         1       -                 description "Zürich"
    lyon.jpg    imports/2021    2021-03-01 12:00      -                   0       Places/Lyon       imported, added 30 days ago
    broken.jpg  photos/2020     -                     -                   0       -                 status error
    gone.jpg    photos/2020     2020-05-05 10:00      -                   5       -                 status missing
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from desktop.core.catalog.filters import FilterError, PhotoFilter, parse_date, resolve_tag
from desktop.core.catalog.schema import STATUS_ERROR, STATUS_MISSING, STATUS_OK, Photo
from desktop.core.library import Library

PARIS = (48.8566, 2.3522)
LONDON = (51.5074, -0.1278)  # 344 km from Paris


@pytest.fixture
def shelf(library: Library, tmp_path: Path) -> dict[str, int]:
    """The table above, in a real catalog; returns each photo's id by its file name."""
    for folder in ("photos", "imports"):
        (tmp_path / folder).mkdir()
    photos = library.add_root(tmp_path / "photos")
    imports = library.add_root(tmp_path / "imports", is_import_target=True)
    long_ago = dt.datetime.now() - dt.timedelta(days=30)
    rows: list[dict[str, Any]] = [
        dict(root=photos.id, rel_path="2019/beach.jpg", taken_local="2019-06-15T18:00:00", rating=5,
             camera_make="Canon", camera_model="Canon EOS 5D", gps_lat=PARIS[0], gps_lon=PARIS[1],
             title="Sunset at the beach"),
        dict(root=photos.id, rel_path="2019/dog.jpg", taken_local="2019-12-31T23:59:00", rating=3,
             camera_make="FUJIFILM", camera_model="X-T3", gps_lat=LONDON[0], gps_lon=LONDON[1]),
        dict(root=photos.id, rel_path="2020/cat.jpg", taken_local="2020-01-01T00:00:00", rating=1,
             camera_make="Canon", camera_model="Canon EOS R", description="Zürich"),
        dict(root=imports.id, rel_path="2021/lyon.jpg", taken_local="2021-03-01T12:00:00", added_at=long_ago),
        dict(root=photos.id, rel_path="2020/broken.jpg", status=STATUS_ERROR, error="not a JPEG"),
        dict(root=photos.id, rel_path="2020/gone.jpg", taken_local="2020-05-05T10:00:00", rating=5,
             status=STATUS_MISSING),
    ]  # fmt: skip
    ids = library.writer.call(lambda: [Photo.create(**row).id for row in rows])
    by_name = {Path(str(row["rel_path"])).name: pid for row, pid in zip(rows, ids, strict=True)}
    library.add_tag("Places/Paris", [by_name["beach.jpg"]])
    library.add_tag("family", [by_name["beach.jpg"], by_name["dog.jpg"]])
    library.add_tag("Places/Lyon", [by_name["lyon.jpg"]])
    library.add_to_album("Trip", [by_name["beach.jpg"]])
    return by_name


def _short(f: PhotoFilter) -> str:
    """A test id naming only what differs from the empty filter."""
    empty = vars(PhotoFilter())
    return ",".join(f"{k}={v}" for k, v in vars(f).items() if v != empty[k]) or "nothing"


def names(library: Library, f: PhotoFilter) -> list[str]:
    found = sorted(Path(p.rel_path).name for p in library.query(f))
    assert library.count(f) == len(found)
    return found


ALIVE = ["beach.jpg", "cat.jpg", "dog.jpg", "lyon.jpg"]


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        (PhotoFilter(), ALIVE),  # photos whose file is there and readable
        (PhotoFilter(statuses=(STATUS_MISSING,)), ["gone.jpg"]),
        (PhotoFilter(statuses=(STATUS_ERROR,)), ["broken.jpg"]),
        (PhotoFilter(statuses=()), sorted([*ALIVE, "broken.jpg", "gone.jpg"])),
        (PhotoFilter(rating_min=3), ["beach.jpg", "dog.jpg"]),
        (PhotoFilter(rating_min=5, statuses=(STATUS_OK, STATUS_MISSING)), ["beach.jpg", "gone.jpg"]),
        (PhotoFilter(tags=["family"]), ["beach.jpg", "dog.jpg"]),
        (PhotoFilter(tags=["Places"]), ["beach.jpg", "lyon.jpg"]),  # a tag includes the tags below it
        (PhotoFilter(tags=["paris"]), ["beach.jpg"]),  # a leaf name, any case
        (PhotoFilter(tags=["Places", "family"]), ["beach.jpg"]),  # every tag must match
        (PhotoFilter(tags=["Lyon", "family"]), []),
        (PhotoFilter(tags=["nowhere"]), []),
        (PhotoFilter(untagged=True), ["cat.jpg"]),
        (PhotoFilter(after=parse_date("2019-12-31")), ["cat.jpg", "dog.jpg", "lyon.jpg"]),
        (PhotoFilter(before=parse_date("2020")), ["beach.jpg", "dog.jpg"]),
        (PhotoFilter(after=parse_date("2019-06"), before=parse_date("2019-06", end=True)), ["beach.jpg"]),
        (PhotoFilter(after=parse_date("2020"), before=parse_date("2020", end=True)), ["cat.jpg"]),
        (PhotoFilter(camera="canon"), ["beach.jpg", "cat.jpg"]),
        (PhotoFilter(camera="EOS R"), ["cat.jpg"]),
        (PhotoFilter(camera="x-t3"), ["dog.jpg"]),
        (PhotoFilter(camera="Fujifilm X-T3"), ["dog.jpg"]),  # make and model together
        (PhotoFilter(camera="leica"), []),
        (PhotoFilter(album="trip"), ["beach.jpg"]),  # album names ignore case
        (PhotoFilter(album="Honeymoon"), []),
        (PhotoFilter(near=(*PARIS, 10.0)), ["beach.jpg"]),
        (PhotoFilter(near=(*PARIS, 300.0)), ["beach.jpg"]),
        (PhotoFilter(near=(*PARIS, 400.0)), ["beach.jpg", "dog.jpg"]),
        (PhotoFilter(name="DOG"), ["dog.jpg"]),
        (PhotoFilter(name="2019/"), ["beach.jpg", "dog.jpg"]),
        (PhotoFilter(words=("zurich",)), ["cat.jpg"]),  # accents ignored
        (PhotoFilter(words=("sunset", "beach")), ["beach.jpg"]),  # every word
        (PhotoFilter(words=("paris",)), ["beach.jpg"]),  # through its tag
        (PhotoFilter(words=("sunset", "zurich")), []),
        (PhotoFilter(imported_only=True), ["lyon.jpg"]),
        (PhotoFilter(recent_days=7), ["beach.jpg", "cat.jpg", "dog.jpg"]),
        (PhotoFilter(recent_days=60), ALIVE),
    ],
    ids=lambda v: _short(v) if isinstance(v, PhotoFilter) else "",
)
def test_each_filter_alone(
    library: Library, shelf: dict[str, int], f: PhotoFilter, expected: list[str]
) -> None:
    assert names(library, f) == expected


def test_folder_filter_takes_a_root_a_folder_inside_one_or_a_folder_above_several(
    library: Library, shelf: dict[str, int], tmp_path: Path
) -> None:
    assert names(library, PhotoFilter(folder=tmp_path / "photos")) == ["beach.jpg", "cat.jpg", "dog.jpg"]
    assert names(library, PhotoFilter(folder=tmp_path / "photos" / "2019")) == ["beach.jpg", "dog.jpg"]
    assert names(library, PhotoFilter(folder=tmp_path / "photos" / "2019/")) == ["beach.jpg", "dog.jpg"]
    assert names(library, PhotoFilter(folder=tmp_path)) == ALIVE
    assert names(library, PhotoFilter(folder=tmp_path / "photos" / "20")) == []  # not a prefix match
    assert names(library, PhotoFilter(folder=tmp_path / "elsewhere")) == []


def test_photo_ids_restrict_and_other_filters_still_apply(library: Library, shelf: dict[str, int]) -> None:
    chosen = [shelf["dog.jpg"], shelf["cat.jpg"], shelf["gone.jpg"]]
    assert names(library, PhotoFilter(photo_ids=chosen)) == ["cat.jpg", "dog.jpg"]
    assert names(library, PhotoFilter(photo_ids=chosen, rating_min=2)) == ["dog.jpg"]
    assert names(library, PhotoFilter(photo_ids=[])) == []


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        (PhotoFilter(tags=["family"], rating_min=4), ["beach.jpg"]),
        (PhotoFilter(camera="canon", after=parse_date("2020")), ["cat.jpg"]),
        (PhotoFilter(tags=["Places"], imported_only=True), ["lyon.jpg"]),
        (PhotoFilter(untagged=True, before=parse_date("2021"), camera="canon"), ["cat.jpg"]),
        (PhotoFilter(near=(*PARIS, 400.0), before=parse_date("2019-12-31")), ["beach.jpg"]),
        (PhotoFilter(album="Trip", tags=["family"], words=("sunset",), rating_min=5), ["beach.jpg"]),
        (PhotoFilter(album="Trip", untagged=True), []),
        (PhotoFilter(rating_min=5, statuses=(STATUS_MISSING,), after=parse_date("2020-05")), ["gone.jpg"]),
    ],
    ids=lambda v: _short(v) if isinstance(v, PhotoFilter) else "",
)
def test_filters_together_must_all_hold(
    library: Library, shelf: dict[str, int], f: PhotoFilter, expected: list[str]
) -> None:
    assert names(library, f) == expected


def test_a_tag_name_that_means_nothing_or_several_tags_is_an_error(
    library: Library, shelf: dict[str, int]
) -> None:
    library.add_tag("People/Paris", [shelf["cat.jpg"]])  # now "Paris" could be a place or a person
    with pytest.raises(FilterError, match="No tag named 'nowhere'"):
        resolve_tag("nowhere")
    with pytest.raises(FilterError, match="could be any of the tags People/Paris, Places/Paris"):
        resolve_tag("Paris")
    assert resolve_tag("places/paris") == "Places/Paris"
    assert names(library, PhotoFilter(tags=["Paris"])) == []  # ambiguous: matches nothing rather than both
    assert names(library, PhotoFilter(tags=["People"])) == ["cat.jpg"]
    # once People/Paris is on no photo, "Paris" means the tag in use again (it stays in the tag list)
    library.remove_tag("People/Paris", [shelf["cat.jpg"]])
    assert resolve_tag("Paris") == "Places/Paris"
