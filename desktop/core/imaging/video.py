"""Videos through PyAV (which bundles FFmpeg): what a container says about itself, and a poster frame.

``probe`` reads the container's header (stream parameters, tags, the display
matrix) and seeks once or twice to decode a single keyframe for the poster, so
a 4 GB clip costs what a 4 MB one does: nothing here reads a stream through.
``keyframes`` gives smart search a few frames spread over a clip the same way:
one seek and one decoded keyframe each.
The poster is an upright, 8-bit RGB ``PIL.Image`` so the thumbnail and preview
caches store it exactly like a photo's picture. Interpreting the tags (dates,
places) is the ingest layer's job; this module only returns them.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Final, cast

from PIL import Image, ImageStat

from desktop.core.imaging.decode import ImageError

if TYPE_CHECKING:
    import av
    import av.container
    import av.video.stream

log = logging.getLogger(__name__)

POSTER_AT = 0.10  # a tenth in: past fade-ins and the shaky start of a clip
POSTER_RETRIES = (0.30, 0.50)  # later keyframes tried when the first is nearly black
BLACK_LUMA = 16.0  # mean luma (0..255) under which a frame counts as black
MAX_POSTER_PACKETS = 240  # packets read after a seek before giving up (a broken index must not hang a scan)
POSTER_MAX_SIDE = 2048  # a 4K frame is reduced at conversion: the caches never need more
FRAME_EVERY_S = 10.0  # smart search embeds one keyframe per this many seconds of a clip...
MAX_FRAMES = 8  # ...and never more than this many, however long the clip


class VideoError(ImageError):
    """A file that is not a playable video; ``reason`` says why, in one sentence."""


@dataclass
class VideoInfo:
    width: int  # as displayed: the display matrix's quarter turn applied
    height: int
    duration: float | None  # seconds
    codec: str
    frame_rate: float | None
    rotation: int  # clockwise degrees the stored frames are turned to be shown (0, 90, 180, 270)
    tags: dict[str, str] = field(default_factory=dict)  # container tags, then the video stream's
    poster: Image.Image | None = None


# The video formats PyAV reads here, next to the reader; ``desktop.core.ingest.formats`` registers them
# as its video kind, and everything else asks that registry (this layer sits below it).
VIDEO_FORMATS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("MP4", (".mp4",)),
    ("MOV", (".mov",)),
    ("M4V", (".m4v",)),
    ("3GP", (".3gp",)),
    ("MKV", (".mkv",)),
    ("WebM", (".webm",)),
    ("AVI", (".avi",)),
    ("MTS", (".mts", ".m2ts")),
)
VIDEO_EXTENSIONS: Final = frozenset(ext for _name, exts in VIDEO_FORMATS for ext in exts)


def is_video_path(name: str | os.PathLike[str]) -> bool:
    """True when a file name's extension (any case) is one of the video formats'."""
    return os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS


def _av() -> ModuleType:
    """PyAV, imported on first use: it loads FFmpeg's libraries (~50-80 ms), which commands that never
    read a video (``status``, ``ls``, ``tag``) should not pay for."""
    import av
    import av.error

    return av


def _rotation_from_tags(tags: dict[str, str]) -> int:
    """Clockwise degrees from an old-style ``rotate`` tag (FFmpeg before 6 exposed the matrix this way)."""
    try:
        return int(float(tags.get("rotate", "0"))) % 360
    except ValueError:
        return 0


def _clockwise(counterclockwise: float) -> int:
    """FFmpeg reports the display matrix counterclockwise in [-180, 180]; snap to a clockwise quarter turn."""
    return (-round(counterclockwise / 90) * 90) % 360


def _frame_rate(stream: av.video.stream.VideoStream) -> float | None:
    rate: Fraction | None = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or rate <= 0 or rate > 1000:
        return None
    return round(float(rate), 3)


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    if stream.duration and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration:
        seconds = container.duration / _av().time_base
    else:
        return None
    return round(seconds, 3) if seconds > 0 else None


def _luma(img: Image.Image) -> float:
    return float(ImageStat.Stat(img.convert("L")).mean[0])


def _keyframe_at(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, seconds: float | None
) -> av.VideoFrame | None:
    """The first frame decoded at or after the keyframe before ``seconds`` (from the start when None)."""
    if seconds and stream.time_base:
        try:
            container.seek(int(seconds / stream.time_base), stream=stream, backward=True, any_frame=False)
        except _av().error.FFmpegError:
            container.seek(0, stream=stream)
    packets = 0
    for packet in container.demux(stream):
        packets += 1
        if packets > MAX_POSTER_PACKETS:
            return None
        try:
            frames = packet.decode()
        except _av().error.InvalidDataError:
            continue  # a damaged packet: the next keyframe may be fine
        for frame in frames:
            if isinstance(frame, _av().VideoFrame):
                return cast("av.VideoFrame", frame)  # the module is typed as ModuleType here
    return None


def _picture(
    frame: av.VideoFrame, rotation: int, max_side: int = POSTER_MAX_SIDE, short_side: int | None = None
) -> Image.Image:
    """The frame as an upright RGB picture, its long side at most ``max_side`` and, with ``short_side``,
    its short side no more than that: FFmpeg scales while it converts to RGB, so a 1080p frame
    wanted for a 256 px thumbnail never exists at full size in RGB (that conversion and the
    resize after it were most of a scan's time per clip)."""
    width, height = frame.width, frame.height
    scale = max_side / max(width, height)
    if short_side is not None:
        scale = min(scale, short_side / min(width, height))
    if scale < 1:
        width, height = max(2, round(width * scale)), max(2, round(height * scale))
    img: Image.Image = frame.to_image(  # type: ignore[no-untyped-call]
        width=width, height=height, interpolation="AREA"
    )
    if rotation:
        # PIL turns counterclockwise
        img = img.rotate(-rotation, expand=True)
    return img.convert("RGB")


def _poster(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    duration: float | None,
    rotation: int | None,
    short_side: int | None = None,
) -> tuple[Image.Image | None, int | None]:
    """A keyframe about a tenth in that is not black (or the brightest tried), and the frame's rotation."""
    best: tuple[float, Image.Image] | None = None
    for share in (POSTER_AT, *POSTER_RETRIES):
        frame = _keyframe_at(container, stream, duration * share if duration else None)
        if frame is None:
            if not duration:
                break
            continue
        if rotation is None:
            rotation = _clockwise(frame.rotation)
        img = _picture(frame, rotation, short_side=short_side)
        luma = _luma(img)
        if luma >= BLACK_LUMA:
            return img, rotation
        if best is None or luma > best[0]:
            best = (luma, img)
        if not duration:  # nowhere else to seek to
            break
    return (best[1] if best else None), rotation


def _open(path: Path) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
    """``path`` opened, and its first video stream; raises ``VideoError`` (with nothing left open)."""
    try:
        container = _av().open(str(path), "r", timeout=30.0)
    except _av().error.FFmpegError as exc:
        raise VideoError(f"not a playable video: {_ffmpeg_reason(exc)}") from None
    except OSError as exc:
        raise VideoError(f"cannot read the file: {exc.strerror or exc}") from None
    try:
        assert isinstance(container, _av().container.InputContainer)
        if not container.streams.video:
            raise VideoError("not a playable video: no video stream")
        stream = container.streams.video[0]
        # one keyframe a seek is wanted: frame threads would only delay it (they take several packets
        # before the first picture), and the scan already runs one worker per core
        stream.thread_count = 1
        return container, stream
    except BaseException:
        container.close()
        raise


def _decoded_poster(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    duration: float | None,
    rotation: int | None,
    short_side: int | None = None,
) -> tuple[Image.Image, int | None]:
    """``_poster``, or ``VideoError`` when no frame can be decoded."""
    try:
        picture, rotation = _poster(container, stream, duration, rotation, short_side)
    except _av().error.FFmpegError as exc:
        raise VideoError(f"not a playable video: {_ffmpeg_reason(exc)}") from None
    if picture is None:
        raise VideoError("not a playable video: no frame could be decoded (its index may be broken)")
    return picture, rotation


def probe(path: Path, poster: bool = True, poster_short_side: int | None = None) -> VideoInfo:
    """What ``path``'s container says, and its poster frame when ``poster`` -- no bigger than
    ``poster_short_side`` on its short side when given (the scan wants a thumbnail); raises ``VideoError``."""
    container, stream = _open(path)
    try:
        ctx = stream.codec_context
        if not ctx.width or not ctx.height:
            raise VideoError("not a playable video: its video stream has no picture size")
        tags = {str(k): str(v) for k, v in container.metadata.items()}
        for key, value in stream.metadata.items():
            tags.setdefault(str(key), str(value))
        duration = _duration(container, stream)
        rotation: int | None = _rotation_from_tags(tags) or None
        picture: Image.Image | None = None
        if poster:
            picture, rotation = _decoded_poster(container, stream, duration, rotation, poster_short_side)
        rotation = rotation or 0
        width, height = ctx.width, ctx.height
        if rotation in (90, 270):
            width, height = height, width
        return VideoInfo(
            width=width,
            height=height,
            duration=duration,
            codec=ctx.name,
            frame_rate=_frame_rate(stream),
            rotation=rotation,
            tags=tags,
            poster=picture,
        )
    finally:
        container.close()


def _ffmpeg_reason(exc: av.error.FFmpegError) -> str:
    text = (exc.strerror or str(exc)).strip().rstrip(".")
    return text[:1].lower() + text[1:] if text else "FFmpeg could not read it"


def frame_times(duration: float | None) -> list[float]:
    """When to take the keyframes smart search embeds: one per ``FRAME_EVERY_S`` (at most
    ``MAX_FRAMES``), each in the middle of its share of the clip; one (the poster) for a short clip."""
    if not duration or duration < 2 * FRAME_EVERY_S:
        return []
    n = min(MAX_FRAMES, int(duration // FRAME_EVERY_S))
    return [duration * (i + 0.5) / n for i in range(n)]


def keyframes(path: Path, max_side: int, poster: Path | None = None) -> list[Image.Image]:
    """Upright pictures (long side at most ``max_side``) of the keyframes nearest ``frame_times``:
    what smart search embeds for a video. Black frames are skipped as the poster skips them; a
    short clip, or one whose keyframes are all black or unreadable, gives its poster alone -- the
    cached one at ``poster`` when it can be read (no decode at all). Raises ``VideoError``."""
    container, stream = _open(path)
    try:
        tags = {str(k): str(v) for k, v in stream.metadata.items()}
        rotation: int | None = _rotation_from_tags(tags) or None
        pictures: list[Image.Image] = []
        seen: set[int | None] = set()
        for seconds in frame_times(_duration(container, stream)):
            try:
                frame = _keyframe_at(container, stream, seconds)
            except _av().error.FFmpegError:
                continue  # a damaged part of the clip: the other frames still count
            if frame is None or frame.pts in seen:
                continue  # two times that share one keyframe (a long GOP) give one picture
            seen.add(frame.pts)
            if rotation is None:
                rotation = _clockwise(frame.rotation)
            img = _picture(frame, rotation, max_side)
            if _luma(img) >= BLACK_LUMA:
                pictures.append(img)
        if pictures:
            return pictures
        if poster is not None:
            try:
                with Image.open(poster) as cached:
                    cached.draft("RGB", (max_side, max_side))
                    return [cached.convert("RGB")]
            except (OSError, ValueError):
                pass  # no cached poster (or a damaged one): decode it
        picture, _ = _decoded_poster(container, stream, _duration(container, stream), rotation)
        if max(picture.size) > max_side:
            picture.thumbnail((max_side, max_side), Image.Resampling.BICUBIC)
        return [picture]
    finally:
        container.close()


def load_poster(path: Path, max_side: int | None = None) -> Image.Image:
    """The poster of the video at ``path``, its long side at most ``max_side`` (for caches that lost it)."""
    img = probe(path).poster
    assert img is not None  # probe raises when there is none
    if max_side is not None and max(img.size) > max_side:
        img.thumbnail((max_side, max_side), Image.Resampling.BICUBIC)
    return img
