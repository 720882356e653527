"""Video benchmarks (issue 11): first scan of 1080p clips, and the cost of embedding their keyframes.

Run alone: ``python -m bench.bench_video [--count N]``. The clips are written
once with PyAV into ``bench/out/videos/`` and reused: 1080p, 10 s, 30 fps
H.264 (``preset=ultrafast``, a keyframe a second), a flat picture with a bar
that moves once a second. Ten are encoded, in their own colours; the rest are
copies of those remuxed under another title tag (encoding 1080p is slow on a
small machine: ~3-15 s a clip here), so each of the 100 files has its own
content hash and header while its stream is a real 1080p H.264 one.
The scan reads each clip's header and decodes one keyframe for its poster;
nothing reads a stream through. Keyframe embedding is timed with a tiny random
CLIP (32 px input) on the CPU: what decoding and preparing the frames cost,
not what a real model costs, and nothing about search quality.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import OUT, machine, peak_rss_mb, print_table, write_result
from desktop.core.library import Library
from desktop.core.runtime.paths import resolve_paths

WIDTH, HEIGHT, FPS, SECONDS = 1920, 1080, 30, 10
TARGET_VIDEOS_PER_S = 10.0


def _write_clip(path: Path, seed: int, seconds: int = SECONDS, fps: int = FPS, gop: int = FPS) -> None:
    """One H.264 clip of flat YUV pictures (cheap to encode), a new picture each second."""
    import av

    rng = np.random.default_rng(seed)
    luma, cb, cr = (int(x) for x in rng.integers(40, 200, size=3))
    pictures = []
    for sec in range(seconds):
        yuv = np.empty((HEIGHT * 3 // 2, WIDTH), np.uint8)
        yuv[:HEIGHT] = luma
        x = (sec * 173) % (WIDTH - 240)
        yuv[: HEIGHT // 2, x : x + 240] = 235  # a bar that moves: each second's keyframe differs
        yuv[HEIGHT : HEIGHT + HEIGHT // 4] = cb
        yuv[HEIGHT + HEIGHT // 4 :] = cr
        pictures.append(yuv)
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = WIDTH, HEIGHT
        stream.pix_fmt = "yuv420p"
        stream.options = {"g": str(gop), "preset": "ultrafast"}
        for i in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(pictures[i // fps], format="yuv420p")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    tmp.replace(path)


def _remux(src: Path, dst: Path, title: str) -> None:
    """A copy of ``src``'s video stream under another title (packets copied, nothing re-encoded)."""
    import av

    tmp = dst.with_suffix(".part.mp4")
    with av.open(str(src)) as inp, av.open(str(tmp), "w") as out:
        out.metadata["title"] = title
        source = inp.streams.video[0]
        stream = out.add_stream_from_template(source)
        for packet in inp.demux(source):
            if packet.dts is None:
                continue  # the demuxer's flush packet
            packet.stream = stream
            out.mux(packet)
    tmp.replace(dst)


TEMPLATES = 10


def made_clips(count: int) -> Path:
    """``count`` 1080p 10-second clips, written once and reused."""
    folder = OUT / "videos" / f"1080p-{SECONDS}s-{count}"
    encoded = OUT / "videos" / f"1080p-{SECONDS}s-encoded"
    folder.mkdir(parents=True, exist_ok=True)
    encoded.mkdir(parents=True, exist_ok=True)
    missing = [i for i in range(count) if not (folder / f"clip{i:03d}.mp4").is_file()]
    if missing:
        print(f"writing {len(missing)} 1080p clips into {folder} (once)...", file=sys.stderr, flush=True)
    for i in missing:
        template = encoded / f"template{i % TEMPLATES}.mp4"
        if not template.is_file():
            _write_clip(template, i % TEMPLATES)
        _remux(template, folder / f"clip{i:03d}.mp4", f"clip {i}")
    return folder


def made_long_clips(count: int = 4) -> Path:
    """A few 80-second 1080p clips (5 fps: a keyframe every 2 s), so smart search embeds 8 keyframes each."""
    folder = OUT / "videos" / f"1080p-80s-{count}"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        path = folder / f"long{i}.mp4"
        if not path.is_file():
            _write_clip(path, 1000 + i, seconds=80, fps=5, gop=10)
    return folder


def bench_first_scan(count: int) -> dict[str, Any]:
    src = made_clips(count)
    files = sorted(src.glob("*.mp4"))
    with tempfile.TemporaryDirectory() as tmp:
        lib = Library(resolve_paths(Path(tmp) / "home"))
        root = lib.add_root(src, watched=False)
        t0 = time.perf_counter()
        report = lib.scan([root])
        seconds = time.perf_counter() - t0
        lib.close()
    return {
        "files": len(files),
        "bytes_mb": round(sum(f.stat().st_size for f in files) / 1e6, 1),
        "added": report.added,
        "errors": report.errors,
        "seconds": round(seconds, 2),
        "videos_per_s": round(report.added / seconds, 1),
    }


