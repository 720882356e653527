"""Run validated steps over one source and return the encoded outputs, in memory.

Pure: reads the source file, writes nothing. ``Frame`` is what ``frames``
operations pass along (a picture decoded lazily, so a shrinking resize can
ask the JPEG decoder for a smaller DCT scale), ``Rendered`` what an encoder
returns. The same source and steps always give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from desktop.core.processing import operations
from desktop.core.processing.operations import ENCODE, Step


@dataclass(frozen=True)
class Source:
    """One input: its file, content hash, and what the catalog knows of it (``{}`` outside the library)."""

    path: Path
    content_hash: str
    kind: str = "image"  # "image" or "video"
    rotation: int = 0  # the catalog's extra clockwise turn (0, 90, 180, 270)
    record: dict[str, Any] = field(default_factory=dict)  # Library.photo_info's dict: tags, title, rating ...


@dataclass
class Frame:
    """A picture on its way through the steps."""

    source: Source
    image: Image.Image | None = None  # None until ``load``
    icc: bytes | None = None  # the picture's colour profile, kept by every metadata policy
    label: str = ""  # tells apart several outputs of one source ("003": a video's third frame)
    time_s: float | None = None  # where in a video this frame is
    metadata: dict[str, Any] = field(default_factory=lambda: {"policy": "keep"})  # set by metadata_policy
    exif: bytes | None = None  # the source's EXIF block (as stored), for encoders that keep metadata

    def load(
        self,
        long_edge: int | None = None,
        size_for: Callable[[int, int], tuple[int, int]] | None = None,
        shrink: Callable[[Image.Image, tuple[int, int]], Image.Image] | None = None,
    ) -> Image.Image:
        """The picture, upright. ``long_edge``: the caller will shrink it to that, so a JPEG may be decoded
        at the smallest DCT scale (1/2, 1/4, 1/8) whose long edge is still at least that. ``size_for``
        does the same for any target: it maps the upright full size to the size the caller will make;
        with ``shrink`` (how the caller reduces a picture to a size) the picture comes back reduced
        already, reduced before it was turned upright (cheaper)."""
        if self.image is None:
            from desktop.core.processing import decoding

            self.image, self.icc, self.exif = decoding.decode(self.source, long_edge, size_for, shrink)
        return self.image


@dataclass
class Rendered:
    """One encoded output."""

    data: bytes
    ext: str  # without the dot: "jpg"
    mime: str
    label: str = ""
    width: int | None = None
    height: int | None = None
    reference: Image.Image | None = None  # the picture before encoding, for the quality checks
    info: dict[str, Any] = field(default_factory=dict)  # what the encoder chose (quality for a target size)


def render(source: Source, steps: list[Step]) -> list[Rendered]:
    """``steps`` (validated by ``operations.validate_steps``) run over ``source``."""
    frames = [Frame(source)]
    for step in steps:
        op = operations.get(step.op)
        if op.stage == ENCODE:
            out: list[Rendered] = []
            for frame in frames:
                result = op.fn(frame, step.params)  # one output, or several (an original and its sidecars)
                out.extend(result if isinstance(result, list) else [result])
            return out
        frames = op.fn(frames, step.params)
    raise AssertionError("validated steps end with an encoder")
