"""Progress reporting, pause and cancel for long work, independent of any GUI.

A ``JobControl`` is handed to long-running core functions (scan, import,
embedding). They call ``control.checkpoint()`` between units of work (which
blocks while paused and raises ``Cancelled`` once cancelled) and
``control.report(done, total)``; the control turns that into a ``Progress``
with rate and ETA and passes it to whoever listens (the CLI prints it, the GUI
forwards it to the GUI thread through its job runner).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


class Cancelled(Exception):
    """Raised inside a job when the user cancelled it."""


@dataclass(frozen=True)
class Progress:
    job: str
    done: int
    total: int
    rate: float  # units per second over the recent window
    eta_s: float | None
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def describe(self) -> str:
        parts = [f"{self.job}: {self.done}/{self.total}"]
        if self.rate > 0:
            parts.append(f"{self.rate:.1f}/s")
        if self.eta_s is not None:
            parts.append(f"ETA {format_duration(self.eta_s)}")
        if self.message:
            parts.append(self.message)
        return "  ".join(parts)


def format_duration(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


ProgressCallback = Callable[[Progress], None]

# An estimate made from the first second of a job is noise: a scan's first files wait for its worker
# processes to start, so "1 of 700 after a second" said "11m40s left" for a job that took two seconds.
ETA_MIN_SECONDS = 2.0  # no estimate before the job has reported for this long
ETA_MIN_FRACTION = 0.03  # ... and done this share of its work
ETA_ENOUGH_UNITS = 200  # (or this many units: 3% of a huge job would take minutes to reach)
RATE_SMOOTHING_S = 3.0  # the time constant of the estimate's rate, so it does not jump with each batch


class JobControl:
    """Cancel/pause flags plus a rate-limited progress reporter for one job."""

    def __init__(
        self,
        name: str,
        on_progress: ProgressCallback | None = None,
        min_interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.name = name
        self._clock = clock
        self._on_progress = on_progress
        self._min_interval = min_interval
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._started = clock()
        self._base = 0  # units done before this run (a resumed task): the rate counts only what it does
        self._last_emit = 0.0
        # (time, done) samples for a rate over the last few seconds
        self._window: list[tuple[float, int]] = []
        self._first_report: float | None = None
        self._smooth_rate: tuple[float, float] | None = None  # (when, units per second)
        self.last: Progress | None = None

    # -- control, called from any thread
    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()  # a paused job must wake up to notice

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    # -- called by the job
    def checkpoint(self) -> None:
        if not self._running.is_set():
            self._running.wait()
        if self._cancel.is_set():
            raise Cancelled(self.name)

    def resume_from(self, done: int) -> None:
        """This run goes on from ``done`` units finished earlier (a task resumed after a quit): without it,
        the first estimate took them for this run's work and said far too little time was left."""
        self._base = done

    def report(self, done: int, total: int, message: str = "", force: bool = False) -> None:
        now = self._clock()
        if self._first_report is None:
            self._first_report = now
        self._window.append((now, done))
        while len(self._window) > 2 and now - self._window[0][0] > 5.0:
            self._window.pop(0)
        if not force and now - self._last_emit < self._min_interval and done < total:
            return
        self._last_emit = now
        t0, d0 = self._window[0]
        rate = (done - d0) / (now - t0) if now > t0 and done > d0 else 0.0
        if rate == 0.0 and now > self._started and done > self._base:
            rate = (done - self._base) / (now - self._started)
        self.last = Progress(self.name, done, total, rate, self._eta(now, done, total, rate), message)
        if self._on_progress is not None:
            self._on_progress(self.last)

    def _eta(self, now: float, done: int, total: int, rate: float) -> float | None:
        """Seconds left, from an exponentially smoothed rate; None until the rate means something."""
        if rate > 0:
            if self._smooth_rate is None:
                smoothed = rate
            else:
                when, before = self._smooth_rate
                weight = 1.0 - math.exp(-(now - when) / RATE_SMOOTHING_S)
                smoothed = before + weight * (rate - before)
            self._smooth_rate = (now, smoothed)
        if self._smooth_rate is None or total < done or self._first_report is None:
            return None
        if now - self._first_report < ETA_MIN_SECONDS:
            return None
        if done < min(ETA_MIN_FRACTION * total, ETA_ENOUGH_UNITS):
            return None
        return (total - done) / self._smooth_rate[1]


BACKGROUND_NICE = 10


def lower_thread_priority(nice: int = BACKGROUND_NICE) -> None:
    """Run the calling thread (only it) at background priority, so it yields the CPU to the GUI thread.

    Linux gives each thread its own nice value, and threads this one starts
    (torch's compute threads among them) inherit it. Elsewhere it does
    nothing: on macOS the same call would slow the whole process.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


def at_least_background_priority(nice: int = BACKGROUND_NICE) -> None:
    """Lower this process to ``nice`` unless it already runs lower (a child inherits its parent
    thread's niceness; adding to it, as ``os.nice`` does, would push it to the floor)."""
    with contextlib.suppress(OSError, AttributeError):
        if os.getpriority(os.PRIO_PROCESS, 0) < nice:
            os.setpriority(os.PRIO_PROCESS, 0, nice)


def start_at_background_priority(start: Callable[[], None]) -> None:
    """Call ``start`` (which starts a child process) from a thread at background priority.

    The child inherits that thread's niceness from its first instruction, so
    even the interpreter start-up and imports of a spawned worker (a second
    or so of CPU) yield to the GUI thread. (The calling thread cannot lower
    itself and come back: raising priority again needs privileges.)
    """
    if not sys.platform.startswith("linux"):
        start()
        return
    errors: list[BaseException] = []

    def run() -> None:
        lower_thread_priority()
        try:
            start()
        except BaseException as exc:  # handed to the caller
            errors.append(exc)

    t = threading.Thread(target=run, name="start-background-process", daemon=True)
    t.start()
    t.join()
    if errors:
        raise errors[0]