def bench_worker_alone(count: int) -> dict[str, Any]:
    """A scan worker's whole job for one clip (hash, header, poster keyframe, thumbnail written), in
    this process, one clip after another: the per-clip cost without the pool around it."""
    from desktop.core.ingest import scan_worker

    files = sorted(made_clips(count).glob("*.mp4"))[:20]
    with tempfile.TemporaryDirectory() as tmp:
        scan_worker.process_file(str(files[0]), tmp)  # FFmpeg's libraries loaded
        t0 = time.perf_counter()
        for f in files[1:]:
            scan_worker.process_file(str(f), tmp)
        per_clip = (time.perf_counter() - t0) / (len(files) - 1)
    return {"clips": len(files) - 1, "ms_per_clip": round(per_clip * 1000, 1)}


def bench_keyframe_embedding() -> dict[str, Any]:
    """Keyframes of four 80 s 1080p clips (8 each) through a tiny random CLIP on the CPU."""
    import open_clip
    import torch

    from desktop.core.imaging import video
    from desktop.core.semantic import clip_models as cm
    from desktop.core.semantic.device import DevicePlan
    from desktop.core.semantic.embedder import PendingItem, model_inputs

    cfg: dict[str, Any] = {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    }
    clips = sorted(made_long_clips().glob("*.mp4"))
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        ckpt = cm.save_checkpoint(
            open_clip.model.CLIP(**cfg).eval(), Path(tmp) / "tiny.safetensors", "shoebox-tiny", cfg
        )
        spec = cm.spec_from_options(None, ckpt)
        assert spec is not None
        clip = cm.load_model(spec, Path(tmp) / "models", plan=DevicePlan("cpu", "fp32", "bench"))
        t0 = time.perf_counter()
        frames = 0
        decode_s = 0.0
        for i, path in enumerate(clips):
            d0 = time.perf_counter()
            arrays = model_inputs(clip, PendingItem(f"h{i}", i, path), None)
            decode_s += time.perf_counter() - d0
            clip.encode_prepared(arrays)
            frames += len(arrays)
        seconds = time.perf_counter() - t0
    return {
        "clips": len(clips),
        "frames": frames,
        "max_frames_per_clip": video.MAX_FRAMES,
        "seconds": round(seconds, 2),
        "frames_per_s": round(frames / seconds, 1),
        "decode_ms_per_frame": round(decode_s / max(frames, 1) * 1000, 1),
        "model": "tiny random CLIP, 32 px input, fp32 CPU (a cost indicator, not search quality)",
    }


def _load() -> str:
    """The 1, 5 and 15 minute load averages: the VM's cores may be shared with other work."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def run(count: int = 100) -> dict[str, Any]:
    t0 = time.perf_counter()
    made_clips(count)  # written before the clock starts
    load_before = _load()
    first = bench_first_scan(count)
    poster = bench_worker_alone(count)
    embed = bench_keyframe_embedding()
    result = {
        "machine": machine(),
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "load_average_before": load_before,
        "first_scan_1080p_clips": first,
        "scan_worker_per_clip": poster,
        "keyframe_embedding": embed,
        "peak_rss_mb": {
            "main": round(peak_rss_mb(), 1),
            "scan_workers": round(peak_rss_mb(children=True), 1),
        },
        "bench_seconds": round(time.perf_counter() - t0, 1),
    }
    write_result("video", result)
    ok = lambda good: "ok" if good else "MISS"  # noqa: E731
    print_table(
        "video (issue 11)",
        [
            (
                f"first scan, 1080p {SECONDS} s H.264 clips",
                f"{first['videos_per_s']} videos/s ({first['added']} of {first['files']})",
                f">= {TARGET_VIDEOS_PER_S:.0f}/s",
                ok(first["videos_per_s"] >= TARGET_VIDEOS_PER_S and first["errors"] == 0),
            ),
            ("one clip in a scan worker", f"{poster['ms_per_clip']} ms", "", ""),
            (
                "keyframe embedding (tiny CLIP, CPU)",
                f"{embed['frames_per_s']} frames/s ({embed['frames']} frames, "
                f"{embed['decode_ms_per_frame']} ms decode each)",
                "",
                "",
            ),
        ],
    )
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=100, help="1080p 10-second clips to scan")
    a = ap.parse_args()
    run(a.count)
    sys.exit(0)
