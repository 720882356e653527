"""The viewer: one photo large, with zoom, pan, previous/next, full screen and the info panel.

Pictures come from the preview cache (a large upright sRGB JPEG made once per
photo) and are decoded on the job runner, never on the GUI thread. While the
preview loads the grid thumbnail stands in, so the window is never blank.
Zooming past the preview's resolution loads the original at full size, so
"100 %" really is one photo pixel per screen pixel.

Zoom is kept in *original* pixels (``zoom() == 1.0`` is 100 %), whatever
picture is on screen, so swapping the thumbnail for the preview or the preview
for the full-size picture never moves the view.

A photo turned in the catalog (``Photo.rotation``) is turned on screen: the
decoded pictures stay upright per the file and are turned as they are shown.

A video shows its poster, with the player's controls under it, until it is
played (``player.VideoPlayer``, the only user of QtMultimedia); a Live
Photo's still has a LIVE button that plays its motion clip over it, muted,
once. Keys: ← → move between photos, except once a video has started (playing
or paused), when they seek 5 s and Page Up / Page Down move on; Space plays
or pauses a video, and held down plays a Live Photo's motion.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, QSizeF, Qt, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QFont,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.catalog.reads import STATUS_MISSING
from desktop.core.imaging.decode import ImageError, load_upright
from desktop.core.imaging.video import load_poster
from desktop.core.library import Library
from desktop.core.runtime.errors import ShoeboxError
from desktop.core.runtime.jobs import JobControl
from desktop.gui.app.jobs import JobRunner
from desktop.gui.grid.thumbnail_loader import turned
from desktop.gui.panels.info_panel import InfoPanel
from desktop.gui.viewer.player import SEEK_STEP_MS, VideoPlayer
from desktop.gui.widgets.icons import app_icon, icon

log = logging.getLogger(__name__)

MIN_ZOOM = 0.02
MAX_ZOOM = 16.0
ZOOM_STEP = 1.25
SETTING_INFO_VISIBLE = "viewer.info_visible"
_BACKGROUND = QColor(24, 24, 26)
# reads as a control before the pointer is over it, in light and dark palettes alike
_LIVE_BADGE_STYLE = """
QToolButton#liveButton {
    border: 1px solid palette(text);
    border-radius: 10px;
    padding: 1px 8px 1px 5px;
    font-weight: 600;
}
QToolButton#liveButton:hover { background: palette(highlight); color: palette(highlighted-text);
    border-color: palette(highlight); }
