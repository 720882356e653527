"""Safe image decoding: bytes in, an upright sRGB RGB picture out, or an ``ImageError``.

Every photo Shoebox shows or indexes goes through this module. It

- opens only photo formats (JPEG, PNG, WebP, TIFF, HEIF/HEIC, AVIF, GIF, BMP),
  whatever the file's extension says (camera RAWs, known by their extension,
  go through ``desktop.core.imaging.raw``), and turns everything else into an
  ``ImageError`` whose ``reason`` a user can read ("not an image: the file
  contains text", "truncated: ...", "too large: ...");
- refuses decompression bombs from the header alone, before any pixel memory
  is allocated;
- decodes as little as it can: JPEG DCT scaling (``Image.draft``) and HEIF
  embedded thumbnails when only a small picture is needed, and it reduces,
  colour-converts and rotates the small picture, not the full-size one;
- applies the EXIF orientation and converts embedded non-sRGB ICC profiles
  (Display P3, Adobe RGB, CMYK, ...) to sRGB, caching one colour transform per
  profile because building one costs milliseconds;
- flattens every mode (L, LA, P, RGBA, CMYK, 16-bit, float) to 8-bit RGB.

It must stay importable without Qt: the scanner runs it in worker processes.
"""

from __future__ import annotations

import functools
import io
import math
import re
import threading
import warnings
from pathlib import Path
from typing import Final

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from desktop.core.runtime.errors import ShoeboxError

__all__ = [
    "MAX_PIXELS",
    "THUMB_SHORT_SIDE",
    "ImageError",
    "decode_upright",
    "load_upright",
    "open_image",
    "register_formats",
    "thumbnail_jpeg",
]

MAX_PIXELS: Final = 250_000_000
"""Images with more pixels are refused before decoding (a 250 MP RGBA image is already 1 GB)."""

THUMB_SHORT_SIDE: Final = 256
"""Thumbnail short side; large enough to double as the 224-px input of the CLIP model."""

THUMB_MAX_LONG: Final = 1024

# The order is the order Pillow tries them in: common formats first.
_PHOTO_FORMATS: Final = ("JPEG", "MPO", "HEIF", "PNG", "WEBP", "TIFF", "AVIF", "GIF", "BMP")

# Decoders that always apply the file's rotation/mirroring (HEIF irot/imir); applying
# the EXIF orientation again would rotate twice. (TIFF is decided per file, see _decode.)
_SELF_ORIENTING_FORMATS: Final = frozenset({"HEIF"})

# EXIF orientation -> the transpose that makes the picture upright.
TRANSPOSE: Final[dict[int, Image.Transpose]] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_ORIENTATION: Final = 0x0112

# Scaling what the JPEG draft decode leaves (at most 2x the target) down to the thumbnail: Pillow's
# bilinear is an antialiased triangle filter, indistinguishable from Lanczos at such small ratios,
# and measured 2.1 ms instead of 4.8 ms per 12 MP photo -- a sixth of the scan's per-photo budget.
_FAST_RESAMPLE: Final = Image.Resampling.BILINEAR

_TRUNCATED_REASON: Final = "truncated: the file ends before the image data does"


class ImageError(ShoeboxError):
    """A file that cannot be shown; ``reason`` says why in words a user understands."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------- registration

_registered = False
_register_lock = threading.Lock()
_allowed_formats: tuple[str, ...] = ()


def register_formats() -> None:
    """Register the HEIF opener and set Pillow's limits; cheap to call again."""
    global _registered, _allowed_formats
    if _registered:
        return
    with _register_lock:
        if _registered:
            return
        import pillow_heif

        # Depth and auxiliary images are never shown; skipping them makes opening a phone HEIC cheaper.
        pillow_heif.register_heif_opener(depth_images=False, aux_images=False)
        Image.init()
        # Pillow raises above twice this and warns above it; open_image enforces the limit itself
        # (with the image's dimensions in the message), so the warning is only noise.
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS
        warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
        _allowed_formats = tuple(f for f in _PHOTO_FORMATS if f in Image.OPEN)
        _registered = True


