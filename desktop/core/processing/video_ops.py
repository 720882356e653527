"""Video operations: pictures out of a video (``video_frames``, ``poster``) and the ``video`` encoder
(trim, re-encode with one of the encoders PyAV bundles, optionally a text watermark burnt in).

Frames are taken as the first decoded frame at or after each wanted time, so the same video gives the
same pictures; they come out upright (the display matrix applied) and labelled "001", "002", ...
Scene changes are found by the mean absolute difference of 64x36 greyscale copies of successive frames.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np
from PIL import Image

from desktop.core.imaging.video import VideoError
from desktop.core.processing.image_ops import text_mark
from desktop.core.processing.operations import ENCODE, operation
from desktop.core.processing.params import Param, RecipeError
from desktop.core.processing.render import Frame, Rendered

MAX_FRAMES = 1000  # a recipe on a long clip must not fill the disk by accident
_SCENE_SIZE = (64, 36)
# codec -> (container format, extension, mime, audio codec)
CODECS: dict[str, tuple[str, str, str, str]] = {
    "libx264": ("mp4", "mp4", "video/mp4", "aac"),
    "libx265": ("mp4", "mp4", "video/mp4", "aac"),
    "libsvtav1": ("mp4", "mp4", "video/mp4", "aac"),
    "libvpx-vp9": ("webm", "webm", "video/webm", "libopus"),
    "mpeg4": ("mp4", "mp4", "video/mp4", "aac"),
}


def _clockwise(counterclockwise: float) -> int:
    return (-round(counterclockwise / 90) * 90) % 360


def _upright(frame: Any) -> Image.Image:
    img: Image.Image = frame.to_image()
    turn = _clockwise(getattr(frame, "rotation", 0) or 0)
    return img.rotate(-turn, expand=True) if turn else img


def _open(source_frame: Frame) -> Any:
    import av

    try:
        container = av.open(str(source_frame.source.path), "r", timeout=30.0)
    except (av.error.FFmpegError, OSError) as exc:
        raise VideoError(f"{source_frame.source.path.name} is not a playable video ({exc}).") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{source_frame.source.path.name} has no video stream.")
    return container


def _duration(container: Any) -> float:
    stream = container.streams.video[0]
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return container.duration / 1_000_000 if container.duration else 0.0


def _frames_at(container: Any, times: list[float]) -> Iterator[tuple[float, Image.Image]]:
    """For each wanted time (ascending), the first frame at or after it (the last frame past the end)."""
    stream = container.streams.video[0]
    last: Any = None
    for wanted in times:
        if stream.time_base and wanted > 0:
            container.seek(int(wanted / stream.time_base), stream=stream, backward=True, any_frame=False)
        else:
            container.seek(0, stream=stream)
        found = None
        for frame in container.decode(stream):
            last = frame
            if frame.time is not None and frame.time + 1e-6 >= wanted:
                found = frame
                break
        found = found or last
        if found is not None:
            yield float(found.time or 0.0), _upright(found)


def _scenes(container: Any, threshold: float, limit: int) -> Iterator[tuple[float, Image.Image]]:
    stream = container.streams.video[0]
    previous: np.ndarray | None = None
    taken = 0
    for frame in container.decode(stream):
        small = frame.reformat(width=_SCENE_SIZE[0], height=_SCENE_SIZE[1], format="gray")
        grey = small.to_ndarray().astype(np.int16)[:, : _SCENE_SIZE[0]]
        if previous is None or float(np.abs(grey - previous).mean()) > threshold:
            yield float(frame.time or 0.0), _upright(frame)
            taken += 1
            if taken >= limit:
                return
        previous = grey


def _frames_check(p: dict[str, Any], where: str) -> None:
    if p["mode"] == "every" and p["every_s"] is None:
        raise RecipeError(f"{where}: mode every needs 'every_s' (seconds between frames).")
    if p["mode"] == "count" and p["count"] is None:
        raise RecipeError(f"{where}: mode count needs 'count' (how many frames).")


@operation(
    "video_frames",
    2,  # 2: a photo is refused (1 made nothing from it, and that empty result was cached)
    "Frames from a video",
    media="video",
    check=_frames_check,
    mode=Param("choice", "count", choices=("every", "count", "scenes")),
    every_s=Param("float", None, 0.04, 86400, optional=True, help="every: seconds between frames"),
    count=Param("int", 9, 1, MAX_FRAMES, optional=True, help="count: frames evenly spaced"),
    threshold=Param("float", 30.0, 1, 255, help="scenes: the mean change (0-255) that starts a scene"),
)
def video_frames(frames: list[Frame], p: dict[str, Any]) -> list[Frame]:
    out: list[Frame] = []
    for source_frame in frames:
        if source_frame.source.kind != "video":
            # FFmpeg opens a JPEG as a one-frame "video" of no length, which would give no frame at all
            raise VideoError(
                f"{source_frame.source.path.name} is a photo: this recipe takes frames from videos."
            )
        container = _open(source_frame)
        try:
            duration = _duration(container)
            if p["mode"] == "scenes":
                found = list(_scenes(container, p["threshold"], MAX_FRAMES))
            else:
                if p["mode"] == "every":
                    steps = int(duration / p["every_s"] - 1e-9) + 1 if duration > 0 else 1
                    times = [i * p["every_s"] for i in range(min(steps, MAX_FRAMES))]
                else:
                    n = p["count"]
                    times = [duration * (i + 0.5) / n for i in range(n)]
                found = list(_frames_at(container, times))
        finally:
            container.close()
        for i, (time_s, img) in enumerate(found, 1):
            out.append(_picture_frame(source_frame, img, f"{i:03d}", time_s))
    return out


def _picture_frame(source_frame: Frame, img: Image.Image, label: str, time_s: float) -> Frame:
    return Frame(
        source_frame.source,
        image=img.convert("RGB"),
        label=label,
        time_s=round(time_s, 3),
        metadata=dict(source_frame.metadata),
    )


@operation(
    "poster",
    1,
    "Poster frame",
    media="video",
    at=Param("float", 0.1, 0, 1, help="where, as a fraction of the duration"),
)
def poster(frames: list[Frame], p: dict[str, Any]) -> list[Frame]:
    out: list[Frame] = []
    for source_frame in frames:
        container = _open(source_frame)
        try:
            found = list(_frames_at(container, [_duration(container) * p["at"]]))
        finally:
            container.close()
        if not found:
            raise VideoError(f"{source_frame.source.path.name}: no frame could be decoded.")
        time_s, img = found[0]
        out.append(_picture_frame(source_frame, img, source_frame.label, time_s))
    return out


# ------------------------------------------------------------------ the video encoder


def _video_check(p: dict[str, Any], where: str) -> None:
    if p["end_s"] is not None and p["end_s"] <= p["start_s"]:
        raise RecipeError(f"{where}: 'end_s' ({p['end_s']:g}) must come after 'start_s' ({p['start_s']:g}).")


def _codec_options(codec: str, crf: int) -> dict[str, str]:
    if codec == "libx264":
        return {"crf": str(crf), "preset": "medium"}
    if codec == "libx265":
        return {"crf": str(crf), "preset": "medium", "x265-params": "log-level=error"}
    if codec == "libvpx-vp9":
        return {"crf": str(crf), "b": "0", "row-mt": "1"}
    if codec == "libsvtav1":
        return {"crf": str(crf), "preset": "8"}
    return {}  # mpeg4: FFmpeg's default rate control (no crf)


@operation(
    "video",
    1,
    "Video",
    stage=ENCODE,
    media="video",
    check=_video_check,
    start_s=Param("float", 0.0, 0, 86400 * 7),
    end_s=Param("float", None, 0, 86400 * 7, optional=True),
    codec=Param("choice", "libx264", choices=tuple(CODECS)),
    crf=Param("int", 23, 0, 63, help="lower is better and larger"),
    audio=Param("bool", True, help="keep the sound (re-encoded)"),
    watermark_text=Param("str", None, optional=True, help="text burnt into the bottom-right corner"),
)
def video(frame: Frame, p: dict[str, Any]) -> Rendered:
    import av

    fmt, ext, mime, audio_codec = CODECS[p["codec"]]
    start, end = p["start_s"], p["end_s"]
    container = _open(frame)
    buf = io.BytesIO()
    try:
        vin = container.streams.video[0]
        ain = container.streams.audio[0] if p["audio"] and container.streams.audio else None
        rate = vin.average_rate or vin.guessed_rate or Fraction(30)
        with av.open(buf, "w", format=fmt, options={"fflags": "+bitexact"}) as out:
            vout: Any = None
            aout: Any = None
            waiting: list[Any] = []  # sound decoded before the first picture: the streams exist only then
            mark: Image.Image | None = None
            count = 0
            if start > 0:
                container.seek(int(start * 1_000_000), backward=True, any_frame=False)
            streams = [s for s in (vin, ain) if s is not None]
            for packet in container.demux(*streams):
                for decoded in packet.decode():
                    t = decoded.time
                    if t is None or t + 1e-6 < start:
                        continue
                    if end is not None and t >= end:
                        continue
                    if isinstance(decoded, av.AudioFrame):
                        decoded.pts = None
                        if vout is None:
                            waiting.append(decoded)
                        else:
                            for encoded in aout.encode(decoded):
                                out.mux(encoded)
                        continue
                    img = _upright(decoded)
                    if p["watermark_text"]:
                        if mark is None:
                            mark = text_mark(img.size, _MARK | {"text": p["watermark_text"]})
                        canvas = img.convert("RGBA")
                        pad = round(0.02 * min(img.size))
                        canvas.alpha_composite(
                            mark, (img.width - mark.width - pad, img.height - mark.height - pad)
                        )
                        img = canvas.convert("RGB")
                    if vout is None:
                        vout = out.add_stream(
                            p["codec"], rate=rate, options=_codec_options(p["codec"], p["crf"])
                        )
                        vout.width, vout.height = img.width // 2 * 2, img.height // 2 * 2
                        vout.pix_fmt = "yuv420p"
                        if ain is not None:  # Opus takes 48 kHz only; PyAV resamples the sound to it
                            aout = out.add_stream(
                                audio_codec, rate=48000 if audio_codec == "libopus" else ain.rate
                            )
                            aout.layout = "stereo" if (ain.channels or 1) > 1 else "mono"
                            for sound in waiting:
                                for encoded in aout.encode(sound):
                                    out.mux(encoded)
                    if img.size != (vout.width, vout.height):
                        img = img.crop((0, 0, vout.width, vout.height))  # yuv420p needs even sides
                    picture = av.VideoFrame.from_image(img)  # type: ignore[no-untyped-call]
                    picture.pts = count
                    picture.time_base = Fraction(1, 1) / rate  # constant frame rate out: the encoder's own
                    count += 1
                    for encoded in vout.encode(picture):
                        out.mux(encoded)
            if vout is None:
                raise VideoError(f"{frame.source.path.name} has no frames between {start:g} s and the end.")
            for encoded in vout.encode():
                out.mux(encoded)
            if aout is not None:
                for encoded in aout.encode():
                    out.mux(encoded)
    except av.error.FFmpegError as exc:
        raise VideoError(f"{frame.source.path.name} could not be re-encoded ({exc}).") from None
    finally:
        container.close()
    width, height = vout.width, vout.height
    return Rendered(
        buf.getvalue(), ext, mime, frame.label, width, height, info={"codec": p["codec"], "frames": count}
    )


_MARK: dict[str, Any] = {"size": 0.04, "opacity": 0.7, "color": "#ffffff"}
