"""Parameter schemas of operations: declared types, ranges and defaults, and their validation.

Every operation declares its parameters as ``Param`` objects; ``validate``
turns what a recipe or a request gave into a complete, typed dict (defaults
filled in) or raises ``RecipeError`` with one sentence naming the bad field.
Validation happens before anything runs, so a bad recipe never half-runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from desktop.core.runtime.errors import ShoeboxError

KINDS = ("int", "float", "bool", "str", "choice", "list", "path")


class RecipeError(ShoeboxError):
    """A recipe, a request or an operation's parameters are not valid; the message names the field."""


@dataclass(frozen=True)
class Param:
    """One parameter: its kind, default, range (numbers), choices, and a short help for forms."""

    kind: str  # one of KINDS
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False  # None is allowed (and is the default unless one is given)
    help: str = ""
    length: int | None = None  # for "list": the exact number of numbers it holds


def _number(name: str, spec: Param, value: Any, where: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecipeError(f"{where}: '{name}' must be a number, not {value!r}.")
    if spec.kind == "int":
        if isinstance(value, float) and not value.is_integer():
            raise RecipeError(f"{where}: '{name}' must be a whole number, not {value!r}.")
        value = int(value)
    elif not math.isfinite(value):
        raise RecipeError(f"{where}: '{name}' must be a finite number, not {value!r}.")
    if spec.minimum is not None and value < spec.minimum or spec.maximum is not None and value > spec.maximum:
        lo = "" if spec.minimum is None else f"{spec.minimum:g}"
        hi = "" if spec.maximum is None else f"{spec.maximum:g}"
        raise RecipeError(f"{where}: '{name}' is {value!r}, outside its range {lo}–{hi}.")
    return float(value) if spec.kind == "float" else value


def check(name: str, spec: Param, value: Any, where: str) -> Any:
    """``value`` checked (and normalised: int stays int, float becomes float) against ``spec``."""
    if value is None:
        if spec.optional:
            return None
        raise RecipeError(f"{where}: '{name}' needs a value.")
    if spec.kind in ("int", "float"):
        return _number(name, spec, value, where)
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise RecipeError(f"{where}: '{name}' must be true or false, not {value!r}.")
        return value
    if spec.kind in ("str", "path"):
        if not isinstance(value, str):
            raise RecipeError(f"{where}: '{name}' must be text, not {value!r}.")
        return value
    if spec.kind == "choice":
        if isinstance(value, int) and not isinstance(value, bool) and str(value) in spec.choices:
            value = str(value)  # {"degrees": 90} means the choice "90"
        if value not in spec.choices:
            raise RecipeError(f"{where}: '{name}' is {value!r}; it must be one of {', '.join(spec.choices)}.")
        return value
    if spec.kind == "list":
        if not isinstance(value, Sequence) or isinstance(value, str):
            raise RecipeError(f"{where}: '{name}' must be a list of numbers, not {value!r}.")
        if spec.length is not None and len(value) != spec.length:
            raise RecipeError(f"{where}: '{name}' must hold {spec.length} numbers, not {len(value)}.")
        item = Param("float", minimum=spec.minimum, maximum=spec.maximum)
        return [check(name, item, v, where) for v in value]
    raise AssertionError(f"unknown parameter kind {spec.kind}")


def validate(schema: Mapping[str, Param], given: Mapping[str, Any] | None, where: str) -> dict[str, Any]:
    """``given`` completed with the defaults and checked; refuses names the schema does not have.

    ``where`` starts each sentence ("step 2 (resize)"), so the person knows which step is wrong.
    """
    given = dict(given or {})
    unknown = sorted(set(given) - set(schema))
    if unknown:
        known = ", ".join(schema) or "none"
        raise RecipeError(f"{where}: there is no parameter '{unknown[0]}' (its parameters: {known}).")
    out: dict[str, Any] = {}
    for name, spec in schema.items():
        out[name] = check(name, spec, given.get(name, spec.default), where)
    return out
