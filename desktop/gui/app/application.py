"""The composition root of the desktop app: one of everything, created and shut down in order.

``AppContext`` owns the ``Library``, the one ``JobRunner`` (all long work),
the ``ThumbnailLoader`` (its own small pool, so thumbnails never queue behind
a scan), the ``LibraryWatcher`` and the smart-search service when one can be
made. Widgets receive the context and never construct these themselves.
It also polls the core ``CatalogChangeMonitor`` from a timer, so what another
process (the command line) commits shows in the open window: ``catalog_changed``.

It also owns the ``TaskQueue``: while the app is open, it is the worker that runs
queued processing tasks (the app's exports and ``process --async``).

Shutdown runs in the reverse order of need: stop the watcher (no new writes),
cancel and drain the jobs (a running task stops between items and waits in the queue), drain the thumbnail pool, save the search index,
then close the library (its writer thread last).

``run_gui(argv)`` is what ``python main.py`` calls. ``--startup-benchmark``
prints the time from process start to the first painted grid and exits, for
``bench/``.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import PySide6
from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop.core.catalog import backups
from desktop.core.catalog.changes import CatalogChangeMonitor
from desktop.core.library import Library
from desktop.core.processing import render_pool
from desktop.core.runtime.errors import ShoeboxError
from desktop.core.runtime.jobs import Cancelled, JobControl
from desktop.core.runtime.logs import setup_logging
from desktop.core.runtime.paths import Paths, resolve_paths
from desktop.gui.app.jobs import Job, JobRunner
from desktop.gui.app.notices import GuiMessages, install_excepthooks
from desktop.gui.app.sidecar_writes import SidecarWrites
from desktop.gui.app.task_queue import TaskQueue
from desktop.gui.grid.thumbnail_loader import ThumbnailLoader
from desktop.gui.widgets.icons import app_icon

if TYPE_CHECKING:  # the watcher module imports watchdog: loaded when the watcher starts
    from desktop.core.ingest.watcher import FolderWatcher
    from desktop.core.semantic.service import SmartSearch

log = logging.getLogger(__name__)


def check_pyside_refcounts() -> None:
    """Refuse to run on a PySide6 build that leaks references to ``None``.

    PySide6 6.12.0 on Python 3.11 drops one reference to ``None`` per call of
    any void method (``update()``, ``QPainter.drawImage`` ...); ``None`` starts
    with a few thousand, so the app would abort with "deallocating None" after
    seconds of scrolling. pyproject pins PySide6 below 6.12; this catches an
    environment that installed the broken build anyway, before any harm.
    """
    if sys.version_info >= (3, 12):
        return  # None is immortal there
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(8):
        probe.setObjectName("probe")
    if sys.getrefcount(None) < before:
        raise RuntimeError(
            f"PySide6 {PySide6.__version__} has a reference-counting bug on Python "
            f"{sys.version_info.major}.{sys.version_info.minor} that crashes the app. "
            "Install a supported version with: pip install 'PySide6>=6.7,<6.12' (make run does this)."
        )


_IMPORTED_AT = time.perf_counter()


def process_age_ms() -> float:
    """Milliseconds since this process started (Linux: from /proc; elsewhere: since this module loaded)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return (uptime - start_ticks / os.sysconf("SC_CLK_TCK")) * 1000
    except (OSError, ValueError, IndexError):
        return (time.perf_counter() - _IMPORTED_AT) * 1000


SEARCH_CHECKING, SEARCH_READY, SEARCH_UNAVAILABLE = "checking", "ready", "unavailable"


@dataclass
class SearchState:
    """Whether smart search can answer, and if not, why (shown to the person as is)."""

    state: str = SEARCH_CHECKING
    message: str = "Smart search is starting…"
    model_name: str = ""
    download_bytes: int | None = None
    pending: int = 0  # photos not embedded yet
    failed: bool = False  # the model is there but could not be loaded (the message says why)

    @property
    def ready(self) -> bool:
        return self.state == SEARCH_READY


class _WatchBridge(QObject):
    """Carries the watcher's and the change monitor's callbacks to the GUI thread (queued signals)."""

    changed = Signal(object)
    outside = Signal()  # another process committed to the catalog


