"""Settings → Metadata: whether Shoebox writes tags, ratings, labels, titles and descriptions into
XMP sidecars (and into the files), and how sidecars are named.

Below the choices: what waits to be written, the first failure with its reason
and file, and *Write now*, which asks the app's ``SidecarWrites`` (the one owner
of drains) to write at once; turning writing on asks it too, so that changes
made while it was off are written."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.catalog import sidecar_queue as sq
from desktop.core.library import Library
from desktop.core.runtime.wording import changes_of
from desktop.gui.app.jobs import JobRunner
from desktop.gui.app.sidecar_writes import SidecarWrites
from desktop.gui.dialogs.settings_page import SettingsPage

MODES = (
    (sq.WRITE_OFF, "Don't write", "Tags and ratings stay in Shoebox's catalog only."),
    (
        sq.WRITE_SIDECARS,
        "Write sidecars",
        "An .xmp file beside each photo that digiKam, Lightroom and darktable read; photos are untouched.",
    ),
    (
        sq.WRITE_EMBED,
        "Write sidecars and embed in JPEG, TIFF and DNG",
        "Also changes those files themselves; HEIC, CR3 and videos get sidecars only.",
    ),
)
NAMINGS = (
    (
        sq.NAME_EXT_XMP,
        "IMG_1.jpg.xmp",
        "As digiKam, darktable and Immich name them; a RAW and its JPEG get one each.",
    ),
    (sq.NAME_XMP, "IMG_1.xmp", "As Lightroom names them; a RAW and its JPEG share one."),
)
HINT_STYLE = "color: palette(placeholder-text); margin-left: 22px;"
PATH_WIDTH = 360  # pixels of a failed file's path shown (elided in the middle)


class MetadataPage(SettingsPage):
    """Three write modes and two sidecar names, each with a one-line explanation."""

    key = "metadata"

    def __init__(
        self,
        library: Library,
        runner: JobRunner,
        writes: SidecarWrites | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Metadata", library, runner, parent)
        self._writes = writes
        lay = QVBoxLayout(self)
        self.modes = QButtonGroup(self)
        self.mode_buttons: dict[str, QRadioButton] = {}
        for value, text, hint in MODES:
            self.mode_buttons[value] = self._choice(lay, self.modes, text, hint)
        heading = QLabel("Sidecar names")
        heading.setStyleSheet("font-weight: 600; margin-top: 8px;")
        lay.addWidget(heading)
        self.names = QButtonGroup(self)
        self.name_buttons: dict[str, QRadioButton] = {}
        for value, text, hint in NAMINGS:
            self.name_buttons[value] = self._choice(lay, self.names, text, hint)
        row = QHBoxLayout()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.status, 1)
        self.write_now = QPushButton("Write now")
        self.write_now.setToolTip("Write the waiting sidecars now, in the background")
        self.write_now.clicked.connect(self._write_now)
        # without the app's sidecar writer (a dialog built on its own) there is nothing to ask
        self.write_now.setVisible(writes is not None)
        row.addWidget(self.write_now, 0, Qt.AlignmentFlag.AlignTop)
        lay.addLayout(row)
        if writes is not None:
            writes.drained.connect(self.refresh)
        for value, button in self.mode_buttons.items():
            button.toggled.connect(lambda on, v=value: self._chosen(on, sq.SETTING_WRITE, v))
        for value, button in self.name_buttons.items():
            button.toggled.connect(lambda on, v=value: self._chosen(on, sq.SETTING_NAMING, v))

    @staticmethod
    def _choice(lay: QVBoxLayout, group: QButtonGroup, text: str, hint: str) -> QRadioButton:
        button = QRadioButton(text)
        group.addButton(button)
        lay.addWidget(button)
        note = QLabel(hint)
        note.setWordWrap(True)
        note.setStyleSheet(HINT_STYLE)
        lay.addWidget(note)
        return button

    def refresh(self) -> None:
        config = self.library.config()
        for key, buttons in ((sq.SETTING_WRITE, self.mode_buttons), (sq.SETTING_NAMING, self.name_buttons)):
            button = buttons[config[key]]
            button.blockSignals(True)
            button.setChecked(True)
            button.blockSignals(False)
        for button in self.name_buttons.values():
            button.setEnabled(config[sq.SETTING_WRITE] != sq.WRITE_OFF)
        self.status.setText(self._status_text(config[sq.SETTING_WRITE]))
        self.write_now.setEnabled(config[sq.SETTING_WRITE] != sq.WRITE_OFF and sq.count() > 0)

    def _status_text(self, mode: str) -> str:
        pending = sq.count()
        if mode == sq.WRITE_OFF and pending:
            return f"Writing is off; {changes_of(pending)} will be written when it is on."
        if not pending:
            return "All sidecars are up to date."
        text = f"{pending:,} waiting to be written."
        failures = self.library.sidecar_failures()
        if failures:
            first = failures[0]
            path = self.status.fontMetrics().elidedText(
                first["path"], Qt.TextElideMode.ElideMiddle, PATH_WIDTH
            )
            if len(failures) == 1:
                text += f" Could not write: {first['reason']} ({path}); Shoebox tries again."
            else:
                text += f" {len(failures):,} could not be written: {first['reason']} (first: {path}); Shoebox tries again."
        return text

    def _write_now(self) -> None:
        if self._writes is not None:
            self._writes.drain()
            self.write_now.setEnabled(False)  # enabled again by the refresh after the drain

    def _chosen(self, on: bool, key: str, value: str) -> None:
        if on:  # a radio button's toggle off comes with its neighbour's toggle on
            self.set_value(key, value)

    def set_value(self, key: str, value: str) -> None:
        was_off = self.library.config()[sq.SETTING_WRITE] == sq.WRITE_OFF
        self.library.set_config(key, value)
        self.refresh()
        if key == sq.SETTING_WRITE and was_off and value != sq.WRITE_OFF and sq.count():
            self._write_now()  # what changed while writing was off