# --------------------------------------------------------------------------- opening


def open_image(data: bytes) -> Image.Image:
    """Open (parse the header of, not decode) an image held in memory.

    The file's extension plays no part: a PNG named ``.jpg`` opens as the PNG it
    is. Raises ``ImageError`` for empty files, non-images, formats Shoebox does
    not show, unreadable headers and images over ``MAX_PIXELS``.
    """
    register_formats()
    if not data:
        raise ImageError("empty file (0 bytes)")
    try:
        img = Image.open(io.BytesIO(data), formats=_allowed_formats)
    except Image.DecompressionBombError as exc:
        raise ImageError(_too_large_reason(None, str(exc))) from None
    except UnidentifiedImageError:
        raise ImageError(_unidentified_reason(data)) from None
    # Third-party parsers meet arbitrary bytes here; whatever they raise means "can't read this file".
    except Exception as exc:
        raise ImageError(_decode_error_reason(exc)) from None
    _check_pixels(img)
    return img


def _check_pixels(img: Image.Image) -> None:
    width, height = img.size
    if width <= 0 or height <= 0:
        raise ImageError(f"corrupt image data: the header says {width}×{height} pixels")
    if width * height > MAX_PIXELS:
        raise ImageError(_too_large_reason((width, height), ""))


def _too_large_reason(size: tuple[int, int] | None, message: str) -> str:
    limit = f"the {MAX_PIXELS // 1_000_000}-megapixel limit"
    if size is not None:
        return f"too large: {size[0]}×{size[1]} pixels is over {limit}"
    # Pillow refused it before we saw the dimensions; its message still carries the pixel count.
    match = re.search(r"\((\d+) pixels\)", message)
    if match:
        return f"too large: {int(match.group(1)) / 1e6:,.0f} megapixels is over {limit}"
    return f"too large: the image is over {limit}"


# (magic prefix, offset, Pillow format) for the formats we show, used to name what is broken
_PHOTO_MAGIC: Final = (
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"GIF87a", 0, "GIF"),
    (b"GIF89a", 0, "GIF"),
    (b"II*\x00", 0, "TIFF"),
    (b"MM\x00*", 0, "TIFF"),
    (b"II+\x00", 0, "TIFF"),
    (b"MM\x00+", 0, "TIFF"),
    (b"WEBP", 8, "WEBP"),
)
_HEIF_BRANDS: Final = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})
_AVIF_BRANDS: Final = frozenset({b"avif", b"avis"})

# Things people keep next to photos, named so the user knows what the file really is.
_OTHER_MAGIC: Final = (
    (b"%PDF", "not an image: the file is a PDF document"),
    (b"PK\x03\x04", "not an image: the file is a ZIP archive (or an Office document)"),
    (b"Rar!", "not an image: the file is a RAR archive"),
    (b"\x1f\x8b", "not an image: the file is gzip-compressed"),
    (b"ID3", "not an image: the file is an MP3 audio file"),
    (b"\x1a\x45\xdf\xa3", "not an image: the file is a video (Matroska/WebM)"),
)


def _unidentified_reason(data: bytes) -> str:
    """Why no photo format accepted ``data``: a broken photo, another format, text, or noise."""
    fmt = _photo_format_by_magic(data)
    if fmt is not None:
        return _broken_header_reason(data, fmt)
    if data[4:8] == b"ftyp":
        return "not an image: the file is a video (MP4/QuickTime)"
    for magic, reason in _OTHER_MAGIC:
        if data.startswith(magic):
            return reason
    other = _identify_with_any_plugin(data)
    if other is not None:
        return f"unsupported image format: {other}"
    head = data[:4096]
    if _looks_like_text(head):
        lowered = head.lstrip().lower()
        if lowered.startswith((b"<!doctype html", b"<html")):
            return "not an image: the file is a web page (HTML)"
        return "not an image: the file contains text"
    return "not an image: unrecognised content"


