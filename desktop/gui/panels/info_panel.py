"""The info panel: metadata, tags, rating and colour label of the selected photos.

One photo shows its full record (date with its source, camera, lens,
exposure, size, format, place, path); several show a summary and what they
have in common. Tags, rating and colour label are editable and apply to the
whole selection; every edit goes through the ``Library`` (and so through its
single writer) and then ``user_data_changed`` tells the grid to repaint.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QRect, QSize, QStringListModel, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QIcon,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QCompleter,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
    QLineEdit,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetItem,
)

from desktop.core.catalog.reads import REJECTED, STATUS_ERROR, STATUS_MISSING
from desktop.core.library import COLOR_LABELS, Library, LibraryError
from desktop.core.processing import lineage
from desktop.core.runtime.wording import (
    counted,
    format_bytes,
    format_exposure,
    format_exposure_time,
    format_video,
)

LABEL_COLOURS: dict[str, str] = {
    "red": "#e5484d",
    "orange": "#f76b15",
    "yellow": "#f5c518",
    "green": "#30a46c",
    "blue": "#0090ff",
    "purple": "#8e4ec6",
    "grey": "#8b8d98",
}

_DATE_SOURCES = {
    "DateTimeOriginal": "from the camera (EXIF DateTimeOriginal)",
    "DateTimeDigitized": "from EXIF DateTimeDigitized",
    "file": "from the file's modification time",
    "QuickTime creationdate": "from the video (QuickTime creation date)",
    "creation_time": "from the video's creation time (UTC, shown in this computer's zone)",
    "user": "set in Shoebox (Photo → Adjust date and time…)",
}


# ----------------------------------------------------------------------------- formatting


def format_coordinates(lat: float | None, lon: float | None, alt: float | None = None) -> str | None:
    """``48.85837° N, 2.29448° E · 35 m``."""
    if lat is None or lon is None:
        return None
    text = f"{abs(lat):.5f}° {'N' if lat >= 0 else 'S'}, {abs(lon):.5f}° {'E' if lon >= 0 else 'W'}"
    if alt is not None:
        text += f" · {alt:.0f} m"
    return text


def format_taken(taken_at: str | None, source: str | None) -> str | None:
    """The capture date as a person reads it, plus where Shoebox got it."""
    if not taken_at:
        return None
    try:
        when = dt.datetime.fromisoformat(taken_at)
    except ValueError:
        text = taken_at
    else:
        text = when.strftime("%a %-d %B %Y, %H:%M:%S")
        if when.utcoffset() is not None:
            offset = when.strftime("%z")
            text += f" (UTC{offset[:3]}:{offset[3:]})"
    src = _DATE_SOURCES.get(source or "", f"from {source}" if source else "")
    return f"{text}\n{src}" if src else text


def format_pixels(width: int | None, height: int | None) -> str | None:
    if not width or not height:
        return None
    mp = width * height / 1e6
    return f"{width} × {height} px" + (f" ({mp:.1f} MP)" if mp >= 0.1 else "")


def _turned_pixels(rec: dict[str, Any]) -> str | None:
    """The size as the photo is shown: a quarter turn in Shoebox swaps width and height."""
    turn = int(rec.get("rotation") or 0) % 360
    w, h = (rec["height"], rec["width"]) if turn % 180 else (rec["width"], rec["height"])
    text = format_pixels(w, h)
    way = {90: "right", 180: "upside down", 270: "left"}.get(turn)
    return f"{text}, turned {way} in Shoebox" if text and way else text


PAIR_NAMES = {"raw+jpeg": "RAW+JPEG pair", "live": "Live Photo"}


def format_pair_files(rec: dict[str, Any]) -> str | None:
    """A grouped item's files, one a line (name · format · size), under what the pair is; None for one file."""
    companions = rec.get("companions") or []
    if not companions:
        return None
    files = [
        (rec["path"], rec["format"], rec["size_bytes"]),
        *((c["path"], c["format"], c["size_bytes"]) for c in companions),
    ]
    lines = [PAIR_NAMES.get(companions[0].get("kind") or "", "Grouped files") + ":"]
    lines += [
        " · ".join(p for p in (path.rsplit("/", 1)[-1], fmt, format_bytes(size or 0)) if p)
        for path, fmt, size in files
    ]
    return "\n".join(lines)


