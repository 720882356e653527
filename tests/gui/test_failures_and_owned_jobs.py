"""Failures that are seen, and jobs owned by the widget that asked for them (issue 10).

These use the real threaded ``JobRunner`` (the other GUI tests run jobs inline):
a job fails on a worker thread, its sentence reaches the main window's notice
bar through the message bridge and its traceback reaches the log file; a job
whose owner is destroyed before it ends is told to cancel and never calls back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QWidget

from desktop.core.catalog import backups
from desktop.core.library import Library, LibraryError
from desktop.core.runtime.jobs import JobControl
from desktop.core.runtime.logs import close_log_file, setup_logging
from desktop.gui.app.application import build_main_window
from desktop.gui.app.jobs import CANCELLED, DONE, FAILED, JobRunner
from desktop.gui.app.notices import install_excepthooks


@pytest.fixture
def log_file(lib: Library) -> Iterator[Path]:
    """The library's rotating log file, set up as the app sets it up; taken down after the test."""
    level = logging.getLogger().level
    path = setup_logging(lib.paths)
    assert path is not None
    yield path
    close_log_file()
    logging.getLogger().setLevel(level)


@pytest.fixture
def threaded_window(lib: Library, qtbot: Any) -> Iterator[Any]:
    """A main window whose context runs jobs on real worker threads."""
    ctx, window = build_main_window(lib, synchronous=False, watch=False, smart_search=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    ctx.shutdown()


def test_a_job_that_breaks_shows_one_sentence_and_logs_the_traceback(
    threaded_window: Any, log_file: Path, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daily backup is a real background job with nobody to tell: a bug there was only a log line."""
    window = threaded_window

    def broken(_paths: object) -> None:
        raise KeyError("backup_dir")  # a bug, not a ShoeboxError

    monkeypatch.setattr(backups, "daily_backup", broken)
    window.ctx.start_daily_backup()
    expected = f"Catalog backup failed (KeyError: 'backup_dir'); the details are in {log_file}."
    qtbot.waitUntil(lambda: window.notice.text() == expected, timeout=5000)
    text = log_file.read_text()
    assert "Traceback (most recent call last)" in text
    assert "in broken" in text and "KeyError: 'backup_dir'" in text


def test_a_shoebox_error_shows_its_own_sentence(threaded_window: Any, log_file: Path, qtbot: Any) -> None:
    window = threaded_window
    sentence = "The folder /nowhere is not connected. Connect the drive and try again."

    def fails(_control: JobControl) -> None:
        raise LibraryError(sentence)

    job = window.runner.submit("Check", fails, track=False)
    qtbot.waitUntil(lambda: job.state == FAILED, timeout=5000)
    assert window.notice.text() == sentence
    assert job.error == sentence


def test_a_scan_that_breaks_says_so_once_in_the_notice(
    threaded_window: Any, lib: Library, log_file: Path, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan's own "Scanning X failed: " prefix doubled the runner's sentence, which already names it."""
    window = threaded_window

    def broken(_root_ids: object, _control: object = None) -> None:
        raise KeyError("rel_path")

    monkeypatch.setattr(lib, "scan_folders", broken)
    (root,) = lib.reads.root_entries()
    job = window.scan_flow.scan_roots([root.id])
    assert job is not None
    qtbot.waitUntil(lambda: job.state == FAILED, timeout=5000)
    name = Path(root.path).name
    expected = f"Scanning {name} failed (KeyError: 'rel_path'); the details are in {log_file}."
    qtbot.waitUntil(lambda: window.notice.text() == expected, timeout=5000)
    assert window.notice.text().count("failed") == 1


def test_a_scan_outlives_the_window_that_asked_but_does_not_call_it(
    threaded_window: Any, lib: Library, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan flow owns its scan: once the window is gone its answer is dropped, the scan is not cancelled."""
    window = threaded_window
    started, gate = threading.Event(), threading.Event()
    seen: list[bool] = []

    def slow_scan(_root_ids: object, control: JobControl) -> object:
        started.set()
        assert gate.wait(5)
        seen.append(control.cancelled)
        return None  # _done would fail on None: it must not be called

    monkeypatch.setattr(lib, "scan_folders", slow_scan)
    job = window.scan_flow.scan_roots(None)
    assert job is not None and started.wait(5)
    window.scan_flow.deleteLater()
    qtbot.waitUntil(lambda: job.dropped, timeout=5000)
    gate.set()
    qtbot.waitUntil(lambda: not job.active, timeout=5000)
    assert seen == [False]  # cancel_with_owner=False: the scan the person asked for ran to its end
    assert job.state == DONE


def test_an_owner_destroyed_before_its_job_ends_is_never_called_and_the_job_is_cancelled(
    qtbot: Any,
) -> None:
    runner = JobRunner(max_threads=1)
    owner = QWidget()
    started, release = threading.Event(), threading.Event()
    saw: list[bool] = []
    called: list[str] = []

    def work(control: JobControl) -> str:
        started.set()
        assert release.wait(5)
        saw.append(control.cancelled)
        control.report(1, 1, force=True)
        control.checkpoint()  # raises Cancelled
        return "late result"

    job = runner.submit(
        "Preview",
        work,
        on_result=lambda r: called.append(f"result {r}"),
        on_error=lambda m: called.append(f"error {m}"),
        on_progress=lambda p: called.append("progress"),
        owner=owner,
        track=False,
    )
    assert started.wait(5)
    owner.deleteLater()
    qtbot.waitUntil(lambda: job.dropped, timeout=5000)  # the owner's destroyed signal came
    release.set()
    finished: list[bool] = []
    job.finished.connect(lambda: finished.append(True))
    qtbot.waitUntil(lambda: bool(finished), timeout=5000)
    assert saw == [True]  # the job was told to stop
    assert called == []  # and nothing called into the deleted widget
    assert job.state == CANCELLED
    runner.shutdown()


def test_a_change_the_person_asked_for_completes_when_its_window_closes(qtbot: Any) -> None:
    """``cancel_with_owner=False`` (a turn, a move): the work is done, only the callbacks are dropped."""
    runner = JobRunner(max_threads=1)
    owner = QWidget()
    started, release = threading.Event(), threading.Event()
    done: list[bool] = []

    def write(control: JobControl) -> None:
        started.set()
        assert release.wait(5)
        control.checkpoint()  # would raise Cancelled had the owner's going cancelled it
        done.append(True)

    job = runner.submit(
        "Rotate",
        write,
        on_result=lambda _r: done.append(False),
        owner=owner,
        cancel_with_owner=False,
        track=False,
    )
    assert started.wait(5)
    owner.deleteLater()
    qtbot.waitUntil(lambda: job.dropped, timeout=5000)
    release.set()
    qtbot.waitUntil(lambda: not job.active, timeout=5000)
    assert done == [True]  # done, and its callback (into the deleted widget) dropped
    assert job.state == DONE and not job.control.cancelled
    runner.shutdown()


def test_an_owner_that_lives_gets_its_result(qtbot: Any) -> None:
    runner = JobRunner()
    owner = QWidget()
    got: list[int] = []
    job = runner.submit("Sum", lambda _c: 1 + 1, on_result=got.append, owner=owner, track=False)
    qtbot.waitUntil(lambda: got == [2], timeout=5000)
    assert job.state == DONE and not job.dropped
    owner.deleteLater()  # after the job: nothing left to drop
    qtbot.waitUntil(lambda: not runner._owned, timeout=5000)
    runner.shutdown()


def test_an_exception_in_a_slot_or_a_thread_is_shown_and_logged(
    threaded_window: Any, log_file: Path, qtbot: Any
) -> None:
    window = threaded_window
    restore = install_excepthooks()
    try:

        def slot() -> None:
            raise ZeroDivisionError("in a slot")

        QTimer.singleShot(0, slot)
        qtbot.waitUntil(lambda: "ZeroDivisionError: in a slot" in window.notice.text(), timeout=5000)
        assert window.notice.text() == (
            f"An action failed (ZeroDivisionError: in a slot); the details are in {log_file}."
        )

        def thread_body() -> None:
            raise OSError("in a thread")

        t = threading.Thread(target=thread_body, name="test-thread")
        t.start()
        t.join()
        qtbot.waitUntil(lambda: "OSError: in a thread" in window.notice.text(), timeout=5000)
        assert window.notice.text().startswith("A background task failed (OSError: in a thread)")
    finally:
        restore()
    text = log_file.read_text()
    assert "in slot" in text and "ZeroDivisionError: in a slot" in text
    assert "in thread_body" in text and "test-thread" in text


def test_help_show_log_opens_the_log_file(
    threaded_window: Any, log_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    help_menu = next(a.menu() for a in threaded_window.menuBar().actions() if a.text() == "&Help")
    show_log = next(a for a in help_menu.actions() if a.text() == "Show log")
    show_log.trigger()
    assert [u.toLocalFile() for u in opened] == [str(log_file)]


def test_show_log_without_a_program_to_open_it_says_where_the_log_is(
    threaded_window: Any, log_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a minimal system has no file opener: Qt only warns on the terminal, so the window must say it
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: False)
    threaded_window.show_log()
    assert str(log_file) in threaded_window.notice.text()
