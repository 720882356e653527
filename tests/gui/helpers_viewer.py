"""Helpers for the viewer, info panel and settings tests: a small real library on disk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from desktop.core.library import Library


@dataclass
class DemoLibrary:
    library: Library
    ids: list[int]  # oldest first
    folder: Path
    home: Path

    def reopen(self) -> Library:
        """Close and open the catalog again, as a restart of the app would."""
        self.library.close()
        self.library = Library()
        return self.library


def make_demo_library(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_jpeg: Callable[..., Path],
    count: int = 4,
    size: tuple[int, int] = (320, 240),
) -> DemoLibrary:
    """``count`` JPEGs with camera, date and GPS, scanned into a library under a fresh SHOEBOX_HOME."""
    home = tmp_path / "home"
    monkeypatch.setenv("SHOEBOX_HOME", str(home))
    folder = tmp_path / "photos"
    for i in range(count):
        make_jpeg(
            folder / f"img_{i:02d}.jpg",
            size=size,
            color=(40 * i % 256, 120, 200 - 30 * i % 256),
            taken=dt.datetime(2023, 5, 1 + i, 12, 30),
            make="Canon",
            model="Canon EOS R5",
            gps=(48.8584, 2.2945),
        )
    library = Library()
    library.add_root(folder)
    library.scan(workers=1)
    ids = [p.id for p in library.query(newest_first=False)]
    assert len(ids) == count
    return DemoLibrary(library, ids, folder, home)
