"""Picture operations (``frames`` stage): each takes the frames and returns them changed."""

from __future__ import annotations

from typing import Any

from PIL import Image

from desktop.core.processing.operations import operation
from desktop.core.processing.params import Param
from desktop.core.processing.render import Frame


@operation(
    "resize",
    1,
    "Resize",
    long_edge=Param("int", 2048, 16, 65535, help="pixels on the long side"),
    enlarge=Param("bool", False, help="also enlarge smaller pictures"),
)
def resize(frames: list[Frame], p: dict[str, Any]) -> list[Frame]:
    for frame in frames:
        if frame.image is None and frame.source.kind == "image":
            # ask the decoder for a DCT scale that still covers the target: 2-8x less to decode
            frame.load(long_edge=p["long_edge"])
        img = frame.load()
        scale = p["long_edge"] / max(img.size)
        if scale < 1 or (scale > 1 and p["enlarge"]):
            size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
            frame.image = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return frames
