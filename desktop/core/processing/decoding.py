"""Decode a source for processing: upright (its EXIF orientation and the catalog's rotation), 8-bit RGB
or RGBA, its colour profile kept beside it (``srgb`` converts; no metadata policy drops it).

Every source kind goes through ``decode``: a photo Pillow opens (JPEG, PNG, WebP, TIFF, HEIC, AVIF ...;
a JPEG that will be shrunk is decoded at a smaller DCT scale), a camera RAW developed at full size (half
size when the result is shrunk below that anyway), a video's poster frame where a picture operation
meets a video. 16-bit pictures become 8-bit; CMYK and grey pictures with a profile are converted with
it to sRGB (an RGB encoder cannot carry a CMYK or grey profile); the source's EXIF block is handed on
for encoders that keep metadata.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageCms

from desktop.core.imaging import raw, video
from desktop.core.imaging.decode import (
    TRANSPOSE,
    ImageError,
    high_depth_to_l,
    open_image,
    orientation_from_file,
    srgb_cms_profile,
)
from desktop.core.processing.render import Source

_ROTATE = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}
_ORIENTATION = 0x0112

SizeFor = Callable[[int, int], tuple[int, int]]
Shrink = Callable[[Image.Image, tuple[int, int]], Image.Image]


# The ICC header's creation date (bytes 24-35) is the time LittleCMS wrote the profile, and its
# profile ID (bytes 84-99) an MD5 over the header: both fixed here, so two exports of the same photo
# made a second apart are the same bytes (an ID of zeros means "not computed", which ICC allows).
_ICC_DATE = slice(24, 36)
_ICC_ID = slice(84, 100)
_FIXED_DATE = bytes.fromhex("07e8 0001 0001 0000 0000 0000".replace(" ", ""))  # 2024-01-01 00:00:00


@functools.cache
def srgb_profile() -> bytes:
    """The bytes of the sRGB profile written into converted pictures: the same in every process, at any time."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    data[_ICC_DATE] = _FIXED_DATE
    data[_ICC_ID] = bytes(16)
    return bytes(data)


def load(source: Source, long_edge: int | None = None) -> tuple[Image.Image, bytes | None]:
    """The source's picture (upright, RGB or RGBA) and its ICC profile; ``ImageError`` when it cannot."""
    img, icc, _exif = decode(source, long_edge)
    return img, icc


def decode(
    source: Source,
    long_edge: int | None = None,
    size_for: SizeFor | None = None,
    shrink: Shrink | None = None,
) -> tuple[Image.Image, bytes | None, bytes | None]:
    """The source's picture (upright, RGB or RGBA), its ICC profile and its EXIF block.

    ``long_edge`` / ``size_for``: the size the caller will reduce the picture to, so the decoder may
    deliver less (never less than that). ``shrink`` (with ``size_for``): how the caller reduces it; the
    picture is then reduced before it is turned upright (turning a 12 MP picture costs more than a
    third of its decode; turning the reduced one a quarter of that). Raises ``ImageError`` with a
    sentence when it cannot.
    """
    if source.kind == "video" or video.is_video_path(source.path):
        poster = video.load_poster(source.path)  # already upright (the display matrix applied)
        return _turned(_rgb(poster, None)[0], source.rotation), None, None
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        raise ImageError(f"Cannot read {source.path.name}: {exc.strerror or exc}.") from None
    if raw.reads_as_raw(source.path, data):
        img, exif = _develop(data, long_edge, size_for)
        return _turned(img, source.rotation), None, exif
    img = open_image(data)
    icc = img.info.get("icc_profile")
    icc = icc if isinstance(icc, bytes) and icc else None
    exif_raw = img.info.get("exif")
    exif = exif_raw if isinstance(exif_raw, bytes) and exif_raw else None
    orientation = 1 if img.format == "HEIF" else orientation_from_file(img)
    tiff_tags = getattr(img, "tag_v2", None) if img.format == "TIFF" else None
    tiff_oriented = tiff_tags is not None and _ORIENTATION in tiff_tags
    if size_for is not None:
        planned = size_for(*_upright(img.size, orientation, source.rotation))  # from the full size
        size_for = lambda _w, _h: planned  # noqa: E731 - the same answer after a DCT-scaled decode
    target = _target(img.size, orientation, source.rotation, long_edge, size_for)
    try:
        if target is not None and img.format == "JPEG":
            img.draft(img.mode if img.mode in ("RGB", "L") else None, target)
        img.load()
    except Exception as exc:  # untrusted bytes: any decoder failure means a broken file
        raise ImageError(f"{source.path.name} is damaged and cannot be decoded ({exc}).") from None
    if tiff_oriented and tiff_tags is not None and _ORIENTATION not in tiff_tags:
        orientation = 1  # this Pillow turned the TIFF while loading and dropped the tag
    out, icc = _rgb(img, icc)
    if shrink is not None and size_for is not None:
        out = _shrunk(out, orientation, source.rotation, size_for, shrink)
    transpose = TRANSPOSE.get(orientation)
    if transpose is not None:
        out = out.transpose(transpose)
    out = _turned(out, source.rotation)
    out.info = {}  # the source's EXIF/XMP must not ride along into an encoder that reads im.info
    return out, icc, exif


