"""Importing outside files: a file whose exact bytes are in the library is never copied again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop.core.catalog.schema import STATUS_ERROR, Photo
from desktop.core.library import Library


def test_a_truncated_file_imported_twice_is_copied_once(
    library: Library, tmp_path: Path, make_jpeg: Any
) -> None:
    card = tmp_path / "card"
    good = make_jpeg(card / "good.jpg", size=(320, 240))
    data = good.read_bytes()
    (card / "truncated.jpg").write_bytes(data[: len(data) // 2])

    first = library.import_paths([card])
    assert len(first.imported) == 1 and [Path(p).name for p, _ in first.errors] == ["truncated.jpg"]
    for _ in range(2):
        again = library.import_paths([card])
        assert not again.imported and not again.errors
        assert sorted(Path(src).name for src, _ in again.duplicates) == ["good.jpg", "truncated.jpg"]

    copies = sorted(p.name for p in library.import_dir().rglob("*.jpg"))
    assert copies == ["good.jpg", "truncated.jpg"]  # no "truncated (1).jpg"
    assert Photo.select().where(Photo.status == STATUS_ERROR).count() == 1
