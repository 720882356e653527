"""Quality checks of outputs: SSIM against the picture before encoding, and the checks a finished output
must pass (it decodes, has the expected size, fits its budget, carries the sRGB profile when converted).

SSIM is computed on greyscale pictures reduced to at most ``SSIM_EDGE`` pixels on the long side with 8x8
blocks (the classic block SSIM): a few milliseconds for a 2048 px output, and it still tells a q40 JPEG from a q90 one.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

from desktop.core.processing.render import Rendered

SSIM_EDGE = 512
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2
_WINDOW = 8


def _small_grey(img: Image.Image, size: tuple[int, int] | None = None) -> Image.Image:
    if size is None:
        factor = max(1, math.ceil(max(img.size) / SSIM_EDGE))
        grey = img.convert("L") if img.mode != "L" else img
        return grey.reduce(factor) if factor > 1 else grey
    grey = img.convert("L") if img.mode != "L" else img
    if grey.size != size:
        factor = max(1, min(grey.width // size[0], grey.height // size[1]))
        if factor > 1:
            grey = grey.reduce(factor)
        if grey.size != size:
            grey = grey.resize(size, Image.Resampling.BILINEAR)
    return grey


def _blocks(a: np.ndarray) -> np.ndarray:
    """Means over the non-overlapping _WINDOW x _WINDOW blocks."""
    k = _WINDOW
    h, w = a.shape[0] // k, a.shape[1] // k
    means: np.ndarray = a[: h * k, : w * k].reshape(h, k, w, k).mean(axis=(1, 3))
    return means


def ssim(a: Image.Image, b: Image.Image) -> float:
    """Structural similarity of two pictures of the same scene (1.0: identical), on small greyscale."""
    x_img = _small_grey(a)
    y_img = _small_grey(b, x_img.size)
    x = np.asarray(x_img, dtype=np.float32)
    y = np.asarray(y_img, dtype=np.float32)
    if min(x.shape) < _WINDOW:
        return 1.0 if np.array_equal(x, y) else float(1 - np.abs(x - y).mean() / 255)
    mx, my = _blocks(x), _blocks(y)
    sxx = _blocks(x * x) - mx * mx
    syy = _blocks(y * y) - my * my
    sxy = _blocks(x * y) - mx * my
    num = (2 * mx * my + _C1) * (2 * sxy + _C2)
    den = (mx * mx + my * my + _C1) * (sxx + syy + _C2)
    return float((num / den).mean())


def decoded_small(data: bytes, reference: Image.Image) -> Image.Image:
    """The encoded picture decoded no larger than SSIM needs (JPEG: a DCT-scaled decode)."""
    img = Image.open(io.BytesIO(data))
    factor = max(1, math.ceil(max(reference.size) / SSIM_EDGE))
    if factor > 1 and img.format == "JPEG":
        img.draft("L", (math.ceil(img.width / factor), math.ceil(img.height / factor)))
    img.load()
    return img


def ssim_of(data: bytes, reference: Image.Image) -> float:
    """SSIM of encoded bytes against the picture they were made from."""
    return round(ssim(reference, decoded_small(data, reference)), 4)


# An output whose SSIM against the picture it was encoded from is below this is flagged in the task's
# results: at 0.90 a photo shows blocking or smearing a person notices at a glance (JPEG q≈20).
SSIM_FLAG = 0.90


def check(
    rendered: Rendered,
    expected_size: tuple[int, int] | None = None,
    budget_kb: float | None = None,
    srgb: bool = False,
) -> list[str]:
    """What is wrong with an output, one sentence each; ``[]`` when it is fine.

    It decodes the whole stream (a JPEG at a DCT scale: every coefficient is still read, so a broken
    one fails) and compares the header's size, the size budget, the colour profile and the SSIM."""
    problems: list[str] = []
    if budget_kb is not None and len(rendered.data) > budget_kb * 1024:
        problems.append(f"It is {len(rendered.data) / 1024:.0f} KB, over its budget of {budget_kb:g} KB.")
    if not rendered.mime.startswith("image/"):
        return problems
    try:
        img = Image.open(io.BytesIO(rendered.data))
        size = img.size
        if img.format == "JPEG":
            img.draft("RGB", (max(1, size[0] // 8), max(1, size[1] // 8)))
        img.load()
    except Exception as exc:  # whatever the decoder says, the output is unreadable
        return [*problems, f"It does not decode as a picture ({exc})."]
    if expected_size is not None and size != tuple(expected_size):
        problems.append(
            f"It is {size[0]}×{size[1]} pixels, not the expected {expected_size[0]}×{expected_size[1]}."
        )
    if srgb:
        from desktop.core.processing.decoding import srgb_profile

        if img.info.get("icc_profile") != srgb_profile():
            problems.append("It does not carry the sRGB colour profile it was converted to.")
    ssim_value = rendered.info.get("ssim")
    if isinstance(ssim_value, int | float) and ssim_value < SSIM_FLAG:
        problems.append(
            f"Its SSIM is {ssim_value:.3f}, below {SSIM_FLAG}: it looks visibly worse than the picture it was "
            "made from (raise the quality)."
        )
    return problems
