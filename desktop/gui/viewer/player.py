"""Video playback in the viewer: QtMultimedia's player, its picture laid over the canvas, its controls.

This is the one module of Shoebox that imports QtMultimedia (the CLI never
imports Qt at all). A viewer window has one ``VideoPlayer``; its
``QMediaPlayer`` is made the first time something plays, so opening a viewer
on photos never loads the FFmpeg backend.

The picture is a ``QVideoWidget`` laid over the viewer's canvas and shown
only once the clip's first frame is ready: until then the canvas's poster
(or a Live Photo's still) stays on screen, and whenever playback is given up
(another photo, a failure, a Live Photo's motion that ended) the surface
hides and the poster or still is there again. The video widget applies a
clip's rotation matrix itself (FFmpeg backend).

A clip that cannot be played says so in one sentence (``failed``); what
QtMultimedia reported goes to the log.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QUrl, Signal
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
from PySide6.QtMultimediaWidgets import QVideoWidget
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QToolButton, QWidget

from desktop.core.runtime.wording import format_duration
from desktop.gui.widgets.icons import icon

log = logging.getLogger(__name__)

SEEK_STEP_MS = 5000
CANNOT_PLAY = (
    "Shoebox can't play this video (its format or codec is not supported, or the file is damaged): "
    "open it with your video player from the grid's right-click menu."
)
CANNOT_PLAY_LIVE = "Shoebox can't play this Live Photo's motion clip; the still is shown."


def clock(ms: int) -> str:
    """A position as players show it, counting whole seconds down ("0:04", "1:02:03")."""
    return format_duration(max(0, ms) // 1000) or "0:00"


class PlayerControls(QWidget):
    """The bar under a video: play/pause, the seek slider with elapsed/total time, mute and volume.

    Nothing here takes the keyboard focus: the arrow keys and Space belong to the viewer.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("playerControls")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 2, 8, 4)
        row.setSpacing(6)
        self.play_button = QToolButton()
        self.play_button.setIcon(icon("play"))
        self.play_button.setToolTip("Play or pause (Space)")
        self.play_button.setAutoRaise(True)
        self.play_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.seek_slider = QSlider(Qt.Orientation.Horizontal)
        self.seek_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.seek_slider.setToolTip("Position (← and → seek 5 s while the video plays or is paused)")
        self.seek_slider.setRange(0, 0)
        self.time_label = QLabel("0:00 / 0:00")
        self.time_label.setMinimumWidth(90)
        self.time_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.mute_button = QToolButton()
        self.mute_button.setIcon(icon("volume"))
        self.mute_button.setToolTip("Mute or unmute (M)")
        self.mute_button.setCheckable(True)
        self.mute_button.setAutoRaise(True)
        self.mute_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.volume_slider = QSlider(Qt.Orientation.Horizontal)
        self.volume_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.volume_slider.setToolTip("Volume")
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setValue(100)
        self.volume_slider.setFixedWidth(90)
        row.addWidget(self.play_button)
        row.addWidget(self.seek_slider, 1)
        row.addWidget(self.time_label)
        row.addWidget(self.mute_button)
        row.addWidget(self.volume_slider)

    def show_playing(self, playing: bool) -> None:
        self.play_button.setIcon(icon("pause" if playing else "play"))

    def show_muted(self, muted: bool) -> None:
        self.mute_button.setChecked(muted)
        self.mute_button.setIcon(icon("muted" if muted else "volume"))

    def show_time(self, position: int, duration: int) -> None:
        if not self.seek_slider.isSliderDown():  # the person dragging the knob owns it
            self.seek_slider.blockSignals(True)
            self.seek_slider.setRange(0, max(0, duration))
            self.seek_slider.setValue(position)
            self.seek_slider.blockSignals(False)
        self.time_label.setText(f"{clock(position)} / {clock(duration)}")