QToolButton#liveButton:pressed { background: palette(dark); }
"""
_MEMORY_CACHE = 6  # decoded previews kept in memory: the current photo and its neighbours


def qimage_from_pil(picture: object) -> QImage:
    """An owned RGB888 ``QImage`` from a Pillow RGB image (safe to build on a worker thread)."""
    from PIL import Image

    assert isinstance(picture, Image.Image)
    img = picture if picture.mode == "RGB" else picture.convert("RGB")
    data = img.tobytes()
    qimg = QImage(data, img.width, img.height, img.width * 3, QImage.Format.Format_RGB888)
    return qimg.copy()  # detach from ``data``, which Python frees after return


# ----------------------------------------------------------------------------- canvas


class ImageCanvas(QWidget):
    """Paints one picture fitted, zoomed and panned; shows a message instead when there is none."""

    zoom_changed = Signal(float)
    full_resolution_wanted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(False)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(200, 150)
        self._image: QImage | None = None
        self._pixmap: QPixmap | None = None
        self._scaled: tuple[QSize, QPixmap] | None = None  # pixmap pre-shrunk for the current zoom
        self._full_image: QImage | None = None  # the original at full size, used only when magnified
        self._full = QSizeF()  # the original's size: zoom is relative to it
        self._zoom = 1.0
        self._fit = True
        self._center = QPointF()  # the point of the original shown at the canvas centre
        self._drag_from: QPointF | None = None
        self._message = ""
        self._detail = ""
        self._busy = False
        self._note = ""  # a line shown over the picture (a video that cannot be played says so)
        self._zoomable = True  # False for a video's poster: the clip plays fitted, whatever the poster's zoom

    # ------------------------------------------------------------ picture
    def set_picture(self, image: QImage, full_size: QSizeF | None = None, keep_view: bool = False) -> None:
        """Show ``image``; ``full_size`` is the original's size when ``image`` is a reduction."""
        same_photo_size = full_size is not None and full_size == self._full
        self._image = image
        self._pixmap = QPixmap.fromImage(image)
        self._scaled = None
        self._full_image = None
        self._full = QSizeF(full_size) if full_size is not None else QSizeF(image.size())
        self._message = self._detail = ""
        self._busy = False
        if not (keep_view and same_photo_size):
            self._fit = True
            self._center = QPointF(self._full.width() / 2, self._full.height() / 2)
        self._apply_fit()
        self.update()

    def set_full_image(self, image: QImage) -> None:
        """Add the full-size original, drawn instead of the picture wherever that would be magnified."""
        if self._image is None:
            return
        self._full_image = image
        self._busy = False
        self.update()

    def has_full_image(self) -> bool:
        return self._full_image is not None

    def set_message(self, message: str, detail: str = "", busy: bool = False) -> None:
        """Replace the picture with a centred message (loading, missing, unreadable)."""
        self._image = self._pixmap = None
        self._scaled = None
        self._full_image = None
        self._message, self._detail, self._busy = message, detail, busy
        self.update()

    def set_note(self, note: str) -> None:
        self._note = note
        self.update()

    def note(self) -> str:
        return self._note

    def set_busy(self, busy: bool) -> None:
        """Overlay a small "Loading…" on the picture shown (a thumbnail while the preview loads)."""
        self._busy = busy
        self.update()

    def has_picture(self) -> bool:
        return self._pixmap is not None

    def picture_size(self) -> QSize:
        return self._image.size() if self._image is not None else QSize()

    def message(self) -> str:
        return self._message

    def detail(self) -> str:
        return self._detail

    def busy(self) -> bool:
        return self._busy

    # --------------------------------------------------------------- zoom
    def set_zoomable(self, zoomable: bool) -> None:
        """Allow zooming (a photo) or keep the picture fitted (a video's poster)."""
        self._zoomable = zoomable
        if not zoomable:
            self.fit_to_window()

    def zoomable(self) -> bool:
        return self._zoomable

    def zoom(self) -> float:
        """Screen pixels per original pixel (1.0 is 100 %)."""
        return self._zoom

    def is_fit(self) -> bool:
        return self._fit

    def fit_zoom(self) -> float:
        if self._full.isEmpty():
            return 1.0
        dpr = self.devicePixelRatioF()
        fit = min(self.width() / self._full.width(), self.height() / self._full.height()) * dpr
        # Small pictures are shown at 100 %, not blown up into a blur; a video's poster fills the window
        # as its clip does when it plays, so the picture does not jump in size when playing starts
        return fit if not self._zoomable else min(1.0, fit)

    def fit_to_window(self) -> None:
        self._fit = True
        self._apply_fit()
        self.update()

    def zoom_to(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Set the zoom, keeping the original's point under ``anchor`` (widget coords) in place."""
        if self._full.isEmpty() or not self._zoomable:
            return
        zoom = max(min(MIN_ZOOM, self.fit_zoom()), min(MAX_ZOOM, zoom))
        if anchor is not None:
            before = self._to_image(anchor)
        self._zoom = zoom
        self._fit = False
        if anchor is not None:
            after = self._to_image(anchor)
            self._center += before - after
        self._clamp_center()
        self._scaled = None
        self.update()
        self.zoom_changed.emit(self._zoom)
        self._maybe_want_full()

    def zoom_in(self, anchor: QPointF | None = None) -> None:
        self.zoom_to(self._zoom * ZOOM_STEP, anchor)

    def zoom_out(self, anchor: QPointF | None = None) -> None:
        self.zoom_to(self._zoom / ZOOM_STEP, anchor)

    def actual_size(self) -> None:
        self.zoom_to(1.0)

    def needs_full_resolution(self) -> bool:
        """True when the picture on screen is magnified beyond its own pixels and the original has more."""
        if self._image is None or self._full_image is not None or self._full.isEmpty():
            return False
        have = self._image.width()
        return self._full.width() > have * 1.01 and self._zoom * self._full.width() / have > 1.01

    def _maybe_want_full(self) -> None:
        if self.needs_full_resolution():
            self.full_resolution_wanted.emit()

    def _apply_fit(self) -> None:
        if not self._fit or self._full.isEmpty():
            return
        zoom = self.fit_zoom()
        self._center = QPointF(self._full.width() / 2, self._full.height() / 2)
        if zoom != self._zoom:
            self._zoom = zoom
            self._scaled = None
            self.zoom_changed.emit(zoom)

    # --------------------------------------------------------- geometry
    def _scale(self) -> float:
        """Widget (logical) pixels per original pixel."""
        return self._zoom / self.devicePixelRatioF()

    def _to_image(self, p: QPointF) -> QPointF:
        s = self._scale()
        return QPointF(
            self._center.x() + (p.x() - self.width() / 2) / s,
            self._center.y() + (p.y() - self.height() / 2) / s,
        )

    def _target_rect(self) -> QRectF:
        s = self._scale()
        w, h = self._full.width() * s, self._full.height() * s
        x = self.width() / 2 - self._center.x() * s
        y = self.height() / 2 - self._center.y() * s
        return QRectF(x, y, w, h)

    def _clamp_center(self) -> None:
        """Keep the picture on screen: centred along an axis where it fits, edge-to-edge where not."""
        s = self._scale()
        half_w, half_h = self.width() / 2 / s, self.height() / 2 / s
        fw, fh = self._full.width(), self._full.height()
        cx = fw / 2 if fw <= 2 * half_w else min(max(self._center.x(), half_w), fw - half_w)
        cy = fh / 2 if fh <= 2 * half_h else min(max(self._center.y(), half_h), fh - half_h)
        self._center = QPointF(cx, cy)

    def view_center(self) -> QPointF:
        """The original's point at the canvas centre (for tests and the status line)."""
        return QPointF(self._center)

    # ------------------------------------------------------------- events
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        if self._fit:
            self._apply_fit()
        else:
            self._clamp_center()
        super().resizeEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        delta = event.angleDelta().y()
        if not delta or self._pixmap is None or not self._zoomable:
            event.ignore()
            return
        self.zoom_to(self._zoom * ZOOM_STEP ** (delta / 120), event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self._pixmap is not None:
            self._drag_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag_from is None:
            return
        delta = event.position() - self._drag_from
        self._drag_from = event.position()
        s = self._scale()
        self._center -= QPointF(delta.x() / s, delta.y() / s)
        self._clamp_center()
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag_from is not None:
            self._drag_from = None
            self.unsetCursor()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        # The usual viewer gesture: double-click toggles between fitted and 100 % at the pointer.
        if self._pixmap is None or not self._zoomable:
            return
        if self._fit and self.fit_zoom() < 1.0:
            self.zoom_to(1.0, event.position())
        else:
            self.fit_to_window()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), _BACKGROUND)
        if self._pixmap is not None:
            self._paint_picture(p)
        if self._message:
            self._paint_message(p)
        elif self._busy:
            self._paint_badge(p, "Loading…")
        elif self._note and self._pixmap is not None:
            self._paint_badge(p, self._note)
        p.end()

    def _paint_picture(self, p: QPainter) -> None:
        assert self._pixmap is not None
        target = self._target_rect()
        dpr = self.devicePixelRatioF()
        device_size = QSize(round(target.width() * dpr), round(target.height() * dpr))
        if device_size.width() < self._pixmap.width():
            # Shrinking: QPainter's bilinear filter aliases at large ratios, so pre-scale once per zoom.
            if self._scaled is None or self._scaled[0] != device_size:
                assert self._image is not None
                scaled = QPixmap.fromImage(
                    self._image.scaled(
                        device_size,
                        Qt.AspectRatioMode.IgnoreAspectRatio,
                        Qt.TransformationMode.SmoothTransformation,
                    )
                )
                scaled.setDevicePixelRatio(dpr)
                self._scaled = (device_size, scaled)
            p.drawPixmap(target.topLeft(), self._scaled[1])
        elif self._full_image is not None and device_size.width() > self._pixmap.width():
            # Kept as a QImage: converting a 50 MP original to a pixmap would stall the GUI thread.
            smooth = device_size.width() < 2 * self._full_image.width()
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
            p.drawImage(target, self._full_image, QRectF(self._full_image.rect()))
        else:
            # Magnifying past 200 % shows the pixels as they are, the way photo editors do.
            smooth = device_size.width() < 2 * self._pixmap.width()
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
            p.drawPixmap(target, self._pixmap, QRectF(self._pixmap.rect()))

    def _paint_message(self, p: QPainter) -> None:
        p.setPen(QColor(235, 235, 235))
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        p.setFont(font)
        r = self.rect().adjusted(40, 0, -40, 0)
        title_h = p.fontMetrics().height()
        mid = r.height() // 2
        p.drawText(
            QRectF(r.x(), mid - title_h - 8, r.width(), title_h + 8),
            Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
            self._message,
        )
        if self._detail:
            p.setFont(self.font())
            p.setPen(QColor(170, 170, 175))
            p.drawText(
                QRectF(r.x(), mid + 4, r.width(), r.height() / 2 - 8),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap,
                self._detail,
            )

    def _paint_badge(self, p: QPainter, text: str) -> None:
        fm = p.fontMetrics()
        w, h = fm.horizontalAdvance(text) + 20, fm.height() + 10
        rect = QRectF(self.width() - w - 12, self.height() - h - 12, w, h)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 170))
        p.drawRoundedRect(rect, h / 2, h / 2)
        p.setPen(QColor(235, 235, 235))
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


