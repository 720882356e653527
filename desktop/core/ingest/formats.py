"""Which files Shoebox reads: the one registry of supported formats.

Everything that decides whether a file is a photo asks this module: the scan
and the folder watcher, the importer (``main.py import``), a drop on the main
window or on the search field, and the import dialog's filter. A format added
here is therefore accepted everywhere at once, and no two places can disagree.

Each extension maps to a ``Format``: the name people know it by and its kind,
which says what reads it: still images Pillow reads (HEIF and AVIF through
their plugins), and camera RAWs LibRaw reads (``desktop.core.imaging.raw``,
which lists them next to their decoder because that layer sits below this one).
Formats that need their own reader get a new kind here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from desktop.core.imaging.raw import RAW_FORMATS
from desktop.core.imaging.video import VIDEO_FORMATS

__all__ = [
    "BY_EXTENSION",
    "FORMATS",
    "KIND_IMAGE",
    "KIND_RAW",
    "KIND_VIDEO",
    "SUPPORTED_EXTENSIONS",
    "Format",
    "format_for",
    "glob_patterns",
    "is_image_file",
    "is_image_name",
    "is_raw_name",
    "is_video_name",
]

KIND_IMAGE: Final = "image"  # a still picture Pillow decodes (see desktop.core.imaging.decode)
KIND_RAW: Final = "raw"  # a camera RAW LibRaw reads (see desktop.core.imaging.raw)
KIND_VIDEO: Final = "video"  # a video PyAV reads (see desktop.core.imaging.video)


@dataclass(frozen=True)
class Format:
    """One file format: its name, what reads it, and the extensions (lower case, with the dot) it goes by."""

    name: str
    kind: str
    extensions: tuple[str, ...]


FORMATS: Final[tuple[Format, ...]] = (
    Format("JPEG", KIND_IMAGE, (".jpg", ".jpeg", ".jpe", ".jfif")),
    Format("PNG", KIND_IMAGE, (".png",)),
    Format("TIFF", KIND_IMAGE, (".tif", ".tiff")),
    Format("WebP", KIND_IMAGE, (".webp",)),
    Format("HEIF", KIND_IMAGE, (".heic", ".heif", ".hif")),
    Format("AVIF", KIND_IMAGE, (".avif",)),
    Format("GIF", KIND_IMAGE, (".gif",)),
    Format("BMP", KIND_IMAGE, (".bmp",)),
    *(Format(name, KIND_RAW, extensions) for name, extensions in RAW_FORMATS),
    *(Format(name, KIND_VIDEO, extensions) for name, extensions in VIDEO_FORMATS),
)

BY_EXTENSION: Final[Mapping[str, Format]] = {ext: fmt for fmt in FORMATS for ext in fmt.extensions}
SUPPORTED_EXTENSIONS: Final = frozenset(BY_EXTENSION)


def format_for(name: str | os.PathLike[str]) -> Format | None:
    """The format a file name's extension stands for (any case), or None when Shoebox does not read it."""
    return BY_EXTENSION.get(os.path.splitext(name)[1].lower())


def is_raw_name(name: str | os.PathLike[str]) -> bool:
    """True when a file with this name is a camera RAW (judged by the extension alone)."""
    fmt = format_for(name)
    return fmt is not None and fmt.kind == KIND_RAW


def is_image_name(name: str | os.PathLike[str]) -> bool:
    """True when a file with this name is a photo Shoebox catalogues (judged by the extension alone)."""
    return format_for(name) is not None


def is_image_file(path: Path) -> bool:
    """True for an existing regular file with a supported extension (what a drop or an import accepts)."""
    return is_image_name(path.name) and path.is_file()


def glob_patterns() -> list[str]:
    """``*.ext`` for every supported extension, in registry order (for file dialogs' filters)."""
    return [f"*{ext}" for fmt in FORMATS for ext in fmt.extensions]


def is_video_name(name: str | os.PathLike[str]) -> bool:
    """True when a file with this name is catalogued as a video (judged by the extension alone)."""
    fmt = format_for(name)
    return fmt is not None and fmt.kind == KIND_VIDEO
