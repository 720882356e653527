"""The thumbnail grid: a delegate that paints one cell and a view that lays out cells under date headers.

``PhotoGridView`` is a small ``QAbstractItemView`` rather than a ``QListView``
because QListView re-lays out every row on each insert and asks the delegate
for each row's size when sizes differ (as they do with header rows); with
100k photos that is a Python call per photo per page loaded. Here the layout
is arithmetic over the model's date groups: a cell's rectangle, the cell
under the mouse and the cells to paint all cost O(log groups), painting
touches only visible cells, and cells keep one square size that stretches so
rows fill the width (as Apple Photos and digiKam do).

Selection, keyboard navigation, tooltips, rubber-band selection and dragging
photos out as files use QAbstractItemView's machinery through the usual
overrides (``visualRect``, ``indexAt``, ``moveCursor``, ``setSelection``).
"""

from __future__ import annotations

import bisect
import math
import time
from collections import deque
from collections.abc import Sequence

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QDrag,
    QFont,
    QFontMetrics,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QRegion,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionRubberBand,
    QStyleOptionViewItem,
    QWidget,
)

from desktop.core.catalog.reads import STATUS_MISSING, STATUS_OK
from desktop.core.runtime.wording import format_duration
from desktop.gui.grid.photo_model import (
    GROUP_DAY,
    GROUP_YEAR,
    ColorLabelRole,
    HashRole,
    PathRole,
    PhotoModel,
    PhotoRecord,
    RatingRole,
    RotationRole,
    StatusRole,
    photo_count,
)
from desktop.gui.grid.thumbnail_loader import FAILED, FIT, SQUARE, ThumbnailLoader

ModelIndex = QModelIndex | QPersistentModelIndex

MIN_ZOOM, MAX_ZOOM, DEFAULT_ZOOM = 80, 360, 168
LOW_RES_DIVISOR, LOW_RES_MIN = 4, 24  # the fling-time image: a quarter of the cell, at least 24 px
FLING_WINDOW_S = 0.15  # scrolled more than a screen within this: a fling
SETTLE_MS = 140  # this long after the last scroll step, exact thumbnails load
REJECTED_DIM_ALPHA = 150  # how far a rejected photo fades towards the background (of 255)
MARGIN = 12
SPACING = 4
HEADER_HEIGHT = 36
# a year's header reads as a landmark while scrolling years; a day's is quieter (there are many)
HEADER_STYLE = {GROUP_YEAR: (48, 1.6), GROUP_DAY: (32, 1.0)}  # grouping: (height, font scale)

LABEL_COLOURS = {
    "red": "#e5484d",
    "orange": "#f76b15",
    "yellow": "#ffc53d",
    "green": "#30a46c",
    "blue": "#0090ff",
    "purple": "#8e4ec6",
    "grey": "#8b8d98",
}


def _rects(region: QRegion) -> list[QRect]:
    """The rectangles that make up ``region``."""
    # QRegion iterates over its rectangles at run time, but PySide6's stub declares no __iter__
    rects: list[QRect] = list(region)  # type: ignore[call-overload]
    return rects


def header_font(base: QFont, scale: float) -> QFont:
    font = QFont(base)
    font.setPointSizeF(base.pointSizeF() * scale)
    font.setBold(True)
    return font


def duration_badge(seconds: float | None) -> str | None:
    """What a video's cell shows of its length ("0:12", "1:02:03"); None for a photo."""
    return format_duration(seconds)


# the badge of a grouped item's cover: a camera's RAW+JPEG twins, a Live Photo's still and clip
PAIR_BADGES = {"raw+jpeg": "RAW+JPEG", "live": "LIVE"}


def pair_badge(companion: str | None) -> str | None:
    """What a grouped item's cell shows of its kind ("RAW+JPEG", "LIVE"); None for a single file."""
    return PAIR_BADGES.get(companion) if companion else None


