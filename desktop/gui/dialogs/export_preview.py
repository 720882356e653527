"""Rendering samples for the Export dialog and the Compare view, off the GUI thread.

``render_sample`` runs a recipe's steps over one photo in memory (nothing is
written, nothing is cached) and returns what the dialogs show: the encoded
size, the output's dimensions, its SSIM against the picture before encoding,
and the decoded output as a small picture and as a crop at 100 %. It runs in
a ``JobRunner`` job; ``to_pixmap`` turns its pictures into pixmaps on the GUI
thread.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image
from PySide6.QtGui import QImage, QPixmap

from desktop.core.processing import operations, quality, render
from desktop.core.processing.operations import Step
from desktop.core.runtime.errors import ShoeboxError

if TYPE_CHECKING:
    from desktop.core.catalog.reads import PhotoRecord
    from desktop.core.library import Library

PREVIEW_EDGE = 720  # the long edge of the picture a preview shows
CROP = (360, 270)  # the crop at 100 %, from the middle of the output


class PreviewError(ShoeboxError):
    """A sample could not be rendered; the message says which photo and why."""


@dataclass
class Sample:
    """One photo rendered with one recipe, as the dialogs show it."""

    photo_id: int
    size: int  # bytes of the (first) output
    outputs: int  # how many files this photo gives (a video's frames: several)
    width: int | None
    height: int | None
    ssim: float | None
    mime: str
    picture: Image.Image | None  # the decoded output, at most PREVIEW_EDGE; None for JSON and videos
    crop: Image.Image | None  # the middle of the output at 100 %


def accepts(steps: Sequence[dict[str, Any] | Step], is_video: bool) -> bool:
    """Whether the steps can process a video (``is_video``) or a picture."""
    medias = set()
    for s in steps:
        name = s.op if isinstance(s, Step) else str(s.get("op"))
        try:
            medias.add(operations.get(name).media)
        except ShoeboxError:
            continue
    if is_video:
        return "image" not in medias or "video" in medias
    return "video" not in medias


def source_of(lib: Library, rec: PhotoRecord) -> render.Source:
    record = lib.photo_info(rec.id) or {}
    kind = "video" if rec.is_video else "image"
    return render.Source(Path(rec.path), rec.content_hash or "", kind, int(rec.rotation or 0), record)


def _decoded(data: bytes) -> Image.Image | None:
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception:  # a format Pillow cannot read back (a video, JSON): no picture, the numbers still show
        return None
    return img.convert("RGB") if img.mode != "RGB" else img


def render_sample(lib: Library, rec: PhotoRecord, steps: list[Step]) -> Sample:
    """``steps`` (validated) over the photo ``rec``; ``PreviewError`` with a sentence when it cannot be."""
    name = Path(rec.path).name
    try:
        outputs = render.render(source_of(lib, rec), steps)
    except ShoeboxError as exc:
        raise PreviewError(f"{name} cannot be previewed: {exc.message}") from exc
    except (OSError, ValueError) as exc:
        raise PreviewError(f"{name} cannot be previewed ({exc}).") from exc
    if not outputs:
        raise PreviewError(f"{name} gives no output with this recipe.")
    first = outputs[0]
    ssim = first.info.get("ssim")
    if ssim is None and first.reference is not None and first.mime.startswith("image/"):
        try:
            ssim = quality.ssim_of(first.data, first.reference)
        except Exception:  # noqa: BLE001 - a format Pillow cannot decode has no SSIM; the rest still shows
            ssim = None
    picture = crop = None
    width, height = first.width, first.height
    if first.mime.startswith("image/"):
        full = _decoded(first.data)
        if full is not None:
            width, height = width or full.width, height or full.height
            cw, ch = min(CROP[0], full.width), min(CROP[1], full.height)
            left, top = (full.width - cw) // 2, (full.height - ch) // 2
            crop = full.crop((left, top, left + cw, top + ch))
            full.thumbnail((PREVIEW_EDGE, PREVIEW_EDGE), Image.Resampling.LANCZOS)
            picture = full
    return Sample(
        photo_id=rec.id,
        size=len(first.data),
        outputs=len(outputs),
        width=width,
        height=height,
        ssim=float(ssim) if ssim is not None else None,
        mime=first.mime,
        picture=picture,
        crop=crop,
    )


def to_pixmap(img: Image.Image) -> QPixmap:
    rgb = img if img.mode == "RGB" else img.convert("RGB")
    data = rgb.tobytes()
    qimg = QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimg.copy())  # the copy owns its pixels; ``data`` may go


def kb(size: float) -> str:
    return f"{size / 1024:,.0f} KB" if size < 10 * 1024 * 1024 else f"{size / 1024 / 1024:,.1f} MB"