class VideoPlayer(QObject):
    """Plays one clip at a time over ``stage`` (the viewer's canvas); ``controls`` is its bar."""

    frame_shown = Signal()  # the clip's picture now covers the stage
    ended = Signal()  # a clip loaded with ``once=True`` played to its end and was let go
    failed = Signal(str)  # the clip cannot be played: one sentence for the person
    playing_changed = Signal(bool)

    def __init__(self, stage: QWidget) -> None:
        super().__init__(stage)
        self._stage = stage
        self.controls = PlayerControls()
        self._player: QMediaPlayer | None = None
        self._audio: QAudioOutput | None = None
        self._surface: QVideoWidget | None = None
        self._source: Path | None = None
        # a clip opened ahead of play (a Live Photo's motion): Space then starts it without the
        # backend's start-up and the file's opening, which the person sees as a lag of the hold
        self._preloaded: Path | None = None
        self._once = False
        self._forced_mute = False  # a Live Photo's motion plays muted without changing the person's choice
        self._failed = False
        stage.installEventFilter(self)
        c = self.controls
        c.play_button.clicked.connect(self.toggle)
        c.mute_button.clicked.connect(self.toggle_mute)
        c.volume_slider.valueChanged.connect(self._volume_moved)
        c.seek_slider.sliderMoved.connect(self.seek_to)
        c.seek_slider.actionTriggered.connect(lambda _a: self.seek_to(c.seek_slider.sliderPosition()))

    # ------------------------------------------------------------ made on first use
    def _ensure(self) -> QMediaPlayer:
        if self._player is not None:
            return self._player
        surface = QVideoWidget(self._stage)
        surface.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the canvas keeps the keys
        surface.setGeometry(self._stage.rect())
        surface.hide()
        audio = QAudioOutput(self)
        audio.setVolume(self.controls.volume_slider.value() / 100)
        player = QMediaPlayer(self)
        player.setAudioOutput(audio)
        player.setVideoOutput(surface)
        player.errorOccurred.connect(self._on_error)
        player.mediaStatusChanged.connect(self._on_status)
        player.playbackStateChanged.connect(self._on_state)
        player.positionChanged.connect(self._show_time)
        player.durationChanged.connect(self._show_time)
        player.videoSink().videoFrameChanged.connect(self._on_frame)
        self._player, self._audio, self._surface = player, audio, surface
        return player

    # ------------------------------------------------------------------ control
    def preload(self, path: Path) -> None:
        """Open ``path`` ahead of ``load`` without showing or playing anything, so that a later
        ``load(path)`` and ``play`` start at once; ``release`` lets go of it like of a loaded clip."""
        if self._source is not None or self._preloaded == path:
            return
        player = self._ensure()
        self._preloaded = path
        player.setSource(QUrl.fromLocalFile(str(path)))

    def preloaded(self) -> Path | None:
        """The clip opened ahead of play and not loaded yet (None when there is none)."""
        return self._preloaded

    def load(self, path: Path, *, muted: bool = False, once: bool = False) -> None:
        """Open ``path`` (paused at its start, the poster still showing); ``once``: let go at the end."""
        warm = self._preloaded == path and self._source is None
        if not warm:
            self.release()
        self._preloaded = None
        player = self._ensure()
        self._source, self._once, self._failed = path, once, False
        self._forced_mute = muted
        self._apply_mute()
        self.controls.show_time(0, 0)
        if not warm:
            player.setSource(QUrl.fromLocalFile(str(path)))

    def play(self) -> None:
        if self._player is not None and self._source is not None and not self._failed:
            self._player.play()

    def pause(self) -> None:
        if self._player is not None:
            self._player.pause()

    def toggle(self) -> None:
        if self.is_playing():
            self.pause()
        else:
            self.play()

    def seek_by(self, delta_ms: int) -> None:
        if self._player is None or self._source is None or self._failed:
            return
        self.seek_to(self._player.position() + delta_ms)

    def seek_to(self, position_ms: int) -> None:
        player = self._player
        if player is None or self._source is None or self._failed:
            return
        duration = player.duration()
        position = max(0, min(position_ms, duration if duration > 0 else position_ms))
        if player.playbackState() == QMediaPlayer.PlaybackState.StoppedState:
            player.pause()  # a paused player shows the frame it is moved to; a stopped one shows nothing
        player.setPosition(position)
        self._show_time()

    def toggle_mute(self) -> None:
        self._forced_mute = False
        self.controls.show_muted(not self.controls.mute_button.isChecked())
        self._apply_mute()

    def release(self) -> None:
        """Stop and let go of the file (another photo is shown, or the viewer closes)."""
        if self._player is not None and (self._source is not None or self._preloaded is not None):
            self._player.stop()
            self._player.setSource(QUrl())
        self._source = self._preloaded = None
        self._once = self._failed = False
        if self._surface is not None:
            self._surface.hide()
        self.controls.show_playing(False)
        self.controls.show_time(0, 0)

    # ------------------------------------------------------------------ state
    def source(self) -> Path | None:
        return self._source

    def is_loaded(self) -> bool:
        """A clip is open and has not failed."""
        return self._source is not None and not self._failed

    def is_playing(self) -> bool:
        return (
            self._player is not None
            and self._source is not None
            and self._player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
        )

    def is_showing(self) -> bool:
        """The clip's picture covers the stage (it has played or been moved to a frame)."""
        return self._surface is not None and self._surface.isVisible()

    def position(self) -> int:
        return self._player.position() if self._player is not None else 0

    def duration(self) -> int:
        return self._player.duration() if self._player is not None else 0

    def media_player(self) -> QMediaPlayer | None:
        return self._player

    def surface(self) -> QVideoWidget | None:
        return self._surface

    # ------------------------------------------------------------------ slots
    def _apply_mute(self) -> None:
        if self._audio is not None:
            self._audio.setMuted(self._forced_mute or self.controls.mute_button.isChecked())

    def _volume_moved(self, value: int) -> None:
        if self._audio is not None:
            self._audio.setVolume(value / 100)

    def _show_time(self, *_: object) -> None:
        self.controls.show_time(self.position(), self.duration())

    def _on_frame(self, *_: object) -> None:
        surface = self._surface
        if surface is None or self._source is None or surface.isVisible():
            return
        surface.setGeometry(self._stage.rect())
        surface.show()
        surface.raise_()
        self.frame_shown.emit()

    def _on_state(self, state: QMediaPlayer.PlaybackState) -> None:
        playing = state == QMediaPlayer.PlaybackState.PlayingState
        self.controls.show_playing(playing)
        self.playing_changed.emit(playing)

    def _on_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if status != QMediaPlayer.MediaStatus.EndOfMedia:
            return
        if self._once:
            self.release()
            self.ended.emit()
        elif self._surface is not None:
            # at its end a clip gives back the poster (the stopped player would leave the picture black);
            # Space or the play button starts it again from the beginning
            self._surface.hide()

    def _on_error(self, error: QMediaPlayer.Error, text: str) -> None:
        if self._source is None and error != QMediaPlayer.Error.NoError:
            self._preloaded = None  # opened again on load, which then says what went wrong
        if self._source is None or error == QMediaPlayer.Error.NoError:
            return
        log.warning("QtMultimedia could not play %s: %s (%s)", self._source, text, error.name)
        once = self._once
        self._failed = True
        if self._surface is not None:
            self._surface.hide()
        self.controls.show_playing(False)
        self.failed.emit(CANNOT_PLAY_LIVE if once else CANNOT_PLAY)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self._stage and event.type() == QEvent.Type.Resize and self._surface is not None:
            self._surface.setGeometry(self._stage.rect())
        return False


__all__ = ["CANNOT_PLAY", "CANNOT_PLAY_LIVE", "SEEK_STEP_MS", "PlayerControls", "VideoPlayer", "clock"]
