"""CatalogChangeMonitor: commits from other connections are noticed, the library's own writes are not."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from desktop.core.catalog.changes import CatalogChangeMonitor


def _settle(lib: Any, monitor: CatalogChangeMonitor) -> None:
    """Poll, then wait until the writer has answered (its queue is ordered)."""
    monitor.poll()
    lib.writer.call(lambda: None)


def test_another_connections_commit_is_noticed_the_librarys_own_are_not(
    library: Any, tmp_path: Path, make_jpeg: Any
) -> None:
    make_jpeg(tmp_path / "pics" / "a.jpg")
    library.scan([library.add_root(tmp_path / "pics")], workers=1)
    photo_id = library.query()[0].id
    seen = threading.Event()
    monitor = CatalogChangeMonitor(library.writer, seen.set)
    _settle(library, monitor)  # the first answer is the baseline
    assert not seen.is_set()

    library.set_rating([photo_id], 3)  # the app's own write (through its writer)
    library.add_tag("mine", [photo_id])
    _settle(library, monitor)
    assert not seen.is_set()

    outside = sqlite3.connect(str(library.paths.catalog_db))  # another process, as far as SQLite knows
    with outside:
        outside.execute("UPDATE photo SET rating = 5 WHERE id = ?", (photo_id,))
    outside.close()
    _settle(library, monitor)
    assert seen.wait(2)

    seen.clear()
    _settle(library, monitor)  # nothing new since: quiet again
    assert not seen.is_set()


def test_polls_never_queue_up_behind_a_busy_writer(library: Any) -> None:
    """While the writer is busy (a scan's batch) a poll asks nothing new: at most one question waits."""
    gate, running = threading.Event(), threading.Event()

    def batch() -> None:
        running.set()
        gate.wait(5)

    busy = library.writer.submit(batch)
    try:
        assert running.wait(5)
        monitor = CatalogChangeMonitor(library.writer, lambda: None)
        for _ in range(50):
            monitor.poll()
        assert library.writer._queue.qsize() == 1
    finally:
        gate.set()
        busy.result(timeout=5)


def test_a_closed_library_is_not_an_error(library: Any) -> None:
    monitor = CatalogChangeMonitor(library.writer, lambda: None)
    library.writer.close()
    monitor.poll()  # no exception: there is nothing left to watch
