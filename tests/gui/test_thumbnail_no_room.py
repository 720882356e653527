"""A grid cell whose thumbnail cannot be stored (its disk is full) still shows the photo."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from desktop.core.imaging.thumbnails import ThumbnailCache
from desktop.gui.grid.thumbnail_loader import SQUARE, load_cell, load_thumbnail


def test_cells_are_made_from_the_original_when_the_cache_has_no_room(
    qapp: QApplication, tmp_path: Path, make_jpeg: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_jpeg(tmp_path / "photo.jpg", size=(400, 300))
    cache = ThumbnailCache(tmp_path / "thumbnails")
    content_hash = "ab" * 16

    def full(self: ThumbnailCache, content_hash: str, jpeg: bytes) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ThumbnailCache, "write", full)
    cell = load_cell(cache, content_hash, str(source), 64, SQUARE, 3.0)
    assert not cell.isNull() and (cell.width(), cell.height()) == (64, 64)
    fit = load_thumbnail(cache, content_hash, str(source), 128)
    assert (fit.width(), fit.height()) == (128, 96)
    assert not cache.has(content_hash)

    monkeypatch.undo()  # room again: the next load stores it
    load_thumbnail(cache, content_hash, str(source), 128)
    assert cache.has(content_hash)
