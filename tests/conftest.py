"""Shared fixtures: an isolated SHOEBOX_HOME, the shared corpus, JPEG factories."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus" / "exif-samples"
MAKE_LIBRARY = SHARED / "tools" / "make_library.py"


def run_cli(home: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``python main.py ARGS`` as a person would, on the library at ``home``.

    ``check=True`` fails the test, with the output, when the command does not exit 0.
    """
    env = dict(os.environ, SHOEBOX_HOME=str(home))
    proc = subprocess.run(
        [sys.executable, str(REPO / "main.py"), *args], capture_output=True, text=True, env=env, timeout=120
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


@pytest.fixture
def corpus() -> Path:
    """The real camera files of ../shared/corpus/exif-samples (read-only)."""
    if not CORPUS.is_dir():
        pytest.skip(f"needs the shared corpus at {CORPUS} (present in CI and on developer machines)")
    return CORPUS


@pytest.fixture
def corpus_copy(corpus: Path, tmp_path: Path) -> Path:
    """A writable copy of the corpus."""
    dst = tmp_path / "exif-samples"
    shutil.copytree(corpus, dst)
    return dst


@pytest.fixture
def xdg_trash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private XDG trash under tmp_path: moving files to the trash never reaches the real one.

    send2trash reads its location at import time, so its module globals are patched too.
    """
    import send2trash.plat_other as plat

    data_home = tmp_path / "xdg-data"
    data_home.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    monkeypatch.setattr(plat, "XDG_DATA_HOME", os.fsencode(data_home))
    monkeypatch.setattr(plat, "HOMETRASH_B", os.fsencode(data_home / "Trash"))
    return data_home / "Trash"


@pytest.fixture
def shoebox_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "shoebox-home"
    monkeypatch.setenv("SHOEBOX_HOME", str(home))
    return home


MakeJpeg = Callable[..., Path]


@pytest.fixture
def make_jpeg() -> MakeJpeg:
    """Write a small JPEG with chosen EXIF: make_jpeg(path, size=(w,h), color=..., **exif)."""
    from PIL import Image
    from PIL.TiffImagePlugin import IFDRational

    def _make(
        path: Path,
        size: tuple[int, int] = (64, 48),
        color: tuple[int, int, int] = (200, 80, 40),
        taken: dt.datetime | None = None,
        offset: str | None = None,
        make: str | None = None,
        model: str | None = None,
        orientation: int | None = None,
        gps: tuple[float, float] | None = None,
        quality: int = 90,
        content_id: str | None = None,
    ) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        img = Image.new("RGB", size, color)
        # a gradient so that different colours/sizes give different content
        for x in range(0, size[0], max(1, size[0] // 8)):
            for y in range(size[1]):
                img.putpixel((x, y), (x % 256, y % 256, (x + y) % 256))
        exif = Image.Exif()
        if make:
            exif[0x010F] = make
        if model:
            exif[0x0110] = model
        if orientation:
            exif[0x0112] = orientation
        ifd = exif.get_ifd(0x8769)
        if taken:
            ifd[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
            ifd[0x9004] = taken.strftime("%Y:%m:%d %H:%M:%S")
        if offset:
            ifd[0x9011] = offset
        if content_id:  # an iPhone's maker note carrying a Live Photo's ContentIdentifier (tag 0x0011)
            exif[0x010F] = make or "Apple"
            ifd[0x927C] = apple_maker_note(content_id)
        if gps:
            lat, lon = gps

            def dms(v: float) -> tuple[IFDRational, IFDRational, IFDRational]:
                v = abs(v)
                d = int(v)
                m = int((v - d) * 60)
                s = (v - d - m / 60) * 3600
                return (IFDRational(d, 1), IFDRational(m, 1), IFDRational(int(s * 1000), 1000))

            g = exif.get_ifd(0x8825)
            g.update({1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W", 4: dms(lon)})
        img.save(path, "JPEG", quality=quality, exif=exif.tobytes())
        return path

    return _make


def apple_maker_note(content_id: str) -> bytes:
    """An Apple maker note as iPhones write it: "Apple iOS\\0", version 1, "MM", then one IFD entry,
    ContentIdentifier (ASCII), whose value offset counts from the note's start."""
    import struct

    text = content_id.encode("ascii") + b"\x00"
    head = b"Apple iOS\x00" + b"\x00\x01" + b"MM"
    value_at = len(head) + 2 + 12 + 4
    ifd = struct.pack(">H", 1) + struct.pack(">HHII", 0x0011, 2, len(text), value_at) + struct.pack(">I", 0)
    return head + ifd + text


MakeDng = Callable[..., Path]


def write_dng(
    path: Path,
    size: tuple[int, int] = (256, 192),
    make: str | None = "Testmaker",
    model: str | None = "T-1000",
    orientation: int = 1,
    taken: dt.datetime | None = None,
    exposure: tuple[int, int] | None = None,
    gps: tuple[float, float] | None = None,
    preview: tuple[int, int] | None = None,
    preview_color: tuple[int, int, int] = (220, 30, 30),
) -> Path:
    """Write a real 12-bit BGGR DNG with pidng (LibRaw opens and develops it).

    EXIF (date taken, exposure) and GPS go in their own IFDs as cameras write them;
    ``preview=(w, h)`` embeds a JPEG preview of one colour in a sub-IFD, which LibRaw
    hands out as the file's embedded preview (a DNG without one has to be developed).
    """
    import io

    import numpy as np
    from pidng.core import RAW2DNG, DNGTags, Tag
    from pidng.defs import CalibrationIlluminant, CFAPattern, DNGVersion, PhotometricInterpretation
    from pidng.dng import Type, dngIFD, dngTag
    from PIL import Image

    class _IFDTag(dngTag):  # type: ignore[misc]
        # pidng's own sub-IFD tags fail to encode (str + bytes); write the 4-byte pointer ourselves
        def setValue(self, value: Any) -> None:
            if self.DataType == Type.IFD:
                self.Value = b"\x00\x00\x00\x00"
                self.subIFD = value[0]
            else:
                super().setValue(value)

    def rational(v: float) -> list[int]:
        return [round(v * 10000), 10000]

    width, height = size
    tags = DNGTags()
    for tag, value in (
        (Tag.ImageWidth, width),
        (Tag.ImageLength, height),
        (Tag.TileWidth, width),
        (Tag.TileLength, height),
        (Tag.Orientation, orientation),
        (Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array),
        (Tag.SamplesPerPixel, 1),
        (Tag.BitsPerSample, 12),
        (Tag.CFARepeatPatternDim, [2, 2]),
        (Tag.CFAPattern, CFAPattern.BGGR),
        (Tag.WhiteLevel, 4095),
        (
            Tag.ColorMatrix1,
            [rational(v) for v in (1.95, -0.79, -0.26, -0.57, 1.01, 0.19, -0.13, -0.01, 0.66)],
        ),
        (Tag.CalibrationIlluminant1, CalibrationIlluminant.D65),
        (Tag.AsShotNeutral, [[1, 2], [1, 1], [1, 2]]),
        (Tag.DNGVersion, DNGVersion.V1_4),
    ):
        tags.set(tag, value)
    if make:
        tags.set(Tag.Make, make)
    if model:
        tags.set(Tag.Model, model)
    extra: dict[Any, Any] = tags.__tags__
    exif = dngIFD()
    if taken:
        exif.tags.append(dngTag((0x9003, Type.Ascii), taken.strftime("%Y:%m:%d %H:%M:%S")))
    if exposure:
        exif.tags.append(dngTag(Tag.ExposureTime, [list(exposure)]))
    if exif.tags:
        extra[Tag.EXIF_IFD] = _IFDTag(Tag.EXIF_IFD, [exif])
    if gps:
        lat, lon = gps

        def dms(v: float) -> list[list[int]]:
            v = abs(v)
            d, m = int(v), int((abs(v) - int(v)) * 60)
            return [[d, 1], [m, 1], [round((v - d - m / 60) * 3600 * 1000), 1000]]

        gps_ifd = dngIFD()
        gps_ifd.tags += [
            dngTag((1, Type.Ascii), "N" if lat >= 0 else "S"),
            dngTag((2, Type.Rational), dms(lat)),
            dngTag((3, Type.Ascii), "E" if lon >= 0 else "W"),
            dngTag((4, Type.Rational), dms(lon)),
        ]
        extra[(0x8825, Type.IFD)] = _IFDTag((0x8825, Type.IFD), [gps_ifd])
    jpeg = b""
    offset = dngTag(Tag.StripOffsets, [0])
    if preview:
        buf = io.BytesIO()
        Image.new("RGB", preview, preview_color).save(buf, "JPEG", quality=85)
        jpeg = buf.getvalue()
        sub = dngIFD()
        sub.tags += [
            dngTag(Tag.NewSubfileType, [1]),
            dngTag(Tag.ImageWidth, [preview[0]]),
            dngTag(Tag.ImageLength, [preview[1]]),
            dngTag(Tag.BitsPerSample, [8, 8, 8]),
            dngTag(Tag.Compression, [7]),
            dngTag(Tag.PhotometricInterpretation, [6]),
            dngTag(Tag.SamplesPerPixel, [3]),
            dngTag(Tag.RowsPerStrip, [preview[1]]),
            offset,
            dngTag(Tag.StripByteCounts, [len(jpeg)]),
            # the JPEG's bytes ride in a private tag; StripOffsets is pointed at them below
            dngTag((0xC7FF, Type.Undefined), list(jpeg)),
        ]
        extra[Tag.SubIFD] = _IFDTag(Tag.SubIFD, [sub])
    # a gradient with a bright top-left corner, so the developed picture has content and a direction
    yy, xx = np.mgrid[0:height, 0:width]
    pixels = ((xx * 3000) // width + (yy * 1000) // height).astype(np.uint16)
    pixels[: height // 4, : width // 4] = 4000
    writer = RAW2DNG()
    writer.options(tags, path="", compress=False)
    data = bytes(writer.convert(pixels))
    if jpeg:
        # the layout does not depend on the offset's value, so a second pass puts in the real one
        offset.setValue([data.find(jpeg)])
        data = bytes(writer.convert(pixels))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


MakeVideo = Callable[..., Path]


def write_video(
    path: Path,
    seconds: float = 2,
    size: tuple[int, int] = (160, 90),
    rotate: int = 0,
    creation: str | None = None,
    creation_time: str | None = None,
    location: str | None = None,
    make: str | None = None,
    model: str | None = None,
    color: tuple[int, int, int] = (200, 60, 30),
    black_first: float = 0.0,
    fps: int = 10,
    audio_only: bool = False,
    content_id: str | None = None,
) -> Path:
    """An H.264 clip written with PyAV (MP4 or MOV by the suffix), one keyframe a second.

    ``rotate`` is the clockwise quarter turn a player applies (the display matrix); ``creation``
    and ``location`` are QuickTime's ``creationdate`` and ``location.ISO6709`` keys, kept by the
    muxer through ``movflags=use_metadata_tags``; the first ``black_first`` seconds are black.
    """
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", options={"movflags": "use_metadata_tags"}) as out:
        tags = {
            "com.apple.quicktime.creationdate": creation,
            "com.apple.quicktime.location.ISO6709": location,
            "com.apple.quicktime.make": make,
            "com.apple.quicktime.model": model,
            "creation_time": creation_time,
            "com.apple.quicktime.content.identifier": content_id,  # a Live Photo's clip names its still
        }
        out.metadata.update({k: v for k, v in tags.items() if v})
        if audio_only:
            audio = out.add_stream("aac", rate=8000)
            audio.layout = "mono"
            for i in range(int(seconds * 8)):
                frame = av.AudioFrame.from_ndarray(
                    np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
                )
                frame.sample_rate, frame.pts = 8000, i * 1024
                for packet in audio.encode(frame):
                    out.mux(packet)
            for packet in audio.encode():
                out.mux(packet)
            return path
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"g": str(fps)}
        if rotate:
            stream.set_display_rotation(-rotate)  # counterclockwise, as FFmpeg's display matrix counts
        for i in range(int(seconds * fps)):
            pixels = np.zeros((size[1], size[0], 3), np.uint8)
            if i >= black_first * fps:
                pixels[:] = color
                pixels[: size[1] // 2, : size[0] // 4] = (20, 200, 40)  # a mark that shows the orientation
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.fixture
def make_dng() -> MakeDng:
    """Write a small real DNG: make_dng(path, make=..., model=..., orientation=..., taken=..., preview=(w, h))."""
    return write_dng


@pytest.fixture
def make_video() -> MakeVideo:
    """Write a small H.264 video: make_video(path, seconds=2, size=(160, 90), rotate=90, creation=..., location=...)."""
    return write_video


@pytest.fixture(scope="session")
def small_library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A tiny library made by ../shared/tools/make_library.py (skips without shared/)."""
    if not MAKE_LIBRARY.is_file():
        pytest.skip(f"needs {MAKE_LIBRARY}")
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("made-library")
    subprocess.run(
        [sys.executable, str(MAKE_LIBRARY), str(out), "--count", "30", "--size", "tiny", "--workers", "1"],
        check=True,
        capture_output=True,
    )
    yield out


# a CLIP small enough to load in a second, randomly initialised (no weights can be downloaded here)
TINY_CLIP_CFG: dict[str, object] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="session")
def tiny_clip_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real open_clip checkpoint file (safetensors) of a tiny random model, loaded by the real code."""
    import open_clip
    import torch

    from desktop.core.semantic import clip_models as cm

    torch.manual_seed(0)
    model = open_clip.model.CLIP(**TINY_CLIP_CFG).eval()  # type: ignore[arg-type]
    return cm.save_checkpoint(
        model, tmp_path_factory.mktemp("tiny-clip") / "tiny.safetensors", "shoebox-tiny", TINY_CLIP_CFG
    )


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Any]:
    """A Library in a fresh home under tmp_path, with no index left over from another test."""
    from desktop.core.library import Library
    from desktop.core.runtime.paths import resolve_paths
    from desktop.core.semantic.embedder import forget_indexes

    forget_indexes()
    lib = Library(resolve_paths(tmp_path / "home"))
    yield lib
    forget_indexes()
    lib.close()
