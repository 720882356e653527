"""Undo and redo in the app: the Edit menu's two actions and the status bar's *Undo* notice.

The history lives in the catalog (``desktop.core.catalog.history``, read through
``Library.reads.undo_state``) and is shared with the command line, so the
actions' texts and enabled states are read from the catalog, not kept here: after the app's own edits, when the Edit menu is about
to open, and when the catalog changed under the app (``refresh``). Undo and
redo run on the job runner, because putting a thousand photos back from the
trash is file work; ``replayed`` fires on the GUI thread once the catalog has
the result, and the window reloads what it shows.

A change of more than ``BULK`` photos at once (Ctrl+A then ``2``) is easy to
make by accident, so it is announced in the status bar with an *Undo* button.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from desktop.core.catalog.history import Action
from desktop.core.catalog.reads import UndoState
from desktop.core.library import Library, UndoResult
from desktop.gui.app.jobs import JobRunner

log = logging.getLogger(__name__)

BULK = 100  # changing more photos than this at once shows the Undo notice
NOTICE_MS = 12_000  # how long a notice stays in the status bar


def describe(action: Action, own_source: str = "app") -> str:
    """An action as the menu names it; one made elsewhere (the command line) says so."""
    if action.source == own_source:
        return action.label
    return action.label + (" (from the command line)" if action.source == "cli" else " (from the app)")


def replay_text(verb: str, result: UndoResult) -> str:
    """``Undid: Rated 5 photos 2 stars``, then what could not be put back."""
    text = f"{verb}: {result.action.label}"
    if result.notes:
        shown = result.notes[:2]
        more = len(result.notes) - len(shown)
        text += ". " + "; ".join(shown) + (f" (and {more:,} more)" if more else "") + "."
    return text


class EditNotice(QFrame):
    """A short-lived message in the status bar, with an optional button (*Undo*)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("editNotice")
        # set apart from the task text beside it in the status bar
        self.setStyleSheet(
            "QFrame#editNotice { background: palette(alternate-base); border: 1px solid palette(mid);"
            " border-radius: 4px; }"
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 1, 2, 1)
        row.setSpacing(6)
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        row.addWidget(self.label)
        self.button = QPushButton(self)
        self.button.setFlat(False)
        self.button.hide()
        row.addWidget(self.button)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        row.addWidget(close)
        self._action: Callable[[], None] | None = None
        self.button.clicked.connect(self._clicked)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_message(
        self, text: str, button: tuple[str, Callable[[], None]] | None = None, msecs: int = NOTICE_MS
    ) -> None:
        self.label.setText(text)
        self.label.setToolTip(text)
        self._action = button[1] if button is not None else None
        if button is not None:
            self.button.setText(button[0])
        self.button.setVisible(button is not None)
        self.show()
        self._timer.start(msecs)

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def _clicked(self) -> None:
        action, self._action = self._action, None
        self.hide()
        if action is not None:
            action()


class EditHistory(QObject):
    """The Undo/Redo actions of one window over the catalog's shared history."""

    replayed = Signal(object)  # UndoResult, after an undo or redo changed the catalog
    failed = Signal(str)  # a user-facing message

    def __init__(self, library: Library, runner: JobRunner, parent: QWidget) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        self.state = UndoState()
        self.notice = EditNotice(parent)
        self.undo_action = QAction("Undo", parent)
        self.undo_action.setShortcuts(_keys(QKeySequence.StandardKey.Undo, "Ctrl+Z"))
        self.undo_action.triggered.connect(self.undo)
        self.redo_action = QAction("Redo", parent)
        # Ctrl+Shift+Z everywhere; the platform's own too (Ctrl+Y on Windows)
        self.redo_action.setShortcuts(_keys(QKeySequence.StandardKey.Redo, "Ctrl+Shift+Z"))
        self.redo_action.triggered.connect(self.redo)
        self._token = 0
        self._busy = False
        self._apply(UndoState())

    # ------------------------------------------------------------ state
    def refresh(self, on_done: Callable[[UndoState], None] | None = None) -> None:
        """Re-read what Undo and Redo would do (off the GUI thread); the newest answer wins."""
        self._token += 1
        token = self._token

        def _done(state: UndoState) -> None:
            if token == self._token:
                self._apply(state)
            if on_done is not None:
                on_done(state)

        reads = self.library.reads
        self.runner.submit(
            "Read undo history",
            lambda _c: reads.undo_state(),
            on_result=_done,
            on_error=lambda m: log.warning("reading the undo history failed: %s", m),
            track=False,
            owner=self,
        )

    def _apply(self, state: UndoState) -> None:
        self.state = state
        for action, verb, target in (
            (self.undo_action, "Undo", state.undo),
            (self.redo_action, "Redo", state.redo),
        ):
            text = f"{verb} {describe(target, self.library.source)}" if target is not None else verb
            action.setText(text)
            action.setEnabled(target is not None and not self._busy)

    def after_edit(self, ids: list[int], offer: bool = False) -> None:
        """The app just changed ``ids``: update the menu; a change of many photos (or any removal,
        ``offer``) shows what happened with an *Undo* button."""
        if len(ids) <= BULK and not offer:
            self.refresh()
            return

        def _offer(state: UndoState) -> None:
            if state.undo is not None:
                self.notice.show_message(state.undo.label, ("Undo", self.undo))

        self.refresh(on_done=_offer)

    # ------------------------------------------------------------ undo / redo
    def undo(self) -> None:
        self._replay(undo=True)

    def redo(self) -> None:
        self._replay(undo=False)

    def _replay(self, undo: bool) -> None:
        if self._busy:
            return  # one at a time: a second Ctrl+Z must not race the first
        self._busy = True
        self._apply(self.state)
        verb = "Undid" if undo else "Redid"

        def _done(result: UndoResult | None) -> None:
            self._busy = False
            if result is None:
                self.notice.show_message(f"Nothing to {'undo' if undo else 'redo'}.")
            else:
                self.notice.show_message(
                    replay_text(verb, result),
                    None if result.notes else (("Redo", self.redo) if undo else ("Undo", self.undo)),
                    msecs=NOTICE_MS * 2 if result.notes else NOTICE_MS,
                )
                self.replayed.emit(result)
            self.refresh()

        def _failed(message: str) -> None:
            self._busy = False
            self.refresh()
            self.failed.emit(message)  # the runner's sentence already says that Undo (or Redo) failed

        self.runner.submit(
            "Undo" if undo else "Redo",
            lambda _c: self.library.undo() if undo else self.library.redo(),
            on_result=_done,
            on_error=_failed,
            track=False,
            owner=self,
            cancel_with_owner=False,  # an undo the person asked for completes even if the window closes
        )


def _keys(standard: QKeySequence.StandardKey, extra: str) -> list[QKeySequence]:
    keys = list(QKeySequence.keyBindings(standard))
    wanted = QKeySequence(extra)
    if all(k != wanted for k in keys):
        keys.append(wanted)
    return keys


__all__ = ["BULK", "EditHistory", "EditNotice", "UndoState", "replay_text"]
