"""Render items in child processes, so an export uses every core and never holds the GUI's interpreter lock.

Pillow's decode, resize and encode hold the GIL for most of their time: two threads in one process
render little faster than one, and the app's GUI thread stalls behind them (277 ms measured). So the
runner hands each item that is not a cache hit to a pool of ``spawn``ed children (the same on every
platform; a child imports only the render spine: no Qt, no torch, no catalog) at background priority.
A job is plain data (the source's path, content hash, kind, rotation, catalog record and the steps as
dicts); the answer is the encoded outputs (bytes and fields, no picture: the SSIM is computed in the
child) and the CPU seconds spent, or ``RenderFailed`` with a sentence.

One pool per process, made on first use and kept for later tasks (a child's start costs a second of
imports); ``shutdown()`` ends it (the app calls it when it closes). A child that dies (a crash in a
decoder, the OOM killer) breaks the pool: ``reset`` replaces it and only the items it held fail.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core.imaging.decode import ImageError
from desktop.core.processing import operations, quality, render
from desktop.core.processing.params import RecipeError

MAX_WORKERS = 4  # beyond this, memory (a 12 MP picture is ~36 MB per stage) outgrows the gain

_pool: ProcessPoolExecutor | None = None
_pool_guard = threading.Lock()


def default_workers() -> int:
    """How many children render: one per core, at least one, at most ``MAX_WORKERS``."""
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


@dataclass(frozen=True)
class Job:
    """One item to render: plain data, so it crosses into a child."""

    path: str
    content_hash: str
    kind: str
    rotation: int
    record: dict[str, Any]
    steps: list[dict[str, Any]]  # {"op", "params"}: validated again in the child


@dataclass
class Done:
    """What a child sends back: the outputs (``reference`` None) and the CPU seconds they took."""

    outputs: list[render.Rendered]
    cpu_seconds: float = 0.0
    megapixels: float = 0.0


class RenderFailed(Exception):
    """An item that cannot be rendered: ``code`` and a sentence for the person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)  # both in args: the exception crosses back from the child pickled
        self.code = code
        self.message = message


def failure(exc: BaseException, name: str) -> RenderFailed | None:
    """The sentence for an exception a render may raise about its source; None for a bug."""
    if isinstance(exc, ImageError):
        reason = exc.reason.rstrip(".")
        # a reason that names the file already is a whole sentence ("X is a photo: …"): not said twice
        text = f"{reason}." if reason.startswith(name) else f"{name} cannot be decoded: {reason}."
        return RenderFailed("undecodable", text)
    if isinstance(exc, RecipeError):
        return RenderFailed("unsupported", f"{name}: {exc.message}")
    if isinstance(exc, MemoryError):
        return RenderFailed("too_large", f"{name} is too large to process in the memory available.")
    if isinstance(exc, OSError):
        return RenderFailed("source_unreadable", f"{name} cannot be read ({exc.strerror or exc}).")
    return None


def render_job(job: Job) -> Done:
    """Render ``job`` here (in a child of the pool, or in the caller's process)."""
    cpu0 = time.thread_time()
    source = render.Source(Path(job.path), job.content_hash, job.kind, job.rotation, job.record)
    try:
        steps = operations.validate_steps(job.steps)
        outputs = render.render(source, steps)
    except Exception as exc:
        failed = failure(exc, source.path.name)
        if failed is None:
            raise
        raise failed from None
    if not outputs:
        raise RenderFailed("no_output", f"{source.path.name}: the recipe made nothing from it.")
    _check(outputs, steps)
    for out in outputs:
        out.reference = None  # the picture stays here: only bytes and fields cross back
    mp = sum((r.width or 0) * (r.height or 0) for r in outputs) / 1e6
    return Done(outputs, time.thread_time() - cpu0, mp)


def _check(outputs: list[render.Rendered], steps: list[operations.Step]) -> None:
    """Each output checked after encoding (``quality.check``): it decodes, has the size it was made at,
    fits the encoder's size target, carries sRGB when the recipe converted to it, and its SSIM is not
    too low; what is wrong goes into ``info["problems"]`` and the output is ``flagged``."""
    encoder = steps[-1].params
    budget = encoder.get("target_kb")
    srgb = any(s.op == "srgb" for s in steps)
    for out in outputs:
        if out.info.get("sidecar"):
            continue
        expected = (out.width, out.height) if out.width and out.height else None
        problems = quality.check(out, expected, budget if isinstance(budget, int | float) else None, srgb)
        out.info["flagged"] = bool(problems)
        if problems:
            out.info["problems"] = " ".join(problems)


def _child_start() -> None:
    from desktop.core.processing import builtin_ops  # noqa: F401 - registers the operations

    # Ctrl-C in a terminal reaches the whole process group: the parent decides (it lets the items being
    # rendered finish and pauses the task), a child must not die of it mid-item
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from desktop.core.runtime.jobs import at_least_background_priority
    from desktop.core.runtime.lifeline import die_with_parent

    die_with_parent()  # a killed app or worker leaves no renderer behind

    at_least_background_priority()  # an export must not slow the app the person is using


def pool() -> ProcessPoolExecutor:
    """The pool, made on first use."""
    global _pool
    with _pool_guard:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                default_workers(), mp_context=multiprocessing.get_context("spawn"), initializer=_child_start
            )
        return _pool


def submit(job: Job) -> tuple[ProcessPoolExecutor, Future[Done]]:
    """``job`` handed to a child; the pool it went to (for ``reset``) and its future."""
    executor = pool()
    return executor, executor.submit(render_job, job)


def reset(broken: ProcessPoolExecutor) -> None:
    """Replace ``broken`` (a child died) with a fresh pool on next use, unless that was done already."""
    global _pool
    with _pool_guard:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """End the children (waiting for the items they are rendering); a later export makes a new pool."""
    global _pool
    with _pool_guard:
        executor, _pool = _pool, None
    if executor is not None:
        executor.shutdown(wait=True, cancel_futures=True)