class PhotoDelegate(QStyledItemDelegate):
    """Paints a photo cell: thumbnail (or placeholder), selection, rating, label, status badge;
    a rejected photo dimmed, with a ✕ where its stars would be."""

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.device_pixel_ratio = 1.0
        self.fill_cells = True  # crop to squares; False shows whole photos letterboxed
        # set by the view during a fast fling: cells not in memory load a quarter-size image (a
        # DCT-scaled decode, ~10x cheaper) shown scaled up, and the exact one once scrolling settles
        self.low_res = False
        self._placeholders: dict[tuple[int, int, bool, int, float], QImage] = {}

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        view = self.parent()
        size = view.cell_size() if isinstance(view, PhotoGridView) else DEFAULT_ZOOM
        return QSize(size, size)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        model = index.model()
        if isinstance(model, PhotoModel):
            self.paint_record(painter, option, model.record(index.row()))
            return
        rec = PhotoRecord(
            id=0,
            path=index.data(PathRole) or "",
            taken_local="",
            content_hash=index.data(HashRole),
            rating=index.data(RatingRole) or 0,
            color_label=index.data(ColorLabelRole),
            status=index.data(StatusRole) or STATUS_OK,
            width=None,
            height=None,
            rotation=index.data(RotationRole) or 0,
        )
        self.paint_record(painter, option, rec)

    def paint_record(self, painter: QPainter, option: QStyleOptionViewItem, rec: PhotoRecord) -> None:
        """One cell. The common case (thumbnail ready, nothing selected) is a single unscaled blit."""
        rect: QRect = option.rect
        palette: QPalette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hover = bool(option.state & QStyle.StateFlag.State_MouseOver)
        painter.save()
        if selected or hover:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            colour = palette.color(QPalette.ColorRole.Highlight)
            if not selected:
                colour.setAlpha(60)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(rect, 6, 6)

        inner = rect.adjusted(4, 4, -4, -4)
        box = min(inner.width(), inner.height())
        dpr = self.device_pixel_ratio
        want = int(box * dpr)
        shape = SQUARE if self.fill_cells else FIT
        img: QImage | str | None
        turn = rec.rotation
        if self.low_res:
            img = self.loader.cached(rec.content_hash, want, shape, turn) or self.loader.image(
                rec.content_hash, rec.path, max(LOW_RES_MIN, want // LOW_RES_DIVISOR), shape, turn
            )
        else:
            img = self.loader.image(rec.content_hash, rec.path, want, shape, turn)
        if not isinstance(img, QImage):  # None while it loads, or FAILED
            painter.drawImage(inner.topLeft(), self._placeholder_image(inner.size(), palette, img == FAILED))
        elif self.fill_cells and img.width() == want and img.height() == want:
            if dpr == 1.0:
                painter.drawImage(inner.topLeft(), img)
            else:
                painter.drawImage(QRect(inner.x(), inner.y(), box, box), img)
        elif not self.fill_cells and dpr == 1.0 and max(img.width(), img.height()) == want:
            # the whole photo, already scaled to fit: centre it unscaled
            x = inner.x() + (inner.width() - img.width()) // 2
            y = inner.y() + (inner.height() - img.height()) // 2
            painter.drawImage(x, y, img)
            inner = QRect(x, y, img.width(), img.height())
        else:
            # another size of this photo while the exact one loads (zoom changed): scale it for now
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            if self.fill_cells:
                side = min(img.width(), img.height())
                source = QRect((img.width() - side) // 2, (img.height() - side) // 2, side, side)
                painter.drawImage(QRect(inner.x(), inner.y(), box, box), img, source)
            else:
                w, h = img.width() / dpr, img.height() / dpr
                scale = min(inner.width() / w, inner.height() / h) if w and h else 1.0
                tw, th = max(1, int(w * scale)), max(1, int(h * scale))
                target = QRect(
                    inner.x() + (inner.width() - tw) // 2, inner.y() + (inner.height() - th) // 2, tw, th
                )
                painter.drawImage(target, img)
                inner = target

        if rec.rejected:
            # dimmed towards the window's background, so it recedes in a light or a dark theme alike
            dim = palette.color(QPalette.ColorRole.Base)
            dim.setAlpha(REJECTED_DIM_ALPHA)
            painter.fillRect(inner, dim)
        if rec.status != STATUS_OK or rec.rating or rec.color_label in LABEL_COLOURS:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            if rec.status != STATUS_OK:
                self._badge(painter, inner, "Missing" if rec.status == STATUS_MISSING else "Unreadable")
            if rec.rejected:
                self._rejected(painter, inner)
            elif rec.rating > 0:
                self._stars(painter, inner, rec.rating)
            if rec.color_label in LABEL_COLOURS:
                painter.setPen(QPen(QColor("white"), 1.5))
                painter.setBrush(QColor(LABEL_COLOURS[rec.color_label]))
                painter.drawEllipse(QRect(inner.right() - 17, inner.top() + 5, 12, 12))
        badge = duration_badge(rec.duration)
        if badge:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            self._duration(painter, inner, badge)
        kind = pair_badge(rec.companion)
        if kind and rec.status == STATUS_OK:  # top-left, where only a missing or unreadable file is marked
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            self._pair(painter, inner, kind)
        if option.state & QStyle.StateFlag.State_HasFocus and selected:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setPen(QPen(palette.color(QPalette.ColorRole.HighlightedText), 1, Qt.PenStyle.DotLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect.adjusted(2, 2, -3, -3), 5, 5)
        painter.restore()

    def _placeholder_image(self, size: QSize, palette: QPalette, failed: bool) -> QImage:
        """The grey rounded square a cell shows until its thumbnail arrives (made once per size)."""
        base = palette.color(QPalette.ColorRole.Mid if failed else QPalette.ColorRole.Midlight)
        key = (size.width(), size.height(), failed, base.rgba(), self.device_pixel_ratio)
        img = self._placeholders.get(key)
        if img is None:
            dpr = self.device_pixel_ratio
            img = QImage(
                int(size.width() * dpr), int(size.height() * dpr), QImage.Format.Format_ARGB32_Premultiplied
            )
            img.setDevicePixelRatio(dpr)
            img.fill(Qt.GlobalColor.transparent)
            p = QPainter(img)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            self._placeholder(p, QRect(0, 0, size.width(), size.height()), palette, failed)
            p.end()
            if len(self._placeholders) > 16:
                self._placeholders.clear()
            self._placeholders[key] = img
        return img

    def paint_header(
        self,
        painter: QPainter,
        rect: QRect,
        title: str,
        palette: QPalette,
        count: int | None = None,
        scale: float = 1.15,
    ) -> None:
        """A date group's heading, left-aligned over its photos, then its photo count in a quieter tone."""
        painter.save()
        base = QFont(painter.font())
        font = header_font(base, scale)
        painter.setFont(font)
        painter.setPen(palette.color(QPalette.ColorRole.WindowText))
        area = rect.adjusted(2, 0, 0, -6)
        bottom_left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom
        used = painter.drawText(area, bottom_left, title)
        if count is not None:
            painter.setFont(base)
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            # on the title's baseline: raise the smaller text by the difference of their descents
            rise = QFontMetrics(font).descent() - QFontMetrics(base).descent()
            tail = area.adjusted(used.width() + 10, 0, 0, -rise)
            painter.drawText(tail, bottom_left, f"· {photo_count(count)}")
        painter.restore()

    @staticmethod
    def _placeholder(painter: QPainter, rect: QRect, palette: QPalette, failed: bool) -> None:
        base = palette.color(QPalette.ColorRole.Mid if failed else QPalette.ColorRole.Midlight)
        base.setAlpha(90 if failed else 120)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(base)
        painter.drawRoundedRect(rect, 4, 4)
        if failed:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "No preview")

    @staticmethod
    def _badge(painter: QPainter, rect: QRect, text: str) -> None:
        fm = painter.fontMetrics()
        w = fm.horizontalAdvance(text) + 10
        r = QRect(rect.left() + 4, rect.top() + 4, w, fm.height() + 4)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(200, 40, 40, 220))
        painter.drawRoundedRect(r, 3, 3)
        painter.setPen(QColor("white"))
        painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)

    @staticmethod
    def _duration(painter: QPainter, rect: QRect, text: str) -> None:
        """A video's length in the cell's bottom-right corner (the stars take the bottom-left)."""
        fm = painter.fontMetrics()
        w = fm.horizontalAdvance(text) + 8
        PhotoDelegate._pill(
            painter, QRect(rect.right() - w - 3, rect.bottom() - fm.height() - 6, w, fm.height() + 2), text
        )

    @staticmethod
    def _pair(painter: QPainter, rect: QRect, text: str) -> None:
        """A grouped item's kind in the cell's top-left corner, in the duration badge's style."""
        fm = painter.fontMetrics()
        PhotoDelegate._pill(
            painter,
            QRect(rect.left() + 4, rect.top() + 4, fm.horizontalAdvance(text) + 8, fm.height() + 2),
            text,
        )

    @staticmethod
    def _pill(painter: QPainter, r: QRect, text: str) -> None:
        """White text on a translucent dark rounded rectangle (the duration and pair badges)."""
        path = QPainterPath()
        path.addRoundedRect(r, 3, 3)
        painter.fillPath(path, QColor(0, 0, 0, 160))
        painter.setPen(QColor("white"))
        painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)

    @staticmethod
    def _rejected(painter: QPainter, rect: QRect) -> None:
        """The rejected flag's ✕ in the bottom-left corner, where stars go (a rejected photo has none)."""
        side = painter.fontMetrics().height() + 2
        r = QRect(rect.left() + 4, rect.bottom() - side - 4, side, side)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(200, 40, 40, 230))
        painter.drawEllipse(r)
        pen = QPen(QColor("white"), 2)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        m = side // 3
        painter.drawLine(r.left() + m, r.top() + m, r.right() - m, r.bottom() - m)
        painter.drawLine(r.right() - m, r.top() + m, r.left() + m, r.bottom() - m)

    @staticmethod
    def _stars(painter: QPainter, rect: QRect, rating: int) -> None:
        text = "★" * rating
        fm = painter.fontMetrics()
        w = fm.horizontalAdvance(text) + 8
        r = QRect(rect.left() + 4, rect.bottom() - fm.height() - 6, w, fm.height() + 2)
        path = QPainterPath()
        path.addRoundedRect(r, 3, 3)
        painter.fillPath(path, QColor(0, 0, 0, 140))
        painter.setPen(QColor("#ffd54a"))
        painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)


