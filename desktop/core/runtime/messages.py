"""The message bridge: how any layer tells the person something, in one sentence.

``error(text, exc=None)``, ``warning(text)`` and ``info(text)`` may be called
from any module and any thread (qutebrowser's ``message.error`` pattern).
Each logs the sentence (with the traceback when given an exception, so the
log file keeps what the person does not need to read) and hands it to the
front end that registered a handler: the app shows it in the main window's
notice bar, the command line prints it to stderr. With no handler it is only
logged (a console log handler still prints warnings and errors).

``unexpected(what, exc)`` words the sentence for a bug: what failed, the
error in brief, and where the log file with the details is.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from enum import Enum

from desktop.core.runtime.errors import ShoeboxError
from desktop.core.runtime.logs import SHOWN, log_file
from desktop.core.runtime.wording import brief

log = logging.getLogger(__name__)


class Level(Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


# called with the level and the sentence, on whatever thread posted it (a GUI handler hops threads itself)
Handler = Callable[[Level, str], None]

_handlers: list[Handler] = []
_lock = threading.Lock()


def register(handler: Handler) -> Callable[[], None]:
    """Send every message to ``handler`` too; returns the call that stops it."""
    with _lock:
        _handlers.append(handler)

    def unregister() -> None:
        with _lock:
            if handler in _handlers:
                _handlers.remove(handler)

    return unregister


def error(text: str, exc: BaseException | None = None) -> None:
    _post(Level.ERROR, logging.ERROR, text, exc)


def warning(text: str, exc: BaseException | None = None) -> None:
    _post(Level.WARNING, logging.WARNING, text, exc)


def info(text: str) -> None:
    _post(Level.INFO, logging.INFO, text, None)


def unexpected(what: str, exc: BaseException) -> str:
    """The sentence for a failure nobody foresaw: ``what`` failed, why in brief, where the details are."""
    reason = brief(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, limit=200)
    where = log_file()
    details = f"; the details are in {where}" if where is not None else ""
    return f"{what} failed ({reason}){details}."


def sentence(what: str, exc: BaseException) -> str:
    """What to show for ``exc``: a ``ShoeboxError``'s own message, else ``unexpected(what, exc)``."""
    return exc.message if isinstance(exc, ShoeboxError) else unexpected(what, exc)


def _post(level: Level, log_level: int, text: str, exc: BaseException | None) -> None:
    with _lock:
        handlers = list(_handlers)
    # a ShoeboxError's traceback is rarely needed: keep it for the log file (INFO), not the console
    exc_info = exc if exc is not None and not isinstance(exc, ShoeboxError) else None
    log.log(log_level, "%s", text, exc_info=exc_info, extra={SHOWN: bool(handlers)})
    if isinstance(exc, ShoeboxError):
        log.info("the error behind it", exc_info=exc)
    for handler in handlers:
        try:
            handler(level, text)
        except Exception:  # a broken front end must not turn one failure into two
            log.exception("showing a message failed")


__all__ = ["Handler", "Level", "error", "info", "register", "sentence", "unexpected", "warning"]
