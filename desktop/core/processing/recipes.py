"""Recipes: an ordered list of steps, a naming template and a collision policy, under a slug and a name.

The presets live here in code; recipes the person saves live in the catalog's
``Recipe`` table (user data, written through the catalog writer), their
version bumped by every save. ``resolve`` finds a recipe by slug or name,
applies a request's overrides and validates everything before anything runs.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from desktop.core.catalog.schema import Recipe as RecipeRow
from desktop.core.processing import naming, operations
from desktop.core.processing.operations import ENCODE, Step
from desktop.core.processing.params import RecipeError

if TYPE_CHECKING:
    from desktop.core.library import Library


@dataclass(frozen=True)
class Recipe:
    slug: str
    name: str
    version: int
    steps: list[Step]
    naming: str = naming.DEFAULT_TEMPLATE
    collision: str = "counter"  # one of naming.COLLISIONS
    preset: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "name": self.name,
            "version": self.version,
            "steps": [s.as_dict() for s in self.steps],
            "naming": self.naming,
            "collision": self.collision,
            "preset": self.preset,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Recipe:
        return cls(
            slug=str(d["slug"]),
            name=str(d["name"]),
            version=int(d.get("version", 1)),
            steps=[Step(str(s["op"]), dict(s.get("params") or {})) for s in d["steps"]],
            naming=str(d.get("naming") or naming.DEFAULT_TEMPLATE),
            collision=str(d.get("collision") or "counter"),
            preset=bool(d.get("preset", False)),
        )


def _preset(
    slug: str, name: str, steps: list[tuple[str, dict[str, Any]]], template: str | None = None
) -> Recipe:
    return Recipe(
        slug, name, 1, [Step(op, p) for op, p in steps], template or naming.DEFAULT_TEMPLATE, "counter", True
    )


# Steps as written here are completed with each operation's defaults by ``resolve``.
PRESETS: dict[str, Recipe] = {
    r.slug: r
    for r in (
        _preset("original", "Original", [("original", {})], "{stem}.{ext}"),
        _preset(
            "web-2048",
            "Web 2048 px",
            [
                ("resize", {"mode": "long_edge", "long_edge": 2048}),
                ("srgb", {}),
                ("metadata_policy", {"policy": "keep"}),
                ("jpeg", {"quality": 85}),
            ],
        ),
        _preset(
            "email-1280",
            "Email 1280 px without location",
            [
                ("resize", {"mode": "long_edge", "long_edge": 1280}),
                ("srgb", {}),
                ("metadata_policy", {"policy": "strip_location"}),
                ("jpeg", {"quality": 80}),
            ],
        ),
        _preset(
            "print-tiff",
            "Print TIFF",
            [("metadata_policy", {"policy": "keep"}), ("tiff", {"compression": "deflate"})],
        ),
        _preset(
            "square-1080",
            "Square 1080 crop",
            [
                ("crop", {"aspect": "1:1"}),
                ("resize", {"mode": "long_edge", "long_edge": 1080}),
                ("srgb", {}),
                ("jpeg", {"quality": 88}),
            ],
        ),
        _preset(
            "video-frames",
            "Contact frames from a video",
            [
                ("video_frames", {"mode": "count", "count": 9}),
                ("resize", {"mode": "long_edge", "long_edge": 1280}),
                ("jpeg", {"quality": 85}),
            ],
            "{stem}_{index}.{ext}",
        ),
    )
}


def slugify(name: str) -> str:
    """``"My Web 1600!"`` -> ``"my-web-1600"``."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")
    return slug[:64]


def _saved(row: RecipeRow) -> Recipe:
    body = json.loads(row.body)
    return Recipe.from_dict(
        {"slug": row.slug, "name": row.name, "version": row.version, **body, "preset": False}
    )


def saved_recipes() -> list[Recipe]:
    return [_saved(r) for r in RecipeRow.select().order_by(RecipeRow.name)]


def all_recipes() -> list[Recipe]:
    """The presets, then the saved recipes by name (steps as written; ``resolve`` completes them)."""
    return list(PRESETS.values()) + saved_recipes()


def _check(recipe: Recipe, where: str) -> Recipe:
    steps = operations.validate_steps(recipe.steps, where)
    naming.check_template(recipe.naming, f"{where}: naming")
    if recipe.collision not in naming.COLLISIONS:
        raise RecipeError(
            f"{where}: 'collision' is {recipe.collision!r}; it must be one of {', '.join(naming.COLLISIONS)}."
        )
    return replace(recipe, steps=steps)


