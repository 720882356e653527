"""Noticing catalog changes made by another process (the command line while the app is open).

SQLite's ``PRAGMA data_version`` returns, on one connection, a number that
changes whenever *another* connection has committed to the database since the
last time that connection asked; its own commits never change it. Asking
costs microseconds and reads no pages.

The monitor asks on the catalog writer's connection (a tiny task on the
writer thread). Every write this process makes goes through that connection,
so the app's own edits, scans and watcher updates never count as a change —
no refresh storm during a scan — while a commit from any other process does.
Nothing here waits: ``poll()`` hands the question to the writer and returns at
once; while the writer is busy with a scan's batch the answer simply comes
after that batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future

from desktop.core.catalog.db import database
from desktop.core.catalog.writer import Writer

log = logging.getLogger(__name__)


def _data_version() -> int:
    """The writer connection's ``data_version`` (runs on the writer thread)."""
    row = database.execute_sql("PRAGMA data_version").fetchone()
    return int(row[0])


class CatalogChangeMonitor:
    """Calls ``on_change()`` when another process has committed to the catalog since the last poll.

    ``on_change`` runs on the writer thread (or on the polling thread when the
    answer was already there): hand it to your own thread, as the app does
    with a queued Qt signal.
    """

    def __init__(self, writer: Writer, on_change: Callable[[], None]) -> None:
        self._writer = writer
        self._on_change = on_change
        self._version: int | None = None  # None until the first answer: that one is the baseline
        self._probe: Future[int] | None = None

    def poll(self) -> None:
        """Ask whether the catalog changed; returns at once (the answer calls ``on_change``)."""
        if self._probe is not None and not self._probe.done():
            return  # the writer is still busy with the previous question: one at a time
        try:
            probe = self._writer.submit(_data_version)
        except RuntimeError:  # the library was closed: nothing left to watch
            return
        self._probe = probe
        probe.add_done_callback(self._answered)

    def _answered(self, probe: Future[int]) -> None:
        if probe.cancelled():
            return
        exc = probe.exception()
        if exc is not None:
            log.warning("reading the catalog's data_version failed: %s", exc)
            return
        version = probe.result()
        previous, self._version = self._version, version
        if previous is not None and version != previous:
            self._on_change()


__all__ = ["CatalogChangeMonitor"]
