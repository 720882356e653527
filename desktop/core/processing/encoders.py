"""Encoders (``encode`` stage): a frame to the bytes of one output file."""

from __future__ import annotations

import io
from typing import Any

from desktop.core.processing.operations import ENCODE, operation
from desktop.core.processing.params import Param
from desktop.core.processing.render import Frame, Rendered


@operation(
    "jpeg",
    1,
    "JPEG",
    stage=ENCODE,
    quality=Param("int", 85, 1, 100),
    progressive=Param("bool", False),
)
def jpeg(frame: Frame, p: dict[str, Any]) -> Rendered:
    img = frame.load()
    if img.mode != "RGB":
        img = img.convert("RGB")
    buf = io.BytesIO()
    img.save(
        buf, "JPEG", quality=p["quality"], progressive=p["progressive"], icc_profile=frame.icc, optimize=True
    )
    return Rendered(buf.getvalue(), "jpg", "image/jpeg", frame.label, img.width, img.height, img)
