"""Videos play in the viewer (QtMultimedia, FFmpeg backend, offscreen) and Live Photos play their motion.

The clips are real H.264 files written with PyAV; QtMultimedia decodes them
on the offscreen platform here, so these tests watch the real player reach
PlayingState and its position move.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSize, Qt

from desktop.core.library import Library, photo_path
from desktop.core.runtime.paths import resolve_paths

WAIT_MS = 15000  # generous: the machine may be busy; each wait ends as soon as its condition holds


@pytest.fixture
def media(
    tmp_path: Path, shoebox_home: Path, make_video: Any, make_jpeg: Any
) -> Iterator[tuple[Library, dict]]:
    """A library of a 2 s clip, a 12 s clip, a turned clip and a photo, oldest first in that order."""
    import datetime as dt

    folder = tmp_path / "media"
    make_video(folder / "a_short.mp4", seconds=2, creation="2024-07-01T10:00:00+0000")
    make_video(folder / "b_long.mp4", seconds=12, fps=5, creation="2024-07-02T10:00:00+0000")
    make_video(folder / "c_turned.mov", seconds=2, rotate=90, creation="2024-07-03T10:00:00+0000")
    make_jpeg(folder / "d_still.jpg", size=(160, 120), taken=dt.datetime(2024, 7, 4, 10, 0))
    library = Library(resolve_paths())
    library.scan([library.add_root(folder)], workers=1)
    ids = {photo_path(p).stem: p.id for p in library.query()}
    try:
        yield library, ids
    finally:
        library.close()


def _viewer(qtbot: Any, library: Library, runner: Any, ids: list[int], index: int = 0) -> Any:
    from desktop.gui.viewer.viewer import ViewerWindow

    viewer = ViewerWindow(library, runner, ids, index)
    qtbot.addWidget(viewer)
    viewer.resize(800, 600)
    viewer.show()
    qtbot.waitExposed(viewer)
    return viewer


def _order(ids: dict) -> list[int]:
    return [ids["a_short"], ids["b_long"], ids["c_turned"], ids["d_still"]]


def _playing(viewer: Any) -> bool:
    from PySide6.QtMultimedia import QMediaPlayer

    mp = viewer.player.media_player()
    return mp is not None and mp.playbackState() == QMediaPlayer.PlaybackState.PlayingState


def test_a_small_clips_poster_fills_the_window_as_the_playing_clip_does(qtbot, media, runner) -> None:
    """A 160 x 90 poster was drawn at 100 % and the clip, once playing, filled the window: the picture
    jumped in size. A small photo still shows at 100 %."""
    library, ids = media
    viewer = _viewer(qtbot, library, runner, _order(ids))
    canvas = viewer.canvas
    qtbot.waitUntil(canvas.has_picture, timeout=WAIT_MS)
    assert canvas.zoom() > 2 and canvas.zoom() == pytest.approx(canvas.fit_zoom())
    viewer.go_to(3)  # the 160 x 120 photo
    qtbot.waitUntil(lambda: canvas.has_picture() and canvas.zoomable(), timeout=WAIT_MS)
    assert canvas.zoom() == 1.0


def test_a_clip_that_ends_gives_back_its_poster_and_plays_again(qtbot, media, runner) -> None:
    library, ids = media
    viewer = _viewer(qtbot, library, runner, _order(ids))
    qtbot.keyClick(viewer, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: viewer.player.is_showing(), timeout=WAIT_MS)
    # the 2 s clip runs to its end: the black stopped picture gives way to the poster
    qtbot.waitUntil(lambda: not _playing(viewer) and not viewer.player.is_showing(), timeout=WAIT_MS)
    assert viewer.canvas.has_picture() and viewer.player.is_loaded()
    qtbot.keyClick(viewer, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: _playing(viewer) and viewer.player.is_showing(), timeout=WAIT_MS)


def test_a_video_plays_from_its_poster_and_space_toggles(qtbot, media, runner) -> None:
    library, ids = media
    viewer = _viewer(qtbot, library, runner, _order(ids))
    assert viewer.canvas.has_picture() and not viewer.player.is_showing()  # the poster first
    assert viewer.player.controls.time_label.text() in ("0:00 / 0:00", "0:00 / 0:02")
    qtbot.keyClick(viewer, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: _playing(viewer), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: viewer.player.position() > 200 and viewer.player.is_showing(), timeout=WAIT_MS)
    assert viewer.player.controls.time_label.text().endswith("/ 0:02")
    assert viewer.player.controls.seek_slider.maximum() == 2000
    qtbot.keyClick(viewer, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not _playing(viewer), timeout=WAIT_MS)
    paused_at = viewer.player.position()
    qtbot.wait(300)
    assert viewer.player.position() == paused_at  # paused, not stopped: the frame stays
    assert viewer.player.is_showing()
    viewer.player.controls.play_button.click()
    qtbot.waitUntil(lambda: _playing(viewer), timeout=WAIT_MS)


def test_arrows_move_on_from_a_poster_and_seek_once_a_video_has_started(qtbot, media, runner) -> None:
    library, ids = media
    order = _order(ids)
    viewer = _viewer(qtbot, library, runner, order, index=1)  # the 12 s clip
    qtbot.keyClick(viewer, Qt.Key.Key_Right)  # only the poster so far: the arrow moves on
    assert viewer.current_id() == order[2]
    qtbot.keyClick(viewer, Qt.Key.Key_Left)
    assert viewer.current_id() == order[1]
    qtbot.keyClick(viewer, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: viewer.player.is_showing(), timeout=WAIT_MS)
    qtbot.keyClick(viewer, Qt.Key.Key_Space)  # paused
    qtbot.waitUntil(lambda: not _playing(viewer), timeout=WAIT_MS)
    start = viewer.player.position()
    qtbot.keyClick(viewer, Qt.Key.Key_Right)
    assert viewer.current_id() == order[1]  # still the video
    qtbot.waitUntil(lambda: abs(viewer.player.position() - (start + 5000)) < 600, timeout=WAIT_MS)
    qtbot.keyClick(viewer, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: abs(viewer.player.position() - start) < 600, timeout=WAIT_MS)
    qtbot.keyClick(viewer, Qt.Key.Key_Left)  # never before the start
    qtbot.waitUntil(lambda: abs(viewer.player.position() - max(0, start - 5000)) < 600, timeout=WAIT_MS)
    qtbot.keyClick(viewer, Qt.Key.Key_PageDown)  # Page Down still moves on
    assert viewer.current_id() == order[2]


def test_moving_to_a_photo_or_closing_stops_the_player_and_lets_the_file_go(qtbot, media, runner) -> None:
    library, ids = media
    order = _order(ids)
    viewer = _viewer(qtbot, library, runner, order, index=2)
    qtbot.keyClick(viewer, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: _playing(viewer) and viewer.player.is_showing(), timeout=WAIT_MS)
    qtbot.keyClick(viewer, Qt.Key.Key_PageDown)  # to the photo
    assert viewer.current_id() == order[3]
    mp = viewer.player.media_player()
    assert not _playing(viewer) and mp.source().isEmpty() and viewer.player.source() is None
    assert not viewer.player.is_showing() and viewer.player.controls.isHidden()
    assert viewer.canvas.has_picture()
    qtbot.keyClick(viewer, Qt.Key.Key_PageUp)  # back to the video, and play it again
    qtbot.keyClick(viewer, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: _playing(viewer), timeout=WAIT_MS)
    viewer.close()
    assert not _playing(viewer) and mp.source().isEmpty()


def test_a_turned_clip_plays_upright(qtbot, media, runner) -> None:
    library, ids = media
    viewer = _viewer(qtbot, library, runner, _order(ids), index=2)
    qtbot.keyClick(viewer, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: viewer.player.is_showing(), timeout=WAIT_MS)
    # stored 160 × 90 with a quarter-turn matrix: shown 90 wide, 160 high, like its poster
    assert viewer.player.media_player().videoSink().videoSize() == QSize(90, 160)
    assert viewer.player.surface().sizeHint() == QSize(90, 160)


@pytest.mark.qt_log_ignore(r"Could not open media", r"Invalid data found", r"moov atom not found")
def test_a_video_that_cannot_play_says_so_and_keeps_its_poster(qtbot, media, runner, caplog) -> None:
    from desktop.gui.viewer.player import CANNOT_PLAY

    library, ids = media
    viewer = _viewer(qtbot, library, runner, [ids["a_short"]])
    assert viewer.canvas.has_picture()
    # damaged after the viewer showed it: the poster is still in the viewer's memory
    Path(library.reads.record(ids["a_short"]).path).write_bytes(b"\0\0\0\x18ftypisom" + b"\xde\xad" * 400)
    viewer.reshow()
    qtbot.waitUntil(lambda: viewer.canvas.note() == CANNOT_PLAY, timeout=WAIT_MS)
    assert viewer.canvas.has_picture() and not viewer.canvas.message()  # the poster stays
    assert not viewer.player.is_loaded() and not viewer.player.is_showing()
    assert any("QtMultimedia could not play" in r.getMessage() for r in caplog.records)
    qtbot.keyClick(viewer, Qt.Key.Key_Space)  # nothing to play: no crash, no state change
    assert not _playing(viewer)


def test_the_live_button_shows_only_with_a_motion_clip_and_plays_it_over_the_still(
    qtbot, media, runner, monkeypatch
) -> None:
    library, ids = media
    clip = Path(library.reads.record(ids["a_short"]).path)
    still_id = ids["d_still"]
    record = library.reads.record

    def with_motion(photo_id: int) -> Any:
        rec = record(photo_id)
        # another part of #11 pairs a still with its clip; here the pairing is given
        return dataclasses.replace(rec, motion_path=str(clip)) if photo_id == still_id else rec

    monkeypatch.setattr(library.reads, "record", with_motion)
    viewer = _viewer(qtbot, library, runner, [ids["b_long"], still_id])
    assert viewer.live_button.isHidden()  # a video is no Live Photo
    viewer.next()
    assert not viewer.live_button.isHidden() and viewer.player.controls.isHidden()
    viewer.live_button.click()
    qtbot.waitUntil(lambda: _playing(viewer) and viewer.player.is_showing(), timeout=WAIT_MS)
    assert viewer.player._audio.isMuted()  # a Live Photo's motion is silent
    # played once, then the still is back and the clip let go
    qtbot.waitUntil(lambda: viewer.player.source() is None, timeout=WAIT_MS)
    assert not viewer.player.is_showing() and viewer.canvas.has_picture()

    qtbot.keyPress(viewer, Qt.Key.Key_Space)  # held down: the motion plays
    qtbot.waitUntil(lambda: _playing(viewer), timeout=WAIT_MS)
    qtbot.keyRelease(viewer, Qt.Key.Key_Space)  # let go: the still
    assert viewer.player.source() is None and not _playing(viewer)
    assert viewer.current_id() == still_id


def test_without_a_motion_clip_there_is_no_live_button(qtbot, media, runner) -> None:
    library, ids = media
    viewer = _viewer(qtbot, library, runner, [ids["d_still"]])
    assert viewer.live_button.isHidden()
    qtbot.keyClick(viewer, Qt.Key.Key_Space)
    assert viewer.player.media_player() is None  # a plain photo never loads the player


@pytest.mark.parametrize("how", ["w.close()", "app.quit()"])
def test_quitting_the_app_while_a_video_plays_exits_cleanly(
    tmp_path: Path, make_video: Any, how: str
) -> None:
    """The real app in a child process: open a video, play it, quit (File > Quit, or ``app.quit()``, which
    in Qt 6 closes the windows too); it must end, cleanly, with the player's file let go."""
    folder = tmp_path / "clips"
    make_video(folder / "clip.mp4", seconds=12, fps=5)
    script = textwrap.dedent(
        f"""
        import sys
        import shiboken6
        from PySide6.QtCore import QTimer
        from PySide6.QtMultimedia import QMediaPlayer
        from PySide6.QtWidgets import QApplication
        from desktop.core.library import Library
        from desktop.gui.app.application import run_gui
        from desktop.gui.main.main_window import MainWindow

        lib = Library(); lib.scan([lib.add_root({str(folder)!r})], workers=1); lib.close()
        app = QApplication([sys.argv[0]])
        state = {{}}

        def window():
            return next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())

        def step():
            w = window()
            if not w.viewers.windows:
                w.grid.setCurrentIndex(w.model.index(0, 0))
                w.viewers.open_current()
            viewer = w.viewers.windows[0]
            mp = viewer.player.media_player()
            if mp is None or mp.playbackState() != QMediaPlayer.PlaybackState.PlayingState:
                viewer.player.play()
            elif mp.position() > 300:
                state["played"] = mp.position()
                state["player"] = mp
                {how}
                return
            QTimer.singleShot(100, step)

        QTimer.singleShot(1000, step)
        code = run_gui([])
        print("PLAYED", state.get("played"), "EXIT", code, flush=True)
        mp = state["player"]  # deleted with its viewer, or at least let go of the file
        print("RELEASED", not shiboken6.isValid(mp) or mp.source().isEmpty(), flush=True)
        sys.exit(code)
        """
    )
    env = {**os.environ, "SHOEBOX_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, cwd=os.getcwd()
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "PLAYED" in done.stdout and "PLAYED None" not in done.stdout, done.stdout + done.stderr[-3000:]
    assert "RELEASED True" in done.stdout, done.stdout
    assert "Traceback" not in done.stderr and "QThread: Destroyed" not in done.stderr, done.stderr[-3000:]


def test_only_the_viewers_player_imports_qtmultimedia() -> None:
    """QtMultimedia loads FFmpeg and audio back ends: the player module alone brings it in."""
    desktop = Path(__file__).resolve().parents[2] / "desktop"
    importers = {
        str(path.relative_to(desktop))
        for path in desktop.rglob("*.py")
        if any(
            line.lstrip().startswith(("import PySide6.QtMultimedia", "from PySide6.QtMultimedia"))
            for line in path.read_text(encoding="utf-8").splitlines()
        )
    }
    assert importers == {"gui/viewer/player.py"}


def _with_motion(library: Library, ids: dict, monkeypatch: Any) -> Path:
    """Give the still ``d_still`` the short clip as its Live Photo motion; returns the clip."""
    clip = Path(library.reads.record(ids["a_short"]).path)
    record = library.reads.record

    def with_motion(photo_id: int) -> Any:
        rec = record(photo_id)
        return dataclasses.replace(rec, motion_path=str(clip)) if photo_id == ids["d_still"] else rec

    monkeypatch.setattr(library.reads, "record", with_motion)
    return clip


def test_a_live_photos_clip_is_opened_while_its_still_shows_so_a_held_space_plays_at_once(
    qtbot, media, runner, monkeypatch
) -> None:
    from PySide6.QtCore import QUrl
    from PySide6.QtMultimedia import QMediaPlayer

    library, ids = media
    clip = _with_motion(library, ids, monkeypatch)
    viewer = _viewer(qtbot, library, runner, [ids["d_still"]])
    # before any key: the backend is up and the clip open, nothing shown over the still
    mp = viewer.player.media_player()
    assert mp is not None and mp.source() == QUrl.fromLocalFile(str(clip))
    qtbot.waitUntil(lambda: mp.mediaStatus() == QMediaPlayer.MediaStatus.LoadedMedia, timeout=WAIT_MS)
    assert viewer.player.source() is None and not viewer.player.is_showing() and not _playing(viewer)
    qtbot.keyPress(viewer, Qt.Key.Key_Space)
    assert _playing(viewer)  # the press starts it: no opening, no load wait
    qtbot.waitUntil(viewer.player.is_showing, timeout=WAIT_MS)
    qtbot.keyRelease(viewer, Qt.Key.Key_Space)
    assert viewer.player.source() is None and not _playing(viewer) and not viewer.player.is_showing()
    assert viewer.player.media_player() is mp  # the started player stays for the next hold
    viewer.reshow()  # shown again: opened again, and let go when the viewer closes
    assert viewer.player.preloaded() == clip
    qtbot.waitUntil(lambda: mp.mediaStatus() == QMediaPlayer.MediaStatus.LoadedMedia, timeout=WAIT_MS)
    viewer.close()
    assert viewer.player.preloaded() is None and mp.source().isEmpty()


def test_zoom_controls_hide_while_a_video_is_shown(qtbot, media, runner) -> None:
    library, ids = media
    viewer = _viewer(qtbot, library, runner, [ids["a_short"], ids["d_still"]])
    assert all(tool.isHidden() for tool in viewer.zoom_tools)  # a video plays fitted: no "100 %"
    qtbot.waitUntil(viewer.canvas.has_picture, timeout=WAIT_MS)
    qtbot.keyClick(viewer, Qt.Key.Key_Plus)
    qtbot.keyClick(viewer, Qt.Key.Key_1)
    assert viewer.canvas.is_fit()  # the keys leave the poster fitted too
    viewer.next()
    assert not any(tool.isHidden() for tool in viewer.zoom_tools)
    qtbot.waitUntil(viewer.canvas.has_picture, timeout=WAIT_MS)
    qtbot.keyClick(viewer, Qt.Key.Key_Plus)
    assert not viewer.canvas.is_fit() and viewer.zoom_label.text().endswith("%")


def test_the_live_button_is_drawn_as_a_badge_before_the_pointer_is_over_it(
    qtbot, media, runner, monkeypatch
) -> None:
    library, ids = media
    _with_motion(library, ids, monkeypatch)
    viewer = _viewer(qtbot, library, runner, [ids["d_still"]])
    button = viewer.live_button
    assert not button.isHidden() and not button.underMouse() and not button.icon().isNull()
    image = button.grab().toImage()
    background = image.pixelColor(0, 0)
    middle = image.height() // 2

    def far(x: int) -> bool:
        c = image.pixelColor(x, middle)
        return abs(c.red() - background.red()) + abs(c.green() - background.green()) > 80

    # an outline at the left edge, where a plain text button shows only the bar behind it
    assert any(far(x) for x in range(3))