# ----------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class _Loaded:
    photo_id: int
    image: QImage
    full: bool  # the original at full size, not the preview


class PhotoUnavailable(ShoeboxError):
    """The photo cannot be shown; the message is written for the person looking at the viewer."""


def _load_preview(library: Library, photo_id: int, content_hash: str | None, source: Path) -> _Loaded:
    """Worker-thread part: the cached preview (made on first view) decoded to a QImage."""
    try:
        if not source.exists():
            raise PhotoUnavailable(
                f"The file is missing\n{source}\nIt was moved, renamed or deleted, "
                "or the drive it is on is not connected."
            )
        if content_hash:
            image = QImage(str(library.previews.get_or_make(content_hash, source)))
            if image.isNull():
                raise ImageError("the cached preview could not be decoded")
        else:
            # No hash means the scanner could not read it either; try once more for the real reason.
            image = qimage_from_pil(load_upright(source, max_side=library.previews.long_side))
    except ImageError as exc:
        raise PhotoUnavailable(f"Shoebox can't show this photo\n{exc.reason}\n{source}") from None
    return _Loaded(photo_id, image, full=False)


def _load_video_poster(library: Library, photo_id: int, source: Path) -> _Loaded:
    """Worker-thread part for a video: its poster frame at the previews' size, shown until it plays."""
    try:
        if not source.exists():
            raise PhotoUnavailable(
                f"The file is missing\n{source}\nIt was moved, renamed or deleted, "
                "or the drive it is on is not connected."
            )
        image = qimage_from_pil(load_poster(source, max_side=library.previews.long_side))
    except ImageError as exc:
        raise PhotoUnavailable(f"Shoebox can't show this video\n{exc.reason}\n{source}") from None
    return _Loaded(photo_id, image, full=False)


