"""The app on a broken set-up: a dialog with the path and what to do, never a silent exit."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from desktop.core.runtime.paths import resolve_paths
from desktop.gui.app import application
from desktop.gui.app.application import run_gui, startup_error_text


@pytest.fixture
def dialogs(qapp: QApplication, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The texts of the critical dialogs run_gui shows (recorded, not shown: no modal loop in tests).

    run_gui also names the application and sets up logging; both are put back after.
    """
    shown: list[str] = []
    monkeypatch.setattr(application.QMessageBox, "critical", lambda _parent, _title, text: shown.append(text))
    names = (qapp.applicationName(), qapp.applicationDisplayName(), qapp.organizationName())
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield shown
    qapp.setApplicationName(names[0])
    qapp.setApplicationDisplayName(names[1])
    qapp.setOrganizationName(names[2])
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_a_data_folder_that_is_a_file_shows_a_dialog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dialogs: list[str]
) -> None:
    home = tmp_path / "not-a-folder"
    home.write_text("oops")
    monkeypatch.setenv("SHOEBOX_HOME", str(home))
    assert run_gui([]) == 1
    assert dialogs == [
        f"Shoebox cannot use {home} as its data folder: it is a file. "
        "Point SHOEBOX_HOME at a folder you can write to, or unset it."
    ]


def test_a_catalog_that_is_not_sqlite_shows_a_dialog_and_logs_the_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dialogs: list[str]
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "catalog.sqlite3").write_bytes(b"not a database\n" * 200)
    monkeypatch.setenv("SHOEBOX_HOME", str(home))
    assert run_gui([]) == 1
    assert len(dialogs) == 1
    assert f"The catalog at {home / 'catalog.sqlite3'} could not be opened" in dialogs[0]
    assert "python main.py restore" in dialogs[0]
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert "Traceback" in (home / "logs" / "shoebox.log").read_text()


def test_an_unforeseen_failure_names_the_folder_and_the_log(tmp_path: Path) -> None:
    paths = resolve_paths(tmp_path / "home")
    text = startup_error_text(MemoryError("no room"), paths, paths.log_file)
    assert str(paths.data) in text and str(paths.log_file) in text and "SHOEBOX_HOME" in text
