"""The project's error type: a failure the person can act on, told in one sentence.

``ShoeboxError(message, cause=None)`` is what every layer raises when the
problem is one of the world (a full disk, a folder that cannot be written, a
model not downloaded, a query that does not parse) rather than a bug: its
``message`` is shown as is, by the command line on stderr and by the app in
its notice bar; ``cause`` (also the exception's ``__cause__``) is the
lower-level error behind it, for the log. Any other exception is a bug: the
front ends log its traceback and show a sentence that points to the log file
(``desktop.core.runtime.messages.unexpected``).
"""

from __future__ import annotations


class ShoeboxError(Exception):
    """A user-facing failure: ``message`` says what happened and what to do; ``cause`` is for the log."""

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        if cause is not None:
            self.__cause__ = cause

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else type(self).__name__

    @property
    def cause(self) -> BaseException | None:
        """The error behind this one (``raise ShoeboxError(...) from exc`` sets it too)."""
        return self.__cause__


__all__ = ["ShoeboxError"]
