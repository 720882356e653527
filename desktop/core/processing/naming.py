"""Output names: a recipe's naming template filled in for one output, made safe, and kept from colliding.

A template is Python format syntax over a fixed set of fields
(``{date:%Y/%m}/{stem}_{recipe}.{ext}``). Slashes written in the template (or
in a date's format) make sub-folders; whatever a field's *value* holds (an
album called "Places/Paris", a stem with "..") never leaves the output folder.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from desktop.core.processing.params import RecipeError

DEFAULT_TEMPLATE = "{stem}_{recipe}.{ext}"
FIELDS = ("stem", "ext", "recipe", "name", "date", "album", "camera", "n", "index")
COLLISIONS = ("counter", "overwrite", "skip")
PARTIAL_SUFFIX = ".shoebox-partial"

# what Windows, macOS or Linux refuse in a file name (and control characters)
_UNSAFE = re.compile(r'[<>:"|?*\\\x00-\x1f]')


@dataclass(frozen=True)
class NameFields:
    """What a template can name, for one output."""

    stem: str
    ext: str
    recipe: str  # the recipe's slug
    name: str  # the recipe's name
    date: dt.datetime
    album: str = ""
    camera: str = ""
    n: int = 1  # 1-based number of the item in its task
    index: str = ""  # the output's label ("003": a video's third frame), "" when a source gives one output

    def values(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in FIELDS}


class _Formatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        text = format(value, format_spec)
        if isinstance(value, dt.datetime):
            return text  # a date's format may make folders on purpose: {date:%Y/%m}
        # a field's value never makes a folder, nor climbs out of one
        return text.replace("/", "_").replace("\\", "_")


_FORMATTER = _Formatter()


def _sample() -> dict[str, Any]:
    return NameFields(
        "IMG_0001", "jpg", "web", "Web", dt.datetime(2024, 7, 3, 14, 5), "Album", "Camera"
    ).values()


def check_template(template: str, where: str = "naming") -> None:
    """Refuse a template that names a field there is not, or formats one wrongly; one sentence naming it."""
    if not isinstance(template, str) or not template.strip():
        raise RecipeError(f"{where}: the naming template is empty; for example {DEFAULT_TEMPLATE}.")
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise RecipeError(f"{where}: the naming template '{template}' is not valid ({exc}).") from None
    for _text, name, _spec, _conv in parsed:
        if name is None:
            continue
        base = re.split(r"[.\[]", name, maxsplit=1)[0]
        if base not in FIELDS:
            shown = "{" + name + "}" if name else "{}"
            raise RecipeError(
                f"{where}: the naming template has an unknown field {shown}; "
                f"the fields are: {', '.join('{' + f + '}' for f in FIELDS)}."
            )
        if base != name:
            raise RecipeError(f"{where}: the naming template's field {{{name}}} must be a plain name.")
    try:
        _FORMATTER.vformat(template, (), _sample())
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise RecipeError(f"{where}: the naming template '{template}' cannot be filled in ({exc}).") from None
    if "{ext}" not in template.replace(" ", ""):
        raise RecipeError(
            f"{where}: the naming template must contain {{ext}} so outputs get their extension."
        )


def _safe_part(part: str) -> str:
    part = _UNSAFE.sub("_", part).strip().rstrip(".")
    if part in ("", ".", ".."):
        return "_"
    return part[:240]


def render(template: str, fields: NameFields) -> PurePosixPath:
    """The output's path relative to the output folder: never absolute, never with ``..``."""
    values: Mapping[str, Any] = fields.values()
    text = _FORMATTER.vformat(template, (), values)
    parts = [_safe_part(p) for p in text.replace("\\", "/").split("/") if p not in ("",)]
    if not parts:
        parts = [_safe_part(f"{fields.stem}.{fields.ext}")]
    return PurePosixPath(*parts)


def counter_name(path: Path, k: int) -> Path:
    """``name (k).ext``: the k-th name tried when ``path`` is taken (k >= 2)."""
    return path.with_name(f"{path.stem} ({k}){path.suffix}")


def candidates(path: Path) -> Iterator[Path]:
    """``path``, then ``name (2).ext``, ``name (3).ext`` ... (the counter collision policy)."""
    yield path
    k = 2
    while True:
        yield counter_name(path, k)
        k += 1


def partial_path(final: Path) -> Path:
    """Where an output is written before it is complete: ``.NAME.shoebox-partial`` beside it."""
    return final.with_name(f".{final.name}{PARTIAL_SUFFIX}")


def is_partial(path: Path) -> bool:
    return path.name.startswith(".") and path.name.endswith(PARTIAL_SUFFIX)
