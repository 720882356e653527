"""The one registry of operations: name, version, parameter schema, and the function.

An operation is a pure function over decoded media. It has a stage:

- ``frames``: ``fn(frames, params) -> frames`` (resize, crop, watermark, video
  frame extraction: one video frame in, many picture frames out);
- ``encode``: ``fn(frame, params) -> Rendered`` (JPEG, PNG, ..., and
  ``metadata``, which returns the catalog's record as JSON). A recipe ends with
  exactly one.

``version`` is part of every cached result's key: changing what an operation
computes means bumping it, which invalidates its cached results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from desktop.core.processing.params import Param, RecipeError, validate

FRAMES, ENCODE = "frames", "encode"


@dataclass(frozen=True)
class Operation:
    name: str
    version: int
    title: str  # what the GUI shows ("Resize")
    stage: str  # FRAMES or ENCODE
    params: Mapping[str, Param]
    fn: Callable[..., Any]
    media: str = "image"  # what it takes: "image", "video" or "any"
    help: str = ""
    # checks across parameters, or against the world (a watermark file that is not an image), run by
    # validate_steps; raises RecipeError naming the step and the field
    check: Callable[[dict[str, Any], str], None] | None = None


@dataclass(frozen=True)
class Step:
    """One validated step of a recipe: the operation's name and its complete parameters."""

    op: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"op": self.op, "params": dict(self.params)}


REGISTRY: dict[str, Operation] = {}


def register(op: Operation) -> Operation:
    if op.name in REGISTRY:
        raise AssertionError(f"operation {op.name} registered twice")
    REGISTRY[op.name] = op
    return op


def operation(
    name: str,
    version: int,
    title: str,
    stage: str = FRAMES,
    media: str = "image",
    help: str = "",
    check: Callable[[dict[str, Any], str], None] | None = None,
    **params: Param,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator form of ``register``."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        register(Operation(name, version, title, stage, params, fn, media, help, check))
        return fn

    return wrap


def get(name: str) -> Operation:
    _load_all()
    op = REGISTRY.get(name)
    if op is None:
        raise RecipeError(
            f"There is no operation '{name}'; the operations are: {', '.join(sorted(REGISTRY))}."
        )
    return op


def all_operations() -> list[Operation]:
    _load_all()
    return sorted(REGISTRY.values(), key=lambda o: o.name)


def validate_steps(steps: Sequence[Mapping[str, Any] | Step], where: str = "recipe") -> list[Step]:
    """Raw steps (``{"op": NAME, "params": {...}}``) checked and completed with defaults.

    Refuses an unknown operation, a bad parameter, a recipe without an encoder at its end or with
    one anywhere else; each sentence names the step and the field.
    """
    if not steps:
        raise RecipeError(f"{where}: it has no steps; it needs at least an encoder (jpeg, png, ...).")
    out: list[Step] = []
    for i, raw in enumerate(steps, 1):
        if isinstance(raw, Step):
            raw = raw.as_dict()
        if not isinstance(raw, Mapping) or not isinstance(raw.get("op"), str):
            raise RecipeError(f"{where}: step {i} must be an object with an 'op' naming its operation.")
        extra = sorted(set(raw) - {"op", "params"})
        if extra:
            raise RecipeError(
                f"{where}: step {i} has an unknown field '{extra[0]}' (a step has 'op' and 'params')."
            )
        op = get(raw["op"])
        params = raw.get("params") or {}
        if not isinstance(params, Mapping):
            raise RecipeError(f"{where}: step {i} ({op.name}): 'params' must be an object.")
        checked = validate(op.params, params, f"{where}: step {i} ({op.name})")
        if op.check is not None:
            op.check(checked, f"{where}: step {i} ({op.name})")
        out.append(Step(op.name, checked))
    for i, step in enumerate(out, 1):
        is_encoder = REGISTRY[step.op].stage == ENCODE
        if is_encoder and i != len(out):
            raise RecipeError(
                f"{where}: step {i} ({step.op}) writes the output, so it must be the last step."
            )
        if not is_encoder and i == len(out):
            raise RecipeError(
                f"{where}: the last step must write the output (jpeg, png, webp, ...), not {step.op}."
            )
    return out


def canonical(steps: Sequence[Step]) -> list[dict[str, Any]]:
    """The steps with each operation's version: what a cached result's key is made of."""
    return [{"op": s.op, "version": REGISTRY[s.op].version, "params": s.params} for s in steps]


def _load_all() -> None:
    # the modules that define operations register them when imported
    from desktop.core.processing import builtin_ops  # noqa: F401
