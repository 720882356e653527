"""The single database writer: every catalog write runs on one thread.

SQLite allows one writer at a time; funnelling writes through one thread
keeps transactions short and ordered, and lets any number of reader threads
(the GUI, search) use their own WAL connections without "database is locked".
``Writer.call(fn, ...)`` runs ``fn`` inside a transaction on the writer thread
and returns its result (or raises its exception) in the caller. A write that
finds the disk full raises ``DiskFull`` (a sentence for people) in the caller,
and the writer goes on serving: SQLite rolled that transaction back.
``close()`` lets the work already queued run, then stops; a call made after
that raises ``RuntimeError`` rather than waiting for a thread that is gone.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from desktop.core.catalog.db import DiskFull, catalog_full_message, database, is_disk_full

log = logging.getLogger(__name__)
T = TypeVar("T")


_NOTHING_TO_ROLL_BACK = "no transaction is active"


def _what_failed(exc: BaseException) -> BaseException:
    """The error a failed write hands its caller.

    When the disk fills (and on some I/O errors) SQLite rolls the whole
    transaction back by itself; ``atomic()``'s own rollback then fails with
    "cannot rollback - no transaction is active", which would hide the real
    error. That one is reported instead, and a full disk as ``DiskFull``.
    """
    if is_disk_full(exc):
        log.info("a catalog write found the disk full", exc_info=exc)  # the chain, for the log file
        full = DiskFull(catalog_full_message(Path(database.database).parent))
        full.__cause__ = exc
        return full
    # the failed rollback comes twice (sqlite3's error, and Peewee's around it): skip both
    while _NOTHING_TO_ROLL_BACK in str(exc) and exc.__context__ is not None:
        exc = exc.__context__
    return exc


class Writer:
    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...], Future[Any]] | None] = (
            queue.Queue()
        )
        self._thread = threading.Thread(target=self._loop, name="catalog-writer", daemon=True)
        self._closed = False
        # held while checking ``_closed`` and queueing, so no call is queued behind the stop marker
        self._lock = threading.Lock()
        self.writes = 0  # calls so far: a command that made none changed nothing (no backup due)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                break
            fn, args, fut = item
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                # BEGIN IMMEDIATE for a write that reads, then acts outside SQLite (undo moves files):
                # the lock is taken first, so no other process commits between its read and its write
                with database.atomic("IMMEDIATE") if getattr(fn, "immediate", False) else database.atomic():
                    result = fn(*args)
            except BaseException as exc:  # handed back to the caller
                fut.set_exception(_what_failed(exc))
            else:
                fut.set_result(result)
        if not database.is_closed():
            database.close()

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        fut: Future[T] = Future()
        if threading.current_thread() is self._thread:
            # Re-entrant use (a write that calls another write): run inline.
            self.writes += 1
            try:
                fut.set_result(fn(*args))
            except BaseException as exc:
                fut.set_exception(exc)
            return fut
        with self._lock:
            if self._closed:
                raise RuntimeError("the catalog writer is closed")
            self.writes += 1
            self._queue.put((fn, args, fut))
        return fut

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        return self.submit(fn, *args).result()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join(timeout=30)
