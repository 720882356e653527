"""``gc``: orphans of every kind planted beside live ones; ``--dry-run`` lists exactly the planted ones, the
real run deletes exactly them and nothing of the person's, and a second run finds nothing."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from desktop.core.catalog.schema import Embedding, Photo, Task
from desktop.core.library import Library
from desktop.core.processing.cache import ResultCache
from desktop.core.processing.render import Rendered
from desktop.core.runtime.paths import resolve_paths
from tests.conftest import MakeJpeg, run_cli

GONE_HASH = "ab" * 16  # content no photo row has
JPEG = b"\xff\xd8" + b"\0" * 500


def _old(path: Path) -> Path:
    past = time.time() - 3 * 3600
    os.utime(path, (past, past))
    return path


def _plant(tmp_path: Path, make_jpeg: MakeJpeg) -> tuple[Path, set[str], list[Path]]:
    """A library with orphans of every kind; returns (home, the orphans' paths / embedding keys, kept files)."""
    home, pics, exports = tmp_path / "home", tmp_path / "pics", tmp_path / "exports"
    busy = exports / "running"  # a running task's folder inside a finished one's
    for d in (pics, exports, busy):
        d.mkdir()
    kept_photo = make_jpeg(pics / "kept.jpg", color=(200, 10, 10))
    sidecar = pics / "kept.jpg.xmp"
    sidecar.write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    lost = make_jpeg(pics / "lost.jpg", color=(10, 10, 200))
    with Library(resolve_paths(home)) as lib:
        lib.add_root(pics)
        lib.scan()
        kept_id = lib.photo_by_path(kept_photo).id  # type: ignore[union-attr]
        lost_hash = str(lib.photo_by_path(lost).content_hash)  # type: ignore[union-attr]
        lib.set_rating([kept_id], 4)
        lib.add_tag("Trips/Rome", [kept_id])
        lost.unlink()
        lib.scan()  # lost.jpg is missing now: its row, and so its thumbnail, stay
        assert Photo.get_by_id(lib.photo_by_path(lost).id).status == "missing"  # type: ignore[union-attr]
        assert lib.thumbnails.has(lost_hash)

        planted: set[str] = set()
        planted.add(str(lib.thumbnails.write(GONE_HASH, JPEG)))
        preview = lib.previews.path_for(GONE_HASH)
        preview.parent.mkdir(parents=True, exist_ok=True)
        preview.write_bytes(JPEG)
        planted.add(str(preview))
        # live previews and vectors beside them
        live_preview = lib.previews.path_for(lost_hash)
        live_preview.parent.mkdir(parents=True, exist_ok=True)
        live_preview.write_bytes(JPEG)

        def _rows() -> None:
            Embedding.insert_many(
                [
                    {"content_hash": GONE_HASH, "model_id": "tiny", "vector": b"\0" * 1024},
                    {"content_hash": lost_hash, "model_id": "tiny", "vector": b"\0" * 1024},
                ]
            ).execute()
            for folder, state in ((exports, "done"), (busy, "running")):
                Task.create(msg_id="m", cmd="web-2048", recipe="{}", output_dir=str(folder), state=state)

        lib.writer.call(_rows)
        planted.add(f"embedding:{GONE_HASH}:tiny")

        (exports / "2026" / "07").mkdir(parents=True)
        done_output = make_jpeg(exports / "2026" / "07" / "a_web-2048.jpg")
        for partial in (
            exports / "2026" / "07" / ".b_web-2048.jpg.shoebox-partial",
            exports / ".c.jpg.shoebox-tmp",
        ):
            partial.write_bytes(b"half")
            planted.add(str(partial))
        running_partial = busy / ".d.jpg.shoebox-partial"  # a task running now is writing it
        running_partial.write_bytes(b"half")

        stale = lib.thumbnails.root / "ab" / f".tmp-{GONE_HASH}.jpg"
        stale.write_bytes(b"x")
        _old(stale)
        planted.add(str(stale))
        fresh = lib.thumbnails.root / "ab" / ".tmp-fresh.jpg"  # may be being written right now
        fresh.write_bytes(b"x")
        temp = lib.paths.cache / "tmp"
        temp.mkdir()
        watermark = temp / "watermark-1.png"
        watermark.write_bytes(b"png")
        _old(watermark)
        planted.add(str(watermark))

        # the result cache: an entry made from content no photo has, beside one of the missing photo's
        results = ResultCache(lib.paths.results, 1 << 30)
        orphan = results.put("0f" * 16, GONE_HASH, [Rendered(JPEG, "jpg", "image/jpeg")])
        live = results.put("1e" * 16, lost_hash, [Rendered(JPEG, "jpg", "image/jpeg")])
        assert orphan is not None and live is not None
        planted.add(str(orphan[0].path.parent))

        kept = [
            kept_photo,
            sidecar,
            lib.thumbnails.path_for(str(lib.photo_by_path(kept_photo).content_hash)),  # type: ignore[union-attr]
            lib.thumbnails.path_for(lost_hash),
            live_preview,
            done_output,
            running_partial,
            fresh,
            lib.paths.catalog_db,
            live[0].path,
        ]
    return home, planted, kept


def _named(items: list[dict[str, object]]) -> set[str]:
    return {str(i["path"]) if i["path"] else f"embedding:{i['content_hash']}:{i['model']}" for i in items}


def test_gc_deletes_exactly_what_nothing_uses(tmp_path: Path, make_jpeg: MakeJpeg) -> None:
    home, planted, kept = _plant(tmp_path, make_jpeg)

    dry = json.loads(run_cli(home, "gc", "--dry-run", "--json", check=True).stdout)
    assert dry["dry_run"] is True
    assert _named(dry["items"]) == planted
    assert set(dry["kinds"]) == {"thumbnail", "preview", "embedding", "partial", "temporary", "result"}
    assert dry["kinds"]["result"]["count"] == 1  # the orphan entry, not the missing photo's
    assert dry["kinds"]["embedding"] == {"count": 1, "bytes": 1024}
    assert all(
        Path(p).exists() for p in planted if not p.startswith("embedding:")
    )  # a dry run deletes nothing

    done = json.loads(run_cli(home, "gc", "--json", check=True).stdout)
    assert _named(done["items"]) == planted and done["failures"] == []
    assert done["reclaimed"] == dry["bytes"] > 0
    assert not any(Path(p).exists() for p in planted if not p.startswith("embedding:"))
    assert all(p.exists() for p in kept)

    with Library(resolve_paths(home)) as lib:
        assert Embedding.select().count() == 1  # the missing photo's vector stays
        assert Embedding.select().where(Embedding.content_hash == GONE_HASH).count() == 0
        kept_photo = lib.photo_by_path(kept[0])
        assert kept_photo is not None
        info = lib.photo_info(kept_photo.id)
        assert info is not None and info["rating"] == 4 and info["tags"] == ["Trips/Rome"]
        assert Photo.select().count() == 2  # the missing photo's row is still there

    again = json.loads(run_cli(home, "gc", "--dry-run", "--json", check=True).stdout)
    assert again["items"] == [] and again["bytes"] == 0
    plain = run_cli(home, "gc", check=True).stdout
    assert "Nothing to clean up." in plain


def test_gc_dry_run_reads_as_sizes_per_kind(tmp_path: Path, make_jpeg: MakeJpeg) -> None:
    home, _planted, _kept = _plant(tmp_path, make_jpeg)
    out = run_cli(home, "gc", "--dry-run", check=True).stdout
    assert "would be freed" in out and "thumbnails of photos no longer in the library" in out
    assert "unfinished outputs left by interrupted tasks" in out