def _wrap_path(path: str) -> str:
    # A zero-width space after each separator lets the label wrap a long path between folders.
    return path.replace("/", "/\u200b")


# ----------------------------------------------------------------------------- selection data


@dataclass
class SelectionInfo:
    """What the panel shows about the selection, read in one go from the catalog."""

    ids: list[int]
    record: dict[str, Any] | None = None  # the photo_to_dict record for a single photo
    common_tags: list[str] = field(default_factory=list)
    some_tags: list[str] = field(default_factory=list)  # on some but not all selected photos
    rating: int | None = None  # None: the photos differ
    color_label: str | None = None
    labels_differ: bool = False
    total_bytes: int = 0
    first_taken: str | None = None
    last_taken: str | None = None
    title: str | None = None  # the photos' one title (None: none, or they differ)
    titles_differ: bool = False
    description: str | None = None
    descriptions_differ: bool = False


def read_selection(library: Library, ids: Sequence[int]) -> SelectionInfo:
    """Gather the panel's data for ``ids`` (missing ids are dropped)."""
    info = SelectionInfo(ids=list(ids))
    if len(ids) == 1:
        record = library.photo_info(ids[0])
        if record is None:
            info.ids = []
            return info
        info.record = record
        info.common_tags = sorted(record["tags"], key=str.casefold)
        info.rating = record["rating"] or 0
        info.color_label = record["color_label"]
        info.total_bytes = record["size_bytes"] or 0
        info.title, info.description = record["title"], record["description"]
        return info

    summary = library.reads.selection(ids)
    info.ids = list(summary.ids)
    info.total_bytes = summary.total_bytes
    info.first_taken, info.last_taken = summary.first_taken, summary.last_taken
    n = len(summary.ids)
    info.common_tags = sorted((t for t, c in summary.tag_counts if c == n), key=str.casefold)
    info.some_tags = sorted((t for t, c in summary.tag_counts if c < n), key=str.casefold)
    info.rating = next(iter(summary.ratings)) if len(summary.ratings) == 1 else None
    if len(summary.labels) == 1:
        info.color_label = next(iter(summary.labels))
    else:
        info.labels_differ = bool(summary.labels)
    info.title = next(iter(summary.titles)) if len(summary.titles) == 1 else None
    info.titles_differ = len(summary.titles) > 1
    info.description = next(iter(summary.descriptions)) if len(summary.descriptions) == 1 else None
    info.descriptions_differ = len(summary.descriptions) > 1
    return info


# ----------------------------------------------------------------------------- small widgets


