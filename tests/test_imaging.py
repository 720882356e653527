"""desktop.core.imaging.decode: upright, colour-managed, fast and safe decoding."""

from __future__ import annotations

import io
import random
import resource
import struct
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from desktop.core.imaging import decode as imaging
from desktop.core.imaging.decode import (
    MAX_PIXELS,
    THUMB_SHORT_SIDE,
    ImageError,
    decode_upright,
    load_upright,
    open_image,
    register_formats,
    thumbnail_jpeg,
)

MakeJpeg = Callable[..., Path]

# --------------------------------------------------------------------------- helpers


def _encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def _camera_like(size: tuple[int, int]) -> Image.Image:
    """A picture with structure in both directions, so rotations and flips are visible."""
    w, h = size
    horizontal = Image.linear_gradient("L").rotate(90).resize(size)
    vertical = Image.linear_gradient("L").resize(size)
    blob = Image.radial_gradient("L").resize((w // 2, h // 2))
    third = Image.new("L", size, 40)
    third.paste(blob, (0, 0))
    return Image.merge("RGB", (horizontal, vertical, third))


def _fingerprint(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB").resize((32, 32), Image.Resampling.BOX), dtype=np.float32)


def _mad(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(_fingerprint(a) - _fingerprint(b)).mean())


def _decode(data: bytes, orientation: int | None = None, short: int | None = None) -> Image.Image:
    return decode_upright(open_image(data), orientation, short)


@pytest.fixture(scope="module")
def jpeg_12mp() -> bytes:
    return _encode(_camera_like((4000, 3000)), "JPEG", quality=90)


def _png_claiming(width: int, height: int) -> bytes:
    """A small valid PNG whose IHDR (CRC fixed up) claims another size: a decompression bomb header."""
    data = bytearray(_encode(Image.new("RGB", (8, 8)), "PNG"))
    ihdr = bytearray(data[12:29])  # b"IHDR" + 13 bytes of fields
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(data)


def _jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(_encode(Image.new("RGB", (8, 8)), "JPEG"))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux


def _tiff_rgb48(width: int, height: int, pixels: np.ndarray) -> bytes:
    """An uncompressed 16-bit-per-channel RGB TIFF (Pillow cannot write one)."""
    strip = pixels.astype("<u2").tobytes()
    entries = [  # tag, type (3 SHORT, 4 LONG), count, value or offset
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 3, 0),  # BitsPerSample -> patched to the offset of (16, 16, 16)
        (259, 3, 1, 1),
        (262, 3, 1, 2),
        (273, 4, 1, 0),  # StripOffsets -> patched
        (277, 3, 1, 3),
        (278, 4, 1, height),
        (279, 4, 1, len(strip)),
        (284, 3, 1, 1),
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    bits_offset = 8 + ifd_size
    strip_offset = bits_offset + 6
    out = bytearray(b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries)))
    for tag, typ, count, value in entries:
        if tag == 258:
            value = bits_offset
        elif tag == 273:
            value = strip_offset
        packed = struct.pack("<HI", value, 0)[:4] if typ == 3 and count == 1 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, typ, count) + packed
    out += struct.pack("<I", 0) + struct.pack("<HHH", 16, 16, 16) + strip
    return bytes(out)


# --------------------------------------------------------------------------- orientation


