"""The log file: where tracebacks go, so that people see one sentence and a developer sees the rest.

``setup_logging(paths)`` is called once at start-up by both the command line
and the desktop app. It keeps the console as quiet as before (warnings, or
what ``-v`` / ``SHOEBOX_LOG`` ask for) and adds a small rotating file,
``Paths.log_file``, that also takes INFO records and the tracebacks behind
user-facing errors. When the log folder cannot be made or written (a
read-only disk, ``SHOEBOX_HOME`` pointing at a file) Shoebox runs without a
log file: a broken log must never be the reason the app does not start.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
from pathlib import Path

from desktop.core.runtime.paths import Paths

MAX_BYTES = 1_000_000
BACKUPS = 3
FILE_LEVEL = logging.INFO
CONSOLE_FORMAT = "%(levelname)s %(name)s: %(message)s"
FILE_FORMAT = "%(asctime)s %(process)d %(threadName)s %(levelname)s %(name)s: %(message)s"
# set on a log record (``extra={SHOWN: True}``) whose sentence a front end has shown already
SHOWN = "shoebox_shown"


class _LogFile(logging.handlers.RotatingFileHandler):
    """A rotating file that drops a record it cannot write.

    The default prints "--- Logging error ---" and a traceback to stderr for
    every record, which on a full disk buries the one sentence that says so.
    """

    def handleError(self, record: logging.LogRecord) -> None:
        return

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # at exit too: a full or yanked disk
            super().flush()


class _Console(logging.StreamHandler):  # type: ignore[type-arg]
    """stderr, as ``logging.basicConfig`` would have set it up (told apart from other handlers).

    A record the message bridge already showed the person (the command line
    printed its sentence) is left out here, so stderr says it once.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, SHOWN, False):
            return False
        return bool(super().filter(record))


def _level(level: int | str) -> int:
    if isinstance(level, int):
        return level
    value = logging.getLevelName(level.strip().upper())
    return value if isinstance(value, int) else logging.WARNING


def setup_logging(paths: Paths | None, console_level: int | str = logging.WARNING) -> Path | None:
    """Log to stderr at ``console_level`` and to the rotating log file; return the file (None without one).

    Safe to call again (the command line runs once per process, tests run it
    many times in one): the previous file handler is replaced, not doubled.
    """
    root = logging.getLogger()
    console = _level(console_level)
    ours = [h for h in root.handlers if isinstance(h, _Console)]
    if ours:
        ours[0].setLevel(console)
    elif not root.handlers:  # pytest and embedding programs bring their own handlers: keep them
        handler = _Console()
        handler.setLevel(console)
        handler.setFormatter(logging.Formatter(CONSOLE_FORMAT))
        root.addHandler(handler)
    close_log_file()
    file_handler = _open_log_file(paths) if paths is not None else None
    if file_handler is not None:
        root.addHandler(file_handler)
    root.setLevel(min(console, FILE_LEVEL) if file_handler is not None else console)
    return Path(file_handler.baseFilename) if file_handler is not None else None


def log_file() -> Path | None:
    """The log file records go to now (None before ``setup_logging`` or without one)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, _LogFile):
            return Path(handler.baseFilename)
    return None


def close_log_file() -> None:
    """Stop writing the log file (tests that set one up in a temporary folder)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _LogFile)]:
        root.removeHandler(old)
        old.close()


def _open_log_file(paths: Paths) -> _LogFile | None:
    try:
        paths.logs.mkdir(parents=True, exist_ok=True)
        handler = _LogFile(paths.log_file, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    except OSError:
        return None
    handler.setLevel(FILE_LEVEL)
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    return handler


__all__ = ["SHOWN", "close_log_file", "log_file", "setup_logging"]
