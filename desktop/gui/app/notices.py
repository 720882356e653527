"""The app's end of the message bridge, and the hooks that keep an unforeseen exception from being lost.

``GuiMessages`` registers with ``desktop.core.runtime.messages`` and re-emits
each sentence as its ``posted`` signal on the GUI thread, whichever thread
posted it; the main window shows it in its notice bar.

``install_excepthooks()`` sets ``sys.excepthook`` (an exception raised in a Qt
slot or event handler lands there) and ``threading.excepthook`` (one that
ends a thread), so either is logged with its traceback and the person is
shown one sentence that says where the log is, instead of a traceback on a
terminal nobody watches.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import TracebackType

from PySide6.QtCore import QObject, Signal

from desktop.core.runtime import messages


class GuiMessages(QObject):
    """Sentences from any layer and any thread, delivered on the GUI thread as ``posted``."""

    posted = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unregister: Callable[[], None] | None = messages.register(self._from_any_thread)

    def _from_any_thread(self, _level: messages.Level, text: str) -> None:
        # a signal emitted off the GUI thread is queued to it (this object lives there)
        self.posted.emit(text)

    def close(self) -> None:
        """Stop listening (the app is closing; a later message is only logged)."""
        if self._unregister is not None:
            self._unregister()
            self._unregister = None


def install_excepthooks() -> Callable[[], None]:
    """Log and show uncaught exceptions of slots and threads; returns the call that puts the old hooks back."""
    old_hook, old_thread_hook = sys.excepthook, threading.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):  # Ctrl+C in the terminal that started the app
            old_hook(kind, exc, tb)
            return
        messages.error(messages.sentence("An action", exc.with_traceback(tb)), exc)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or issubclass(args.exc_type, SystemExit):
            return
        exc = args.exc_value.with_traceback(args.exc_traceback)
        messages.error(messages.sentence("A background task", exc), exc)  # the log names the thread

    sys.excepthook = hook
    threading.excepthook = thread_hook

    def restore() -> None:
        sys.excepthook = old_hook
        threading.excepthook = old_thread_hook

    return restore


__all__ = ["GuiMessages", "install_excepthooks"]
