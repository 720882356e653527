"""Picture operations (``frames`` stage): each takes the frames and returns them changed."""

from __future__ import annotations

import functools
import io
import math
from pathlib import Path
from typing import Any

from PIL import Image, ImageCms, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from desktop.core.imaging.decode import ImageError, open_image
from desktop.core.processing.decoding import srgb_profile
from desktop.core.processing.operations import operation
from desktop.core.processing.params import Param, RecipeError
from desktop.core.processing.render import Frame

POSITIONS = (
    "top-left",
    "top",
    "top-right",
    "left",
    "center",
    "right",
    "bottom-left",
    "bottom",
    "bottom-right",
)


# ------------------------------------------------------------------ geometry


def _resize_check(p: dict[str, Any], where: str) -> None:
    needs = {"long_edge": ("long_edge",), "fit": ("width", "height"), "scale": ("scale",)}[p["mode"]]
    for name in needs:
        if p[name] is None:
            raise RecipeError(f"{where}: mode {p['mode']} needs '{name}'.")


def _resize_target(p: dict[str, Any], width: int, height: int) -> tuple[int, int]:
    if p["mode"] == "long_edge":
        scale = p["long_edge"] / max(width, height)
    elif p["mode"] == "fit":
        scale = min(p["width"] / width, p["height"] / height)
    else:
        scale = p["scale"]
    if scale > 1 and not p["enlarge"]:
        scale = 1.0
    return max(1, round(width * scale)), max(1, round(height * scale))


@operation(
    "resize",
    2,
    "Resize",
    check=_resize_check,
    mode=Param("choice", "long_edge", choices=("long_edge", "fit", "scale"), help="what the size means"),
    long_edge=Param("int", 2048, 16, 65535, optional=True, help="pixels on the long side"),
    width=Param("int", None, 1, 65535, optional=True, help="fit: the box's width"),
    height=Param("int", None, 1, 65535, optional=True, help="fit: the box's height"),
    scale=Param("float", None, 0.01, 8, optional=True, help="scale: the factor"),
    enlarge=Param("bool", False, help="also enlarge smaller pictures"),
)
def resize(frames: list[Frame], p: dict[str, Any]) -> list[Frame]:
    for frame in frames:
        planned: list[tuple[int, int]] = []

        def size_for(width: int, height: int, planned: list[tuple[int, int]] = planned) -> tuple[int, int]:
            planned.append(_resize_target(p, width, height))  # from the full size, before any draft
            return planned[-1]

        # the JPEG decoder may deliver a DCT-scaled picture that still covers the target: 2-8x less to decode;
        # a picture decoded here comes back reduced already (reduced before it is turned upright: cheaper)
        img = frame.load(size_for=size_for, shrink=_shrink)
        size = planned[-1] if planned else _resize_target(p, *img.size)
        if size != img.size:
            frame.image = _shrink(img, size)
    return frames


def _shrink(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    # Under 2x (what a JPEG's DCT-scaled decode leaves) bicubic looks the same as Lanczos and
    # takes 60% of its time; larger reductions get Lanczos after a cheap integer box reduction.
    gentle = max(img.width / size[0], img.height / size[1]) < 2
    kernel = Image.Resampling.BICUBIC if gentle else Image.Resampling.LANCZOS
    return img.resize(size, kernel, reducing_gap=3.0)


def _aspect(text: str) -> float | None:
    parts = text.replace("/", ":").split(":")
    try:
        w, h = (float(x) for x in parts)
    except ValueError:
        return None
    return w / h if w > 0 and h > 0 and math.isfinite(w / h) else None


def _crop_check(p: dict[str, Any], where: str) -> None:
    if (p["aspect"] is None) == (p["box"] is None):
        raise RecipeError(f"{where}: give exactly one of 'aspect' (like \"3:2\") and 'box' (x, y, w, h).")
    if p["aspect"] is not None and _aspect(p["aspect"]) is None:
        raise RecipeError(f'{where}: \'aspect\' is {p["aspect"]!r}; write it like "1:1" or "3:2".')
    if p["box"] is not None:
        x, y, w, h = p["box"]
        if w <= 0 or h <= 0 or x + w > 1.000001 or y + h > 1.000001:
            raise RecipeError(f"{where}: 'box' {p['box']} must lie inside the picture (fractions 0–1).")


@operation(
    "crop",
    1,
    "Crop",
    check=_crop_check,
    aspect=Param("str", None, optional=True, help='width:height, like "1:1" or "3:2"'),
    box=Param("list", None, 0, 1, optional=True, length=4, help="x, y, width, height as fractions"),
    focus=Param("list", [0.5, 0.5], 0, 1, length=2, help="the point an aspect crop keeps centred"),
)
def crop(frames: list[Frame], p: dict[str, Any]) -> list[Frame]:
    for frame in frames:
        img = frame.load()
        w, h = img.size
        if p["box"] is not None:
            x, y, bw, bh = p["box"]
            box = (round(x * w), round(y * h), round((x + bw) * w), round((y + bh) * h))
        else:
            ratio = _aspect(p["aspect"]) or 1.0
            cw, ch = (w, max(1, round(w / ratio))) if w / h < ratio else (max(1, round(h * ratio)), h)
            fx, fy = p["focus"]
            left = min(max(0, round(fx * w - cw / 2)), w - cw)
            top = min(max(0, round(fy * h - ch / 2)), h - ch)
            box = (left, top, left + cw, top + ch)
        if box != (0, 0, w, h):
            frame.image = img.crop(box)
    return frames


_TURNS = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}


