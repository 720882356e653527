"""First-run widgets: the empty-library welcome and the "smart search needs a model" banner.

``EmptyState`` takes the grid's place while the library has no folders; it
only asks for a folder (the main window does the adding, and accepts drops
anywhere). ``ModelMissingNotice`` is a dismissable banner shown once when no
smart-search model is available; everything else keeps working meanwhile.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.gui.panels.info_panel import format_bytes
from desktop.gui.widgets.icons import app_icon, icon


class EmptyState(QWidget):
    """The welcome shown while the library is empty: an "Add a folder…" button and a drop hint."""

    add_folder_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        col = QVBoxLayout(self)
        col.addStretch(2)

        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(QSize(128, 128)))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        col.addWidget(logo)

        title = QLabel("Your library is empty")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        title.setFont(font)
        col.addWidget(title)

        # Broken by hand: a word-wrapped label between stretches gets squeezed below its height.
        text = QLabel(
            "Add the folder where you keep your photos.\n"
            "Shoebox catalogues it in the background — your files stay where they are, untouched."
        )
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        col.addWidget(text, 0, Qt.AlignmentFlag.AlignHCenter)

        self.add_button = QPushButton(icon("folder-add"), "Add a folder…")
        self.add_button.setDefault(True)
        self.add_button.setMinimumHeight(36)
        self.add_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.add_button.clicked.connect(lambda: self.add_folder_requested.emit())
        col.addSpacing(8)
        col.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignHCenter)

        hint = QLabel("or drop a folder anywhere in this window")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setEnabled(False)  # the palette's disabled text colour: a quiet hint
        col.addWidget(hint)
        self.hint = hint
        col.addStretch(3)


class ModelMissingNotice(QFrame):
    """A banner: smart search needs a model, its download size, Download / Choose file… and a close ×."""

    download_requested = Signal()
    choose_file_requested = Signal()
    dismissed = Signal()

    def __init__(
        self,
        model_name: str = "",
        download_bytes: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("modelMissingNotice")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setStyleSheet(
            "QFrame#modelMissingNotice { background: #fff7e0; border: 1px solid #e8c766; border-radius: 6px; }"
            "QFrame#modelMissingNotice QLabel { color: #4a3b00; background: transparent; }"
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 6, 6)
        badge = QLabel()
        badge.setPixmap(icon("info").pixmap(QSize(20, 20)))
        row.addWidget(badge)
        self.text = QLabel()
        self.text.setWordWrap(True)
        row.addWidget(self.text, 1)
        self.download_button = QPushButton(icon("download"), "Download")
        self.download_button.clicked.connect(lambda: self.download_requested.emit())
        row.addWidget(self.download_button)
        self.choose_button = QPushButton("Choose file…")
        self.choose_button.setToolTip("Use a CLIP weights file you already have")
        self.choose_button.clicked.connect(lambda: self.choose_file_requested.emit())
        row.addWidget(self.choose_button)
        close = QToolButton()
        close.setAutoRaise(True)
        close.setIcon(icon("close"))
        close.setToolTip("Dismiss (Settings → Smart search has the same choices)")
        close.setAccessibleName("Dismiss")
        close.clicked.connect(self.dismiss)
        row.addWidget(close)
        self.close_button = close
        self.set_model(model_name, download_bytes)

    def set_model(self, model_name: str, download_bytes: int | None) -> None:
        """Say which model a download would fetch and how big it is."""
        size = format_bytes(download_bytes) if download_bytes else None
        what = f"the {model_name} model" if model_name else "a model"
        if size:
            what += f" ({size} download)"
        self.text.setText(
            f"<b>Smart search needs {what}.</b> Everything else works without it; "
            "searching by words and finding similar photos start once it is here."
        )
        self.download_button.setText(f"Download {size}" if size else "Download")
        self.download_button.show()

    def set_problem(self, message: str) -> None:
        """The model is on disk but would not load: show why, and offer another file, not a download."""
        self.text.setText(f"<b>Smart search is off.</b> {html.escape(message)}")
        self.download_button.hide()

    def dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()


__all__ = ["EmptyState", "ModelMissingNotice"]
