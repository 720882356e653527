"""A camera RAW dropped on the main window is imported like any photo (the formats registry decides)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from desktop.core.library import Library
from tests.conftest import MakeDng
from tests.gui.test_main_window import _drop

pytestmark = pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")


def test_dropping_a_dng_imports_it(lib: Library, make_window: Any, tmp_path: Path, make_dng: MakeDng) -> None:
    window = make_window(lib)
    before = lib.count()
    dropped = make_dng(
        tmp_path / "outside" / "IMG_0042.dng", orientation=6, taken=dt.datetime(2023, 3, 4, 5, 6)
    )
    assert _drop(window, [dropped]).isAccepted()
    assert lib.count() == before + 1
    assert "1 imported" in window.notice.text()
    imported = next(Path(r.path) for r in lib.roots() if Path(r.path) == lib.import_dir().resolve())
    copy = imported / "2023" / "03" / "IMG_0042.dng"
    info = lib.info(copy)
    assert info["status"] == "ok" and (info["width"], info["height"]) == (192, 256)
