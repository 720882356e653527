"""Settings → Metadata: whether Shoebox writes tags, ratings, labels, titles and descriptions into
XMP sidecars (and into the files), and how sidecars are named."""

from __future__ import annotations

from PySide6.QtWidgets import QButtonGroup, QLabel, QRadioButton, QVBoxLayout, QWidget

from desktop.core.catalog import sidecar_queue as sq
from desktop.core.library import Library
from desktop.gui.app.jobs import JobRunner
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


class MetadataPage(SettingsPage):
    """Three write modes and two sidecar names, each with a one-line explanation."""

    key = "metadata"

    def __init__(self, library: Library, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__("Metadata", library, runner, parent)
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
        self.status = QLabel()
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
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
        pending, failed = sq.count(), len(sq.failed())
        text = f"{pending} waiting to be written" if pending else "All sidecars are up to date."
        if failed:
            text += f"; {failed} could not be written (Shoebox tries again)"
        self.status.setText(text)

    def _chosen(self, on: bool, key: str, value: str) -> None:
        if on:  # a radio button's toggle off comes with its neighbour's toggle on
            self.set_value(key, value)

    def set_value(self, key: str, value: str) -> None:
        self.library.set_config(key, value)
        self.refresh()