def _load_full(photo_id: int, source: Path, rotation: int = 0) -> _Loaded:
    # turned here, on the worker: turning a full-size picture costs the GUI thread frames
    try:
        return _Loaded(photo_id, turned(qimage_from_pil(load_upright(source)), rotation), full=True)
    except ImageError as exc:
        raise PhotoUnavailable(
            f"Shoebox can't show this photo at full size\n{source}\n{exc.reason}"
        ) from None


def _preview_job(
    library: Library, photo_id: int, content_hash: str | None, source: Path
) -> Callable[[JobControl], _Loaded]:
    """``_load_preview`` bound to one photo, for the runner (a loop's lambda would share its variables)."""
    return lambda _control: _load_preview(library, photo_id, content_hash, source)


def _load_thumbnail(library: Library, photo_id: int, content_hash: str) -> _Loaded | None:
    data = library.thumbnails.read(content_hash)
    if data is None:
        return None
    # the stub types the format as bytes, but PySide6 rejects bytes there and takes a str
    image = QImage.fromData(data, "JPEG")  # type: ignore[arg-type]
    return None if image.isNull() else _Loaded(photo_id, image, full=False)


# ----------------------------------------------------------------------------- the window


class ViewerWindow(QWidget):
    """A window showing ``photo_ids[index]`` large; the arrow keys move through ``photo_ids``."""

    current_changed = Signal(int)  # the photo id now shown
    edited = Signal(list)  # photo ids whose user data or turn changed here (the catalog has it)

    def __init__(
        self,
        library: Library,
        runner: JobRunner,
        photo_ids: list[int],
        index: int,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        # A window of its own even when given a parent (the parent only owns its lifetime).
        self.setWindowFlag(Qt.WindowType.Window)
        self.setWindowIcon(app_icon())
        self.library = library
        self.runner = runner
        self.photo_ids = list(photo_ids)
        self.index = max(0, min(index, len(self.photo_ids) - 1)) if self.photo_ids else 0
        self._token = 0  # bumps on every navigation; late results for other photos are not shown
        self._memory: OrderedDict[int, QImage] = OrderedDict()
        self._full_loading = False
        self._full_size = QSizeF()
        self._record_source: Path | None = None
        self._rotation = 0  # the shown photo's catalog-only turn, clockwise degrees
        self._motion_path: Path | None = None  # the shown Live Photo's motion clip

        self.canvas = ImageCanvas()
        self.canvas.zoom_changed.connect(self._update_bar)
        self.canvas.full_resolution_wanted.connect(self._load_full_resolution)
        self.info_panel = InfoPanel(library)
        self.info_panel.user_data_changed.connect(self._info_edited)
        self.info_panel.setMinimumWidth(280)
        self.player = VideoPlayer(self.canvas)
        self.player.failed.connect(self.canvas.set_note)
        self.player.controls.hide()
        self.stage = QWidget()
        stage = QVBoxLayout(self.stage)
        stage.setContentsMargins(0, 0, 0, 0)
        stage.setSpacing(0)
        stage.addWidget(self.canvas, 1)
        stage.addWidget(self.player.controls)

        self.bar = QWidget()
        self.bar.setObjectName("viewerBar")
        bar = QHBoxLayout(self.bar)
        bar.setContentsMargins(8, 4, 8, 4)
        bar.setSpacing(4)
        self.prev_button = self._tool(
            "previous",
            "Previous photo (← or Page Up; once a video has started, ← seeks back 5 s)",
            self.previous,
        )
        self.next_button = self._tool(
            "next", "Next photo (→ or Page Down; once a video has started, → seeks on 5 s)", self.next
        )
        bar.addWidget(self.prev_button)
        bar.addWidget(self.next_button)
        self.position_label = QLabel()
        bar.addWidget(self.position_label)
        self.name_label = QLabel()
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar.addWidget(self.name_label, 1)
        self.live_button = self._live_badge()
        self.live_button.hide()
        bar.addWidget(self.live_button)
        self.zoom_label = QLabel()
        self.zoom_label.setMinimumWidth(60)
        self.zoom_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # hidden while a video is shown: it plays fitted to the window, and zoom would only move its poster
        self.zoom_tools: list[QWidget] = [
            self.zoom_label,
            self._text_tool("−", "Zoom out (−)", self.canvas.zoom_out),
            self._text_tool("+", "Zoom in (+)", self.canvas.zoom_in),
            self._text_tool("Fit", "Fit to window (0)", self.canvas.fit_to_window),
            self._text_tool("1:1", "Actual size, 100 % (1)", self.canvas.actual_size),
        ]
        for tool in self.zoom_tools:
            bar.addWidget(tool)
        self.info_button = self._text_tool("Info", "Show or hide the info panel (I)", self.toggle_info)
        self.info_button.setCheckable(True)
        bar.addWidget(self.info_button)
        bar.addWidget(self._tool("fullscreen", "Full screen (F11)", self.toggle_full_screen))

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.stage)
        self.splitter.addWidget(self.info_panel)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setCollapsible(0, False)
        self.splitter.setSizes([900, 300])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.bar)
        layout.addWidget(self.splitter, 1)

        visible = library.get_setting(SETTING_INFO_VISIBLE, "0") == "1"
        self.info_panel.setVisible(visible)
        self.info_button.setChecked(visible)
        self._fit_to_screen()
        self.canvas.setFocus()
        self._show_current()

    # ----------------------------------------------------------- construction
    def _tool(self, name: str, tip: str, slot: object) -> QToolButton:
        btn = QToolButton()
        btn.setIcon(icon(name))
        btn.setToolTip(tip)
        btn.setAutoRaise(True)
        btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the arrow keys belong to navigation
        btn.clicked.connect(slot)
        return btn

    def _text_tool(self, text: str, tip: str, slot: object) -> QToolButton:
        btn = QToolButton()
        btn.setText(text)
        btn.setToolTip(tip)
        btn.setAutoRaise(True)
        btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        btn.clicked.connect(lambda: slot())  # type: ignore[operator]
        return btn

    def _live_badge(self) -> QToolButton:
        """The LIVE button: a rounded, outlined badge with a play mark, so it reads as a control
        before the pointer is over it (an auto-raised text button looks like a label)."""
        btn = self._text_tool("LIVE", "Play this Live Photo's motion (click, or hold Space)", self.play_live)
        btn.setObjectName("liveButton")
        btn.setIcon(icon("play"))
        btn.setIconSize(QSize(12, 12))
        btn.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        btn.setAutoRaise(False)
        btn.setCursor(Qt.CursorShape.PointingHandCursor)
        btn.setStyleSheet(_LIVE_BADGE_STYLE)
        return btn

    def _fit_to_screen(self) -> None:
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            self.resize(1200, 800)
            return
        avail = screen.availableGeometry()
        self.resize(min(1400, int(avail.width() * 0.85)), min(950, int(avail.height() * 0.85)))

    # ------------------------------------------------------------- navigation
    def current_id(self) -> int | None:
        return self.photo_ids[self.index] if self.photo_ids else None

    def go_to(self, index: int) -> None:
        if not self.photo_ids:
            return
        index = max(0, min(index, len(self.photo_ids) - 1))
        if index == self.index:
            return
        self.index = index
        self._show_current()
        self.current_changed.emit(self.photo_ids[index])

    def next(self) -> None:
        self.go_to(self.index + 1)

    def previous(self) -> None:
        self.go_to(self.index - 1)

    # ------------------------------------------------------------- showing
    def _show_current(self) -> None:
        self._token += 1
        self._full_loading = False
        self.player.release()  # the file is let go before anything else is shown
        self.player.controls.hide()
        self.live_button.hide()
        self._motion_path = None
        photo_id = self.current_id()
        if photo_id is None:
            self.canvas.set_message("No photos to show")
            self._update_bar()
            return
        photo = self.library.reads.record(photo_id)
        self.info_panel.set_photos([photo_id] if photo is not None else [])
        if photo is None:
            self._record_source = None
            self.canvas.set_message("This photo is no longer in the library")
            self._update_bar()
            return
        source = Path(photo.path)
        self._record_source = source
        self.setWindowTitle(f"{source.name} — Shoebox")
        # Aspect ratio comes from the pixels; the catalog only says how many the original has.
        self._rotation = photo.rotation % 360
        w, h = photo.width or 0, photo.height or 0
        self._full_size = QSizeF(h, w) if self._rotation % 180 else QSizeF(w, h)
        self._update_bar()
        self.canvas.set_note("")
        self.canvas.set_zoomable(not photo.is_video)
        for tool in self.zoom_tools:
            tool.setVisible(not photo.is_video)
        if photo.status == STATUS_MISSING:
            self.canvas.set_message(
                "The file is missing",
                f"{source}\nIt was moved, renamed or deleted, or the drive it is on is not connected.",
            )
            return
        if photo.is_video:
            self.player.controls.show()
            self.player.load(source)  # opened paused: the poster stays until it plays
        elif photo.motion_path:
            self._motion_path = Path(photo.motion_path)
            self.live_button.show()
            self._prepare_live()  # the backend's start-up and the file's opening happen now, not on the press
        cached = self._memory.get(photo_id)
        if cached is not None:
            self._memory.move_to_end(photo_id)
            shown = turned(cached, self._rotation)
            self.canvas.set_picture(shown, self._full_for(shown))
            self._prefetch()
            return
        token = self._token
        self.canvas.set_message("Loading…", busy=True)
        content_hash = photo.content_hash
        if content_hash and self.library.thumbnails.has(content_hash):
            self.runner.submit(
                "Viewer: thumbnail",
                lambda _c: _load_thumbnail(self.library, photo_id, content_hash),
                on_result=lambda r: self._on_thumbnail(token, r),
                track=False,
                owner=self,
            )
        if photo.is_video:
            self._full_loading = True  # a video has no full-size picture: it plays instead
        self.runner.submit(
            f"Viewer: {source.name}",
            lambda _c: (
                _load_video_poster(self.library, photo_id, source)
                if photo.is_video
                else _load_preview(self.library, photo_id, content_hash, source)
            ),
            on_result=lambda r: self._on_loaded(token, r),
            on_error=lambda msg: self._on_failed(token, msg),
            track=False,
            owner=self,
        )

    def _full_for(self, image: QImage) -> QSizeF:
        """The original's size with ``image``'s aspect ratio (never smaller than ``image``)."""
        long_side = max(self._full_size.width(), self._full_size.height())
        have = max(image.width(), image.height())
        factor = long_side / have if have and long_side > have else 1.0
        return QSizeF(image.width() * factor, image.height() * factor)

    def _on_thumbnail(self, token: int, result: _Loaded | None) -> None:
        if token != self._token or result is None or not self.canvas.busy():
            return
        if self.canvas.has_picture():
            return  # the preview won the race
        shown = turned(result.image, self._rotation)
        self.canvas.set_picture(shown, self._full_for(shown))
        self.canvas.set_busy(True)

    def _on_loaded(self, token: int, result: _Loaded) -> None:
        self._remember(result.photo_id, result.image)
        if token != self._token:
            return
        had_thumbnail = self.canvas.has_picture()
        shown = turned(result.image, self._rotation)
        self.canvas.set_picture(shown, self._full_for(shown), keep_view=had_thumbnail)
        self._update_bar()
        self._prefetch()
        if self.canvas.needs_full_resolution():
            self._load_full_resolution()

    def _on_failed(self, token: int, message: str) -> None:
        if token != self._token:
            return
        title, _, detail = message.partition("\n")
        self.canvas.set_message(title, detail)
        self._update_bar()

    def _remember(self, photo_id: int, image: QImage) -> None:
        self._memory[photo_id] = image
        self._memory.move_to_end(photo_id)
        while len(self._memory) > _MEMORY_CACHE:
            self._memory.popitem(last=False)

    def _prefetch(self) -> None:
        """Make the neighbours' previews now so the next arrow key shows them at once."""
        for i in (self.index + 1, self.index - 1):
            if not 0 <= i < len(self.photo_ids) or self.photo_ids[i] in self._memory:
                continue
            pid = self.photo_ids[i]
            photo = self.library.reads.record(pid)
            if photo is None or photo.status == STATUS_MISSING or not photo.content_hash or photo.is_video:
                continue
            src, h = Path(photo.path), photo.content_hash

            self.runner.submit(
                "Viewer: prefetch",
                _preview_job(self.library, pid, h, src),
                on_result=lambda r: self._remember(r.photo_id, r.image),
                on_error=lambda _m: None,  # shown (with its reason) if the person goes there
                track=False,
                owner=self,
            )

    def _load_full_resolution(self) -> None:
        if self._full_loading or self._record_source is None:
            return
        self._full_loading = True
        token, source, photo_id = self._token, self._record_source, self.current_id() or 0
        rotation = self._rotation
        self.canvas.set_busy(True)
        self.runner.submit(
            f"Viewer: {source.name} at full size",
            lambda _c: _load_full(photo_id, source, rotation),
            on_result=lambda r: self._on_full(token, r),
            on_error=lambda msg: self._on_full_failed(token, msg),
            track=False,
            owner=self,
        )

    def _on_full(self, token: int, result: _Loaded) -> None:
        if token != self._token:
            return
        self.canvas.set_full_image(result.image)

    def _on_full_failed(self, token: int, message: str) -> None:
        if token != self._token:
            return
        log.warning("full-size view failed: %s", message)
        self.canvas.set_busy(False)  # keep showing the preview, which is still right

    # ---------------------------------------------------------- playing
    def video_started(self) -> bool:
        """A video is shown and has started (playing or paused on a frame): the arrows seek."""
        return not self.player.controls.isHidden() and self.player.is_loaded() and self.player.is_showing()

    def play_live(self) -> None:
        """Play the Live Photo's motion over its still, muted, once; the still comes back at its end."""
        if self._motion_path is None:
            return
        self.player.load(self._motion_path, muted=True, once=True)
        self.player.play()

    def stop_live(self) -> None:
        if self._motion_path is not None and self.player.source() == self._motion_path:
            self.player.release()

    def _prepare_live(self) -> None:
        """Open the Live Photo's clip while its still shows, so that holding Space plays it at once
        (once played, the clip is let go; the player, already started, opens it again quickly)."""
        if self._motion_path is not None and self.player.source() is None:
            self.player.preload(self._motion_path)

    # ---------------------------------------------------------- edits
    def rotate(self, degrees: int) -> None:
        """Turn the shown photo a quarter turn (L, R), in the catalog only; undoable like any edit."""
        photo_id = self.current_id()
        if photo_id is None:
            return

        def _done(_r: object) -> None:
            self.edited.emit([photo_id])
            if self.current_id() == photo_id:
                self.reshow()

        self.runner.submit(
            "Rotate",
            lambda _c: self.library.rotate([photo_id], degrees % 360),
            on_result=_done,
            on_error=lambda msg: log.warning("rotate failed: %s", msg),
            track=False,
            owner=self,
            cancel_with_owner=False,  # the turn the person asked for happens even if the viewer closes
        )

    def reshow(self) -> None:
        """Show the current photo as the catalog has it now (after a turn, an undo or a redo)."""
        self._show_current()

    def _info_edited(self) -> None:
        photo_id = self.current_id()
        if photo_id is not None:
            self.edited.emit([photo_id])

    # ---------------------------------------------------------- chrome
    def _update_bar(self, *_: object) -> None:
        n = len(self.photo_ids)
        self.position_label.setText(f"{self.index + 1} / {n}" if n else "")
        self.name_label.setText(self._record_source.name if self._record_source else "")
        self.zoom_label.setText(f"{self.canvas.zoom() * 100:.0f} %" if self.canvas.has_picture() else "")
        self.prev_button.setEnabled(self.index > 0)
        self.next_button.setEnabled(self.index < n - 1)

    def toggle_info(self) -> None:
        visible = not self.info_panel.isVisible()
        self.info_panel.setVisible(visible)
        self.info_button.setChecked(visible)
        self.library.set_setting(SETTING_INFO_VISIBLE, "1" if visible else "0")

    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.leave_full_screen()
        else:
            self.bar.hide()
            self.showFullScreen()

    def leave_full_screen(self) -> None:
        self.bar.show()
        self.showNormal()

    # ---------------------------------------------------------- events
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if mods not in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier):
            super().keyPressEvent(event)
            return
        k = Qt.Key
        if key == k.Key_Space and mods == Qt.KeyboardModifier.NoModifier:
            if not event.isAutoRepeat():
                if not self.player.controls.isHidden():
                    self.player.toggle()
                else:
                    self.play_live()
            event.accept()
            return
        if key in (k.Key_Left, k.Key_Right) and self.video_started():
            self.player.seek_by(SEEK_STEP_MS if key == k.Key_Right else -SEEK_STEP_MS)
            event.accept()
            return
        if key == k.Key_M and not self.player.controls.isHidden():
            self.player.toggle_mute()
            event.accept()
            return
        actions = {
            k.Key_Right: self.next,
            k.Key_PageDown: self.next,
            k.Key_Left: self.previous,
            k.Key_PageUp: self.previous,
            k.Key_Home: lambda: self.go_to(0),
            k.Key_End: lambda: self.go_to(len(self.photo_ids) - 1),
            k.Key_Plus: self.canvas.zoom_in,
            k.Key_Equal: self.canvas.zoom_in,
            k.Key_Minus: self.canvas.zoom_out,
            k.Key_1: self.canvas.actual_size,
            k.Key_0: self.canvas.fit_to_window,
            k.Key_F: self.canvas.fit_to_window,
            k.Key_I: self.toggle_info,
            k.Key_L: lambda: self.rotate(-90),
            k.Key_R: lambda: self.rotate(90),
            k.Key_F11: self.toggle_full_screen,
        }
        action = actions.get(Qt.Key(key))
        if action is not None:
            action()
            event.accept()
        elif key == k.Key_Escape:
            if self.isFullScreen():
                self.leave_full_screen()
            else:
                self.close()
            event.accept()
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        # Space held on a Live Photo plays its motion; letting go brings the still back
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self.stop_live()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.player.release()  # stop and let go of the file before the window goes
        self._memory.clear()
        super().closeEvent(event)


__all__ = ["ImageCanvas", "PhotoUnavailable", "ViewerWindow", "qimage_from_pil"]