def _target(
    size: tuple[int, int], orientation: int, rotation: int, long_edge: int | None, size_for: SizeFor | None
) -> tuple[int, int] | None:
    """The stored-orientation size the decoder must at least deliver, None for full size."""
    width, height = size
    swapped = (orientation >= 5) != (rotation % 180 == 90)
    up_w, up_h = (height, width) if swapped else (width, height)
    if size_for is not None:
        tw, th = size_for(up_w, up_h)
        scale = max(tw / up_w, th / up_h)
    elif long_edge is not None:
        scale = long_edge / max(width, height)
    else:
        return None
    if scale >= 1:
        return None
    return (math.ceil(width * scale), math.ceil(height * scale))


def _swapped(orientation: int, rotation: int) -> bool:
    """Whether turning the stored picture upright swaps its width and height."""
    return (orientation >= 5) != (rotation % 180 == 90)


def _upright(size: tuple[int, int], orientation: int, rotation: int) -> tuple[int, int]:
    return (size[1], size[0]) if _swapped(orientation, rotation) else size


def _shrunk(
    img: Image.Image, orientation: int, rotation: int, size_for: SizeFor, shrink: Shrink
) -> Image.Image:
    """``img`` (as stored) reduced by ``shrink`` to the stored-orientation size of ``size_for``'s target."""
    swapped = _swapped(orientation, rotation)
    planned = size_for(*_upright(img.size, orientation, rotation))
    target = (planned[1], planned[0]) if swapped else planned
    return shrink(img, target) if target != img.size else img


def _turned(img: Image.Image, rotation: int) -> Image.Image:
    turn = _ROTATE.get(rotation % 360)
    return img.transpose(turn) if turn is not None else img


def _develop(
    data: bytes, long_edge: int | None, size_for: SizeFor | None
) -> tuple[Image.Image, bytes | None]:
    """A RAW developed (upright: LibRaw applies the camera's orientation), at half size when enough."""
    import rawpy

    with raw.RawFile(data) as info:
        width, height = info.info.width, info.info.height
    target = _target((width, height), 1, 0, long_edge, size_for)
    half = target is not None and max(target) * 2 <= max(width, height)
    try:
        with rawpy.RawPy() as handle:
            handle.open_buffer(io.BytesIO(data))
            rgb = handle.postprocess(half_size=half, use_camera_wb=True, output_bps=8)
    except rawpy.LibRawError as exc:
        raise ImageError(f"The RAW file cannot be developed ({exc}).") from None
    return Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB"), _raw_exif(data)


# the RAW's IFD0 describes its sensor data; of it only these say something about the photo
_RAW_IFD0_KEPT = frozenset(
    f"Exif.Image.{name}" for name in ("Make", "Model", "DateTime", "Artist", "Copyright", "Software")
)


def _raw_exif(data: bytes) -> bytes | None:
    """The RAW's EXIF (camera, exposure, GPS) as a block Pillow's encoders write: exiv2 reads the RAW and
    writes what it found into a one-pixel JPEG, whose block Pillow then hands out."""
    import exiv2

    from desktop.core.ingest.xmp_write import EXIV2_LOCK

    carrier = io.BytesIO()
    Image.new("RGB", (1, 1)).save(carrier, "JPEG")
    try:
        with EXIV2_LOCK:
            source = exiv2.ImageFactory.open(data)
            source.readMetadata()
            target = exiv2.ImageFactory.open(carrier.getvalue())
            out = target.exifData()
            for datum in source.exifData():
                key = datum.key()
                # maker notes point into the RAW: meaningless elsewhere
                wanted = key.startswith(("Exif.Photo.", "Exif.GPSInfo.")) or key in _RAW_IFD0_KEPT
                if wanted and "MakerNote" not in key:
                    out[key] = datum.value()
            target.writeMetadata()
            io_ = target.io()
            io_.open()
            try:
                jpeg = bytes(io_.mmap())
            finally:
                io_.munmap()
                io_.close()
    except exiv2.Exiv2Error:
        return None  # no readable EXIF: the output goes without, the picture is what matters
    blob = Image.open(io.BytesIO(jpeg)).info.get("exif")
    return blob if isinstance(blob, bytes) and blob else None


def _rgb(img: Image.Image, icc: bytes | None) -> tuple[Image.Image, bytes | None]:
    """``img`` as 8-bit RGB or RGBA and the profile that now describes it."""
    mode = img.mode
    if mode in ("RGB", "RGBA"):
        return img, icc
    if mode.startswith("I;16") or mode in ("I", "F"):
        img = high_depth_to_l(img)
        mode = "L"
    elif mode == "P" or mode == "PA":
        has_alpha = mode == "PA" or "transparency" in img.info
        return img.convert("RGBA" if has_alpha else "RGB"), icc
    elif mode in ("1", "La", "RGBa", "RGBX", "YCbCr", "LAB", "HSV"):
        target = {"1": "L", "La": "LA", "RGBa": "RGBA"}.get(mode, "RGB")
        img = img.convert(target)
        mode = target
        if mode in ("RGB", "RGBA"):
            return img, icc
    alpha = img.getchannel("A") if mode in ("LA",) else None
    base = img.convert("L") if alpha is not None else img
    if icc is not None and base.mode in ("CMYK", "L"):
        try:
            converted = ImageCms.profileToProfile(
                base, ImageCms.ImageCmsProfile(io.BytesIO(icc)), srgb_cms_profile(), outputMode="RGB"
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = None
        if converted is not None:
            if alpha is not None:
                converted.putalpha(alpha)
            return converted, srgb_profile()
    out = base.convert("RGB")
    if alpha is not None:
        out.putalpha(alpha)
    # a CMYK or grey profile cannot describe the RGB picture; without a usable one it is plain sRGB
    return out, None if base.mode in ("CMYK", "L") else icc