@operation(
    "rotate", 1, "Rotate", degrees=Param("choice", "90", choices=("0", "90", "180", "270"), help="clockwise")
)
def rotate(frames: list[Frame], p: dict[str, Any]) -> list[Frame]:
    turn = _TURNS.get(int(p["degrees"]))
    for frame in frames:
        if turn is not None:
            frame.image = frame.load().transpose(turn)
    return frames


@operation("flip", 1, "Flip", direction=Param("choice", "horizontal", choices=("horizontal", "vertical")))
def flip(frames: list[Frame], p: dict[str, Any]) -> list[Frame]:
    how = (
        Image.Transpose.FLIP_LEFT_RIGHT if p["direction"] == "horizontal" else Image.Transpose.FLIP_TOP_BOTTOM
    )
    for frame in frames:
        frame.image = frame.load().transpose(how)
    return frames


# ------------------------------------------------------------------ colour and tone


@functools.cache
def _srgb_transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        target = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        return ImageCms.buildTransform(source, target, mode, mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None  # a broken profile: the numbers are taken as sRGB already


@operation("srgb", 2, "Convert to sRGB")  # 2: the embedded profile carries a fixed date
def srgb(frames: list[Frame], p: dict[str, Any]) -> list[Frame]:
    for frame in frames:
        img = frame.load()
        if frame.icc is not None and frame.icc != srgb_profile():
            transform = _srgb_transform(frame.icc, img.mode)
            if transform is not None:
                frame.image = transform.apply(img)
        frame.icc = srgb_profile()
    return frames


def _rgb_part(img: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    if img.mode == "RGBA":
        return img.convert("RGB"), img.getchannel("A")
    return img, None


def _with_alpha(img: Image.Image, alpha: Image.Image | None) -> Image.Image:
    if alpha is not None:
        img = img.convert("RGBA")
        img.putalpha(alpha)
    return img


@operation(
    "autolevel", 1, "Auto levels", cutoff=Param("float", 0.5, 0, 10, help="percent clipped at each end")
)
def autolevel(frames: list[Frame], p: dict[str, Any]) -> list[Frame]:
    for frame in frames:
        rgb, alpha = _rgb_part(frame.load())
        frame.image = _with_alpha(ImageOps.autocontrast(rgb, cutoff=p["cutoff"], preserve_tone=True), alpha)
    return frames


@operation(
    "adjust",
    1,
    "Adjust",
    brightness=Param("float", 1.0, 0, 4, help="1 = unchanged"),
    contrast=Param("float", 1.0, 0, 4, help="1 = unchanged"),
    saturation=Param("float", 1.0, 0, 4, help="1 = unchanged"),
)
def adjust(frames: list[Frame], p: dict[str, Any]) -> list[Frame]:
    for frame in frames:
        rgb, alpha = _rgb_part(frame.load())
        for enhancer, amount in (
            (ImageEnhance.Brightness, p["brightness"]),
            (ImageEnhance.Contrast, p["contrast"]),
            (ImageEnhance.Color, p["saturation"]),
        ):
            if amount != 1.0:
                rgb = enhancer(rgb).enhance(amount)
        frame.image = _with_alpha(rgb, alpha)
    return frames


@operation(
    "sharpen",
    1,
    "Sharpen",
    radius=Param("float", 1.0, 0.1, 50, help="pixels"),
    percent=Param("int", 80, 1, 500),
    threshold=Param("int", 2, 0, 255),
)
def sharpen(frames: list[Frame], p: dict[str, Any]) -> list[Frame]:
    mask = ImageFilter.UnsharpMask(radius=p["radius"], percent=p["percent"], threshold=p["threshold"])
    for frame in frames:
        rgb, alpha = _rgb_part(frame.load())
        frame.image = _with_alpha(rgb.filter(mask), alpha)
    return frames


@operation("greyscale", 1, "Greyscale")
def greyscale(frames: list[Frame], p: dict[str, Any]) -> list[Frame]:
    for frame in frames:
        rgb, alpha = _rgb_part(frame.load())
        # back to RGB so the frame's RGB profile still describes it and every encoder takes it
        frame.image = _with_alpha(rgb.convert("L").convert("RGB"), alpha)
    return frames


# ------------------------------------------------------------------ watermarks


def _place(canvas: tuple[int, int], mark: tuple[int, int], position: str, margin: int) -> tuple[int, int]:
    cw, ch = canvas
    mw, mh = mark
    vertical, _, horizontal = position.partition("-") if "-" in position else ("", "", position)
    if position in ("top", "bottom"):
        vertical, horizontal = position, "center"
    if position in ("left", "right"):
        vertical, horizontal = "center", position
    if position == "center":
        vertical = horizontal = "center"
    x = {"left": margin, "right": cw - mw - margin}.get(horizontal, (cw - mw) // 2)
    y = {"top": margin, "bottom": ch - mh - margin}.get(vertical, (ch - mh) // 2)
    return x, y


def _color_check(p: dict[str, Any], where: str) -> None:
    color = p["color"]
    if not (
        len(color) == 7 and color.startswith("#") and all(c in "0123456789abcdefABCDEF" for c in color[1:])
    ):
        raise RecipeError(f"{where}: 'color' is {color!r}; write it as #rrggbb.")
    if not p["text"].strip():
        raise RecipeError(f"{where}: 'text' is empty; give the words to write.")


def _overlay(frame: Frame, mark: Image.Image, position: str, margin: float) -> None:
    img = frame.load()
    pad = round(margin * min(img.size))
    x, y = _place(img.size, mark.size, position, pad)
    base = img.convert("RGBA") if img.mode != "RGBA" else img.copy()
    base.alpha_composite(mark, (max(0, x), max(0, y)))
    frame.image = base if img.mode == "RGBA" else base.convert("RGB")


@operation(
    "watermark_text",
    1,
    "Text watermark",
    check=_color_check,
    text=Param("str", "©"),
    size=Param("float", 0.04, 0.005, 0.5, help="text height, fraction of the short side"),
    position=Param("choice", "bottom-right", choices=POSITIONS),
    opacity=Param("float", 0.6, 0, 1),
    color=Param("str", "#ffffff", help="#rrggbb"),
    margin=Param("float", 0.02, 0, 0.5, help="fraction of the short side"),
)
def watermark_text(frames: list[Frame], p: dict[str, Any]) -> list[Frame]:
    for frame in frames:
        mark = text_mark(frame.load().size, p)
        _overlay(frame, mark, p["position"], p["margin"])
    return frames


def text_mark(size: tuple[int, int], p: dict[str, Any]) -> Image.Image:
    """The text of a watermark drawn on a transparent picture of its own size (also used on video)."""
    px = max(6, round(p["size"] * min(size)))
    font = ImageFont.load_default(size=px)
    left, top, right, bottom = (int(v) for v in font.getbbox(p["text"]))
    mark = Image.new("RGBA", (max(1, right - left), max(1, bottom - top)), (0, 0, 0, 0))
    r, g, b = (int(p["color"][i : i + 2], 16) for i in (1, 3, 5))
    ImageDraw.Draw(mark).text((-left, -top), p["text"], font=font, fill=(r, g, b, round(255 * p["opacity"])))
    return mark


def _mark_image(path: str) -> Image.Image:
    try:
        data = Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise ImageError(f"cannot read {path}: {exc.strerror or exc}") from None
    img = open_image(data)
    img.load()
    return img.convert("RGBA")


def _image_check(p: dict[str, Any], where: str) -> None:
    try:
        _mark_image(p["path"])
    except ImageError as exc:
        raise RecipeError(
            f"{where}: 'path' {p['path']} is not an image Shoebox can read ({exc.reason})."
        ) from None


@operation(
    "watermark_image",
    1,
    "Image watermark",
    check=_image_check,
    path=Param("path", "", help="a PNG with transparency works best"),
    scale=Param("float", 0.2, 0.01, 1, help="width of the mark, fraction of the picture's width"),
    position=Param("choice", "bottom-right", choices=POSITIONS),
    opacity=Param("float", 0.6, 0, 1),
    margin=Param("float", 0.02, 0, 0.5, help="fraction of the short side"),
)
def watermark_image(frames: list[Frame], p: dict[str, Any]) -> list[Frame]:
    source = _mark_image(p["path"])
    for frame in frames:
        width = max(1, round(p["scale"] * frame.load().width))
        height = max(1, round(source.height * width / source.width))
        mark = source.resize((width, height), Image.Resampling.LANCZOS)
        if p["opacity"] < 1:
            alpha = mark.getchannel("A").point(lambda v: round(v * p["opacity"]))
            mark.putalpha(alpha)
        _overlay(frame, mark, p["position"], p["margin"])
    return frames