@pytest.mark.corpus
@pytest.mark.parametrize("kind", ["landscape", "portrait"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright(corpus: Path, kind: str, orientation: int) -> None:
    folder = corpus / "jpg" / "orientation"
    reference = _decode((folder / f"{kind}_1.jpg").read_bytes(), short=THUMB_SHORT_SIDE)
    data = (folder / f"{kind}_{orientation}.jpg").read_bytes()

    upright = _decode(data, short=THUMB_SHORT_SIDE)  # orientation read from the file
    assert upright.mode == "RGB"
    assert upright.size == reference.size
    right = _mad(upright, reference)

    # Every other way of turning the stored pixels must look clearly less like the reference.
    stored = _decode(data, orientation=1, short=THUMB_SHORT_SIDE)
    wrong = [
        _mad(stored.transpose(t), reference)
        for o, t in imaging.TRANSPOSE.items()
        if o != orientation and stored.transpose(t).size == reference.size
    ]
    if orientation != 1 and stored.size == reference.size:
        wrong.append(_mad(stored, reference))
    assert len(wrong) == 3  # the three other turns/flips that keep the aspect
    assert right < 5, f"{kind}_{orientation}: differs from {kind}_1 by {right:.1f}"
    assert right * 4 < min(wrong), f"{kind}_{orientation}: right {right:.1f}, wrong {min(wrong):.1f}"

    # an explicit orientation from the catalog gives the same picture
    assert _mad(_decode(data, orientation=orientation, short=THUMB_SHORT_SIDE), upright) < 0.01


def test_orientation_from_exif_and_explicit_override(tmp_path: Path, make_jpeg: MakeJpeg) -> None:
    data = make_jpeg(tmp_path / "a.jpg", size=(64, 48), orientation=6).read_bytes()
    assert _decode(data).size == (48, 64)  # read from EXIF
    assert _decode(data, orientation=1).size == (64, 48)  # the caller knows better
    assert _decode(data, orientation=8).size == (48, 64)


@pytest.mark.parametrize("bad", [0, 9, -1, 255])
def test_invalid_orientation_counts_as_1(tmp_path: Path, make_jpeg: MakeJpeg, bad: int) -> None:
    data = make_jpeg(tmp_path / "a.jpg", size=(64, 48)).read_bytes()
    assert _decode(data, orientation=bad).size == (64, 48)
    exif = Image.Exif()
    exif[0x0112] = bad if bad >= 0 else 0
    in_file = _encode(Image.new("RGB", (64, 48), "red"), "JPEG", exif=exif.tobytes())
    assert _decode(in_file).size == (64, 48)


def test_the_exact_transposes() -> None:
    # 2x1 stored: left pixel red, right blue; check where red ends up for each orientation
    stored = Image.new("RGB", (2, 1), "blue")
    stored.putpixel((0, 0), (255, 0, 0))
    expected_red = {1: (0, 0), 2: (1, 0), 3: (1, 0), 4: (0, 0), 5: (0, 0), 6: (0, 0), 7: (0, 1), 8: (0, 1)}
    for orientation, red_at in expected_red.items():
        out = _decode(_encode(stored, "PNG"), orientation=orientation)
        assert out.getpixel(red_at) == (255, 0, 0), orientation


# --------------------------------------------------------------------------- sizes and draft


def test_thumbnail_sizes(jpeg_12mp: bytes, tmp_path: Path, make_jpeg: MakeJpeg) -> None:
    upright = _decode(jpeg_12mp, short=THUMB_SHORT_SIDE)
    assert upright.size == (341, 256)
    thumb = Image.open(io.BytesIO(thumbnail_jpeg(upright)))
    assert (thumb.format, thumb.size) == ("JPEG", (341, 256))
    assert not thumb.getexif() and "icc_profile" not in thumb.info

    turned = make_jpeg(tmp_path / "p.jpg", size=(800, 600), orientation=6).read_bytes()
    assert Image.open(io.BytesIO(thumbnail_jpeg(_decode(turned, short=256)))).size == (256, 341)

    small = make_jpeg(tmp_path / "s.jpg", size=(100, 80)).read_bytes()
    assert _decode(small, short=256).size == (100, 80)  # never enlarged
    assert Image.open(io.BytesIO(thumbnail_jpeg(_decode(small, short=256)))).size == (100, 80)


def test_panorama_long_side_is_capped() -> None:
    pano = _encode(_camera_like((6000, 1000)), "JPEG")
    upright = _decode(pano, short=THUMB_SHORT_SIDE)
    assert upright.size == (1536, 256)
    assert Image.open(io.BytesIO(thumbnail_jpeg(upright))).size == (1024, 171)


def test_draft_decodes_a_12mp_jpeg_at_one_eighth(jpeg_12mp: bytes) -> None:
    img = open_image(jpeg_12mp)
    assert img.size == (4000, 3000)
    upright = decode_upright(img, None, THUMB_SHORT_SIDE)
    # draft() shrinks the image object itself to the DCT-scaled size it decoded
    assert img.size == (500, 375)
    assert img.size[0] <= 4000 // 4 and img.size[1] <= 3000 // 4
    assert upright.size == (341, 256)


def test_draft_never_goes_below_the_short_side() -> None:
    # 2047 // 256 = 7 -> scale 1/4 (511 px), not 1/8 (255 px, too small)
    img = open_image(_encode(_camera_like((2729, 2047)), "JPEG"))
    upright = decode_upright(img, None, 256)
    assert min(img.size) >= 256
    assert img.size == (683, 512)
    assert min(upright.size) == 256


def test_full_decode_when_no_size_is_asked(jpeg_12mp: bytes) -> None:
    img = open_image(jpeg_12mp)
    assert decode_upright(img, 1, None).size == (4000, 3000)


def test_thumbnail_matches_a_full_decode(jpeg_12mp: bytes) -> None:
    fast = _decode(jpeg_12mp, short=256)
    full = _decode(jpeg_12mp).resize(fast.size, Image.Resampling.LANCZOS)
    assert _mad(fast, full) < 3


def test_load_upright_for_the_viewer(tmp_path: Path, jpeg_12mp: bytes) -> None:
    path = tmp_path / "big.jpg"
    path.write_bytes(jpeg_12mp)
    assert load_upright(path, max_side=1000).size == (1000, 750)
    assert load_upright(path, max_side=2048).size == (2048, 1536)
    assert load_upright(path).size == (4000, 3000)
    with pytest.raises(ImageError, match="cannot read"):
        load_upright(tmp_path / "missing.jpg")


# --------------------------------------------------------------------------- colour


def _swapped_primaries_profile() -> bytes:
    """sRGB with its red and blue primaries swapped: a profile that is obviously not sRGB."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    data[84:100] = bytes(16)  # profile ID (an MD5) no longer matches: clear it
    count = struct.unpack(">I", data[128:132])[0]
    entries = {bytes(data[132 + 12 * i : 136 + 12 * i]): 132 + 12 * i for i in range(count)}
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    data[red + 4 : red + 12], data[blue + 4 : blue + 12] = (
        data[blue + 4 : blue + 12],
        data[red + 4 : red + 12],
    )
    return bytes(data)


def test_non_srgb_profile_is_converted() -> None:
    red = Image.new("RGB", (64, 48), (220, 30, 30))
    plain = _decode(_encode(red, "JPEG", quality=95))
    tagged = _decode(_encode(red, "JPEG", quality=95, icc_profile=_swapped_primaries_profile()))
    r, g, b = plain.getpixel((32, 24))
    assert r > 200 and b < 50
    r, g, b = tagged.getpixel((32, 24))
    assert b > 180 and r < 80, (r, g, b)  # the file's "red" is sRGB blue


def test_srgb_profile_changes_nothing() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    img = _camera_like((96, 64))
    plain = np.asarray(_decode(_encode(img, "PNG")), dtype=np.int16)
    tagged = np.asarray(_decode(_encode(img, "PNG", icc_profile=srgb)), dtype=np.int16)
    assert np.abs(plain - tagged).max() <= 2


def test_colour_transforms_are_cached() -> None:
    data = _encode(Image.new("RGB", (32, 32), "red"), "JPEG", icc_profile=_swapped_primaries_profile())
    _decode(data)
    before = imaging._srgb_transform.cache_info()
    _decode(data)
    after = imaging._srgb_transform.cache_info()
    assert after.misses == before.misses and after.hits == before.hits + 1


@pytest.mark.corpus
def test_corpus_wide_gamut_files_are_converted(corpus: Path) -> None:
    # orientation/landscape_2.jpg carries Apple's "Generic RGB Profile" (gamma 1.8, other primaries)
    data = (corpus / "jpg" / "orientation" / "landscape_2.jpg").read_bytes()
    managed = np.asarray(_decode(data, orientation=1), dtype=np.int16)
    img = open_image(data)
    img.load()
    profile = ImageCms.ImageCmsProfile(io.BytesIO(img.info["icc_profile"]))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    expected = ImageCms.profileToProfile(img, profile, srgb, outputMode="RGB")
    assert expected is not None
    unmanaged = np.asarray(img.convert("RGB"), dtype=np.int16)
    assert np.abs(managed - np.asarray(expected, dtype=np.int16)).mean() < 1
    assert np.abs(managed - unmanaged).mean() > 3


# --------------------------------------------------------------------------- modes and formats


def test_rgba_png_is_composited_on_white() -> None:
    img = Image.new("RGBA", (40, 30), (0, 0, 255, 128))
    img.putpixel((0, 0), (255, 0, 0, 0))
    out = _decode(_encode(img, "PNG"))
    assert out.mode == "RGB"
    r, g, b = out.getpixel((20, 15))
    assert abs(r - 127) <= 2 and abs(g - 127) <= 2 and b == 255
    assert out.getpixel((0, 0)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("mode", "colour"),
    [("L", 100), ("LA", (100, 255)), ("1", 1), ("P", 3), ("CMYK", (0, 255, 255, 0)), ("RGB", (9, 8, 7))],
)
def test_modes_become_rgb(mode: str, colour: object) -> None:
    img = Image.new(mode, (40, 30), colour)  # type: ignore[arg-type]
    fmt = "TIFF" if mode in ("CMYK", "LA") else "PNG"
    out = _decode(_encode(img, fmt), short=16)
    assert out.mode == "RGB" and min(out.size) == 16


def test_palette_with_transparency() -> None:
    img = Image.new("P", (20, 20), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.putpixel((5, 5), 1)
    out = _decode(_encode(img, "PNG", transparency=0))
    assert out.getpixel((0, 0)) == (255, 255, 255) and out.getpixel((5, 5)) == (255, 0, 0)


def test_cmyk_jpeg() -> None:
    data = _encode(Image.new("CMYK", (64, 48), (0, 255, 255, 0)), "JPEG", quality=95)
    img = open_image(data)
    assert img.mode == "CMYK"
    r, g, b = decode_upright(img, None, None).getpixel((32, 24))
    assert r > 200 and g < 60 and b < 60


def test_16bit_grey_tiff_and_png_are_scaled_not_clipped() -> None:
    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (16, 1))
    for fmt in ("TIFF", "PNG"):
        img = Image.fromarray(ramp)
        assert img.mode.startswith("I")
        out = np.asarray(_decode(_encode(img, fmt)))
        assert out.shape == (16, 256, 3)
        assert out[0, 0, 0] == 0 and out[0, -1, 0] == 255
        assert 120 <= out[0, 128, 0] <= 135, fmt  # mid-grey, not clipped to white


def test_48bit_rgb_tiff() -> None:
    pixels = np.zeros((20, 30, 3), dtype=np.uint16)
    pixels[..., 0] = 65535
    pixels[..., 2] = 32768
    img = open_image(_tiff_rgb48(30, 20, pixels))
    assert img.format == "TIFF"
    r, g, b = decode_upright(img, None, None).getpixel((10, 10))
    assert r == 255 and g == 0 and 126 <= b <= 129


def test_float_and_32bit_images() -> None:
    as_float = Image.fromarray(np.full((10, 10), 0.5, dtype=np.float32))
    assert _decode(_encode(as_float, "TIFF")).getpixel((0, 0))[0] in (127, 128)
    as_int = Image.fromarray(np.full((10, 10), 200, dtype=np.int32))
    assert _decode(_encode(as_int, "TIFF")).getpixel((0, 0))[0] == 200


@pytest.mark.parametrize("fmt", ["WEBP", "GIF", "BMP"])
def test_other_photo_formats(fmt: str) -> None:
    out = _decode(_encode(_camera_like((300, 200)), fmt), short=100)
    assert out.size == (150, 100) and out.mode == "RGB"


def test_heif_rotation_is_not_applied_twice() -> None:
    register_formats()
    import pillow_heif

    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("no HEIF encoder in this pillow_heif build")
    stored = Image.new("RGB", (64, 32), "red")
    stored.paste((0, 0, 255), (0, 0, 32, 32))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _encode(stored, "HEIF", exif=exif.tobytes(), quality=90)
    for told in (None, 1, 6, 8):  # libheif already turned it; whatever the catalog says
        out = decode_upright(open_image(data), told, None)
        assert out.size == (32, 64)
        assert out.getpixel((16, 8))[2] > 200  # blue on top: turned 90° clockwise once


@pytest.mark.parametrize("compression", [None, "tiff_lzw", "jpeg"])
def test_tiff_rotation_is_not_applied_twice(compression: str | None) -> None:
    # Pillow's TIFF plugin turns the picture itself while loading (and then forgets the tag)
    stored = Image.new("RGB", (64, 32), "red")
    stored.paste((0, 0, 255), (0, 0, 32, 32))  # left half blue
    data = _encode(stored, "TIFF", tiffinfo={0x0112: 6}, compression=compression)
    for told in (None, 6):  # read from the file, or from the catalog
        out = decode_upright(open_image(data), told, 16)
        assert out.size == (16, 32)
        assert out.getpixel((8, 4))[2] > 200  # blue on top: turned 90° clockwise once


@pytest.mark.corpus
def test_corpus_heic_decodes_upright(corpus: Path) -> None:
    img = open_image((corpus / "heic" / "IMG_5195.HEIC").read_bytes())
    assert img.format == "HEIF"
    upright = decode_upright(img, None, THUMB_SHORT_SIDE)
    assert upright.mode == "RGB"
    assert upright.size == (256, 331)  # a portrait phone photo stays portrait
    small = _decode((corpus / "heic" / "samplefilehub.heif").read_bytes(), short=THUMB_SHORT_SIDE)
    assert small.size == (385, 256)


@pytest.mark.corpus
def test_corpus_tiffs_decode(corpus: Path) -> None:
    for path in sorted((corpus / "tiff").glob("*.tiff")):
        out = _decode(path.read_bytes(), short=THUMB_SHORT_SIDE)
        assert out.mode == "RGB" and min(out.size) <= THUMB_SHORT_SIDE, path.name


@pytest.mark.corpus
def test_corpus_all_jpegs_decode(corpus: Path) -> None:
    for path in sorted((corpus / "jpg").rglob("*.jpg")):
        if path.parent.name == "invalid":
            continue
        out = _decode(path.read_bytes(), short=THUMB_SHORT_SIDE)
        assert out.mode == "RGB", path.name


@pytest.mark.corpus
def test_corpus_invalid_files_decode_or_raise_image_error(corpus: Path) -> None:
    files = sorted((corpus / "jpg" / "invalid").glob("*.jpg"))
    assert files
    for path in files:
        start = time.monotonic()
        try:
            out = _decode(path.read_bytes(), short=THUMB_SHORT_SIDE)
        except ImageError as exc:
            assert exc.reason
        else:
            assert out.mode == "RGB"
            thumbnail_jpeg(out)
        assert time.monotonic() - start < 5, f"{path.name} took too long"


# --------------------------------------------------------------------------- bad input


def test_empty_file() -> None:
    with pytest.raises(ImageError) as info:
        open_image(b"")
    assert info.value.reason == "empty file (0 bytes)"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"Dear diary,\nthis is not a photo.\n" * 20, "not an image: the file contains text"),
        ("Grüße aus Köln\n".encode("utf-16"), "not an image: the file contains text"),
        (
            b"<!DOCTYPE html><html><body>Not found</body></html>",
            "not an image: the file is a web page (HTML)",
        ),
        (random.Random(7).randbytes(10_000), "not an image: unrecognised content"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "not an image: the file is a PDF document"),
        (
            b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",
            "not an image: the file is a video (MP4/QuickTime)",
        ),
        (b"\xff\xd8\xff", "truncated: the file ends before the image data does"),
    ],
    ids=["text", "utf16-text", "html", "random", "pdf", "mp4", "jpeg-magic-only"],
)
def test_not_an_image(data: bytes, reason: str) -> None:
    with pytest.raises(ImageError) as info:
        open_image(data)
    assert info.value.reason == reason
    assert str(info.value) == reason


def test_text_file_named_jpg(tmp_path: Path) -> None:
    path = tmp_path / "holiday.jpg"
    path.write_text("this is a text file\n")
    with pytest.raises(ImageError, match="contains text"):
        load_upright(path)


def test_unsupported_image_format() -> None:
    with pytest.raises(ImageError) as info:
        open_image(_encode(Image.new("RGB", (32, 32)), "ICO"))
    assert info.value.reason == "unsupported image format: ICO"


def test_png_named_jpg_opens_as_png(tmp_path: Path) -> None:
    path = tmp_path / "really-a-png.jpg"
    path.write_bytes(_encode(_camera_like((120, 90)), "PNG"))
    assert open_image(path.read_bytes()).format == "PNG"
    assert load_upright(path).size == (120, 90)


def test_truncated_jpeg_raises_on_decode(jpeg_12mp: bytes) -> None:
    img = open_image(jpeg_12mp[: len(jpeg_12mp) // 2])  # the header is intact: opening works
    with pytest.raises(ImageError) as info:
        decode_upright(img, None, THUMB_SHORT_SIDE)
    assert info.value.reason == "truncated: the file ends before the image data does"


def test_truncated_in_the_header(jpeg_12mp: bytes) -> None:
    with pytest.raises(ImageError, match="^truncated"):
        open_image(jpeg_12mp[:300])


@pytest.mark.parametrize("make", [_png_claiming, _jpeg_claiming], ids=["png", "jpeg"])
@pytest.mark.parametrize(("width", "height"), [(60000, 60000), (20000, 15000)])
def test_decompression_bomb_is_refused_before_decoding(make: object, width: int, height: int) -> None:
    assert callable(make)
    data: bytes = make(width, height)
    rss_before = _peak_rss_mib()
    start = time.monotonic()
    with pytest.raises(ImageError) as info:
        decode_upright(open_image(data), None, THUMB_SHORT_SIDE)
    assert time.monotonic() - start < 0.5
    assert _peak_rss_mib() - rss_before < 50  # a 60000×60000 RGB canvas would be 10 GB
    assert info.value.reason.startswith("too large: ")
    assert "250-megapixel limit" in info.value.reason
    if width * height <= 2 * MAX_PIXELS:
        assert f"{width}×{height} pixels" in info.value.reason


def test_damaged_files_only_ever_raise_image_error(make_jpeg: MakeJpeg, tmp_path: Path) -> None:
    sources = [
        make_jpeg(tmp_path / "a.jpg", size=(120, 90), orientation=6).read_bytes(),
        _encode(_camera_like((120, 90)), "PNG"),
        _encode(_camera_like((120, 90)), "TIFF"),
        _encode(_camera_like((120, 90)), "WEBP"),
    ]
    rng = random.Random(1234)
    outcomes = {"decoded": 0, "ImageError": 0}
    for data in sources:
        variants = [data[:cut] for cut in range(0, len(data), max(1, len(data) // 25))]
        for _ in range(40):
            damaged = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            variants.append(bytes(damaged))
        for variant in variants:
            try:
                thumbnail_jpeg(decode_upright(open_image(variant), None, 64))
                outcomes["decoded"] += 1
            except ImageError as exc:
                assert exc.reason
                outcomes["ImageError"] += 1
    assert outcomes["decoded"] and outcomes["ImageError"]


def test_register_formats_is_idempotent() -> None:
    register_formats()
    register_formats()
    assert "HEIF" in imaging._allowed_formats
    assert "EPS" not in imaging._allowed_formats  # would run Ghostscript on untrusted files
