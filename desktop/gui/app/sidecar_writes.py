"""Writing XMP sidecars from the app: debounced after the last edit, run by the ``JobRunner``.

Each edit marks its photos pending in the catalog (``catalog.sidecar_queue``),
which tells this object from the writer thread; 1.5 s after the last such
mark one background job drains the queue (``Library.write_sidecars``). The
GUI thread never waits for it: a drain that is running when more edits come
is followed by another. What could not be written stays pending and is tried
again at the next drain and at the next start; the person is told through
the message bridge (the notice bar), once per drain.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.core.catalog import sidecar_queue
from desktop.core.library import Library
from desktop.gui.app.jobs import JobRunner

log = logging.getLogger(__name__)

DEBOUNCE_MS = 1500


class SidecarWrites(QObject):
    marked = Signal()  # emitted on the writer thread, delivered on the GUI thread (queued)
    drained = Signal(object)  # the DrainReport of each finished drain

    def __init__(
        self,
        library: Library,
        runner: JobRunner,
        debounce_ms: int = DEBOUNCE_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._library = library
        self._runner = runner
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self.drain)
        self.marked.connect(self._restart)
        self._stopped = False
        self._running = False
        self._again = False
        self._stop = sidecar_queue.on_marked(self.marked.emit)

    def _restart(self) -> None:
        if not self._stopped:  # a mark queued before the app began to close
            self._timer.start()

    def drain(self) -> None:
        """Start a drain now (the timer's end, and once at start for what the last session left)."""
        if self._stopped:
            return
        if self._running:
            self._again = True
            return
        self._running = True
        self._runner.submit(
            "Writing sidecars",
            lambda control: self._library.write_sidecars(control=control),
            on_result=self._done,
            on_error=self._failed,
            track=False,
            interactive=False,
        )

    def _done(self, report: object) -> None:
        self._running = False
        self.drained.emit(report)
        if self._again:
            self._again = False
            self.drain()

    def _failed(self, message: str) -> None:
        self._running = False
        log.warning("writing sidecars failed: %s", message)

    def stop(self) -> None:
        """No drain from now on (the app is closing); what is pending stays in the catalog."""
        self._stopped = True
        self._stop()
        self._timer.stop()