def save(
    lib: Library,
    name: str,
    steps: Sequence[Mapping[str, Any] | Step],
    template: str = naming.DEFAULT_TEMPLATE,
    collision: str = "counter",
    slug: str | None = None,
) -> Recipe:
    """Save a recipe (new, or a new version of the one with this slug); refused with a sentence when invalid."""
    name = name.strip()
    if not name:
        raise RecipeError("A recipe needs a name.")
    slug = slugify(slug or name)
    if not slug:
        raise RecipeError(f"The recipe name '{name}' needs at least one letter or digit.")
    if slug in PRESETS or any(p.name.lower() == name.lower() for p in PRESETS.values()):
        raise RecipeError(f"'{name}' is the name of a preset; give your recipe another name.")
    raw = [s if isinstance(s, Step) else Step(str(s.get("op")), dict(s.get("params") or {})) for s in steps]
    for i, s in enumerate(steps, 1):
        if not isinstance(s, Step) and (not isinstance(s, Mapping) or not isinstance(s.get("op"), str)):
            raise RecipeError(
                f"recipe '{name}': step {i} must be an object with an 'op' naming its operation."
            )
    checked = _check(Recipe(slug, name, 1, raw, template, collision), f"recipe '{name}'")
    body = json.dumps(
        {
            "steps": [s.as_dict() for s in checked.steps],
            "naming": checked.naming,
            "collision": checked.collision,
        },
        sort_keys=True,
    )

    def _write() -> int:
        other = RecipeRow.get_or_none((RecipeRow.name == name) & (RecipeRow.slug != slug))
        if other is not None:
            raise RecipeError(f"Another recipe ('{other.slug}') is already called '{name}'.")
        row = RecipeRow.get_or_none(RecipeRow.slug == slug)
        if row is None:
            RecipeRow.create(slug=slug, name=name, version=1, body=body)
            return 1
        version = int(row.version) + 1
        RecipeRow.update(name=name, version=version, body=body, updated_at=dt.datetime.now()).where(
            RecipeRow.slug == slug
        ).execute()
        return version

    version = lib.writer.call(_write)
    return replace(checked, version=version)


def delete(lib: Library, slug_or_name: str) -> None:
    recipe = find(slug_or_name)
    if recipe.preset:
        raise RecipeError(f"'{recipe.name}' is a preset; presets cannot be deleted.")
    lib.writer.call(lambda: RecipeRow.delete().where(RecipeRow.slug == recipe.slug).execute())


def find(slug_or_name: str) -> Recipe:
    """The recipe with this slug or name (case ignored), as written; ``RecipeError`` naming the choices."""
    key = slug_or_name.strip()
    if key in PRESETS:
        return PRESETS[key]
    row = RecipeRow.get_or_none(RecipeRow.slug == key)
    if row is not None:
        return _saved(row)
    every = all_recipes()
    for r in every:
        if r.name.lower() == key.lower() or r.slug == slugify(key):
            return r
    if _is_encoder(key):
        # an encoder alone is a recipe too: "process jpeg PHOTOS" or "cmd": "metadata"
        return Recipe(key, operations.get(key).title, 1, [Step(key, {})], preset=True)
    raise RecipeError(f"There is no recipe '{key}'; the recipes are: {', '.join(r.slug for r in every)}.")


def _is_encoder(name: str) -> bool:
    try:
        return operations.get(name).stage == ENCODE
    except RecipeError:
        return False


def _apply_overrides(recipe: Recipe, overrides: Mapping[str, Any], where: str) -> Recipe:
    steps = [Step(s.op, dict(s.params)) for s in recipe.steps]
    template, collision = recipe.naming, recipe.collision
    for key, value in overrides.items():
        if key == "naming":
            template = value
            continue
        if key == "collision":
            collision = value
            continue
        if key == "steps":
            # the app's export dialog sends a recipe the person edited (steps added, removed or moved)
            if not isinstance(value, Sequence) or isinstance(value, str | bytes):
                raise RecipeError(f'{where}: \'steps\' must be a list of steps like {{"op": "jpeg"}}.')
            for i, raw in enumerate(value, 1):
                if not isinstance(raw, Mapping) or not isinstance(raw.get("op"), str):
                    raise RecipeError(
                        f"{where}: step {i} must be an object with an 'op' naming its operation."
                    )
            steps = [Step(str(raw["op"]), dict(raw.get("params") or {})) for raw in value]
            continue
        op, dot, param = key.partition(".")
        if dot:
            changes = {param: value}
        elif isinstance(value, Mapping):
            changes = dict(value)
        else:
            raise RecipeError(
                f"{where}: '{key}' must be written 'operation.parameter' (like jpeg.quality) "
                "or hold an object of parameters."
            )
        matching = [s for s in steps if s.op == op]
        if not matching:
            raise RecipeError(
                f"{where}: '{key}' names the step '{op}', which the recipe '{recipe.slug}' does not have "
                f"(its steps: {', '.join(s.op for s in steps)})."
            )
        for s in matching:
            s.params.update(changes)
    return replace(recipe, steps=steps, naming=template, collision=collision)


def resolve(slug_or_name: str, overrides: Mapping[str, Any] | None = None) -> Recipe:
    """The recipe, overridden (``{"jpeg.quality": 70}`` or ``{"resize": {"long_edge": 1600}}``,
    ``naming``/``collision``, or ``steps``: the whole list replaced), its steps validated and completed; ``RecipeError`` naming the bad field."""
    recipe = find(slug_or_name)
    where = f"recipe '{recipe.slug}'"
    if overrides:
        recipe = _apply_overrides(recipe, overrides, "params")
    return _check(recipe, where)
