"""A video's grid cell carries its duration badge; a photo's does not."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRect
from PySide6.QtGui import QImage, QPainter, QPalette
from PySide6.QtWidgets import QStyleOptionViewItem

from desktop.core.catalog.reads import STATUS_OK, PhotoRecord
from desktop.core.imaging.thumbnails import ThumbnailCache
from desktop.gui.grid.photo_delegate import PhotoDelegate, duration_badge
from desktop.gui.grid.thumbnail_loader import ThumbnailLoader


def _cell(delegate: PhotoDelegate, rec: PhotoRecord) -> QImage:
    img = QImage(160, 160, QImage.Format.Format_ARGB32)
    img.fill(0xFFFFFFFF)
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, 160, 160)
    option.palette = QPalette()
    painter = QPainter(img)
    delegate.paint_record(painter, option, rec)
    painter.end()
    return img


def _darkened(img: QImage, under: QImage, area: QRect) -> int:
    """Pixels of ``area`` that are clearly darker in ``img`` than in ``under``."""
    return sum(
        1
        for x in range(area.left(), area.right())
        for y in range(area.top(), area.bottom())
        if img.pixelColor(x, y).lightness() < under.pixelColor(x, y).lightness() - 60
    )


def test_video_cell_draws_a_duration_badge(qtbot, tmp_path: Path) -> None:
    loader = ThumbnailLoader(ThumbnailCache(tmp_path / "thumbs"))
    delegate = PhotoDelegate(loader)
    photo = PhotoRecord(1, "/p/a.jpg", "", None, 0, None, STATUS_OK, 160, 90)
    clip = PhotoRecord(2, "/p/b.mp4", "", None, 0, None, STATUS_OK, 160, 90, duration=72.4)
    assert duration_badge(photo.duration) is None
    assert duration_badge(clip.duration) == "1:12"
    corner = QRect(100, 130, 56, 26)  # bottom-right, where the badge goes
    plain, badged = _cell(delegate, photo), _cell(delegate, clip)
    assert _darkened(badged, plain, corner) > 200
    top = QRect(4, 4, 150, 100)
    assert _darkened(badged, plain, top) == 0  # only the corner changes
    loader.shutdown()


def test_info_panel_shows_a_videos_duration_codec_and_rate(
    qtbot, tmp_path: Path, shoebox_home: Path, make_video, make_jpeg
) -> None:
    from desktop.core.library import Library
    from desktop.core.runtime.paths import resolve_paths
    from desktop.gui.panels.info_panel import InfoPanel

    folder = tmp_path / "v"
    make_video(folder / "clip.mov", seconds=3, creation="2024-07-03T14:05:00+0200")
    make_jpeg(folder / "still.jpg")
    library = Library(resolve_paths())
    try:
        library.scan([library.add_root(folder)])
        panel = InfoPanel(library)
        qtbot.addWidget(panel)
        panel.resize(320, 700)
        panel.show()
        panel.set_photos([library.info(folder / "clip.mov")["id"]])
        assert panel.fields["video"].text() == "0:03 · H.264 · 10 fps"
        assert "QuickTime creation date" in panel.fields["date"].text()
        assert panel.fields["pixels"].text().startswith("160 × 90 px")
        panel.set_photos([library.info(folder / "still.jpg")["id"]])
        assert not panel.fields["video"].isVisible()
    finally:
        library.close()


def test_viewer_shows_a_videos_poster_until_it_plays(
    qtbot, tmp_path: Path, shoebox_home: Path, make_video, runner
) -> None:
    from desktop.core.library import Library
    from desktop.core.runtime.paths import resolve_paths
    from desktop.gui.viewer.viewer import ViewerWindow

    clip = make_video(tmp_path / "v" / "turned.mov", seconds=2, rotate=90)
    library = Library(resolve_paths())
    try:
        library.scan([library.add_root(clip.parent)])
        viewer = ViewerWindow(library, runner, [library.info(clip)["id"]], 0)
        qtbot.addWidget(viewer)
        viewer.resize(800, 600)
        viewer.show()
        qtbot.waitExposed(viewer)
        assert viewer.canvas.has_picture() and not viewer.canvas.message()
        assert (viewer.canvas.picture_size().width(), viewer.canvas.picture_size().height()) == (90, 160)
        assert not viewer.canvas.note() and not viewer.player.controls.isHidden()
        assert not viewer.player.is_showing()  # the poster, not the player, until it plays
    finally:
        library.close()