class PhotoGridView(QAbstractItemView):
    """A virtual grid of square cells grouped under date headers; paints only what is visible."""

    open_requested = Signal(QModelIndex)  # Space / Enter / double-click
    rate_requested = Signal(int)  # digits 0–5
    trash_requested = Signal()  # Delete, Backspace: move the files to the trash
    remove_requested = Signal()  # Shift+Delete: forget the photos, the files stay
    first_paint = Signal()  # the first time cells (not just an empty viewport) were painted
    zoom_changed = Signal(int)
    scroll_idle = Signal()  # a fling is over (SETTLE_MS after its last step)
    header_clicked = Signal(int)  # a date group's header, by the row its group starts at

    def __init__(self, loader: ThumbnailLoader, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self._zoom = DEFAULT_ZOOM
        self._cols = 1
        self._cell = DEFAULT_ZOOM
        self._header = HEADER_HEIGHT
        self._header_scale = 1.15
        self._layout_anchor: int | None = None  # the top row kept in place across a regrouping
        self._kept_anchor: tuple[int, int] | None = None  # (that row, the scroll value it left)
        self._sec_starts: list[int] = []
        self._sec_titles: list[str] = []
        self._sec_y: list[int] = []  # top of each group's header, in content coordinates
        self._content_height = 0
        self._hover = QPersistentModelIndex()
        self._band_origin: QPoint | None = None  # rubber band start, content coordinates
        self._band_end: QPoint | None = None
        self._painted_cells = False
        self.painted_frames = 0  # for the benchmark: frames painted with cells
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDragEnabled(True)
        self.setMouseTracking(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QAbstractItemView.Shape.NoFrame)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.delegate = PhotoDelegate(loader, self)
        self.setItemDelegate(self.delegate)
        # thumbnails arrive one by one; repaint their cells at most once per frame
        self._arrived: set[str] = set()
        self._repaint_timer = QTimer(self)
        self._repaint_timer.setSingleShot(True)
        self._repaint_timer.setInterval(16)
        self._repaint_timer.timeout.connect(self._repaint_arrived)
        loader.ready.connect(self._on_thumbnail)
        self._scrolls: deque[tuple[float, int]] = deque()  # (time, |dy|) of recent scroll steps
        self._pending = QRegion()  # parts asked to repaint and not painted yet
        self._settle_timer = QTimer(self)
        self._settle_timer.setSingleShot(True)
        self._settle_timer.setInterval(SETTLE_MS)
        self._settle_timer.timeout.connect(self._settled)
        self._fetch_timer = QTimer(self)
        self._fetch_timer.setSingleShot(True)
        self._fetch_timer.setInterval(0)
        self._fetch_timer.timeout.connect(self._maybe_fetch)

    # ------------------------------------------------------------ public API
    def photo_model(self) -> PhotoModel | None:
        m = self.model()
        return m if isinstance(m, PhotoModel) else None

    def zoom(self) -> int:
        return self._zoom

    def set_zoom(self, size: int) -> None:
        size = max(MIN_ZOOM, min(MAX_ZOOM, int(size)))
        if size == self._zoom:
            return
        anchor = self._top_visible_row()
        self._zoom = size
        self._relayout()
        if anchor is not None:
            self.scroll_to_row_top(anchor)
        self.zoom_changed.emit(size)

    def cell_size(self) -> int:
        return self._cell

    def columns(self) -> int:
        return self._cols

    def selected_rows(self) -> list[int]:
        sm = self.selectionModel()
        return sorted(i.row() for i in sm.selectedIndexes()) if sm is not None else []

    def top_visible_row(self) -> int | None:
        return self._top_visible_row()

    def scroll_to_row_top(self, row: int) -> None:
        r = self._content_rect(row)
        if r is None:
            return
        if self._is_first_line(row):
            # the group's header at the very top: no sliver of the previous group's photos above it
            s = bisect.bisect_right(self._sec_starts, row) - 1
            self.verticalScrollBar().setValue(self._sec_y[s])
        else:
            self.verticalScrollBar().setValue(max(0, r.top() - self._header - MARGIN))

    # ------------------------------------------------------------- layout
    def _relayout(self) -> None:
        model = self.photo_model()
        width = max(1, self.viewport().width() - 2 * MARGIN)
        # round, not floor: cells then stretch or shrink at most half a cell from the zoom asked for
        self._cols = max(1, round((width + SPACING) / (self._zoom + SPACING)))
        self._cell = max(MIN_ZOOM // 2, (width - (self._cols - 1) * SPACING) // self._cols)
        if model is None:
            self._sec_starts, self._sec_titles, self._sec_y = [], [], []
            self._content_height = 0
        else:
            starts, titles = model.sections()
            self._sec_starts, self._sec_titles = list(starts), list(titles)
            height, self._header_scale = HEADER_STYLE.get(model.grouping, (HEADER_HEIGHT, 1.15))
            self._header = height if model.grouped else 0
            n = model.rowCount()
            y = MARGIN // 2 if model.grouped else MARGIN
            ys: list[int] = []
            stride = self._cell + SPACING
            for i, start in enumerate(self._sec_starts):
                end = self._sec_starts[i + 1] if i + 1 < len(self._sec_starts) else n
                ys.append(y)
                rows = math.ceil((end - start) / self._cols)
                y += self._header + rows * stride
            self._sec_y = ys
            self._content_height = y + MARGIN
        self.updateGeometries()
        self.viewport().update()
        self._fetch_timer.start()

    def _section_count(self, s: int) -> int:
        model = self.model()
        n = model.rowCount() if model is not None else 0
        end = self._sec_starts[s + 1] if s + 1 < len(self._sec_starts) else n
        return end - self._sec_starts[s]

    def _content_rect(self, row: int) -> QRect | None:
        """The cell of ``row`` in content coordinates (not scrolled)."""
        if not self._sec_starts or row < 0:
            return None
        model = self.model()
        if model is None or row >= model.rowCount():
            return None
        s = bisect.bisect_right(self._sec_starts, row) - 1
        local = row - self._sec_starts[s]
        r, c = divmod(local, self._cols)
        stride = self._cell + SPACING
        return QRect(MARGIN + c * stride, self._sec_y[s] + self._header + r * stride, self._cell, self._cell)

    def _row_at(self, x: int, y: int) -> int | None:
        """The row whose cell contains content point (x, y), if any."""
        if not self._sec_y:
            return None
        s = bisect.bisect_right(self._sec_y, y) - 1
        if s < 0:
            return None
        stride = self._cell + SPACING
        yr = y - self._sec_y[s] - self._header
        xr = x - MARGIN
        if yr < 0 or xr < 0 or yr % stride >= self._cell or xr % stride >= self._cell:
            return None
        r, c = yr // stride, xr // stride
        if c >= self._cols:
            return None
        local = r * self._cols + c
        if local >= self._section_count(s):
            return None
        return self._sec_starts[s] + local

    def _top_visible_row(self) -> int | None:
        top = self.verticalOffset()
        if not self._sec_y:
            return None
        s = max(0, bisect.bisect_right(self._sec_y, top) - 1)
        stride = self._cell + SPACING
        yr = max(0, top - self._sec_y[s] - self._header)
        local = min((yr // stride) * self._cols, max(0, self._section_count(s) - 1))
        return self._sec_starts[s] + local

    def _rows_in_rect(self, rect: QRect) -> list[tuple[int, int]]:
        """Ranges ``(first, last)`` of rows whose cells intersect ``rect`` (content coordinates)."""
        out: list[tuple[int, int]] = []
        if not self._sec_y:
            return out
        stride = self._cell + SPACING
        c0 = max(0, (rect.left() - MARGIN) // stride)
        c1 = min(self._cols - 1, (rect.right() - MARGIN) // stride)
        if c1 < c0:
            return out
        s = max(0, bisect.bisect_right(self._sec_y, rect.top()) - 1)
        while s < len(self._sec_y) and self._sec_y[s] <= rect.bottom():
            count = self._section_count(s)
            base = self._sec_y[s] + self._header
            rows = math.ceil(count / self._cols)
            r0 = max(0, (rect.top() - base) // stride)
            r1 = min(rows - 1, (rect.bottom() - base) // stride)
            for r in range(r0, r1 + 1):
                first = r * self._cols + c0
                last = min(r * self._cols + c1, count - 1)
                if first <= last:
                    out.append((self._sec_starts[s] + first, self._sec_starts[s] + last))
            s += 1
        return out

    def _rows_in_parts(self, parts: Sequence[QRect]) -> list[tuple[int, int]]:
        """Row ranges touching any of ``parts``, each row once, in order."""
        rows = sorted({row for part in parts for a, b in self._rows_in_rect(part) for row in range(a, b + 1)})
        return [(row, row) for row in rows]

    # --------------------------------------------------- QAbstractItemView API
    def visualRect(self, index: ModelIndex) -> QRect:
        if not index.isValid():
            return QRect()
        r = self._content_rect(index.row())
        return QRect() if r is None else r.translated(0, -self.verticalOffset())

    def indexAt(self, point: QPoint) -> QModelIndex:
        model = self.model()
        row = self._row_at(point.x(), point.y() + self.verticalOffset())
        return model.index(row, 0) if model is not None and row is not None else QModelIndex()

    def scrollTo(
        self,
        index: ModelIndex,
        hint: QAbstractItemView.ScrollHint = QAbstractItemView.ScrollHint.EnsureVisible,
    ) -> None:
        r = self._content_rect(index.row()) if index.isValid() else None
        if r is None:
            return
        bar = self.verticalScrollBar()
        top, height = bar.value(), self.viewport().height()
        if hint == QAbstractItemView.ScrollHint.PositionAtTop:
            bar.setValue(r.top() - self._header - SPACING)
        elif hint == QAbstractItemView.ScrollHint.PositionAtCenter:
            bar.setValue(r.center().y() - height // 2)
        elif r.top() - self._header < top:
            bar.setValue(r.top() - (self._header if self._is_first_line(index.row()) else SPACING))
        elif r.bottom() > top + height:
            bar.setValue(r.bottom() - height + SPACING)

    def _is_first_line(self, row: int) -> bool:
        s = bisect.bisect_right(self._sec_starts, row) - 1
        return s >= 0 and row - self._sec_starts[s] < self._cols

    def horizontalOffset(self) -> int:
        return 0

    def verticalOffset(self) -> int:
        return self.verticalScrollBar().value()

    def isIndexHidden(self, index: ModelIndex) -> bool:
        return False

    def moveCursor(
        self, action: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier
    ) -> QModelIndex:
        model = self.model()
        if model is None or model.rowCount() == 0:
            return QModelIndex()
        n = model.rowCount()
        cur = self.currentIndex().row() if self.currentIndex().isValid() else -1
        A = QAbstractItemView.CursorAction
        if cur < 0:
            return model.index(0, 0)
        target = cur
        if action in (A.MoveLeft, A.MovePrevious):
            target = cur - 1
        elif action in (A.MoveRight, A.MoveNext):
            target = cur + 1
        elif action in (A.MoveUp, A.MoveDown):
            target = self._vertical_neighbour(cur, -1 if action == A.MoveUp else 1)
        elif action in (A.MovePageUp, A.MovePageDown):
            r = self._content_rect(cur)
            if r is not None:
                dy = self.viewport().height() * (-1 if action == A.MovePageUp else 1)
                y = max(0, min(self._content_height - 1, r.center().y() + dy))
                hits = self._rows_in_rect(QRect(r.left(), y - self._cell, 1, 2 * self._cell))
                if hits:
                    target = hits[0][0] if action == A.MovePageUp else hits[-1][0]
                else:
                    target = 0 if action == A.MovePageUp else n - 1
        elif action == A.MoveHome:
            target = 0
        elif action == A.MoveEnd:
            target = n - 1
        if target >= n - self._cols and model.canFetchMore(QModelIndex()):
            model.fetchMore(QModelIndex())
            n = model.rowCount()
        return model.index(max(0, min(n - 1, target)), 0)

    def _vertical_neighbour(self, row: int, step: int) -> int:
        s = bisect.bisect_right(self._sec_starts, row) - 1
        local = row - self._sec_starts[s]
        r, c = divmod(local, self._cols)
        count = self._section_count(s)
        rows = math.ceil(count / self._cols)
        if 0 <= r + step < rows:
            return self._sec_starts[s] + min((r + step) * self._cols + c, count - 1)
        ns = s + step
        if not 0 <= ns < len(self._sec_starts):
            return row
        ncount = self._section_count(ns)
        last_line = (math.ceil(ncount / self._cols) - 1) * self._cols if step < 0 else 0
        return self._sec_starts[ns] + min(last_line + c, ncount - 1)

    def setSelection(self, rect: QRect, command: QItemSelectionModel.SelectionFlag) -> None:
        model, sm = self.model(), self.selectionModel()
        if model is None or sm is None:
            return
        selection = QItemSelection()
        for first, last in self._rows_in_rect(rect.normalized().translated(0, self.verticalOffset())):
            selection.select(model.index(first, 0), model.index(last, 0))
        sm.select(selection, command)

    def visualRegionForSelection(self, selection: QItemSelection) -> QRegion:
        # repainting the viewport is cheaper than summing rectangles of a 10k-photo selection
        return QRegion(self.viewport().rect())

    def updateGeometries(self) -> None:
        bar = self.verticalScrollBar()
        vh = self.viewport().height()
        bar.setRange(0, max(0, self._content_height - vh))
        bar.setPageStep(vh)
        bar.setSingleStep(max(8, (self._cell + SPACING) // 3))
        super().updateGeometries()

    # ---------------------------------------------------- model notifications
    def setModel(self, model: PhotoModel | None) -> None:  # type: ignore[override]
        super().setModel(model)
        if model is not None:
            model.layoutAboutToBeChanged.connect(self._before_layout_change)
            model.layoutChanged.connect(self._after_layout_change)
        self._relayout()

    def _before_layout_change(self) -> None:
        kept = self._kept_anchor
        if kept is not None and kept[1] == self.verticalScrollBar().value():
            # not scrolled since the last regrouping: the same photo, not the first of its line,
            # or Years → Months → Days would drift back a line at each step
            self._layout_anchor = kept[0]
        else:
            self._layout_anchor = self._top_visible_row()

    def _after_layout_change(self) -> None:
        """Regrouped: the photo that was at the top stays at the top, under its new header."""
        anchor, self._layout_anchor = self._layout_anchor, None
        self._relayout()
        if anchor is not None and anchor > 0:
            self.scroll_to_row_top(anchor)
            self._kept_anchor = (anchor, self.verticalScrollBar().value())

    def reset(self) -> None:
        self._pending = QRegion()
        self._kept_anchor = None  # a row number of the rows that were
        super().reset()
        self.loader.drop_pending()
        self._relayout()

    def rowsInserted(self, parent: ModelIndex, start: int, end: int) -> None:
        super().rowsInserted(parent, start, end)
        self._relayout()

    def rowsAboutToBeRemoved(self, parent: ModelIndex, start: int, end: int) -> None:
        super().rowsAboutToBeRemoved(parent, start, end)
        QTimer.singleShot(0, self._relayout)

    def dataChanged(self, top_left: ModelIndex, bottom_right: ModelIndex, roles: Sequence[int] = ()) -> None:
        super().dataChanged(top_left, bottom_right, roles)
        self.viewport().update()

    # ---------------------------------------------------------------- events
    def resizeEvent(self, event: QResizeEvent) -> None:
        self._pending = QRegion()  # a resize repaints everything
        anchor = self._top_visible_row()
        super().resizeEvent(event)
        self._relayout()
        if anchor is not None and anchor > 0:
            self.scroll_to_row_top(anchor)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        # cells that scrolled away must not be decoded; the repaint re-asks for the visible ones
        self.loader.drop_pending()
        now = time.monotonic()
        self._scrolls.append((now, abs(dy)))
        while self._scrolls and now - self._scrolls[0][0] > FLING_WINDOW_S:
            self._scrolls.popleft()
        if sum(d for _, d in self._scrolls) > self.viewport().height():
            self.delegate.low_res = True  # a fling: decoding every cell that flies past costs a core
        if self.delegate.low_res:
            self._settle_timer.start()
        if self._band_origin is not None or abs(dy) >= self.viewport().height():
            self.viewport().update()
        else:
            # move the pixels already painted and paint only the strip that scrolled in:
            # a fling then paints a row or two of cells per frame instead of the whole screen
            self.viewport().scroll(dx, dy)
            if not self._pending.isEmpty():
                # cells asked to repaint before this scroll have moved with their pixels: repaint
                # them where they are now, or half a cell keeps its placeholder
                self._pending.translate(dx, dy)
                self._pending &= QRegion(self.viewport().rect())  # what scrolled off needs no paint
                self.viewport().update(self._pending)
        self._fetch_timer.start()

    def is_scrolling(self) -> bool:
        """A fling is going on (more than a screen within FLING_WINDOW_S, not settled yet)."""
        return bool(self.delegate.low_res)

    def _settled(self) -> None:
        """The fling is over: load the exact thumbnails of what is on screen."""
        self.delegate.low_res = False
        self._scrolls.clear()
        self.viewport().update()
        self.scroll_idle.emit()

    def _maybe_fetch(self) -> None:
        model = self.model()
        if model is None or not model.canFetchMore(QModelIndex()):
            return
        bar = self.verticalScrollBar()
        # keep about two screens loaded below what is visible
        if bar.maximum() - bar.value() < 2 * max(1, self.viewport().height()):
            model.fetchMore(QModelIndex())

    def _on_thumbnail(self, content_hash: str) -> None:
        self._arrived.add(content_hash)
        if not self._repaint_timer.isActive():
            self._repaint_timer.start()

    def _update_part(self, region: QRegion) -> None:
        """Repaint part of the viewport, remembered until painted so a scroll can move it along."""
        self._pending += region
        self.viewport().update(region)

    def _repaint_arrived(self) -> None:
        """Repaint only the visible cells whose thumbnails arrived since the last frame."""
        arrived, self._arrived = self._arrived, set()
        model = self.photo_model()
        if model is None:
            self.viewport().update()
            return
        offset = self.verticalOffset()
        visible = self.viewport().rect().translated(0, offset)
        region = QRegion()
        for first, last in self._rows_in_rect(visible):
            for row in range(first, last + 1):
                if model.record(row).content_hash in arrived and (r := self._content_rect(row)) is not None:
                    region += r.translated(0, -offset)
        if not region.isEmpty():
            self._update_part(region)

    def paintEvent(self, event: QPaintEvent) -> None:
        self._pending = self._pending.subtracted(event.region())
        painter = QPainter(self.viewport())
        palette = self.palette()
        region = event.region()
        for r in _rects(region):
            painter.fillRect(r, palette.color(QPalette.ColorRole.Base))
        model = self.model()
        if model is None or not self._sec_y:
            painter.end()
            return
        self.delegate.device_pixel_ratio = self.loader.device_pixel_ratio = self.devicePixelRatioF()
        offset = self.verticalOffset()
        # the exposed parts only (a scrolled-in strip, the cells whose thumbnails arrived)
        parts = [QRect(r).translated(0, offset) for r in _rects(region)]
        visible = QRect(event.rect()).translated(0, offset)
        # headers
        s = max(0, bisect.bisect_right(self._sec_y, visible.top()) - 1)
        if self._header:
            while s < len(self._sec_y) and self._sec_y[s] <= visible.bottom():
                hrect = QRect(
                    MARGIN, self._sec_y[s] - offset, self.viewport().width() - 2 * MARGIN, self._header
                )
                if region.intersects(hrect):
                    count = model.section_count(s) if isinstance(model, PhotoModel) else None
                    self.delegate.paint_header(
                        painter, hrect, self._sec_titles[s], palette, count, self._header_scale
                    )
                s += 1
        sm = self.selectionModel()
        current_row = self.currentIndex().row() if self.hasFocus() else -1
        hover_row = self._hover.row() if self._hover.isValid() else -1
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        base_state = option.state
        records = model if isinstance(model, PhotoModel) else None
        painted = 0
        ranges = self._rows_in_rect(parts[0]) if len(parts) == 1 else self._rows_in_parts(parts)
        for first, last in ranges:
            for row in range(first, last + 1):
                rect = self._content_rect(row)
                if rect is None:
                    continue
                index = model.index(row, 0)
                option.rect = rect.translated(0, -offset)
                state = base_state
                if sm is not None and sm.isSelected(index):
                    state |= QStyle.StateFlag.State_Selected
                if row == current_row:
                    state |= QStyle.StateFlag.State_HasFocus
                if row == hover_row:
                    state |= QStyle.StateFlag.State_MouseOver
                option.state = state
                if records is not None:
                    self.delegate.paint_record(painter, option, records.record(row))
                else:
                    self.delegate.paint(painter, option, index)
                painted += 1
        if self._band_origin is not None and self._band_end is not None:
            band = QStyleOptionRubberBand()
            band.initFrom(self)
            band.shape = band.shape.Rectangle
            band.opaque = False
            band.rect = QRect(self._band_origin, self._band_end).normalized().translated(0, -offset)
            self.style().drawControl(QStyle.ControlElement.CE_RubberBand, band, painter, self)
        painter.end()
        if painted:
            self.painted_frames += 1
            if not self._painted_cells:
                self._painted_cells = True
                self.first_paint.emit()

    def header_at(self, point: QPoint) -> int | None:
        """The year or month group whose header title is under viewport ``point``: a click there
        zooms into it (a day has nothing finer, so its header is just a label)."""
        model = self.photo_model()
        if model is None or not self._header or model.grouping == GROUP_DAY:
            return None
        y = point.y() + self.verticalOffset()
        s = bisect.bisect_right(self._sec_y, y) - 1
        if s < 0 or y >= self._sec_y[s] + self._header:
            return None
        width = QFontMetrics(header_font(self.font(), self._header_scale)).horizontalAdvance(
            self._sec_titles[s]
        )
        return s if MARGIN <= point.x() <= MARGIN + width + 8 else None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if event.button() == Qt.MouseButton.LeftButton and (s := self.header_at(pos)) is not None:
            self.header_clicked.emit(self._sec_starts[s])
            return
        if event.button() == Qt.MouseButton.LeftButton and not self.indexAt(pos).isValid():
            self._band_origin = pos + QPoint(0, self.verticalOffset())
            self._band_end = self._band_origin
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        over_header = self._band_origin is None and self.header_at(pos) is not None
        self.viewport().setCursor(
            Qt.CursorShape.PointingHandCursor if over_header else Qt.CursorShape.ArrowCursor
        )
        if self._band_origin is not None:
            self._band_end = pos + QPoint(0, self.verticalOffset())
            self.viewport().update()
        hover = self.indexAt(pos)
        if QPersistentModelIndex(hover) != self._hover:
            old = self._hover
            self._hover = QPersistentModelIndex(hover)
            for idx in (old, hover):
                if idx.isValid():
                    self._update_part(QRegion(self.visualRect(idx)))
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._band_origin is not None:
            self._band_origin = self._band_end = None
            self.viewport().update()
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        index = self.indexAt(event.position().toPoint())
        if index.isValid() and event.button() == Qt.MouseButton.LeftButton:
            self.open_requested.emit(index)
            return
        super().mouseDoubleClickEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        self._hover = QPersistentModelIndex()
        self.viewport().update()
        super().leaveEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if mods == Qt.KeyboardModifier.NoModifier:
            if Qt.Key.Key_0 <= key <= Qt.Key.Key_5:
                self.rate_requested.emit(int(key - Qt.Key.Key_0))
                return
            if key in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if self.currentIndex().isValid():
                    self.open_requested.emit(self.currentIndex())
                return
            if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
                self.trash_requested.emit()
                return
        if mods == Qt.KeyboardModifier.ShiftModifier and key == Qt.Key.Key_Delete:
            self.remove_requested.emit()
            return
        super().keyPressEvent(event)

    def keyboardSearch(self, search: str) -> None:
        # typing letters in the grid must not jump around by file name; digits are ratings
        return

    def startDrag(self, supported: Qt.DropAction) -> None:
        model = self.model()
        indexes = [i for i in self.selectedIndexes() if i.isValid()]
        if model is None or not indexes:
            return
        drag = QDrag(self)
        drag.setMimeData(model.mimeData(indexes))
        drag.setPixmap(self._drag_pixmap(indexes))
        drag.exec(Qt.DropAction.CopyAction)

    def _drag_pixmap(self, indexes: list[QModelIndex]) -> QPixmap:
        size = 96
        pm = QPixmap(size, size)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        img = self.loader.image(indexes[0].data(HashRole), indexes[0].data(PathRole) or "", size)
        if isinstance(img, QImage):  # not None (loading) nor FAILED
            p.drawImage(QRect(0, 0, size, size), img)
        else:
            p.fillRect(pm.rect(), QColor(128, 128, 128, 160))
        if len(indexes) > 1:
            p.setBrush(QColor("#e5484d"))
            p.setPen(Qt.PenStyle.NoPen)
            p.drawEllipse(QRect(size - 34, 2, 32, 22))
            p.setPen(QColor("white"))
            p.drawText(QRect(size - 34, 2, 32, 22), Qt.AlignmentFlag.AlignCenter, str(len(indexes)))
        p.end()
        return pm


__all__ = ["DEFAULT_ZOOM", "MAX_ZOOM", "MIN_ZOOM", "PhotoDelegate", "PhotoGridView"]
