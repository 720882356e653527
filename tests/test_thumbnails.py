"""desktop.core.imaging.thumbnails: the content-hash keyed thumbnail and preview caches."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from desktop.core.imaging import thumbnails
from desktop.core.imaging.decode import ImageError
from desktop.core.imaging.thumbnails import PreviewCache, ThumbnailCache, ensure_thumbnail

MakeJpeg = Callable[..., Path]


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _jpeg(size: tuple[int, int] = (32, 24), colour: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG")
    return buf.getvalue()


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".tmp-")]


# --------------------------------------------------------------------------- ThumbnailCache


def test_path_is_sharded(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path)
    h = "abcdef" + "0" * 58
    assert cache.path_for(h) == tmp_path / "ab" / "cd" / f"{h}.jpg"
    assert cache.path_for(h.upper()) == cache.path_for(h)


@pytest.mark.parametrize("bad", ["", "ab", "../../etc/passwd", "abcd/../x", "xyz123456", "abcd\x00"])
def test_path_refuses_non_hashes(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        ThumbnailCache(tmp_path).path_for(bad)


def test_write_read_has_remove(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path / "thumbs")  # root need not exist yet
    data = _jpeg()
    h = _hash(data)
    assert not cache.has(h) and cache.read(h) is None
    path = cache.write(h, data)
    assert path == cache.path_for(h) and path.is_file()
    assert cache.has(h) and cache.read(h) == data
    newer = _jpeg(colour="blue")
    cache.write(h, newer)  # replacing is allowed
    assert cache.read(h) == newer
    assert _leftovers(tmp_path) == []
    cache.remove(h)
    assert not cache.has(h) and cache.read(h) is None
    cache.remove(h)  # removing twice is fine


def test_an_interrupted_write_leaves_the_old_thumbnail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = ThumbnailCache(tmp_path)
    old = _jpeg()
    h = _hash(old)
    cache.write(h, old)

    def crash(src: object, dst: object) -> None:
        raise OSError("disk pulled out")

    monkeypatch.setattr(thumbnails.os, "replace", crash)
    with pytest.raises(OSError, match="disk pulled out"):
        cache.write(h, _jpeg(colour="green"))
    monkeypatch.undo()
    assert cache.read(h) == old
    assert _leftovers(tmp_path) == []


def test_empty_or_garbage_files_count_as_missing(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path)
    h = "ab" * 32
    path = cache.path_for(h)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    assert not cache.has(h) and cache.read(h) is None
    path.write_bytes(b"not a jpeg")
    assert cache.read(h) is None


def test_concurrent_writers_of_one_hash(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path)
    blobs = [_jpeg(colour=c) for c in ("red", "green", "blue", "white")]
    h = "12" * 32
    errors: list[BaseException] = []

    def writer(data: bytes) -> None:
        try:
            for _ in range(25):
                cache.write(h, data)
                assert cache.read(h) in blobs
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(b,)) for b in blobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert cache.read(h) in blobs
    assert _leftovers(tmp_path) == []


def test_size_and_clear(tmp_path: Path) -> None:
    root = tmp_path / "thumbs"
    cache = ThumbnailCache(root)
    assert cache.size_bytes() == 0
    cache.clear()  # nothing there yet: fine
    written = [_jpeg(size=(16 + i, 16)) for i in range(5)]
    for data in written:
        cache.write(_hash(data), data)
    assert cache.size_bytes() == sum(len(d) for d in written)
    cache.clear()
    assert root.is_dir() and list(root.iterdir()) == []
    assert cache.size_bytes() == 0
    assert not cache.has(_hash(written[0]))


# --------------------------------------------------------------------------- ensure_thumbnail


def test_ensure_thumbnail_remakes_a_missing_one(tmp_path: Path, make_jpeg: MakeJpeg) -> None:
    source = make_jpeg(tmp_path / "photos" / "p.jpg", size=(800, 600), orientation=6)
    h = _hash(source.read_bytes())
    cache = ThumbnailCache(tmp_path / "thumbs")
    path = ensure_thumbnail(cache, h, source)
    assert path == cache.path_for(h)
    with Image.open(path) as thumb:
        assert thumb.size == (256, 341)  # upright portrait


def test_ensure_thumbnail_keeps_an_existing_one(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path)
    data = _jpeg()
    h = _hash(data)
    cache.write(h, data)
    # the source is gone, but nothing needs decoding
    assert ensure_thumbnail(cache, h, tmp_path / "gone.jpg") == cache.path_for(h)
    assert cache.read(h) == data


def test_ensure_thumbnail_of_a_bad_source(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path / "thumbs")
    with pytest.raises(ImageError, match="cannot read"):
        ensure_thumbnail(cache, "ab" * 32, tmp_path / "missing.jpg")
    text = tmp_path / "notes.jpg"
    text.write_text("shopping list\n")
    with pytest.raises(ImageError, match="text"):
        ensure_thumbnail(cache, "cd" * 32, text)
    assert not cache.has("cd" * 32)


# --------------------------------------------------------------------------- PreviewCache


def test_preview_is_made_on_first_view_only(
    tmp_path: Path, make_jpeg: MakeJpeg, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_jpeg(tmp_path / "big.jpg", size=(3000, 2000), orientation=8)
    h = _hash(source.read_bytes())
    cache = PreviewCache(tmp_path / "previews", long_side=1024)
    assert not cache.path_for(h).exists()  # nothing made up front
    path = cache.get_or_make(h, source)
    assert path.is_file() and "1024" in path.name
    with Image.open(path) as preview:
        assert preview.size == (683, 1024)  # upright (orientation 8), long side 1024

    def must_not_decode(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded again")

    monkeypatch.setattr(thumbnails, "load_upright", must_not_decode)
    assert cache.get_or_make(h, source) == path
    assert _leftovers(tmp_path) == []


def test_preview_of_a_small_photo_is_not_enlarged(tmp_path: Path, make_jpeg: MakeJpeg) -> None:
    source = make_jpeg(tmp_path / "small.jpg", size=(300, 200))
    path = PreviewCache(tmp_path / "previews").get_or_make(_hash(source.read_bytes()), source)
    with Image.open(path) as preview:
        assert preview.size == (300, 200)


def test_preview_size_setting_is_part_of_the_key(tmp_path: Path) -> None:
    h = "ef" * 32
    assert PreviewCache(tmp_path, 1024).path_for(h) != PreviewCache(tmp_path, 2048).path_for(h)


def test_preview_of_an_unreadable_source(tmp_path: Path) -> None:
    cache = PreviewCache(tmp_path / "previews")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(_jpeg(size=(200, 200))[:300])
    for source in (broken, tmp_path / "missing.jpg"):
        with pytest.raises(ImageError):
            cache.get_or_make("ab" * 32, source)
    assert not cache.path_for("ab" * 32).exists()


def test_preview_cache_clear(tmp_path: Path, make_jpeg: MakeJpeg) -> None:
    source = make_jpeg(tmp_path / "p.jpg", size=(400, 300))
    cache = PreviewCache(tmp_path / "previews")
    path = cache.get_or_make(_hash(source.read_bytes()), source)
    assert cache.size_bytes() == os.path.getsize(path)
    cache.clear()
    assert not path.exists()
