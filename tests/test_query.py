"""The hybrid query syntax: free text + filters in one string."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from desktop.core.catalog.filters import PhotoFilter
from desktop.core.catalog.query import DEFAULT_RADIUS_KM, QueryError, parse_query


def test_issue_example() -> None:
    q = parse_query('dog on the beach tag:family after:2019-06 camera:canon place:"near 48.85,2.29"')
    assert q.text == "dog on the beach"
    assert q.filter.tags == ["family"]
    assert q.filter.after == dt.date(2019, 6, 1)
    assert q.filter.camera == "canon"
    assert q.filter.near == (48.85, 2.29, DEFAULT_RADIUS_KM)
    assert q.terms == ["dog", "beach"]  # stop words do not keyword-match


def test_free_text_only_has_no_filters() -> None:
    q = parse_query("birthday cake with candles")
    assert q.text == "birthday cake with candles"
    assert q.filter == PhotoFilter()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("rating:4", 4), ("rating>=3", 3), ("rating>3", 4), ("rating=5", 5), ("RATING:2", 2)],
)
def test_rating_forms(text: str, expected: int) -> None:
    assert parse_query(f"cat {text}").filter.rating_min == expected


def test_before_is_exclusive_of_the_period() -> None:
    q = parse_query("before:2020 after:2019-06-15")
    assert q.filter.before == dt.date(2020, 1, 1)
    assert q.filter.after == dt.date(2019, 6, 15)
    assert q.text == ""


def test_quoted_values_and_phrases() -> None:
    q = parse_query('album:"Summer 2020" camera:"eos 5d" "red car" folder:~/Pictures tag:Places/Paris tag:x')
    assert q.filter.album == "Summer 2020"
    assert q.filter.camera == "eos 5d"
    assert q.text == "red car"
    assert q.filter.folder == Path("~/Pictures").expanduser()
    assert q.filter.tags == ["Places/Paris", "x"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"near 48.85,2.29 5km"', (48.85, 2.29, 5.0)),
        ('"near 48.85, 2.29 500m"', (48.85, 2.29, 0.5)),
        ("-33.9,151.2", (-33.9, 151.2, DEFAULT_RADIUS_KM)),
        ('"NEAR 1,2 3"', (1.0, 2.0, 3.0)),
    ],
)
def test_place(value: str, expected: tuple[float, float, float]) -> None:
    assert parse_query(f"place:{value}").filter.near == expected


def test_unknown_keys_stay_free_text() -> None:
    q = parse_query("sunset at 10:30 see:http://x.org name:IMG_12")
    assert q.text == "sunset at 10:30 see:http://x.org"
    assert q.filter.name == "IMG_12"


@pytest.mark.parametrize(
    "bad",
    ["after:2019-13", "after:yesterday", "rating:9", "rating>=many", 'place:"paris"', "place:95,10", "tag:"],
)
def test_bad_values_raise_a_helpful_error(bad: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(f"dog {bad}")
    assert bad.split(":")[0].split(">")[0] in str(info.value)


def test_base_filter_is_extended_not_mutated() -> None:
    base = PhotoFilter(tags=["a"], rating_min=2)
    q = parse_query("tag:b", base)
    assert q.filter.tags == ["a", "b"]
    assert base.tags == ["a"]
    assert q.filter.rating_min == 2


@pytest.mark.parametrize(
    ("query", "similar", "text", "camera"),
    [
        ("similar:42", 42, "", None),
        ("similar:42 camera:nikon", 42, "", "nikon"),
        ("beach SIMILAR:7 at dusk", 7, "beach at dusk", None),
        ('similar:"/tmp/My Photos/cat.jpg" in snow', Path("/tmp/My Photos/cat.jpg"), "in snow", None),
        ("similar:holiday.jfif", Path("holiday.jfif"), "", None),
        ("dog on the beach", None, "dog on the beach", None),
    ],
)
def test_similar_names_the_photo_or_file_the_query_starts_from(
    query: str, similar: int | Path | None, text: str, camera: str | None
) -> None:
    q = parse_query(query)
    assert q.similar == similar
    assert q.text == text and q.filter.camera == camera
    assert "similar" not in q.terms  # never a keyword to match in file names


def test_similar_without_a_value_says_how_to_write_it() -> None:
    with pytest.raises(QueryError, match="similar:42"):
        parse_query("similar: dog")


def test_similar_misspelt_is_named() -> None:
    with pytest.raises(QueryError, match="did you mean 'similar:'"):
        parse_query("simlar:12")


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("", ()),
        ("tag:family", ()),
        ("Zürich at night", ("zurich", "night")),
        ("the", ("the",)),  # nothing worth matching alone: matched as typed, not "every photo"
        ("12", ("12",)),
    ],
)
def test_keyword_filter_is_what_a_query_finds_without_a_model(query: str, words: tuple[str, ...]) -> None:
    q = parse_query(query)
    assert q.keyword_filter().words == words
    assert q.keyword_filter().tags == q.filter.tags


def test_is_rejected_and_its_negation() -> None:
    assert parse_query("is:rejected").filter.rejected is True
    q = parse_query("beach -is:rejected")
    assert (q.filter.rejected, q.text) == (False, "beach")
    assert parse_query("IS:Rejected").filter.rejected is True
    # only a flag negates: "-tag:x" stays free text, as before
    q = parse_query("-tag:x")
    assert q.filter.tags == [] and q.text == "-tag:x"
    with pytest.raises(QueryError, match="is:rejected"):
        parse_query("is:starred")
