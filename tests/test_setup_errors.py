"""Broken set-ups get one sentence, not a traceback; the traceback goes to the log file.

A data folder that is a file, below a file, or read-only, and a catalog that
is not SQLite, each make ``python main.py`` exit 1 with one line on stderr
that names the path and says what to do.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.core.runtime.logs import setup_logging
from desktop.core.runtime.paths import Paths, resolve_paths
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parent.parent


def sb(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(home, *args)


def one_sentence(proc: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a command that failed cleanly."""
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """``setup_logging`` in this process adds a file handler to the root logger: take it away after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@contextlib.contextmanager
def mounted_tmpfs(where: Path, options: str) -> Iterator[Path]:
    """A small tmpfs at ``where`` (root only, as in CI); skips the test where mounting is not allowed."""
    where.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], check=True, capture_output=True
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here ({exc}); needs root, as in CI")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


def test_a_data_folder_that_is_a_file(tmp_path: Path) -> None:
    home = tmp_path / "not-a-folder"
    home.write_text("oops")
    line = one_sentence(sb(home, "status"))
    assert line == (
        f"shoebox: Shoebox cannot use {home} as its data folder: it is a file. "
        "Point SHOEBOX_HOME at a folder you can write to, or unset it."
    )


def test_a_data_folder_below_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("oops")
    line = one_sentence(sb(blocker / "library", "add", str(tmp_path)))
    assert f"{blocker / 'library'} as its data folder: {blocker} is a file, not a folder." in line


def test_a_read_only_data_folder(tmp_path: Path) -> None:
    home = tmp_path / "ro"
    if os.geteuid() != 0:
        home.mkdir()
        home.chmod(0o555)
        line = one_sentence(sb(home, "status"))
        assert f"cannot use {home} as its data folder: it may not be written to (permission denied)." in line
        return
    with mounted_tmpfs(home, "ro,size=1m"):  # root may write anywhere, except on a read-only disk
        line = one_sentence(sb(home, "status"))
    assert f"cannot use {home} as its data folder: it is on a read-only disk." in line
    assert "SHOEBOX_HOME" in line


def test_an_existing_library_on_a_disk_that_became_read_only(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a disk and make it read-only (as in CI)")
    home = tmp_path / "lib"
    with mounted_tmpfs(home, "size=8m"):
        assert sb(home, "status").returncode == 0  # every folder made, the catalog written
        subprocess.run(["mount", "-o", "remount,ro", str(home)], check=True)
        line = one_sentence(sb(home, "status"))
    assert f"cannot use {home} as its data folder: it is on a read-only disk." in line


def test_a_catalog_that_is_not_sqlite_gets_a_sentence_and_the_log_gets_the_traceback(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "catalog.sqlite3").write_bytes(b"these are not the bytes of a database\n" * 100)
    line = one_sentence(sb(home, "ls"))
    assert f"The catalog at {home / 'catalog.sqlite3'} could not be opened (file is not a database)." in line
    log = (home / "logs" / "shoebox.log").read_text()
    assert "Traceback" in log and "file is not a database" in log


def test_an_unforeseen_error_is_one_line_pointing_at_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    from desktop.cli import library_cmds
    from desktop.cli.main import run

    def broken(_args: object, _ctx: object) -> int:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(library_cmds, "cmd_status", broken)
    monkeypatch.setenv("SHOEBOX_HOME", str(tmp_path / "home"))
    assert run(["status"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    log_file = tmp_path / "home" / "logs" / "shoebox.log"
    assert err == [
        f"shoebox: status failed (OperationalError: disk I/O error); the details are in {log_file}."
    ]
    assert "Traceback" in log_file.read_text()


def test_the_platform_folders_get_their_own_names_and_fixes(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.write_text("a file where the cache folder should be")
    paths = Paths(data=tmp_path / "data", cache=cache, logs=tmp_path / "logs")
    from desktop.core.runtime.paths import DataFolderError

    with pytest.raises(DataFolderError) as info:
        paths.ensure()
    assert str(info.value) == (
        f"Shoebox cannot use {cache} as its cache folder: it is a file. "
        f"Move {cache} aside, or set SHOEBOX_HOME to a folder you can write to."
    )


# ----------------------------------------------------------------- the log file
def test_the_log_file_takes_info_and_tracebacks_and_the_console_stays_quiet(
    tmp_path: Path, restore_logging: None
) -> None:
    paths = resolve_paths(tmp_path / "home")
    log_file = setup_logging(paths)
    assert log_file == paths.log_file
    assert setup_logging(paths) == log_file  # again: replaced, not doubled
    ours = [h for h in logging.getLogger().handlers if getattr(h, "baseFilename", None) == str(log_file)]
    assert len(ours) == 1
    try:
        raise ValueError("what went wrong")
    except ValueError:
        logging.getLogger("desktop.test").info("details", exc_info=True)
    ours[0].flush()
    text = log_file.read_text()
    assert "INFO desktop.test: details" in text and "ValueError: what went wrong" in text


def test_no_log_file_where_its_folder_cannot_be_made(
    tmp_path: Path, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("oops")
    assert setup_logging(resolve_paths(blocker)) is None
    logging.getLogger("desktop.test").warning("still logged somewhere")
    assert "Logging error" not in capsys.readouterr().err


def test_a_log_file_that_cannot_be_written_stays_silent(
    tmp_path: Path, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    log_file = setup_logging(resolve_paths(tmp_path / "home"))
    assert log_file is not None
    handler = next(
        h for h in logging.getLogger().handlers if getattr(h, "baseFilename", None) == str(log_file)
    )
    assert handler.stream is not None
    handler.stream.close()  # what a yanked disk looks like to the handler: every write fails
    logging.getLogger("desktop.test").info("lost, quietly")
    assert "Logging error" not in capsys.readouterr().err
