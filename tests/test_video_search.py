"""Smart search over videos: a few keyframes each, matched by the best frame, returned once."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_embedder import FP32, add_photos, model

from desktop.core.catalog.schema import Embedding, Photo
from desktop.core.imaging import video as video_reader
from desktop.core.library import Library
from desktop.core.semantic import clip_models as cm
from desktop.core.semantic.embedder import Embedder, open_catalog_index, pending_count
from desktop.core.semantic.search import SearchService, index_library
from desktop.core.semantic.vector_index import VectorIndex

DIM = 32


def _unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    v = rng.normal(size=(n, dim)).astype(np.float32)
    out: np.ndarray = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def write_segments(path: Path, colours: list[tuple[int, int, int] | None], segment_s: float = 10.0) -> Path:
    """An H.264 clip of ``segment_s``-second parts, each a noise picture tinted by its colour (None: black);
    2 fps, a keyframe a second, 64 x 48: quick to write and to seek."""
    import av

    fps = 2
    rng = np.random.default_rng(len(colours))
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = 64, 48
        stream.pix_fmt = "yuv420p"
        stream.options = {"g": str(fps), "preset": "ultrafast"}
        for colour in colours:
            if colour is None:
                pixels = np.zeros((48, 64, 3), np.uint8)
            else:
                noise = rng.integers(0, 120, size=(48, 64, 3))
                pixels = np.clip(np.asarray(colour) * 0.6 + noise, 0, 255).astype(np.uint8)
            for _ in range(int(segment_s * fps)):
                for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def add_video(lib: Library, folder: Path, path: Path) -> tuple[int, str]:
    """Catalogue ``path`` as the scan would: its content hash, its poster as the thumbnail."""
    data = path.read_bytes()
    h = hashlib.sha256(data).hexdigest()
    info = video_reader.probe(path)
    assert info.poster is not None
    buf = io.BytesIO()
    info.poster.save(buf, "JPEG", quality=90)
    lib.thumbnails.write(h, buf.getvalue())
    root = lib.add_root(folder)
    rel = str(path.relative_to(folder))
    pid = lib.writer.call(
        lambda: (
            Photo.create(
                root=root.id,
                rel_path=rel,
                content_hash=h,
                status="ok",
                size_bytes=len(data),
                media_kind="video",
                duration=info.duration,
            ).id
        )
    )
    return int(pid), h


@pytest.fixture
def count_keyframes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many keyframes were decoded (each seek decodes one), by counting ``_keyframe_at``'s frames."""
    decoded: list[int] = [0]
    real: Callable[..., Any] = video_reader._keyframe_at

    def counting(*args: Any) -> Any:
        frame = real(*args)
        decoded[0] += frame is not None
        return frame

    monkeypatch.setattr(video_reader, "_keyframe_at", counting)
    return decoded


# ------------------------------------------------------------------ the index alone
@pytest.mark.parametrize("graph", [False, True])
def test_a_query_equal_to_one_frame_ranks_its_video_first_and_once(tmp_path: Path, graph: bool) -> None:
    rng = np.random.default_rng(3)
    photos = _unit(rng, 600)
    frames = _unit(rng, 5)
    idx = VectorIndex(tmp_path / "idx", "m", DIM, exact_max=500 if graph else 150_000)
    idx.add([f"h{i}" for i in range(600)], photos)
    assert idx.add(["vid"] * 5, frames) == 1
    # near-copies of every frame crowd the rows a top k looks at: still k different hashes come back
    twins = frames + 0.01 * _unit(rng, 5)
    idx.add(["twin"] * 5, twins / np.linalg.norm(twins, axis=1, keepdims=True))
    if graph:
        assert idx.wait_for_graph(60)
    assert len(idx) == 602 and "vid" in idx
    for j in range(5):
        hits = idx.search(frames[j], 10)
        assert hits[0][0] == "vid" and hits[0][1] == pytest.approx(1.0, abs=1e-5)
        assert hits[1][0] == "twin"
        names = [h for h, _ in hits]
        assert len(names) == len(set(names)) == 10
        within = idx.search(frames[j], 3, candidates={"vid", "h1", "h2"})
        assert [h for h, _ in within][0] == "vid" and len(within) == 3
    assert idx.scores(frames[2], ["vid", "h0"])["vid"] == pytest.approx(1.0, abs=1e-5)
    # a query of several vectors (Find similar from a video): each row by its best match among them
    other = _unit(rng, 1)[0]
    by_pair = idx.search(np.stack([other, frames[3]]), 2)
    assert by_pair[0] == ("vid", pytest.approx(1.0, abs=1e-5))
    assert idx.scores(np.stack([other, frames[3]]), ["h5"])["h5"] == pytest.approx(
        max(float(photos[5] @ other), float(photos[5] @ frames[3])), abs=1e-5
    )
    background = idx.sample_scores(np.stack([other, frames[3]]), n=50)
    assert np.all(background >= idx.sample_scores(other, n=50) - 1e-6)
    np.testing.assert_allclose(idx.vector("h7"), photos[7], atol=1e-6)

    # re-embedded with fewer frames: the dropped frame no longer matches
    idx.add(["vid"] * 2, frames[:2])
    frames_now = idx.frames("vid")
    assert frames_now is not None and frames_now.shape == (2, DIM)
    assert dict(idx.search(frames[4], 700))["vid"] < 0.99
    idx.save()
    again = VectorIndex.load(tmp_path / "idx", "m", DIM, exact_max=500 if graph else 150_000)
    if graph:
        again.wait_for_graph(60)
    assert again.search(frames[1], 1)[0][0] == "vid" and len(again) == 602
    again.remove(["vid"])
    assert "vid" not in dict(again.search(frames[1], 700)) and len(again) == 601