class FlowLayout(QLayout):
    """Lays children out left to right, wrapping to new rows (Qt's flow layout example)."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 4) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 (Qt override)
        self._items.append(item)

    def addWidget(self, widget: QWidget) -> None:  # noqa: N802
        self.addChildWidget(widget)
        self.addItem(QWidgetItem(widget))

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self._do_layout(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802
        super().setGeometry(rect)
        self._do_layout(rect, apply=True)

    def sizeHint(self) -> QSize:  # noqa: N802
        return self.minimumSize()

    def minimumSize(self) -> QSize:  # noqa: N802
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _do_layout(self, rect: QRect, apply: bool) -> int:
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, line_height = area.x(), area.y(), 0
        for item in self._items:
            hint = item.sizeHint()
            if x + hint.width() > area.right() + 1 and line_height > 0:
                x = area.x()
                y += line_height + self._spacing
                line_height = 0
            if apply:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + self._spacing
            line_height = max(line_height, hint.height())
        return y + line_height - rect.y() + m.bottom()


class TagChip(QFrame):
    """A tag name with a × that removes it from the selection."""

    remove_requested = Signal(str)

    def __init__(self, name: str, removable: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.setObjectName("tagChip")
        self.setProperty("partial", not removable)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 1, 2 if removable else 8, 1)
        layout.setSpacing(2)
        self.label = QLabel(name)
        layout.addWidget(self.label)
        self.remove_button: QToolButton | None = None
        if removable:
            btn = QToolButton()
            btn.setObjectName("tagChipRemove")
            btn.setText("×")
            btn.setAutoRaise(True)
            btn.setCursor(Qt.CursorShape.PointingHandCursor)
            btn.setToolTip(f"Remove the tag “{name}”")
            btn.setAccessibleName(f"Remove tag {name}")
            btn.clicked.connect(lambda: self.remove_requested.emit(self.name))
            layout.addWidget(btn)
            self.remove_button = btn
        else:
            self.setToolTip(f"“{name}” is on some of the selected photos")


def _star_path(center: QPointF, outer: float) -> QPainterPath:
    inner = outer * 0.45
    path = QPainterPath()
    for i in range(10):
        r = outer if i % 2 == 0 else inner
        angle = math.pi / 2 + i * math.pi / 5
        pt = QPointF(center.x() + r * math.cos(angle), center.y() - r * math.sin(angle))
        if i == 0:
            path.moveTo(pt)
        else:
            path.lineTo(pt)
    path.closeSubpath()
    return path


class StarRating(QWidget):
    """Five clickable stars. Clicking the current rating again clears it."""

    rating_chosen = Signal(int)
    STAR = 22

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rating: int | None = 0
        self._hover = 0
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setToolTip("Rating: click a star; click it again to clear (keys 0–5 in the grid)")

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(self.STAR * 5 + 4, self.STAR + 4)

    def rating(self) -> int | None:
        return self._rating

    def set_rating(self, rating: int | None) -> None:
        """``None`` shows the photos' ratings differ."""
        self._rating = rating
        self.update()

    def star_center(self, n: int) -> QPoint:
        """Where star ``n`` (1..5) is drawn, for clicks in tests and accessibility."""
        return QPoint(2 + self.STAR * (n - 1) + self.STAR // 2, 2 + self.STAR // 2)

    def _star_at(self, x: float) -> int:
        return max(1, min(5, int((x - 2) // self.STAR) + 1))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._hover = self._star_at(event.position().x())
        self.update()

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802
        self._hover = 0
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton:
            return
        n = self._star_at(event.position().x())
        self.rating_chosen.emit(0 if n == self._rating else n)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        gold = QColor("#f5a524")
        empty = self.palette().color(QPalette.ColorRole.Mid)
        shown = self._hover or (self._rating or 0)
        mixed = self._rating is None and not self._hover  # the selected photos' ratings differ
        for n in range(1, 6):
            path = _star_path(QPointF(self.star_center(n)), self.STAR * 0.45)
            if n <= shown:
                fill = gold.lighter(115) if self._hover else gold
                p.fillPath(path, fill)
                p.setPen(QPen(gold.darker(130), 1))
            elif mixed:  # dashed, half-tone gold: neither "no stars" nor any one rating
                faded = QColor(gold)
                faded.setAlpha(70)
                p.fillPath(path, faded)
                p.setPen(QPen(gold.darker(130), 1, Qt.PenStyle.DashLine))
            else:
                p.setPen(QPen(empty, 1.3))
            p.drawPath(path)
        p.end()


def _swatch(colour: str | None, size: int = 16) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    if colour is None:
        p.setPen(QPen(QColor("#8b8d98"), 1.5))
        p.drawEllipse(2, 2, size - 4, size - 4)
        p.drawLine(4, size - 4, size - 4, 4)
    else:
        p.setPen(QPen(QColor(colour).darker(120), 1))
        p.setBrush(QColor(colour))
        p.drawEllipse(1, 1, size - 2, size - 2)
    p.end()
    return QIcon(pm)


class ColorLabelPicker(QWidget):
    """A row of colour swatches plus "none"; emits the chosen label (``None`` clears it)."""

    label_chosen = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.buttons: dict[str | None, QToolButton] = {}
        for label in (None, *COLOR_LABELS):
            btn = QToolButton()
            btn.setCheckable(True)
            btn.setAutoRaise(True)
            btn.setIcon(_swatch(LABEL_COLOURS.get(label) if label else None))
            btn.setIconSize(QSize(16, 16))
            name = label or "none"
            btn.setToolTip(f"Colour label: {name}")
            btn.setAccessibleName(f"Colour label {name}")
            btn.clicked.connect(lambda _=False, lb=label: self.label_chosen.emit(lb))
            layout.addWidget(btn)
            self.buttons[label] = btn
        layout.addStretch(1)

    def set_label(self, label: str | None, differ: bool = False) -> None:
        for key, btn in self.buttons.items():
            btn.setChecked(not differ and key == label)


# ----------------------------------------------------------------------------- the panel


_STYLE = """
QFrame#tagChip {
    background: palette(alternate-base);
    border: 1px solid palette(mid);
    border-radius: 10px;
}
QFrame#tagChip[partial="true"] { border-style: dashed; }
QFrame#tagChip[partial="true"] QLabel { color: palette(placeholder-text); }
QToolButton#tagChipRemove { border: none; padding: 0 3px; font-weight: bold; }
QToolButton#tagChipRemove:hover { color: palette(highlight); }
QLabel#infoTitle { font-size: 13pt; font-weight: 600; }
QLabel#infoSection { font-weight: 600; color: palette(placeholder-text); margin-top: 6px; }
QLabel#infoWarning { color: #c2410c; }
QLabel#infoError { color: #b91c1c; }
"""


class InfoPanel(QWidget):
    """Shows and edits the selected photos' metadata and user data."""

    user_data_changed = Signal()

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self._info = SelectionInfo(ids=[])
        self._tag_names_stale = True
        self.setMinimumWidth(260)
        self.setStyleSheet(_STYLE)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        col = QVBoxLayout(body)
        col.setContentsMargins(12, 10, 12, 10)
        col.setSpacing(6)

        self.title = QLabel()
        self.title.setObjectName("infoTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        col.addWidget(self.title)
        self.subtitle = QLabel()
        self.subtitle.setWordWrap(True)
        col.addWidget(self.subtitle)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        col.addWidget(self.status_label)

        # user data first: it is what people change, metadata is what they read
        self.editors = QWidget()
        ed = QFormLayout(self.editors)
        ed.setContentsMargins(0, 4, 0, 0)
        ed.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.stars = StarRating()
        self.stars.rating_chosen.connect(self._on_rating)
        rating_row = QWidget()
        rating_box = QHBoxLayout(rating_row)
        rating_box.setContentsMargins(0, 0, 0, 0)
        rating_box.addWidget(self.stars)
        # the rejected flag (X in the grid; xmp:Rating -1 from Lightroom or digiKam); a star clears it
        self.rejected_label = QLabel("Rejected")
        self.rejected_label.setObjectName("infoError")
        self.rejected_label.setToolTip("Flagged rejected: X unrejects it, and so does giving it stars")
        self.rejected_label.hide()
        rating_box.addWidget(self.rejected_label)
        rating_box.addStretch(1)
        ed.addRow("Rating", rating_row)
        self.colors = ColorLabelPicker()
        self.colors.label_chosen.connect(self._on_color_label)
        ed.addRow("Label", self.colors)
        # committed on Enter or when the field loses focus: one undoable step per edit, not per key
        self.title_edit = QLineEdit()
        self.title_edit.setObjectName("infoTitleEdit")
        self.title_edit.editingFinished.connect(self._commit_title)
        ed.addRow("Title", self.title_edit)
        self.description_edit = QLineEdit()
        self.description_edit.setObjectName("infoDescriptionEdit")
        self.description_edit.editingFinished.connect(self._commit_description)
        ed.addRow("Caption", self.description_edit)
        col.addWidget(self.editors)

        col.addWidget(self._section("Tags"))
        self.chips_box = QWidget()
        self.chips = FlowLayout(self.chips_box)
        col.addWidget(self.chips_box)
        self.no_tags = QLabel("No tags yet")
        self.no_tags.setEnabled(False)
        col.addWidget(self.no_tags)
        self.tag_edit = QLineEdit()
        self.tag_edit.setPlaceholderText("Add a tag… (Enter; commas for several)")
        self.tag_edit.setClearButtonEnabled(True)
        self.tag_edit.returnPressed.connect(self._on_add_tag)
        self.tag_edit.installEventFilter(self)
        self._tag_model = QStringListModel(self)
        self.completer = QCompleter(self._tag_model, self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.tag_edit.setCompleter(self.completer)
        col.addWidget(self.tag_edit)
        self.tag_error = QLabel()
        self.tag_error.setObjectName("infoError")
        self.tag_error.setWordWrap(True)
        self.tag_error.hide()
        col.addWidget(self.tag_error)

        col.addWidget(self._section("Details"))
        self.details = QFormLayout()
        self.details.setContentsMargins(0, 0, 0, 0)
        self.details.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.details.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self.fields: dict[str, QLabel] = {}
        for key, label in (
            ("date", "Taken"),
            ("camera", "Camera"),
            ("lens", "Lens"),
            ("exposure", "Exposure"),
            ("video", "Video"),
            ("pixels", "Size"),
            ("file", "File"),
            ("pair", "Files"),
            ("place", "Place"),
            ("keywords", "Keywords"),
            ("albums", "Albums"),
            ("derived", "Origin"),
            ("exported", "Exports"),
            ("path", "Path"),
            ("dates", "Dates"),
            ("total", "Total size"),
        ):
            value = QLabel()
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            self.fields[key] = value
            self.details.addRow(label, value)
        col.addLayout(self.details)
        col.addStretch(1)
        self.set_photos([])

    @staticmethod
    def _section(text: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName("infoSection")
        return label

    # --------------------------------------------------------------- public API
    def photo_ids(self) -> list[int]:
        return list(self._info.ids)

    def set_photos(self, ids: Sequence[int]) -> None:
        """Show ``ids`` (an empty list shows "No photo selected")."""
        self._commit_title()  # a title typed for the photos shown until now is theirs
        self._commit_description()
        self._info = read_selection(self.library, list(dict.fromkeys(ids))) if ids else SelectionInfo(ids=[])
        self.tag_error.hide()
        self._render()

    def refresh(self) -> None:
        """Re-read the current selection (after an edit made elsewhere)."""
        self.set_photos(self._info.ids)

    def tag_chips(self) -> dict[str, TagChip]:
        """The chips of the tags on every selected photo, by tag name."""
        out: dict[str, TagChip] = {}
        for i in range(self.chips.count()):
            item = self.chips.itemAt(i)
            w = item.widget() if item is not None else None
            if isinstance(w, TagChip) and w.remove_button is not None:
                out[w.name] = w
        return out

    def add_tags(self, text: str) -> bool:
        """Add the comma-separated tags in ``text`` to every selected photo."""
        names = [t.strip() for t in text.split(",") if t.strip()]
        ids = self._info.ids
        if not names or not ids:
            return False
        try:
            for name in names:
                self.library.add_tag(name, ids)
        except LibraryError as exc:
            self._show_tag_error(str(exc))
            return False
        self._tag_names_stale = True
        self._edited()
        return True

    def remove_tag(self, name: str) -> None:
        try:
            self.library.remove_tag(name, self._info.ids)
        except LibraryError as exc:
            self._show_tag_error(str(exc))
            return
        self._edited()

    def set_rating(self, rating: int) -> None:
        if self._info.ids:
            self.library.set_rating(self._info.ids, rating)
            self._edited()

    def set_color_label(self, label: str | None) -> None:
        if self._info.ids:
            self.library.set_color_label(self._info.ids, label)
            self._edited()

    def set_title(self, text: str) -> None:
        if self._info.ids:
            self.library.set_title(self._info.ids, text)
            self._edited()

    def set_description(self, text: str) -> None:
        if self._info.ids:
            self.library.set_description(self._info.ids, text)
            self._edited()

    # ------------------------------------------------------------------ editing
    def _commit_title(self) -> None:
        if self._typed(self.title_edit, self._info.title):
            self.set_title(self.title_edit.text())

    def _commit_description(self) -> None:
        if self._typed(self.description_edit, self._info.description):
            self.set_description(self.description_edit.text())

    @staticmethod
    def _typed(edit: QLineEdit, shown: str | None) -> bool:
        """Whether the person changed ``edit`` since it showed ``shown`` (Enter and then leaving the
        field finish the same edit twice; it counts once)."""
        if not edit.isModified():
            return False
        edit.setModified(False)
        return edit.text().strip() != (shown or "").strip()

    def _on_add_tag(self) -> None:
        if self.add_tags(self.tag_edit.text()):
            self.tag_edit.clear()

    def _on_rating(self, rating: int) -> None:
        self.set_rating(rating)

    def _on_color_label(self, label: object) -> None:
        self.set_color_label(label if isinstance(label, str) else None)

    def _edited(self) -> None:
        self.refresh()
        self.user_data_changed.emit()

    def _show_tag_error(self, message: str) -> None:
        self.tag_error.setText(message)
        self.tag_error.show()

    def _refresh_tag_names(self) -> None:
        # Read on demand, not on every selection change: counting tags is a GROUP BY over all links.
        self._tag_model.setStringList([t.name for t in self.library.tags()])
        self._tag_names_stale = False

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if obj is self.tag_edit and event.type() == QEvent.Type.FocusIn and self._tag_names_stale:
            self._refresh_tag_names()
        return super().eventFilter(obj, event)

    def mark_tags_stale(self) -> None:
        """Tags were created elsewhere: re-read the completion list on next use."""
        self._tag_names_stale = True

    # ---------------------------------------------------------------- rendering
    def _render(self) -> None:
        info = self._info
        n = len(info.ids)
        has = n > 0
        self.editors.setVisible(has)
        self.tag_edit.setVisible(has)
        self.chips_box.setVisible(has)
        self.status_label.hide()
        self._render_chips()
        values: dict[str, str | None] = {}
        if n == 0:
            self.title.setText("No photo selected")
            self.subtitle.setText("Select a photo to see its details, tags and rating.")
            self.subtitle.show()
            self.no_tags.hide()
        elif info.record is not None:
            rec = info.record
            self.title.setText(rec["path"].rsplit("/", 1)[-1])
            self.subtitle.hide()
            self._render_status(rec)
            camera = " ".join(p for p in (rec["camera_make"], rec["camera_model"]) if p)
            # "Canon Canon EOS 5D": many makers repeat the make inside the model name.
            if (
                rec["camera_make"]
                and rec["camera_model"]
                and rec["camera_model"].lower().startswith(rec["camera_make"].split()[0].lower())
            ):
                camera = rec["camera_model"]
            fmt = " · ".join(
                p for p in (format_bytes(rec["size_bytes"]), rec["format"], rec["color_space"]) if p
            )
            values = {
                "date": format_taken(rec["taken_at"], rec["taken_at_source"]),
                "camera": camera or None,
                "lens": rec["lens"],
                "exposure": format_exposure(
                    rec["exposure_time"], rec["f_number"], rec["iso"], rec["focal_length"]
                ),
                "video": format_video(rec.get("duration"), rec.get("codec"), rec.get("frame_rate")),
                "pixels": _turned_pixels(rec),
                "file": fmt or None,
                "pair": format_pair_files(rec),
                "place": format_coordinates(rec["gps_lat"], rec["gps_lon"], rec["gps_alt"]),
                "keywords": ", ".join(rec["keywords"]) or None,
                "albums": ", ".join(rec["albums"]) or None,
                "path": _wrap_path(rec["path"]),
            }
            self.fields["path"].setToolTip(rec["path"])
            found = rec.get("lineage") or {}
            said = lineage.summary(found)
            values["derived"], values["exported"] = said["derived"], said["exported"]
            sources = found.get("derived_from") or []
            self.fields["derived"].setToolTip(
                "\n".join(
                    f"{src['path']} · {src['recipe_name']} · {src['time'][:16].replace('T', ' ')}"
                    for src in sources
                )
            )
            # where, by which recipe and when each output was made, newest last
            self.fields["exported"].setToolTip("\n".join(said["exports"]))
        else:
            self.title.setText(f"{counted(n, 'photo')} selected")
            self.subtitle.setText("Tags, rating and label apply to all of them.")
            self.subtitle.show()
            dates = None
            if info.first_taken and info.last_taken:
                a, b = info.first_taken[:10], info.last_taken[:10]
                dates = a if a == b else f"{a} – {b}"
            values = {"dates": dates, "total": format_bytes(info.total_bytes)}
        for key, label in self.fields.items():
            text = values.get(key)
            label.setText(text or "")
            self.details.setRowVisible(label, bool(text))
        self.stars.set_rating(info.rating)
        self.rejected_label.setVisible(info.rating == REJECTED)
        self.colors.set_label(info.color_label, info.labels_differ)
        self._render_texts()
        self.stars.setToolTip(
            "The selected photos have different ratings; click to give them all the same"
            if info.rating is None
            else "Rating: click a star; click it again to clear"
        )

    def _render_texts(self) -> None:
        info = self._info
        many = len(info.ids) > 1
        for edit, value, differ, what in (
            (self.title_edit, info.title, info.titles_differ, "title"),
            (self.description_edit, info.description, info.descriptions_differ, "caption"),
        ):
            edit.setText(value or "")  # resets isModified: nothing typed yet
            if differ:
                edit.setPlaceholderText(f"Different; type to give them all one {what}")
            else:
                edit.setPlaceholderText(f"Add a {what}" + (" to all of them" if many else ""))

    def _render_status(self, rec: dict[str, Any]) -> None:
        if rec["status"] == STATUS_MISSING:
            self.status_label.setObjectName("infoWarning")
            self.status_label.setText(
                "The file is missing: it was moved, renamed or deleted since the last scan."
            )
        elif rec["status"] == STATUS_ERROR:
            self.status_label.setObjectName("infoError")
            self.status_label.setText(f"Could not read this file: {rec['error'] or 'unknown error'}")
        else:
            return
        # the style sheet matches on the object name, which only takes effect on a re-polish
        self.status_label.style().unpolish(self.status_label)
        self.status_label.style().polish(self.status_label)
        self.status_label.show()

    def _render_chips(self) -> None:
        while self.chips.count():
            item = self.chips.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.hide()
                w.deleteLater()
        for name in self._info.common_tags:
            chip = TagChip(name)
            chip.remove_requested.connect(self.remove_tag)
            self.chips.addWidget(chip)
        for name in self._info.some_tags:
            self.chips.addWidget(TagChip(name, removable=False))
        empty = not self._info.common_tags and not self._info.some_tags and bool(self._info.ids)
        self.no_tags.setVisible(empty)
        self.chips_box.setVisible(not empty and bool(self._info.ids))
        self.chips.invalidate()


__all__ = [
    "ColorLabelPicker",
    "FlowLayout",
    "InfoPanel",
    "SelectionInfo",
    "StarRating",
    "TagChip",
    "format_bytes",
    "format_coordinates",
    "format_exposure",
    "format_exposure_time",
    "format_taken",
    "read_selection",
]
