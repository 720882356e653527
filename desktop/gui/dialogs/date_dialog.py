"""*Photo → Adjust date and time…*: shift the selected photos' dates (a camera left on home time) or set
them, keeping the intervals between them or not. The change itself is the Library's (one undoable step);
this dialog only asks what it should be."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from PySide6.QtCore import QDateTime
from PySide6.QtWidgets import (
    QCheckBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.core.runtime.wording import counted


@dataclass(frozen=True)
class DateChange:
    """What the person asked for: a shift, or a date (the earliest photo's, with ``keep_intervals``)."""

    shift: dt.timedelta | None = None
    when: dt.datetime | None = None
    keep_intervals: bool = True


class AdjustDateDialog(QDialog):
    """Shift by days/hours/minutes, or set to a date and time."""

    def __init__(self, count: int, earliest: dt.datetime | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Adjust date and time")
        col = QVBoxLayout(self)
        col.addWidget(
            QLabel(f"Change the date taken of {counted(count, 'photo')}. Edit → Undo takes it back.", self)
        )

        self.shift_radio = QRadioButton("Shift by", self)
        self.shift_radio.setChecked(True)
        grid = QGridLayout()
        grid.addWidget(self.shift_radio, 0, 0)
        self.days, self.hours, self.minutes = (self._spin(r) for r in (3650, 23, 59))
        for i, (spin, unit) in enumerate(
            ((self.days, "days"), (self.hours, "hours"), (self.minutes, "minutes"))
        ):
            grid.addWidget(spin, 0, 1 + 2 * i)
            grid.addWidget(QLabel(unit, self), 0, 2 + 2 * i)

        self.set_radio = QRadioButton("Set to", self)
        self.when_edit = QDateTimeEdit(self)
        self.when_edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.when_edit.setCalendarPopup(True)
        start = earliest or dt.datetime.now().replace(second=0, microsecond=0)
        self.when_edit.setDateTime(QDateTime(start.year, start.month, start.day, start.hour, start.minute, 0))
        grid.addWidget(self.set_radio, 1, 0)
        grid.addWidget(self.when_edit, 1, 1, 1, 6)
        col.addLayout(grid)
        self.keep_box = QCheckBox("Keep the intervals between the photos (the earliest gets this date)", self)
        self.keep_box.setChecked(True)
        self.keep_box.setEnabled(False)  # it belongs to "Set to", and means nothing for one photo
        self.set_radio.toggled.connect(lambda on: self.keep_box.setEnabled(on and count > 1))
        col.addWidget(self.keep_box)

        for w in (self.days, self.hours, self.minutes):
            w.valueChanged.connect(lambda _v: self.shift_radio.setChecked(True))
        self.when_edit.dateTimeChanged.connect(lambda _v: self.set_radio.setChecked(True))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        col.addWidget(buttons)

    def _spin(self, limit: int) -> QSpinBox:
        spin = QSpinBox(self)
        spin.setRange(-limit, limit)
        return spin

    def change(self) -> DateChange | None:
        """The change the dialog describes; None for a shift of nothing."""
        if self.shift_radio.isChecked():
            delta = dt.timedelta(
                days=self.days.value(), hours=self.hours.value(), minutes=self.minutes.value()
            )
            return DateChange(shift=delta) if delta else None
        q = self.when_edit.dateTime()
        d, t = q.date(), q.time()
        when = dt.datetime(d.year(), d.month(), d.day(), t.hour(), t.minute())
        return DateChange(when=when, keep_intervals=self.keep_box.isChecked() and self.keep_box.isEnabled())


def ask_date_change(parent: QWidget | None, count: int, earliest: dt.datetime | None) -> DateChange | None:
    """Show the dialog; None when cancelled (tests answer it by replacing this function)."""
    dialog = AdjustDateDialog(count, earliest, parent)
    return dialog.change() if dialog.exec() else None


__all__ = ["AdjustDateDialog", "DateChange", "ask_date_change"]