def test_an_index_written_before_videos_still_loads(tmp_path: Path) -> None:
    import json

    idx = VectorIndex(tmp_path / "idx", "m", DIM)
    idx.add(["a", "b"], _unit(np.random.default_rng(1), 2))
    idx.save()
    meta = tmp_path / "idx" / "meta.json"
    info = json.loads(meta.read_text())
    meta.write_text(json.dumps({**info, "version": 1}))
    assert len(VectorIndex.load(tmp_path / "idx", "m", DIM)) == 2


# ---------------------------------------------------------------- embedding videos
def test_a_video_gets_one_vector_per_keyframe_black_ones_skipped(
    library: Library, tiny_clip_file: Path, tmp_path: Path, count_keyframes: list[int]
) -> None:
    folder = tmp_path / "clips"
    red, green, blue, grey = (220, 40, 40), (40, 200, 60), (40, 60, 220), (150, 150, 150)
    long_id, long_h = add_video(
        library, folder, write_segments(folder / "trip.mp4", [red, green, blue, grey])
    )
    _, dark_h = add_video(library, folder, write_segments(folder / "dark.mp4", [None, None, blue, red]))
    _, short_h = add_video(library, folder, write_segments(folder / "short.mp4", [red], segment_s=4))
    clip = model(tiny_clip_file, tmp_path)
    idx = open_catalog_index(library, clip.model_id, clip.embed_dim)
    count_keyframes[0] = 0
    report = Embedder(library, clip, idx, batch_size=2).run()
    assert (report.embedded, report.total, report.failed) == (3, 3, [])
    assert pending_count(clip.model_id) == 0

    blobs = {r.content_hash: bytes(r.vector) for r in Embedding.select()}
    rows = {h: np.frombuffer(b, dtype=np.float16).reshape(-1, DIM) for h, b in blobs.items()}
    # 40 s: one keyframe per 10 s; the dark clip's first two are black and skipped; 4 s: the poster
    assert {h: r.shape[0] for h, r in rows.items()} == {long_h: 4, dark_h: 2, short_h: 1}
    assert count_keyframes[0] == 8  # 4 + 4 decoded; the short clip's poster came from its thumbnail
    for h, r in rows.items():
        np.testing.assert_allclose(np.linalg.norm(r.astype(np.float32), axis=1), 1.0, atol=2e-3)
        frames = idx.frames(h)
        assert frames is not None and frames.shape == r.shape
    assert len(idx) == 3

    # the short clip's one vector is its poster's (the cached thumbnail), as a photo's is its thumbnail
    from PIL import Image

    with Image.open(library.thumbnails.path_for(short_h)) as im:
        ref = clip.encode_images([im.convert("RGB")])[0]
    assert float(ref @ rows[short_h][0].astype(np.float32)) > 0.999

    # a query equal to one of the long clip's frames ranks it first
    assert idx.search(rows[long_h][2].astype(np.float32), 3)[0][0] == long_h

    # rebuilt from the catalog alone (the index is a cache): the same rows come back
    idx.remove([long_h, dark_h, short_h])
    from desktop.core.semantic.embedder import sync_index

    assert sync_index(idx) == (3, 0)
    frames = idx.frames(long_h)
    assert frames is not None and frames.shape == (4, DIM)
    assert long_id > 0


