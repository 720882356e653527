"""The app's side of issue 9's small items: tag counts, query hints shown once, unreadable folders
under *Could not read*, counted nouns."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from desktop.core.catalog.filters import PhotoFilter
from desktop.core.ingest import scanner as scanner_module
from desktop.core.library import Library
from desktop.gui.panels.sidebar import gather


def _ids(lib: Library, *names: str) -> list[int]:
    return [p.id for p in lib.query() if Path(p.rel_path).name in names]


def test_the_sidebar_counts_a_parent_tag_as_its_view_lists(lib: Library) -> None:
    lib.add_tag("Trips/Road", _ids(lib, "car.jpg", "road.jpg"))
    lib.add_tag("Trips/Sea", _ids(lib, "beach.jpg"))
    lib.add_tag("Trips", _ids(lib, "car.jpg"))  # on the parent as well: still one photo
    counts = dict(gather(lib).tags)
    assert counts == {"Trips": 3, "Trips/Road": 2, "Trips/Sea": 1}
    assert counts["Trips"] == lib.count(PhotoFilter(tags=["Trips"]))
    assert {t.name: t.count for t in lib.tags(include_missing=False)} == counts


def test_a_query_hint_is_shown_once(lib: Library, make_window: Any) -> None:
    window = make_window(lib)
    window.search_bar.set_text("road")
    assert window.model.rowCount() > 0
    window.search_bar.set_text("beach after:banana")
    text = window.notice.label.text()
    assert window.notice.isVisible() and "after:banana" in text
    assert text.count("YYYY-MM-DD") == 1
    assert window.model.rowCount() == 0  # the last query's photos do not stay up under this one


def test_a_misspelt_filter_or_unknown_tag_is_named_not_searched(lib: Library, make_window: Any) -> None:
    window = make_window(lib)
    window.search_bar.set_text("tga:family")
    assert "Unknown filter 'tga:' — did you mean 'tag:'?" in window.notice.label.text()
    assert "contain" not in window.notice.label.text()  # not taken as words to look for
    window.search_bar.set_text("tag:Nowhere")
    assert "No tag named 'Nowhere'" in window.notice.label.text()
    lib.add_tag("Trips/Road", _ids(lib, "road.jpg"))
    window.search_bar.set_text("tag:road")  # a leaf name finds its tag here too
    assert [window.model.record(r).name for r in range(window.model.rowCount())] == ["road.jpg"]


def test_a_folder_the_scan_cannot_enter_is_under_could_not_read(
    lib: Library, make_window: Any, photos_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trip = photos_dir / "trip"
    real = os.scandir

    def scandir(path: Any = ".") -> Any:
        if Path(path) == trip:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    window = make_window(lib)
    with monkeypatch.context() as m:
        m.setattr(scanner_module.os, "scandir", scandir)
        window.scan_flow.scan_roots()
    window.sidebar.select_key("view:errors")
    assert window.stack.currentWidget() is window._errors_page
    model = window.errors_model
    assert model.rowCount() == 1
    assert model.index(0, 0).data() == str(trip)
    assert model.index(0, 1).data() == "Permission denied: cannot open this folder"
    assert window.errors_header.text().startswith("1 file or folder Shoebox could not read")
    window.scan_flow.scan_roots()  # readable again: gone from the list
    window.sidebar.select_key("view:all")
    window.sidebar.select_key("view:errors")
    assert model.rowCount() == 0
