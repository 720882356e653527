"""Decode a source for processing: upright (its EXIF orientation and the catalog's rotation), 8-bit, its
colour profile kept beside it (``srgb`` converts; no metadata policy drops it).

A camera RAW is developed at full size; a video gives its poster frame.
"""

from __future__ import annotations

import math

from PIL import Image, ImageOps

from desktop.core.imaging.decode import ImageError, open_image
from desktop.core.processing.render import Source

_ROTATE = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}


def load(source: Source, long_edge: int | None = None) -> tuple[Image.Image, bytes | None]:
    """The source's picture (upright, RGB or RGBA) and its ICC profile; ``ImageError`` when it cannot."""
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        raise ImageError(f"cannot read the file: {exc.strerror or exc}") from None
    img = open_image(data)
    icc = img.info.get("icc_profile")
    try:
        if long_edge is not None and img.format == "JPEG" and max(img.size) > long_edge:
            scale = long_edge / max(img.size)
            img.draft("RGB", (math.ceil(img.width * scale), math.ceil(img.height * scale)))
        img.load()
    except Exception as exc:  # untrusted bytes: any decoder failure means a broken file
        raise ImageError(f"the file is damaged and cannot be decoded ({exc})") from None
    out = ImageOps.exif_transpose(img) or img
    if out.mode not in ("RGB", "RGBA"):
        out = out.convert("RGBA" if "A" in out.getbands() else "RGB")
    turn = _ROTATE.get(source.rotation % 360)
    if turn is not None:
        out = out.transpose(turn)
    return out, icc if isinstance(icc, bytes) else None