def test_a_long_video_decodes_at_most_eight_keyframes(
    library: Library, tiny_clip_file: Path, tmp_path: Path, count_keyframes: list[int]
) -> None:
    import av

    folder = tmp_path / "long"
    path = folder / "lecture.mp4"
    folder.mkdir()
    # 30 minutes at 1 fps (1,800 frames), a keyframe every 30 s
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=1)
        stream.width, stream.height = 32, 32
        stream.pix_fmt = "yuv420p"
        stream.options = {"g": "30", "preset": "ultrafast"}
        for i in range(1800):
            pixels = np.full((32, 32, 3), 60 + (i // 30) % 150, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    _, h = add_video(library, folder, path)
    clip = model(tiny_clip_file, tmp_path)
    count_keyframes[0] = 0
    report = Embedder(library, clip, None).run()
    assert report.embedded == 1 and not report.failed
    assert count_keyframes[0] == 8  # eight seeks, one keyframe each: not 1,800 frames
    blob = Embedding.get(Embedding.content_hash == h).vector
    assert len(bytes(blob)) == 8 * DIM * 2


# ------------------------------------------------------------------- through search
@pytest.fixture
def video_library(library: Library, tiny_clip_file: Path, tmp_path: Path) -> dict[str, Any]:
    """30 noise photos, a 40 s clip of four tinted parts, and a still that is one of its frames."""

    add_photos(library, tmp_path / "pics", 30)
    folder = tmp_path / "clips"
    clip_path = write_segments(
        folder / "trip.mp4", [(220, 40, 40), (40, 200, 60), (40, 60, 220), (200, 200, 40)]
    )
    video_id, video_h = add_video(library, folder, clip_path)
    frame = video_reader.keyframes(clip_path, 96)[2]
    buf = io.BytesIO()
    frame.save(buf, "JPEG", quality=95)
    still = folder / "still.jpg"
    still.write_bytes(buf.getvalue())
    still_h = hashlib.sha256(buf.getvalue()).hexdigest()
    library.thumbnails.write(still_h, buf.getvalue())
    root = library.add_root(folder)
    still_id = library.writer.call(
        lambda: (
            Photo.create(
                root=root.id, rel_path="still.jpg", content_hash=still_h, status="ok", size_bytes=1
            ).id
        )
    )
    spec = cm.spec_from_options(None, tiny_clip_file)
    assert spec is not None
    return {"spec": spec, "video": video_id, "video_hash": video_h, "still": int(still_id)}


def test_find_similar_from_a_photo_returns_the_video_once_and_from_the_video_too(
    library: Library, video_library: dict[str, Any]
) -> None:
    report = index_library(library, video_library["spec"], plan=FP32, batch_size=8)
    assert report.embedded == 32 and not report.failed
    svc = SearchService(library, video_library["spec"], plan=FP32)
    try:
        video, still = video_library["video"], video_library["still"]
        from_still = svc.similar(still, limit=10, everything=True)
        ids = [h.photo_id for h in from_still.hits]
        assert ids[0] == still and ids[1] == video  # the still is one of the clip's frames
        assert len(ids) == len(set(ids))
        from_video = svc.similar(video, limit=10, everything=True)
        ids = [h.photo_id for h in from_video.hits]
        assert ids[0] == video and still in ids[:2] and len(ids) == len(set(ids))
        # by its best pair of frames: the clip itself scores 1, the still as high as its frame does
        assert from_video.hits[0].score == pytest.approx(1.0, abs=1e-3)
        assert from_video.hits[1].score == pytest.approx(from_still.hits[1].score, abs=1e-3)
        # a text query reaches the video by its best frame
        idx = svc.index()
        frames = idx.frames(video_library["video_hash"])
        assert frames is not None and frames.shape[0] == 4
        text = svc.embed_text("a red and yellow clip")
        best = max(float(f @ text) for f in frames)
        assert idx.scores(text, [video_library["video_hash"]])[video_library["video_hash"]] == pytest.approx(
            best
        )
    finally:
        svc.close()


@pytest.fixture
def process_service(library: Library, tiny_clip_file: Path) -> Iterator[SearchService]:
    spec = cm.spec_from_options(None, tiny_clip_file)
    assert spec is not None
    svc = SearchService(library, spec, plan=FP32, model_process=True)
    yield svc
    svc.close()


def test_the_model_process_embeds_a_videos_keyframes_like_this_process(
    library: Library,
    process_service: SearchService,
    video_library: dict[str, Any],
    tiny_clip_file: Path,
    tmp_path: Path,
) -> None:
    spec = process_service.spec()
    report = index_library(library, spec, batch_size=8, encoder_for=process_service.model_process)
    assert report.embedded == 32 and not report.failed
    blob = Embedding.get(Embedding.content_hash == video_library["video_hash"]).vector
    got = np.frombuffer(bytes(blob), dtype=np.float16).reshape(-1, DIM).astype(np.float32)
    local = model(tiny_clip_file, tmp_path)
    frames = video_reader.keyframes(
        Path(library.photo(video_library["video"]).root.path) / "trip.mp4", local.image_size * 3
    )
    ref = local.encode_images(frames)
    assert got.shape == ref.shape == (4, DIM)
    assert float(np.min(np.sum(got * ref, axis=1))) > 0.999
    hits = process_service.similar(video_library["still"], limit=5, everything=True).hits
    assert [h.photo_id for h in hits][:2] == [video_library["still"], video_library["video"]]
