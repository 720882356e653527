"""The viewer: navigation, full screen, zoom and pan, orientation, loading and error states."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from desktop.gui.app.jobs import JobRunner
from desktop.gui.viewer.viewer import SETTING_INFO_VISIBLE, ViewerWindow

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers_viewer import DemoLibrary, make_demo_library  # noqa: E402


@pytest.fixture
def demo(tmp_path, monkeypatch, make_jpeg) -> Iterator[DemoLibrary]:
    d = make_demo_library(tmp_path, monkeypatch, make_jpeg, count=4)
    yield d
    d.library.close()


def open_viewer(qtbot, demo: DemoLibrary, runner: JobRunner, index: int = 0, ids=None) -> ViewerWindow:
    v = ViewerWindow(demo.library, runner, ids or demo.ids, index)
    qtbot.addWidget(v)
    v.resize(800, 600)
    v.show()
    qtbot.waitExposed(v)
    return v


def test_arrow_keys_move_through_photos(qtbot, demo, runner):
    v = open_viewer(qtbot, demo, runner, index=1)
    assert v.current_id() == demo.ids[1]
    assert v.canvas.has_picture()
    with qtbot.waitSignal(v.current_changed) as sig:
        qtbot.keyClick(v, Qt.Key.Key_Right)
    assert sig.args == [demo.ids[2]]
    assert v.position_label.text() == "3 / 4"
    qtbot.keyClick(v, Qt.Key.Key_Left)
    qtbot.keyClick(v, Qt.Key.Key_Left)
    assert v.current_id() == demo.ids[0]
    # at the first photo Left stays put
    with qtbot.assertNotEmitted(v.current_changed):
        qtbot.keyClick(v, Qt.Key.Key_Left)
    qtbot.keyClick(v, Qt.Key.Key_End)
    assert v.current_id() == demo.ids[-1]
    assert v.windowTitle() == "img_03.jpg — Shoebox"
    assert v.canvas.has_picture()


def test_f11_full_screen_and_escape(qtbot, demo, runner):
    v = open_viewer(qtbot, demo, runner)
    qtbot.keyClick(v, Qt.Key.Key_F11)
    qtbot.waitUntil(v.isFullScreen)
    assert not v.bar.isVisible()
    qtbot.keyClick(v, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not v.isFullScreen())
    assert v.isVisible() and v.bar.isVisible()
    qtbot.keyClick(v, Qt.Key.Key_Escape)  # Esc again closes
    qtbot.waitUntil(lambda: not v.isVisible())


def test_zoom_keys_wheel_and_pan(qtbot, tmp_path, monkeypatch, make_jpeg, runner):
    # larger than the 2048 px preview, so 100 % needs the original
    demo = make_demo_library(tmp_path, monkeypatch, make_jpeg, count=1, size=(2600, 1800))
    try:
        v = open_viewer(qtbot, demo, runner)
        c = v.canvas
        assert c.is_fit() and c.zoom() < 0.5
        assert c.picture_size().width() == 2048  # the preview, not the original
        fit = c.zoom()
        qtbot.keyClick(v, Qt.Key.Key_1)
        assert c.zoom() == pytest.approx(1.0)
        assert v.zoom_label.text() == "100 %"
        assert c.has_full_image(), "100 % of a photo larger than its preview loads the original"
        qtbot.keyClick(v, Qt.Key.Key_Plus)
        assert c.zoom() == pytest.approx(1.25)
        qtbot.keyClick(v, Qt.Key.Key_Minus)
        qtbot.keyClick(v, Qt.Key.Key_Minus)
        assert c.zoom() == pytest.approx(0.8)

        # drag pans: the image point at the centre moves opposite to the drag
        before = c.view_center()
        qtbot.mousePress(c, Qt.MouseButton.LeftButton, pos=QPoint(300, 300))
        qtbot.mouseMove(c, QPoint(200, 250))
        qtbot.mouseRelease(c, Qt.MouseButton.LeftButton, pos=QPoint(200, 250))
        after = c.view_center()
        assert after.x() > before.x() and after.y() > before.y()

        qtbot.keyClick(v, Qt.Key.Key_0)
        assert c.is_fit() and c.zoom() == pytest.approx(fit)

        # the wheel zooms in around the pointer
        pos = QPointF(c.width() / 2, c.height() / 2)
        wheel = QWheelEvent(
            pos,
            c.mapToGlobal(pos),
            QPoint(),
            QPoint(0, 120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(c, wheel)
        assert c.zoom() == pytest.approx(fit * 1.25)
        assert not c.is_fit()
    finally:
        demo.library.close()


def test_exif_orientation_is_applied(qtbot, tmp_path, monkeypatch, make_jpeg, runner):
    home = tmp_path / "home"
    monkeypatch.setenv("SHOEBOX_HOME", str(home))
    make_jpeg(tmp_path / "p" / "rotated.jpg", size=(120, 80), orientation=6)
    from desktop.core.library import Library

    lib = Library()
    lib.add_root(tmp_path / "p")
    lib.scan(workers=1)
    try:
        demo = DemoLibrary(lib, [p.id for p in lib.query()], tmp_path / "p", home)
        v = open_viewer(qtbot, demo, runner)
        # stored 120x80 landscape, EXIF says rotate 90°: shown upright as 80x120
        assert v.canvas.picture_size().width() == 80
        assert v.canvas.picture_size().height() == 120
    finally:
        lib.close()


def test_missing_and_unreadable_files_say_so(qtbot, demo, runner):
    (demo.folder / "img_01.jpg").unlink()  # gone since the scan
    (demo.folder / "broken.jpg").write_text("this is not a photo")
    demo.library.scan(workers=1)
    broken = demo.library.photo_by_path(demo.folder / "broken.jpg")
    assert broken is not None
    v = open_viewer(qtbot, demo, runner, index=1, ids=[demo.ids[0], demo.ids[1], broken.id])
    assert not v.canvas.has_picture()
    assert v.canvas.message() == "The file is missing"
    assert "img_01.jpg" in v.canvas.detail()
    qtbot.keyClick(v, Qt.Key.Key_Right)
    assert v.canvas.message() == "Shoebox can't show this photo"
    assert "not an image" in v.canvas.detail()
    qtbot.keyClick(v, Qt.Key.Key_Left)
    qtbot.keyClick(v, Qt.Key.Key_Left)
    assert v.canvas.has_picture() and not v.canvas.message()


def test_file_deleted_after_the_scan(qtbot, demo, runner):
    (demo.folder / "img_02.jpg").unlink()
    demo.library.previews.clear()
    v = open_viewer(qtbot, demo, runner, index=2)
    assert v.canvas.message() == "The file is missing"


def test_info_panel_toggle(qtbot, demo, runner):
    v = open_viewer(qtbot, demo, runner, index=2)
    assert not v.info_panel.isVisible()
    qtbot.keyClick(v, Qt.Key.Key_I)
    assert v.info_panel.isVisible()
    assert v.info_panel.photo_ids() == [demo.ids[2]]
    assert demo.library.get_setting(SETTING_INFO_VISIBLE) == "1"
    qtbot.keyClick(v, Qt.Key.Key_Right)
    assert v.info_panel.photo_ids() == [demo.ids[3]]
    assert v.info_panel.title.text() == "img_03.jpg"
    qtbot.keyClick(v, Qt.Key.Key_I)
    assert not v.info_panel.isVisible()


def test_loads_off_the_gui_thread_with_a_loading_state(qtbot, demo):
    runner = JobRunner()  # real worker threads
    try:
        v = ViewerWindow(demo.library, runner, demo.ids, 0)
        qtbot.addWidget(v)
        assert v.canvas.busy() and not v.canvas.has_picture()
        assert v.canvas.message() == "Loading…"
        v.show()
        qtbot.waitUntil(lambda: v.canvas.has_picture() and not v.canvas.busy(), timeout=10_000)
        assert v.canvas.picture_size().width() == 320
        # the neighbour was prefetched: the next photo shows without a loading state
        qtbot.waitUntil(lambda: demo.ids[1] in v._memory, timeout=10_000)
        qtbot.keyClick(v, Qt.Key.Key_Right)
        assert v.canvas.has_picture() and not v.canvas.busy()
        v.close()
    finally:
        runner.shutdown()