def _photo_format_by_magic(data: bytes) -> str | None:
    for magic, offset, fmt in _PHOTO_MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return fmt
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _HEIF_BRANDS:
            return "HEIF"
        if brand in _AVIF_BRANDS:
            return "AVIF"
    return None


# A photo's header (markers, chunks, IFDs) needs more than this; a shorter file was cut off.
_MIN_HEADER_BYTES: Final = 128


def _broken_header_reason(data: bytes, fmt: str) -> str:
    if len(data) < _MIN_HEADER_BYTES:
        return _TRUNCATED_REASON
    if fmt not in Image.OPEN:
        return f"unsupported image format: {fmt} (no decoder installed)"
    factory, _accept = Image.OPEN[fmt]
    try:
        # Image.open swallows the plugin's own complaint; calling the plugin directly recovers it.
        factory(io.BytesIO(data), "")
    except Exception as exc:
        return _decode_error_reason(exc, fmt)
    return f"corrupt image data: the {fmt} header could not be read"


def _identify_with_any_plugin(data: bytes) -> str | None:
    """The format of an image Pillow knows but Shoebox does not show (EPS, PSD, ICO, ...)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.format or "unknown"
    # Any failure only means "not an image Pillow knows"; the caller then looks at the bytes.
    except Exception:
        return None


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 byte-order marks
        return True
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # the 4 KB sample may cut a multi-byte character in half
        if exc.start < len(head) - 3:
            return False
        text = head[: exc.start].decode("utf-8")
    if not text:
        return False
    readable = sum(ch.isprintable() or ch in "\t\r\n\f\v" for ch in text)
    return readable >= 0.95 * len(text)


def _decode_error_reason(exc: BaseException, fmt: str | None = None) -> str:
    if isinstance(exc, Image.DecompressionBombError):
        return _too_large_reason(None, str(exc))
    if isinstance(exc, MemoryError):
        return "too large: not enough memory to decode it"
    message = str(exc).strip()
    lowered = message.lower()
    if isinstance(exc, EOFError) or any(
        phrase in lowered for phrase in ("truncated", "premature end", "unexpected end", "end of file")
    ):
        return _TRUNCATED_REASON
    if not message:
        message = type(exc).__name__
    if fmt is not None:
        return f"corrupt image data: {fmt}: {message}"
    return f"corrupt image data: {message}"


# --------------------------------------------------------------------------- decoding


def decode_upright(img: Image.Image, orientation: int | None, min_short_side: int | None) -> Image.Image:
    """Decode ``img`` into an upright 8-bit sRGB RGB image.

    ``orientation`` is the EXIF orientation (1-8); ``None`` reads it from the
    file, anything invalid counts as 1. It is ignored where the decoder has
    already turned the picture (HEIF always, TIFF with recent Pillows).

    With ``min_short_side`` the picture is decoded at the smallest size whose
    short side is still at least that (JPEG DCT scaling, HEIF thumbnails) and
    then reduced so its short side is exactly that; it is never enlarged.
    ``None`` decodes at full size. Decoding happens here, so truncated or
    corrupt data raises ``ImageError`` here. ``img`` is consumed: draft mode
    changes its size.
    """
    target = None
    if min_short_side is not None:
        width, height = img.size
        scale = min_short_side / min(width, height)
        if scale < 1:
            target = (max(1, round(width * scale)), max(1, round(height * scale)))
    return _decode(img, orientation, target, _FAST_RESAMPLE)


def load_upright(path: Path, max_side: int | None = None) -> Image.Image:
    """Read a file into an upright sRGB RGB image, its long side at most ``max_side`` when given.

    For the viewer and for query images from outside the library; a camera
    RAW gives its embedded preview, or is developed at half size when that is
    smaller than ``raw.VIEW_SHORT_SIDE``. Raises ``ImageError`` when the file
    cannot be read or decoded.
    """
    # imported here: the RAW and video modules build on this one
    from desktop.core.imaging import raw, video

    if video.is_video_path(path):  # the viewer, and a query by a video: its poster frame
        return video.load_poster(Path(path), max_side)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ImageError(f"cannot read the file: {exc.strerror or exc}") from None
    orientation: int | None = None

    if raw.reads_as_raw(path, data):
        with raw.RawFile(data) as raw_file:
            img, orientation = raw_file.picture(raw.VIEW_SHORT_SIDE)
    else:
        img = open_image(data)
    target = None
    if max_side is not None:
        width, height = img.size
        scale = max_side / max(width, height)
        if scale < 1:
            target = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Bicubic, not Lanczos: for a 12 MP photo shown at 2048 px it is 160 ms instead of 250 ms
    # of the viewer's first-open latency, with no visible difference at a <2x reduction.
    return _decode(img, orientation, target, Image.Resampling.BICUBIC)


def _decode(
    img: Image.Image,
    orientation: int | None,
    target: tuple[int, int] | None,
    resample: Image.Resampling,
) -> Image.Image:
    """Decode, reduce to ``target`` (stored orientation), flatten to RGB, convert to sRGB, rotate."""
    register_formats()
    _check_pixels(img)
    fmt = img.format or ""
    if fmt in _SELF_ORIENTING_FORMATS:
        orientation = 1
    elif orientation is None:
        orientation = orientation_from_file(img)
    icc = img.info.get("icc_profile")
    tiff_tags = getattr(img, "tag_v2", None) if fmt == "TIFF" else None
    tiff_oriented = tiff_tags is not None and _EXIF_ORIENTATION in tiff_tags
    try:
        if target is not None:
            # Ask for the size that still covers the target in both directions; the decoder picks
            # the smallest DCT scale (JPEG) or embedded thumbnail (HEIF) that is at least as big.
            img.draft("RGB", target)
        img.load()
    # The decoders are fed untrusted bytes; every failure of theirs is "this file is broken".
    except Exception as exc:
        raise ImageError(_decode_error_reason(exc)) from None
    if tiff_oriented and tiff_tags is not None and _EXIF_ORIENTATION not in tiff_tags:
        # Recent Pillows transpose TIFFs while loading and then drop the tag (older ones do not);
        # its absence now is the only sign, and turning the picture again would be wrong.
        orientation = 1

    out: Image.Image = _to_8bit(img)
    if target is not None and (out.width > target[0] or out.height > target[1]):
        # For big reductions (no draft: PNG, TIFF, ...) reducing_gap first shrinks by an integer
        # factor with the cheap box filter, so the real filter only does the last <3x.
        out = out.resize(target, resample, reducing_gap=3.0)
    out = _flatten_alpha(out)
    out = _to_srgb(out, icc if isinstance(icc, bytes) else None)
    transpose = TRANSPOSE.get(orientation)
    if transpose is not None:
        out = out.transpose(transpose)
    return out


def orientation_from_file(img: Image.Image) -> int:
    try:
        value = img.getexif().get(_EXIF_ORIENTATION, 1)
    # A damaged EXIF block must not cost the picture: fall back to "upright as stored".
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _to_8bit(img: Image.Image) -> Image.Image:
    """Bring 1-bit, 16-bit, 32-bit and palette images to an 8-bit mode that can be resized and colour-managed."""
    mode = img.mode
    if mode in ("RGB", "L", "RGBA", "LA", "CMYK"):
        return img
    if mode.startswith("I;16") or mode in ("I", "F"):
        return high_depth_to_l(img)
    if mode == "1":
        return img.convert("L")
    if mode == "P":
        return img.convert("RGBA" if "transparency" in img.info else "RGB")
    if mode in ("PA", "RGBa", "RGBX"):
        return img.convert("RGBA")
    if mode == "La":
        return img.convert("LA")
    if mode == "LAB":
        return ImageCms.applyTransform(img, _lab_to_srgb()) or img
    try:
        return img.convert("RGB")
    except ValueError:
        raise ImageError(f"unsupported image format: {img.format} in {mode} colour mode") from None


def high_depth_to_l(img: Image.Image) -> Image.Image:
    # Pillow's convert("L") clips 16-bit values at 255 (an almost white picture); scale instead.
    arr = np.asarray(img)
    if img.mode == "F":
        peak = float(np.nanmax(arr)) if arr.size else 0.0
        scaled = np.nan_to_num(arr * 255.0 if peak <= 1.0 else arr)
        return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8), "L")
    wide = arr.astype(np.int64)
    if img.mode.startswith("I;16") or (wide.size and int(wide.max()) > 255):
        wide = wide >> 8
    return Image.fromarray(np.clip(wide, 0, 255).astype(np.uint8), "L")


def _flatten_alpha(img: Image.Image) -> Image.Image:
    """Composite transparent pictures on white, the way the grid shows them."""
    if img.mode == "RGBA":
        background = Image.new("RGB", img.size, (255, 255, 255))
        background.paste(img, mask=img.getchannel("A"))
        return background
    if img.mode == "LA":
        background = Image.new("L", img.size, 255)
        background.paste(img.getchannel("L"), mask=img.getchannel("A"))
        return background
    return img


def _to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    if icc:
        transform = _srgb_transform(icc, img.mode)
        if transform is not None:
            try:
                return transform.apply(img)
            except (ImageCms.PyCMSError, ValueError, OSError):
                pass  # a profile LittleCMS accepted but cannot run: show the unmanaged colours
    return img if img.mode == "RGB" else img.convert("RGB")


@functools.cache
def srgb_cms_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@functools.cache
def _lab_to_srgb() -> ImageCms.ImageCmsTransform:
    return ImageCms.buildTransform(
        ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")), srgb_cms_profile(), "LAB", "RGB"
    )


_ICC_COLOUR_SPACES: Final = {"RGB": "RGB", "L": "GRAY", "CMYK": "CMYK"}


@functools.lru_cache(maxsize=64)
def _srgb_transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """The transform from ``icc`` to sRGB, or None when none is needed or possible.

    Cached per profile: building a transform costs milliseconds, more than the
    rest of a thumbnail after decoding, and a library holds only a few profiles.
    """
    space = _ICC_COLOUR_SPACES.get(mode)
    if space is None:
        return None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if profile.profile.xcolor_space.strip() != space:
            return None  # the profile does not describe these pixels; trust it less than the pixels
        transform = ImageCms.buildTransform(
            profile, srgb_cms_profile(), mode, "RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None
    if mode == "RGB" and _is_identity(transform):
        return None  # an sRGB profile under some name: skip a conversion that changes nothing
    return transform


def _is_identity(transform: ImageCms.ImageCmsTransform) -> bool:
    levels = np.linspace(0, 255, 7).astype(np.uint8)
    cube = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(1, -1, 3)
    probe = Image.fromarray(cube, "RGB")
    converted = np.asarray(transform.apply(probe), dtype=np.int16)
    return int(np.abs(converted - cube.astype(np.int16)).max()) <= 2


# --------------------------------------------------------------------------- encoding


def thumbnail_jpeg(
    upright: Image.Image,
    short_side: int = THUMB_SHORT_SIDE,
    max_long: int = THUMB_MAX_LONG,
    quality: int = 85,
) -> bytes:
    """Encode a thumbnail: short side ``short_side``, long side at most ``max_long``, never enlarged.

    ``upright`` is what ``decode_upright`` returned; the JPEG carries no EXIF
    or ICC profile because its pixels are already upright sRGB.
    """
    img = upright if upright.mode == "RGB" else upright.convert("RGB")
    width, height = img.size
    scale = min(short_side / min(width, height), max_long / max(width, height))
    if scale < 1:
        size = (max(1, math.floor(width * scale + 0.5)), max(1, math.floor(height * scale + 0.5)))
        img = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()
