"""The processing engine's operations and encoders on real pictures, videos and files."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageDraw

from desktop.core.imaging.decode import ImageError
from desktop.core.processing import quality
from desktop.core.processing.decoding import srgb_profile
from desktop.core.processing.operations import validate_steps
from desktop.core.processing.params import RecipeError
from desktop.core.processing.render import Rendered, Source, render
from tests.conftest import write_dng, write_video

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="needs exiftool")
RECORD = {
    "tags": ["Places/France/Paris", "People/Ann"],
    "title": "Quai",
    "description": "Evening by the river",
    "rating": 4,
    "color_label": "red",
}


def photo(path: Path, size: tuple[int, int] = (400, 300), **exif: Any) -> Path:
    """A JPEG with shapes (so operations have something to change) and chosen EXIF."""
    img = Image.new("RGB", size, (90, 120, 160))
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.rectangle((0, 0, w // 4, h // 4), fill=(230, 40, 30))  # top-left mark: shows turns and flips
    draw.ellipse((w // 3, h // 3, 2 * w // 3, 2 * h // 3), fill=(250, 230, 60))
    for x in range(0, w, 8):
        draw.line((x, 0, x, h), fill=(x % 255, 80, 200 - x % 200))
    e = Image.Exif()
    e[0x010F], e[0x0110] = "Testmaker", "T-1"
    if "orientation" in exif:
        e[0x0112] = exif["orientation"]
    e.get_ifd(0x8769)[0x9003] = "2024:05:06 07:08:09"
    if "gps" in exif:
        from PIL.TiffImagePlugin import IFDRational

        g = e.get_ifd(0x8825)
        g.update({1: "N", 2: (IFDRational(48), IFDRational(51), IFDRational(24)), 3: "E"})
        g[4] = (IFDRational(2), IFDRational(21), IFDRational(0))
    img.save(path, "JPEG", quality=92, exif=e.tobytes(), icc_profile=exif.get("icc"))
    return path


def run(path: Path, steps: list[dict[str, Any]], kind: str = "image", **src: Any) -> list[Rendered]:
    source = Source(path, src.pop("content_hash", "00ff"), kind=kind, **src)
    return render(source, validate_steps(steps))


def picture(r: Rendered) -> Image.Image:
    img = Image.open(io.BytesIO(r.data))
    img.load()
    return img


def exiftool(data: bytes, tmp_path: Path, ext: str) -> dict[str, Any]:
    f = tmp_path / f"probe.{ext}"
    f.write_bytes(data)
    out = subprocess.run(
        [EXIFTOOL or "exiftool", "-j", "-G1", "-struct", str(f)], capture_output=True, check=True
    )
    doc: dict[str, Any] = json.loads(out.stdout)[0]
    return doc


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("steps", "words"),
    [
        ([{"op": "jpeg", "params": {"quality": 0}}], "'quality' is 0, outside its range 1–100"),
        ([{"op": "blur"}, {"op": "jpeg"}], "There is no operation 'blur'"),
        ([{"op": "resize", "params": {"size": 3}}, {"op": "jpeg"}], "there is no parameter 'size'"),
        ([{"op": "jpeg"}, {"op": "resize"}], "step 1 (jpeg) writes the output, so it must be the last step"),
        ([{"op": "resize"}], "the last step must write the output"),
        ([{"op": "crop", "params": {"aspect": "1:1", "box": [0, 0, 1, 1]}}, {"op": "png"}], "exactly one of"),
        ([{"op": "crop", "params": {"aspect": "wide"}}, {"op": "png"}], "write it like"),
        ([{"op": "resize", "params": {"mode": "fit"}}, {"op": "png"}], "mode fit needs 'width'"),
        ([{"op": "watermark_text", "params": {"color": "red"}}, {"op": "png"}], "#rrggbb"),
        ([{"op": "video", "params": {"start_s": 3, "end_s": 1}}], "'end_s' (1) must come after"),
        ([{"op": "video_frames", "params": {"mode": "every"}}, {"op": "jpeg"}], "needs 'every_s'"),
    ],
)
def test_validation_refuses_with_a_sentence_naming_the_field(steps: list[dict[str, Any]], words: str) -> None:
    with pytest.raises(RecipeError) as err:
        validate_steps(steps)
    assert words in str(err.value)


def test_a_numeric_choice_may_be_given_as_a_number() -> None:
    (turn, _enc) = validate_steps([{"op": "rotate", "params": {"degrees": 270}}, {"op": "jpeg"}])
    assert turn.params == {"degrees": "270"}
    with pytest.raises(RecipeError, match="it must be one of 0, 90, 180, 270"):
        validate_steps([{"op": "rotate", "params": {"degrees": 45}}, {"op": "jpeg"}])


def test_watermark_path_that_is_not_an_image_is_refused_at_validation(tmp_path: Path) -> None:
    notes = tmp_path / "notes.png"
    notes.write_text("shopping list: bread, milk\n")
    with pytest.raises(RecipeError) as err:
        validate_steps([{"op": "watermark_image", "params": {"path": str(notes)}}, {"op": "jpeg"}])
    assert str(notes) in str(err.value) and "not an image" in str(err.value)
    with pytest.raises(RecipeError, match="missing.png"):
        validate_steps(
            [{"op": "watermark_image", "params": {"path": str(tmp_path / "missing.png")}}, {"op": "png"}]
        )


# ------------------------------------------------------------------ picture operations


@pytest.mark.parametrize(
    ("params", "size"),
    [
        ({"long_edge": 200}, (200, 150)),
        ({"long_edge": 800}, (400, 300)),  # never enlarges unless asked
        ({"long_edge": 800, "enlarge": True}, (800, 600)),
        ({"mode": "fit", "width": 100, "height": 100}, (100, 75)),
        ({"mode": "scale", "scale": 0.25}, (100, 75)),
    ],
)
def test_resize_modes(tmp_path: Path, params: dict[str, Any], size: tuple[int, int]) -> None:
    (out,) = run(photo(tmp_path / "a.jpg"), [{"op": "resize", "params": params}, {"op": "png"}])
    assert picture(out).size == size == (out.width, out.height)


def test_resize_of_a_big_jpeg_uses_the_draft_decode_and_still_hits_the_size(tmp_path: Path) -> None:
    src = photo(tmp_path / "big.jpg", size=(1600, 1200))
    (out,) = run(src, [{"op": "resize", "params": {"mode": "scale", "scale": 0.2}}, {"op": "jpeg"}])
    assert picture(out).size == (320, 240)
    assert out.info["ssim"] > 0.9


def test_orientation_and_catalog_rotation_are_applied(tmp_path: Path) -> None:
    turned = photo(tmp_path / "six.jpg", orientation=6)  # stored landscape, shown portrait
    (out,) = run(turned, [{"op": "png"}])
    assert picture(out).size == (300, 400)
    (out,) = run(photo(tmp_path / "plain.jpg"), [{"op": "png"}], rotation=90)
    img = picture(out)
    assert img.size == (300, 400)
    assert img.getpixel((img.width - 5, 5))[0] > 200  # the red top-left mark turned to the top-right


def test_crop_rotate_flip(tmp_path: Path) -> None:
    src = photo(tmp_path / "a.jpg")
    (sq,) = run(src, [{"op": "crop", "params": {"aspect": "1:1", "focus": [0.0, 0.5]}}, {"op": "png"}])
    img = picture(sq)
    assert img.size == (300, 300) and img.getpixel((5, 5))[0] > 200  # focus left keeps the red mark
    (box,) = run(src, [{"op": "crop", "params": {"box": [0.5, 0.5, 0.5, 0.5]}}, {"op": "png"}])
    assert picture(box).size == (200, 150)
    (turned,) = run(src, [{"op": "rotate", "params": {"degrees": "90"}}, {"op": "png"}])
    img = picture(turned)
    assert img.size == (300, 400) and img.getpixel((img.width - 5, 5))[0] > 200
    (flipped,) = run(src, [{"op": "flip", "params": {"direction": "horizontal"}}, {"op": "png"}])
    img = picture(flipped)
    assert img.getpixel((img.width - 5, 5))[0] > 200 and img.getpixel((5, 5))[0] < 200


def test_tone_operations_change_the_picture_the_way_they_say(tmp_path: Path) -> None:
    src = photo(tmp_path / "a.jpg")
    (base,) = run(src, [{"op": "png"}])
    mean = np.asarray(picture(base), dtype=float).mean()
    (bright,) = run(src, [{"op": "adjust", "params": {"brightness": 1.5}}, {"op": "png"}])
    assert np.asarray(picture(bright), dtype=float).mean() > mean + 20
    (grey,) = run(src, [{"op": "greyscale"}, {"op": "png"}])
    arr = np.asarray(picture(grey), dtype=int)
    assert (arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all()
    (sharp,) = run(src, [{"op": "sharpen", "params": {"radius": 2, "percent": 200}}, {"op": "png"}])
    edges = lambda im: np.abs(np.diff(np.asarray(im.convert("L"), dtype=float), axis=1)).mean()  # noqa: E731
    assert edges(picture(sharp)) > edges(picture(base)) * 1.1
    dull = tmp_path / "dull.png"
    Image.fromarray((np.linspace(100, 150, 200 * 100).reshape(100, 200)).astype(np.uint8)).convert(
        "RGB"
    ).save(dull)
    (levelled,) = run(dull, [{"op": "autolevel", "params": {"cutoff": 0}}, {"op": "png"}])
    lo, hi = picture(levelled).convert("L").getextrema()
    assert lo <= 2 and hi >= 253


def test_watermarks_mark_only_their_corner(tmp_path: Path) -> None:
    src = photo(tmp_path / "a.jpg")
    (base,) = run(src, [{"op": "png"}])
    (marked,) = run(
        src,
        [
            {
                "op": "watermark_text",
                "params": {"text": "© Ann", "size": 0.1, "opacity": 1, "color": "#ff00ff"},
            },
            {"op": "png"},
        ],
    )
    diff = np.abs(np.asarray(picture(marked), dtype=int) - np.asarray(picture(base), dtype=int)).sum(axis=2)
    ys, xs = np.nonzero(diff)
    assert len(xs) > 50 and xs.min() > 200 and ys.min() > 200  # bottom-right only
    logo = tmp_path / "logo.png"
    Image.new("RGBA", (50, 50), (0, 255, 0, 255)).save(logo)
    (stamped,) = run(
        src,
        [
            {
                "op": "watermark_image",
                "params": {
                    "path": str(logo),
                    "scale": 0.1,
                    "position": "top-left",
                    "opacity": 1,
                    "margin": 0,
                },
            },
            {"op": "png"},
        ],
    )
    img = picture(stamped)
    assert img.getpixel((10, 10)) == (0, 255, 0) and img.getpixel((390, 290)) == picture(base).getpixel(
        (390, 290)
    )


def test_srgb_converts_with_the_embedded_profile(tmp_path: Path) -> None:
    wide = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()  # a profile that is not sRGB
    src = tmp_path / "p.png"
    Image.new("RGB", (40, 30), (200, 30, 30)).save(src, icc_profile=srgb_profile())
    (out,) = run(src, [{"op": "srgb"}, {"op": "png"}])
    assert picture(out).info["icc_profile"] == srgb_profile()
    assert wide != srgb_profile()


# ------------------------------------------------------------------ decoding


def test_decoding_flattens_modes_and_keeps_profiles(tmp_path: Path) -> None:
    deep = tmp_path / "deep.png"
    Image.fromarray(np.arange(64 * 32, dtype=np.uint16).reshape(32, 64) * 30).save(deep)
    (out,) = run(deep, [{"op": "png"}])
    img = picture(out)
    assert img.mode == "RGB" and img.getextrema()[0][1] > 200  # scaled from 16 bits, not clipped white
    pal = tmp_path / "pal.png"
    p = Image.new("P", (20, 20), 1)
    p.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    p.info["transparency"] = 0
    p.save(pal, transparency=0)
    (out,) = run(pal, [{"op": "png"}])
    assert picture(out).mode == "RGBA"
    la = tmp_path / "la.png"
    Image.new("LA", (20, 20), (128, 100)).save(la)
    (out,) = run(la, [{"op": "png"}])
    assert picture(out).getpixel((1, 1)) == (128, 128, 128, 100)
    cmyk = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (20, 20), (0, 255, 255, 0)).save(cmyk)
    (out,) = run(cmyk, [{"op": "jpeg"}])
    r, g, b = picture(out).getpixel((10, 10))
    assert r > 200 and g < 60 and b < 60
    icc_src = photo(tmp_path / "icc.jpg", icc=srgb_profile())
    (out,) = run(icc_src, [{"op": "resize", "params": {"long_edge": 100}}, {"op": "jpeg"}])
    assert picture(out).info["icc_profile"] == srgb_profile()


def test_heic_raw_and_video_sources(tmp_path: Path) -> None:
    from desktop.core.imaging.decode import register_formats

    register_formats()
    heic = tmp_path / "a.heic"
    Image.new("RGB", (64, 48), (10, 200, 10)).save(heic, "HEIF")
    (out,) = run(heic, [{"op": "jpeg"}])
    assert picture(out).size == (64, 48) and picture(out).getpixel((30, 20))[1] > 150
    dng = write_dng(tmp_path / "a.dng", size=(256, 192))
    (out,) = run(dng, [{"op": "png"}])
    assert picture(out).size == (256, 192)  # developed at full size, not the half-size preview
    clip = write_video(tmp_path / "c.mp4", seconds=1, size=(160, 90))
    (out,) = run(clip, [{"op": "resize", "params": {"long_edge": 80}}, {"op": "png"}], kind="video")
    assert picture(out).size == (80, 45)


def test_a_broken_file_is_an_image_error_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(photo(tmp_path / "ok.jpg").read_bytes()[:400])
    with pytest.raises(ImageError):
        run(bad, [{"op": "jpeg"}])


# ------------------------------------------------------------------ encoders


ENCODERS = [
    ({"op": "jpeg"}, "image/jpeg", "JPEG"),
    ({"op": "jpeg", "params": {"progressive": True, "subsampling": "4:4:4"}}, "image/jpeg", "JPEG"),
    ({"op": "png"}, "image/png", "PNG"),
    ({"op": "webp"}, "image/webp", "WEBP"),
    ({"op": "webp", "params": {"lossless": True}}, "image/webp", "WEBP"),
    ({"op": "tiff", "params": {"compression": "lzw"}}, "image/tiff", "TIFF"),
    ({"op": "avif", "params": {"speed": 10}}, "image/avif", "AVIF"),
    ({"op": "heic", "params": {"quality": 50}}, "image/heic", "HEIF"),
]


@pytest.mark.parametrize(
    ("encoder", "mime", "fmt"), ENCODERS, ids=lambda v: json.dumps(v) if isinstance(v, dict) else v
)
def test_every_encoder_decodes_back_and_is_deterministic(
    tmp_path: Path, encoder: dict[str, Any], mime: str, fmt: str
) -> None:
    from desktop.core.imaging.decode import register_formats

    register_formats()
    src = photo(tmp_path / "a.jpg", gps=True)
    steps = [
        {"op": "resize", "params": {"long_edge": 160}},
        {"op": "metadata_policy", "params": {"artist": "Ann"}},
        encoder,
    ]
    (first,) = run(src, steps, record=RECORD)
    (second,) = run(src, steps, record=RECORD)
    assert first.data == second.data  # no timestamps, no thread-dependent encoding
    img = picture(first)
    assert (img.format, first.mime, img.size) == (fmt, mime, (160, 120))
    assert 0.8 < first.info["ssim"] <= 1.0
    assert quality.check(first, (160, 120), budget_kb=500) == []


def test_jpeg_target_size_is_met_with_the_lowest_quality_above_the_floor(tmp_path: Path) -> None:
    src = photo(tmp_path / "a.jpg", size=(800, 600))
    (plain,) = run(src, [{"op": "jpeg", "params": {"quality": 95}}])
    budget = len(plain.data) // 1024 // 2
    (fitted,) = run(src, [{"op": "jpeg", "params": {"quality": 95, "target_kb": budget, "ssim_floor": 0.9}}])
    assert len(fitted.data) <= budget * 1024 and fitted.info["target_met"]
    assert fitted.info["ssim"] >= 0.9 and fitted.info["quality"] < 95
    (tiny,) = run(src, [{"op": "jpeg", "params": {"target_kb": 1, "ssim_floor": 0.99}}])
    assert tiny.info["ssim_floor_met"] is False and quality.check(tiny, budget_kb=1) != []
    (webp,) = run(src, [{"op": "webp", "params": {"target_kb": budget}}])
    assert len(webp.data) <= budget * 1024 and webp.info["target_met"]


def test_quality_check_and_ssim(tmp_path: Path) -> None:
    a = Image.open(photo(tmp_path / "a.jpg")).convert("RGB")
    assert quality.ssim(a, a) == pytest.approx(1.0)
    buf = io.BytesIO()
    a.save(buf, "JPEG", quality=5)
    assert quality.ssim_of(buf.getvalue(), a) < 0.97
    r = Rendered(buf.getvalue(), "jpg", "image/jpeg", width=400, height=300)
    problems = quality.check(r, (200, 150), budget_kb=0.5, srgb=True)
    assert len(problems) == 3 and "not the expected 200×150" in problems[1]
    assert quality.check(Rendered(b"nope", "jpg", "image/jpeg"))[0].startswith("It does not decode")


# ------------------------------------------------------------------ metadata in outputs


@needs_exiftool
@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "tiff", "avif", "heic"])
def test_metadata_keep_writes_exif_tags_and_derived_from(tmp_path: Path, fmt: str) -> None:
    src = photo(tmp_path / "IMG_1.jpg", gps=True, orientation=6)
    steps = [
        {"op": "resize", "params": {"long_edge": 120}},
        {"op": "metadata_policy", "params": {"artist": "Ann Smith", "copyright": "© Ann"}},
        {"op": fmt},
    ]
    (out,) = run(src, steps, record=RECORD, content_hash="abc123")
    tags = exiftool(out.data, tmp_path, out.ext)
    flat = {k.split(":", 1)[1]: v for k, v in tags.items() if ":" in k}
    assert flat.get("Orientation", "Horizontal (normal)") == "Horizontal (normal)"
    assert flat["Make"] == "Testmaker" and "GPSLatitude" in flat
    assert flat["Artist"] == "Ann Smith" and flat["Copyright"] == "© Ann"
    assert flat["HierarchicalSubject"] == ["Places|France|Paris", "People|Ann"] or set(
        flat["HierarchicalSubject"]
    ) == {
        "Places|France|Paris",
        "People|Ann",
    }
    assert flat["Title"] == "Quai" and flat["Rating"] == 4 and flat["Creator"] in ("Ann Smith", ["Ann Smith"])
    assert flat["DerivedFrom"] == {"FilePath": "IMG_1.jpg", "DocumentID": "xxh3:abc123"}


@needs_exiftool
def test_strip_location_and_strip(tmp_path: Path) -> None:
    src = photo(tmp_path / "a.jpg", gps=True, icc=srgb_profile())
    (no_place,) = run(
        src,
        [{"op": "metadata_policy", "params": {"policy": "strip_location"}}, {"op": "jpeg"}],
        record=RECORD,
    )
    tags = exiftool(no_place.data, tmp_path, "jpg")
    assert not any("GPS" in k for k in tags) and tags["IFD0:Make"] == "Testmaker" and "XMP-dc:Subject" in tags
    (bare,) = run(
        src, [{"op": "metadata_policy", "params": {"policy": "strip"}}, {"op": "jpeg"}], record=RECORD
    )
    tags = exiftool(bare.data, tmp_path, "jpg")
    assert not any(k.startswith(("IFD0:", "ExifIFD:", "GPS:", "XMP", "IPTC")) for k in tags)
    assert picture(bare).info["icc_profile"] == srgb_profile()  # colours stay right
    assert bare.info["metadata_written"] == []


# ------------------------------------------------------------------ metadata JSON, original


def test_metadata_and_original_encoders(tmp_path: Path) -> None:
    src = photo(tmp_path / "IMG_2.jpg")
    (doc,) = run(src, [{"op": "metadata"}], record=RECORD, content_hash="beef")
    data = json.loads(doc.data)
    assert doc.mime == "application/json" and data["record"]["title"] == "Quai"
    assert data["file"] == {
        "name": "IMG_2.jpg",
        "size": src.stat().st_size,
        "kind": "image",
        "content_hash": "beef",
        "mime": "image/jpeg",
    }
    (tmp_path / "IMG_2.jpg.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    (tmp_path / "IMG_2.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    outs = run(src, [{"op": "original"}])
    assert outs[0].data == src.read_bytes() and outs[0].ext == "jpg" and outs[0].mime == "image/jpeg"
    assert sorted(o.info["style"] for o in outs[1:]) == ["name.ext.xmp", "name.xmp"]
    assert all(o.info["sidecar"] and o.ext == "xmp" for o in outs[1:])


# ------------------------------------------------------------------ video


def test_video_frames_count_every_scenes_and_poster(tmp_path: Path) -> None:
    clip = write_video(tmp_path / "c.mp4", seconds=3, size=(160, 90), black_first=1.0)
    frames = run(
        clip, [{"op": "video_frames", "params": {"mode": "count", "count": 4}}, {"op": "png"}], kind="video"
    )
    assert [f.label for f in frames] == ["001", "002", "003", "004"]
    assert all(picture(f).size == (160, 90) for f in frames)
    every = run(
        clip,
        [{"op": "video_frames", "params": {"mode": "every", "every_s": 1.0}}, {"op": "jpeg"}],
        kind="video",
    )
    assert len(every) == 3
    scenes = run(
        clip,
        [{"op": "video_frames", "params": {"mode": "scenes", "threshold": 20}}, {"op": "jpeg"}],
        kind="video",
    )
    assert len(scenes) == 2  # the black start, then the picture
    assert (
        picture(scenes[0]).convert("L").getextrema()[1] < 30
        and picture(scenes[1]).getpixel((150, 80))[0] > 150
    )
    (poster,) = run(clip, [{"op": "poster", "params": {"at": 0.8}}, {"op": "png"}], kind="video")
    assert picture(poster).getpixel((150, 80))[0] > 150
    turned = write_video(tmp_path / "t.mp4", seconds=1, size=(160, 90), rotate=90)
    (upright,) = run(turned, [{"op": "video_frames", "params": {"count": 1}}, {"op": "png"}], kind="video")
    assert picture(upright).size == (90, 160)


def test_video_encoder_trims_and_burns_a_watermark(tmp_path: Path) -> None:
    import av

    clip = write_video(tmp_path / "c.mp4", seconds=3, size=(160, 90))
    steps = [{"op": "video", "params": {"start_s": 1, "end_s": 2, "watermark_text": "Ann", "crf": 30}}]
    (out,) = run(clip, steps, kind="video")
    (again,) = run(clip, steps, kind="video")
    assert out.data == again.data and out.mime == "video/mp4"
    f = tmp_path / "out.mp4"
    f.write_bytes(out.data)
    with av.open(str(f)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) == 10 and (frames[0].width, frames[0].height) == (160, 90)
    corner = np.asarray(frames[5].to_image())[70:88, 110:158].astype(int)
    assert corner.max() > 200 and out.info["codec"] == "libx264"


def clip_with_sound(path: Path) -> Path:
    """A 3 s clip with a stereo AAC track at 44.1 kHz (Opus needs 48: the encoder resamples)."""
    import av

    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = 160, 90, "yuv420p"
        a = out.add_stream("aac", rate=44100)
        a.layout = "stereo"
        for i in range(30):
            for pk in v.encode(
                av.VideoFrame.from_ndarray(np.full((90, 160, 3), i * 8, np.uint8), format="rgb24")
            ):
                out.mux(pk)
        for i in range(3 * 44100 // 1024):
            f = av.AudioFrame.from_ndarray(np.zeros((2, 1024), np.float32), format="fltp", layout="stereo")
            f.sample_rate, f.pts = 44100, i * 1024
            for pk in a.encode(f):
                out.mux(pk)
        for pk in [*v.encode(), *a.encode()]:
            out.mux(pk)
    return path


@pytest.mark.parametrize("codec", ["libx264", "libx265", "libvpx-vp9", "libsvtav1", "mpeg4"])
def test_video_encoder_codecs_keep_sound_and_are_deterministic(tmp_path: Path, codec: str) -> None:
    import av

    clip = clip_with_sound(tmp_path / "s.mp4")
    steps = [{"op": "video", "params": {"codec": codec, "start_s": 0.5, "end_s": 2.5}}]
    (out,) = run(clip, steps, kind="video")
    (again,) = run(clip, steps, kind="video")
    assert out.data == again.data
    with av.open(io.BytesIO(out.data)) as c:
        kinds = sorted(s.type for s in c.streams)
        frames = sum(1 for _ in c.decode(video=0))
    assert kinds == ["audio", "video"] and frames == 20
    assert out.ext == ("webm" if codec == "libvpx-vp9" else "mp4")


@needs_exiftool
def test_a_raw_keeps_its_camera_exif_in_the_output(tmp_path: Path) -> None:
    import datetime as dt

    dng = write_dng(tmp_path / "r.dng", make="Rawmaker", model="R-9", taken=dt.datetime(2021, 3, 4, 5, 6, 7))
    (out,) = run(dng, [{"op": "resize", "params": {"long_edge": 100}}, {"op": "jpeg"}])
    tags = exiftool(out.data, tmp_path, "jpg")
    assert tags["IFD0:Make"] == "Rawmaker" and tags["ExifIFD:DateTimeOriginal"] == "2021:03:04 05:06:07"
    assert picture(out).size == (100, 75)


def test_the_srgb_profile_written_into_outputs_is_the_same_bytes_in_every_process_at_any_time() -> None:
    """LittleCMS stamps a profile with the time it wrote it: two exports of one photo a second apart would
    differ (and miss each other in any byte-level comparison) unless the stamp is fixed."""
    import hashlib
    import subprocess
    import sys
    import time

    from desktop.core.processing.decoding import srgb_profile

    code = "import hashlib; from desktop.core.processing.decoding import srgb_profile as p; print(hashlib.md5(p()).hexdigest())"
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    time.sleep(1.1)
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert first == second == hashlib.md5(srgb_profile()).hexdigest() + "\n"
