"""How numbers read in what the CLI and the GUI show: counted nouns ("1 photo", "3 photos"),
shutter speeds, apertures, focal lengths, sizes and times (no Qt: both sides use them)."""

from __future__ import annotations

import datetime as dt
import math
import sys
from pathlib import Path


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` with its noun in the right number and thousands separators: "1 photo", "1,200 photos"."""
    word = singular if n == 1 else (plural if plural is not None else singular + "s")
    return f"{n:,} {word}"


def changes_of(n: int) -> str:
    """ "1 photo's changes", "3 photos' changes"."""
    return f"{n:,} photo's changes" if n == 1 else f"{n:,} photos' changes"


def brief(text: str, limit: int = 300) -> str:
    """``text`` on one line, cut to at most ``limit`` characters where a sentence or a word ends
    (never in the middle of a word), with "…" where words were left out."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    sentence = max(cut.rfind(". "), cut.rfind("; "))
    if sentence > limit // 2:  # a whole sentence, if one ends late enough
        return cut[: sentence + 1] + " …"
    space = cut.rfind(" ")
    return (cut[:space] if space > 0 else cut).rstrip(",;:") + "…"


def format_exposure_time(seconds: float | None) -> str | None:
    """``1/250 s`` for fast shutters, ``0.5 s`` / ``2 s`` for slow ones."""
    if seconds is None or seconds <= 0 or not math.isfinite(seconds):
        return None
    if seconds < 0.3:
        return f"1/{round(1 / seconds):d} s"
    if seconds < 10 and abs(seconds - round(seconds)) > 0.05:
        return f"{seconds:.1f} s"
    return f"{round(seconds):d} s"


def format_exposure(
    exposure_time: float | None, f_number: float | None, iso: int | None, focal_length: float | None
) -> str | None:
    """``1/250 s · f/2.8 · ISO 400 · 50 mm`` with whatever parts are known."""
    parts: list[str] = []
    shutter = format_exposure_time(exposure_time)
    if shutter:
        parts.append(shutter)
    if f_number:
        parts.append(format_f_number(f_number))
    if iso:
        parts.append(f"ISO {iso}")
    if focal_length:
        parts.append(format_focal_length(focal_length))
    return " · ".join(parts) or None


def format_bytes(n: int | None) -> str | None:
    if n is None:
        return None
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            if unit == "bytes":
                return counted(int(size), "byte")
            return f"{size:.0f} {unit}" if size >= 100 else f"{size:.1f} {unit}"
        size /= 1000
    return None  # unreachable


def format_f_number(f_number: float) -> str:
    """``f/2.8``, ``f/11``."""
    return f"f/{round(f_number, 1):g}"


def format_focal_length(mm: float) -> str:
    """``50 mm``; a phone's short lenses keep a decimal (``4.2 mm``)."""
    return f"{mm:.0f} mm" if mm >= 10 else f"{mm:.1f} mm"


def format_local_time(value: float | str | dt.datetime | None) -> str | None:
    """An epoch (a file's mtime), an ISO text or a datetime as local ``YYYY-MM-DD HH:MM:SS``."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        when = dt.datetime.fromtimestamp(value)
    elif isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        when = value
    if when.tzinfo is not None:
        when = when.astimezone()
    return when.strftime("%Y-%m-%d %H:%M:%S")


def _command_name() -> str:
    """How the person starts Shoebox: ``python main.py`` in a checkout, ``shoebox`` once installed."""
    checkout = Path(__file__).resolve().parents[3]
    frozen = getattr(sys, "frozen", False)
    return "python main.py" if not frozen and (checkout / "main.py").is_file() else "shoebox"


# what messages tell people to type: "run 'shoebox index'" for an installed app
SHOEBOX = _command_name()


def format_duration(seconds: float | None) -> str | None:
    """A video's length as players show it: "0:12", "12:05", "1:02:03"; None when unknown."""
    if seconds is None:
        return None
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# FFmpeg's codec names, as people know them
_CODEC_NAMES = {
    "h264": "H.264",
    "hevc": "HEVC (H.265)",
    "av1": "AV1",
    "vp8": "VP8",
    "vp9": "VP9",
    "mpeg4": "MPEG-4",
}


def format_video(seconds: float | None, codec: str | None, frame_rate: float | None) -> str | None:
    """The info panel's line for a video: "0:12 · H.264 · 29.97 fps"; None for a photo."""
    parts = [
        format_duration(seconds),
        _CODEC_NAMES.get(codec or "", codec),
        f"{frame_rate:g} fps" if frame_rate else None,
    ]
    return " · ".join(p for p in parts if p) or None
