"""The search field: debounced search as you type, ``tag:`` completion, sort switch, image drop.

The bar only turns typing into signals; the main window decides what a query
means (smart search when a model is there, filters and file names always).
The query syntax is ``desktop.core.catalog.query``'s, ``similar:ID`` included (what
*Find similar* writes, so the person can refine it with more words and filters).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeyEvent
from PySide6.QtWidgets import QComboBox, QCompleter, QHBoxLayout, QLineEdit, QWidget

from desktop.core.ingest.formats import is_image_file

DEBOUNCE_MS = 250


class _QueryEdit(QLineEdit):
    """A line edit that takes a dropped image (search by image) and completes tag names after ``tag:``."""

    image_dropped = Signal(object)  # Path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.tag_names = QStringListModel(self)
        self.completer_ = QCompleter(self.tag_names, self)
        self.completer_.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer_.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer_.setWidget(self)
        self.completer_.activated.connect(self._insert_completion)
        self.textEdited.connect(self._maybe_complete)

    # --------------------------------------------------------- tag completion
    def _token_bounds(self) -> tuple[int, int, str]:
        text, pos = self.text(), self.cursorPosition()
        start = text.rfind(" ", 0, pos) + 1
        end = text.find(" ", pos)
        return start, (len(text) if end < 0 else end), text[start:pos]

    def _maybe_complete(self, _text: str) -> None:
        _start, _end, token = self._token_bounds()
        if token.lower().startswith("tag:"):
            prefix = token[4:].strip('"')
            self.completer_.setCompletionPrefix(prefix)
            if self.completer_.completionCount() > 0:
                self.completer_.complete()
                return
        popup = self.completer_.popup()
        if popup is not None:  # a completer always has one once it has a widget; the stub allows None
            popup.hide()

    def _insert_completion(self, name: str) -> None:
        start, end, _token = self._token_bounds()
        text = self.text()
        value = f'"{name}"' if " " in name else name
        new = f"{text[:start]}tag:{value} {text[end:].lstrip()}"
        self.setText(new)
        self.setCursorPosition(start + len(f"tag:{value} "))
        self.textEdited.emit(self.text())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        popup = self.completer_.popup()
        if (
            popup is not None
            and popup.isVisible()
            and event.key()
            in (
                Qt.Key.Key_Enter,
                Qt.Key.Key_Return,
                Qt.Key.Key_Escape,
                Qt.Key.Key_Tab,
                Qt.Key.Key_Backtab,
            )
        ):
            event.ignore()  # the completer's popup handles these
            return
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()  # back to the browsed view (debounced like typing), as in every search field
            return
        super().keyPressEvent(event)

    # ------------------------------------------------------------ image drop
    @staticmethod
    def _dropped_image(event: QDragEnterEvent | QDropEvent) -> Path | None:
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile():
                p = Path(url.toLocalFile())
                if is_image_file(p):
                    return p
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_image(event) is not None:
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragEnterEvent) -> None:  # type: ignore[override]
        if self._dropped_image(event) is not None:
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        path = self._dropped_image(event)
        if path is None:
            super().dropEvent(event)
            return
        event.acceptProposedAction()
        self.image_dropped.emit(path)


class SearchBar(QWidget):
    """Search field plus the relevance/date sort switch."""

    search_changed = Signal(str)  # debounced; "" means back to browsing
    image_search_requested = Signal(object)  # Path of an image dropped on the field
    sort_changed = Signal(str)  # "relevance" | "date"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = _QueryEdit(self)
        self.edit.setClearButtonEnabled(True)
        self.edit.setPlaceholderText(
            "Search: words, tag:family, after:2019-06, camera:canon … or drop an image here"
        )
        self.edit.setMinimumWidth(220)
        self.sort = QComboBox(self)
        self.sort.addItem("Best match", "relevance")
        self.sort.addItem("Newest first", "date")
        self.sort.setToolTip("Order search results by relevance or by date taken")
        self.sort.currentIndexChanged.connect(lambda _i: self.sort_changed.emit(self.sort.currentData()))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.sort)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._emit)
        self.edit.textChanged.connect(self._on_text)
        self.edit.returnPressed.connect(self.flush)
        self.edit.image_dropped.connect(self.image_search_requested)
        self._last_emitted = ""

    def text(self) -> str:
        return self.edit.text()

    def sort_mode(self) -> str:
        return str(self.sort.currentData())

    def set_text(self, text: str, emit: bool = True) -> None:
        """Replace the query (e.g. *Find similar*); ``emit`` runs it at once, without the debounce."""
        self.edit.blockSignals(True)
        self.edit.setText(text)
        self.edit.blockSignals(False)
        self._timer.stop()
        if emit:
            self._emit()
        else:
            self._last_emitted = text.strip()

    def set_tag_names(self, names: list[str]) -> None:
        self.edit.tag_names.setStringList(names)

    def focus(self) -> None:
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.edit.selectAll()

    def flush(self) -> None:
        """Run the pending query now (Enter, tests)."""
        self._timer.stop()
        self._emit()

    def _on_text(self, _text: str) -> None:
        self._timer.start()

    def _emit(self) -> None:
        text = self.edit.text().strip()
        if text == self._last_emitted:
            return
        self._last_emitted = text
        self.search_changed.emit(text)


__all__ = ["SearchBar"]