# How often the app asks whether another process (the command line) changed the catalog: a tag set
# there shows here within about a second. Each question is one PRAGMA on the writer's connection.
CHANGE_POLL_MS = 500
# A long command (``add`` of a big folder) commits every second: refresh at once, then at most this often
OUTSIDE_REFRESH_GAP_MS = 2000


class AppContext(QObject):
    """Everything the windows share; create one per open library."""

    catalog_changed = Signal()  # the watcher (or a job) changed the catalog; debounced
    search_state_changed = Signal()
    started = Signal()  # background services are up (the window checks its folders then)

    def __init__(
        self,
        library: Library,
        *,
        synchronous: bool = False,
        watch: bool = True,
        smart_search: bool = True,
        search_service: SmartSearch | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = JobRunner(max_threads=2, parent=self, synchronous=synchronous)
        # what any layer tells the person (messages.error ...), delivered here on the GUI thread
        self.messages = GuiMessages(self)
        self.thumbnails = ThumbnailLoader(library.thumbnails, max_threads=2, parent=self)
        # the XMP sidecars of edited photos, written off the GUI thread after the edits settle
        self.sidecar_writes = SidecarWrites(library, self.runner, parent=self)
        # the processing queue (exports from the app and `process --async`), run here while the app is open
        self.task_queue = TaskQueue(library, self.runner, parent=self)
        self.settings = QSettings(str(library.paths.data / "gui.ini"), QSettings.Format.IniFormat, self)
        self.search: SmartSearch | None = search_service
        self.search_state = SearchState()
        self._smart_search = smart_search
        self._embed_job: Job | None = None
        if search_service is not None:
            self.search_state = SearchState(SEARCH_READY, "")
        elif not smart_search:
            self.search_state = SearchState(
                SEARCH_UNAVAILABLE, "Smart search needs a model: it is turned off."
            )
        self.watcher: FolderWatcher | None = None
        self._watch = watch
        self._bridge = _WatchBridge(self)
        self._bridge.changed.connect(self._on_watch_change)
        self._changed_timer = QTimer(self)
        self._changed_timer.setSingleShot(True)
        self._changed_timer.setInterval(600)  # a burst of dropped files refreshes the grid once
        self._changed_timer.timeout.connect(self.catalog_changed)
        self._bridge.outside.connect(self._on_outside_change)
        self._monitor = CatalogChangeMonitor(library.writer, self._bridge.outside.emit)
        self._poll_timer = QTimer(self)
        self._poll_timer.setInterval(CHANGE_POLL_MS)
        self._poll_timer.timeout.connect(self._monitor.poll)
        self._outside_gap = QTimer(self)
        self._outside_gap.setSingleShot(True)
        self._outside_gap.setInterval(OUTSIDE_REFRESH_GAP_MS)
        self._outside_gap.timeout.connect(self._outside_gap_over)
        self._outside_pending = False
        self._watched_roots: list[tuple[int, str, bool]] = []
        self._closed = False

    # ---------------------------------------------------------------- start
    def start(self) -> None:
        """Start background services (after the window is shown, so start-up paints first)."""
        _preload_background_modules()
        # what exists now (Qt bindings, the catalog layer) lives until exit: keep it out of collections
        gc.freeze()
        self.start_watcher()
        self.start_change_monitor()
        if self.search is None and self._smart_search:
            self.check_search()
        self.start_daily_backup()
        self.sidecar_writes.drain()  # what a crash or a read-only folder left pending last time
        self.task_queue.start()  # and the tasks a crash (or the last quit) left unfinished
        self.started.emit()

    def start_daily_backup(self) -> None:
        """The catalog's daily backup (if none was made today), as a background job off the GUI thread."""
        self.runner.submit(
            "Catalog backup",
            lambda _control: backups.daily_backup(self.library.paths),
            on_error=lambda msg: log.warning("the daily catalog backup failed: %s", msg),
            track=False,
            interactive=False,
        )

    @property
    def watching(self) -> bool:
        return self._watch

    def start_watcher(self) -> None:
        if not self._watch or self._closed:
            return
        self._watched_roots = self._roots_key()
        try:
            # watchdog and the scanner are imported by preload_modules off the GUI thread (GIL)
            from desktop.core.ingest.watcher import LibraryWatcher

            if self.watcher is None:
                self.watcher = LibraryWatcher(self.library, on_change=self._bridge.changed.emit)
                self.watcher.start()
            else:
                self.watcher.restart()
        except Exception:  # e.g. inotify watch limit reached: the app works, only live updates stop
            log.exception("the folder watcher could not start")

    def restart_watcher(self) -> None:
        self.start_watcher()

    def _on_watch_change(self, _report: object) -> None:
        self._changed_timer.start()

    # ------------------------------------------------- changes from outside
    def start_change_monitor(self) -> None:
        """Notice what another process (the command line) commits, so the window can show it."""
        if self._closed:
            return
        self._monitor.poll()  # the first answer is the baseline
        self._poll_timer.start()

    def _on_outside_change(self) -> None:
        """Another process changed the catalog: watch any folder it added, then refresh (throttled)."""
        if self._closed:
            return
        if self._watch and self._roots_key() != self._watched_roots:
            self.restart_watcher()
        if self._outside_gap.isActive():
            self._outside_pending = True  # refreshed moments ago: once more when the gap is over
            return
        self._outside_gap.start()
        self.catalog_changed.emit()

    def _outside_gap_over(self) -> None:
        if self._outside_pending and not self._closed:
            self._outside_pending = False
            self._outside_gap.start()
            self.catalog_changed.emit()

    def _roots_key(self) -> list[tuple[int, str, bool]]:
        return [(r.id, r.path, r.watched) for r in self.library.reads.root_entries()]

    # ---------------------------------------------------------- smart search
    def check_search(self) -> None:
        """Find out off the GUI thread whether a model is there; load it and its index if so."""
        self.search_state = SearchState()
        self.search_state_changed.emit()

        def _load(control: JobControl) -> tuple[Any, SearchState]:
            with long_lived_allocations():
                return _load_search(self.library, control)

        self.runner.submit(
            "Loading the smart search model",
            _load,
            on_result=self._on_search_loaded,
            # the runner's sentence: "Loading the smart search model failed (…); the details are in …"
            on_error=self._set_search_unavailable,
            track=False,
        )

    def _on_search_loaded(self, result: tuple[Any, SearchState]) -> None:
        service, state = result
        old, self.search = self.search, service
        if self._closed:
            _close_service(service)
            return
        self.search_state = state
        self.search_state_changed.emit()
        if old is not None and old is not service:
            self._retire(old)
        if state.ready and state.pending:
            self.start_embedding()

    def _set_search_unavailable(self, message: str) -> None:
        old, self.search = self.search, None
        if old is not None:
            self._retire(old)
        self.search_state = SearchState(SEARCH_UNAVAILABLE, message)
        self.search_state_changed.emit()

    def _retire(self, service: Any) -> None:
        """Close a search service the app replaced (another model or device), off the GUI thread.

        An embedding job still using its model process is cancelled first, and
        embedding starts again with the new service once that job has stopped.
        """
        job = self._embed_job
        if job is not None and job.active and getattr(job, "service", None) is service:
            job.finished.connect(lambda: self._close_later(service))
            job.finished.connect(self.start_embedding)
            job.cancel()
            return
        self._close_later(service)

    def _close_later(self, service: Any) -> None:
        if self._closed:
            _close_service(service)
            return
        self.runner.submit(
            "Stop the previous model",
            lambda _c: _close_service(service),
            track=False,
        )

    def start_embedding(self) -> Job | None:
        """Embed photos that have no vector yet (after a scan, an import, a model switch)."""
        if self._closed or not self.search_state.ready or self.search is None:
            return None
        if self._embed_job is not None and self._embed_job.active:
            return self._embed_job

        service = self.search

        def _embed(control: JobControl) -> Any:
            from desktop.core.semantic.search import index_library

            # the model runs in its own process: the GUI thread never waits for it (GIL, CPU)
            in_process = getattr(service, "uses_model_process", False)
            encoder_for = service.model_process if in_process else None
            return index_library(self.library, control=control, encoder_for=encoder_for)

        def _done(_result: object) -> None:
            self.search_state.pending = 0
            self.search_state_changed.emit()

        self._embed_job = self.runner.submit("Understanding photos", _embed, on_result=_done)
        self._embed_job.service = service  # type: ignore[attr-defined]  # which model process it uses
        return self._embed_job

    # -------------------------------------------------------------- shutdown
    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.messages.close()
        self.sidecar_writes.stop()  # what is still pending stays in the catalog for the next start
        self.task_queue.stop()  # the running task stops between items below; the next start resumes it
        self._changed_timer.stop()
        self._poll_timer.stop()
        self._outside_gap.stop()
        if self.watcher is not None:
            try:
                self.watcher.stop()
            except Exception:
                log.exception("stopping the watcher failed")
        self.runner.shutdown()
        self.task_queue.release()  # after the runner: no task runs any more
        render_pool.shutdown()  # the export children (made on first use; a later export makes new ones)
        self.thumbnails.shutdown()
        if self.search is not None:
            _close_service(self.search)
        self.settings.sync()


def _preload_background_modules() -> None:
    """Import now, while the window is idle, what scans and the model process need.

    An import holds the GIL from start to end; done by a background job the
    first time a folder is dropped, the imports of the scanner,
    multiprocessing and watchdog froze the window that was scrolling for
    30-60 ms (the job's low priority made the GUI thread wait longer still).
    """
    import concurrent.futures.process  # noqa: F401
    import subprocess  # noqa: F401

    import desktop.core.ingest.scanner  # noqa: F401
    import desktop.core.ingest.watcher  # noqa: F401
    import desktop.core.semantic.model_process  # noqa: F401


def _close_service(service: Any) -> None:
    """Save a search service's index and stop its model process."""
    if hasattr(service, "close"):
        try:
            service.close()
        except Exception:
            log.exception("closing the search service failed")


@contextlib.contextmanager
def long_lived_allocations() -> Iterator[None]:
    """Collector off while loading what lives until exit (torch, the model, the index), then frozen.

    Importing torch and loading a model makes a few million objects; with the
    collector on, each full collection walked all of them on whichever thread
    was allocating (the GUI thread, often) and froze the window for
    200-300 ms. Frozen objects are never walked again.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def _load_search(library: Library, control: JobControl) -> tuple[Any, SearchState]:
    """Is a smart-search model on disk? If so start its model process (seconds) and load the index."""
    # imported here, on the job's thread: numpy, hnswlib and the model manifest are slow to import and
    # an import holds the GIL, which froze the window at start when done on the GUI thread
    try:
        from desktop.core.semantic import search as search_mod
        from desktop.core.semantic.clip_models import load_manifest, model_status
    except ImportError as exc:  # a broken install of the engine: everything else still works
        return None, SearchState(
            SEARCH_UNAVAILABLE, f"Smart search needs a model: the engine is unavailable ({exc})."
        )
    # the model lives in a process of its own: this one never imports torch (imports hold the GIL)
    service = search_mod.SearchService(library, allow_download=False, model_process=True)
    spec = service.spec()
    entry = load_manifest().get(spec.name or f"{spec.arch}/{spec.pretrained}")
    size = entry.download_mb * 1_000_000 if entry is not None else None
    status = model_status(spec, library.paths.models)
    if not status.get("downloaded"):
        what = f"{spec.label()}" + (f" ({entry.download_mb} MB download)" if entry is not None else "")
        return None, SearchState(
            SEARCH_UNAVAILABLE,
            f"Smart search needs a model: {what} is not downloaded yet. Download it or choose a weights file "
            "in Settings → Smart search. Searching by tags, dates, cameras and file names works meanwhile.",
            model_name=spec.label(),
            download_bytes=size,
        )
    control.checkpoint()
    try:
        service.model_process(spec, control)  # starts it and loads the model there (cancellable)
        service.index()  # reconciles the index with the catalog
        from desktop.core.semantic.embedder import pending_count

        # what the background job embeds: the active model (after a switch, not the serving one)
        pending = pending_count(search_mod.active_spec(library).model_id)
    except Cancelled:
        service.close()  # the app is closing
        raise
    except Exception as exc:  # a broken or mismatched weights file: say so, keep the app
        service.close()
        return None, SearchState(
            SEARCH_UNAVAILABLE,
            f"Smart search needs a model: {spec.label()} could not be loaded ({exc}). "
            "Choose another model or weights file in Settings → Smart search.",
            model_name=spec.label(),
            download_bytes=size,
            failed=True,
        )
    return service, SearchState(SEARCH_READY, "", model_name=spec.label(), pending=pending)


def build_main_window(
    library: Library,
    *,
    synchronous: bool = False,
    watch: bool = True,
    smart_search: bool = True,
    search_service: SmartSearch | None = None,
) -> tuple[AppContext, Any]:
    """A context and a main window for ``library`` (tests and the benchmark; not shown yet).

    ``window.grid.first_paint`` fires when the first cells are painted.
    """
    # main_window imports this module (AppContext), so the window's module is imported when one is built
    from desktop.gui.main.main_window import MainWindow

    ctx = AppContext(
        library,
        synchronous=synchronous,
        watch=watch,
        smart_search=smart_search,
        search_service=search_service,
    )
    window = MainWindow(ctx)
    return ctx, window


def startup_error_text(exc: BaseException, paths: Paths, log_file: Path | None) -> str:
    """What the dialog says when the library cannot be opened: what happened and what to do."""
    if isinstance(exc, ShoeboxError | RuntimeError):
        return str(exc)  # already a sentence with the path and what to do
    where = f" The details are in {log_file}." if log_file is not None else ""
    return (
        f"Shoebox could not open its library in {paths.data} ({type(exc).__name__}: {exc}). "
        f"Point SHOEBOX_HOME at another folder to start there, or move that folder aside.{where}"
    )


def show_startup_error(text: str) -> None:
    """A dialog (the app has no window yet), and the same sentence on stderr for a terminal."""
    print(f"shoebox: {text}", file=sys.stderr)
    QMessageBox.critical(None, "Shoebox", text)


def run_gui(argv: list[str]) -> int:
    """Open the app on the library of ``$SHOEBOX_HOME`` (or the platform default)."""
    bench = "--startup-benchmark" in argv
    argv = [a for a in argv if a != "--startup-benchmark"]
    paths = resolve_paths()
    log_file = setup_logging(paths, os.environ.get("SHOEBOX_LOG", "WARNING"))
    try:
        check_pyside_refcounts()
    except RuntimeError as exc:
        print(f"shoebox: {exc}", file=sys.stderr)
        return 1
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([sys.argv[0], *argv])
    app.setApplicationName("Shoebox")
    app.setApplicationDisplayName("Shoebox")
    app.setOrganizationName("Shoebox")
    app.setDesktopFileName("shoebox")
    icon = app_icon()
    if icon is not None:
        app.setWindowIcon(icon)
    try:
        library = Library(paths, source="app")  # the undo history tells the app's edits from the CLI's
    except Exception as exc:  # a bad data folder or catalog: a dialog that says so, not a silent exit
        log.info("the library could not be opened", exc_info=True)  # the traceback, for the log file
        show_startup_error(startup_error_text(exc, paths, log_file))
        return 1
    ctx, window = build_main_window(library)
    restore_hooks = install_excepthooks()
    if bench:
        _attach_startup_benchmark(window, app.quit)
    window.show()
    # background services (their imports, the model process, the folder check) start once the grid
    # has painted its first cells, so opening never waits for them; an empty library paints none
    start = _once(ctx.start)
    window.grid.first_paint.connect(start, Qt.ConnectionType.QueuedConnection)
    QTimer.singleShot(STARTUP_FALLBACK_MS, start)
    try:
        code = app.exec()
    finally:
        ctx.shutdown()
        library.close()
        restore_hooks()
    return int(code)


STARTUP_FALLBACK_MS = 1500


def _once(fn: Callable[[], None]) -> Callable[[], None]:
    done = False

    def call() -> None:
        nonlocal done
        if not done:
            done = True
            fn()

    return call


def _attach_startup_benchmark(window: Any, quit_: Callable[[], None]) -> None:
    def _painted() -> None:
        print(
            f'{{"first_paint_ms": {process_age_ms():.0f}, "rows": {window.model.rowCount()}, '
            f'"photos": {window.model.total_count()}}}',
            flush=True,
        )
        QTimer.singleShot(0, quit_)

    window.grid.first_paint.connect(_painted, Qt.ConnectionType.QueuedConnection)
    # an empty library paints no cells: report the window's first show instead. (Not "no rows yet":
    # pages are read off the GUI thread, so at the first show a full library has none either.)
    QTimer.singleShot(0, lambda: None if window.library.count() else _painted())


__all__ = [
    "AppContext",
    "SearchState",
    "build_main_window",
    "run_gui",
    "show_startup_error",
    "startup_error_text",
]
