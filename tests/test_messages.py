"""The project error type and the message bridge (issue 10: failures that are seen)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.cli.context import CliError
from desktop.core.catalog.backups import BackupError
from desktop.core.catalog.db import DiskFull
from desktop.core.catalog.filters import FilterError
from desktop.core.catalog.query import QueryError
from desktop.core.imaging.decode import ImageError
from desktop.core.library import LibraryError
from desktop.core.runtime import messages
from desktop.core.runtime.errors import ShoeboxError
from desktop.core.runtime.logs import close_log_file, log_file, setup_logging
from desktop.core.runtime.paths import DataFolderError, resolve_paths
from desktop.core.semantic.clip_models import ModelUnavailable


@pytest.fixture
def logging_to(tmp_path: Path) -> Iterator[Path]:
    level = logging.getLogger().level
    path = setup_logging(resolve_paths(tmp_path / "home"))
    assert path is not None
    yield path
    close_log_file()
    logging.getLogger().setLevel(level)


@pytest.fixture
def shown() -> Iterator[list[tuple[messages.Level, str]]]:
    got: list[tuple[messages.Level, str]] = []
    stop = messages.register(lambda level, text: got.append((level, text)))
    yield got
    stop()


def test_a_shoebox_error_carries_its_sentence_and_its_cause() -> None:
    cause = OSError(28, "No space left on device")
    err = ShoeboxError("The disk is full. Free some space and try again.", cause)
    assert err.message == str(err) == "The disk is full. Free some space and try again."
    assert err.cause is cause and err.__cause__ is cause
    try:
        raise LibraryError("The folder is gone.") from cause
    except LibraryError as raised:
        assert raised.cause is cause


@pytest.mark.parametrize(
    "kind",
    [
        LibraryError,
        CliError,
        DataFolderError,
        QueryError,
        FilterError,
        DiskFull,
        BackupError,
        ModelUnavailable,
    ],
)
def test_the_user_facing_errors_are_shoebox_errors(kind: type[Exception]) -> None:
    err = kind("what happened and what to do")
    assert isinstance(err, ShoeboxError)
    assert str(err) == "what happened and what to do"


def test_image_error_keeps_its_reason_and_parse_errors_stay_value_errors() -> None:
    err = ImageError("truncated")
    assert isinstance(err, ShoeboxError) and err.reason == err.message == "truncated"
    assert issubclass(QueryError, ValueError) and issubclass(FilterError, ValueError)


def test_an_error_is_logged_with_its_traceback_and_handed_to_the_front_end(
    logging_to: Path, shown: list[tuple[messages.Level, str]]
) -> None:
    try:
        {}["missing"]
    except KeyError as exc:
        sentence = messages.unexpected("Reading the tags", exc)
        messages.error(sentence, exc)
    assert sentence == f"Reading the tags failed (KeyError: 'missing'); the details are in {logging_to}."
    assert shown == [(messages.Level.ERROR, sentence)]
    text = logging_to.read_text()
    assert sentence in text and "Traceback (most recent call last)" in text


def test_info_and_warning_reach_the_front_end_from_any_thread(
    shown: list[tuple[messages.Level, str]],
) -> None:
    worker = threading.Thread(target=messages.warning, args=("The watcher stopped: too many folders.",))
    worker.start()
    worker.join()
    messages.info("Backed up the catalog.")
    assert shown == [
        (messages.Level.WARNING, "The watcher stopped: too many folders."),
        (messages.Level.INFO, "Backed up the catalog."),
    ]


def test_a_broken_front_end_does_not_break_the_caller(
    shown: list[tuple[messages.Level, str]], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_level: messages.Level, _text: str) -> None:
        raise RuntimeError("the window is gone")

    stop = messages.register(broken)
    try:
        messages.error("Import failed.")
    finally:
        stop()
    assert shown == [(messages.Level.ERROR, "Import failed.")]  # the other handler still got it
    assert "showing a message failed" in caplog.text


def test_a_shoebox_error_is_shown_as_its_own_sentence() -> None:
    assert messages.sentence("Import", DiskFull("The disk is full.")) == "The disk is full."
    assert log_file() is None  # no log set up in this test: the sentence does not promise one
    assert messages.sentence("Import", ValueError("bad")) == "Import failed (ValueError: bad)."


def test_the_command_line_prints_a_shoebox_error_as_its_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``QueryError`` was not among the errors the command line knew: it came out as "ls failed (...)"."""
    from desktop.cli import library_cmds
    from desktop.cli.main import run

    def bad_query(_args: object, _ctx: object) -> int:
        raise QueryError('"rating:many" is not a rating: write rating:3 or rating:>=4.')

    monkeypatch.setattr(library_cmds, "cmd_status", bad_query)
    monkeypatch.setenv("SHOEBOX_HOME", str(tmp_path / "home"))
    level = logging.getLogger().level
    try:
        assert run(["status"]) == 1
    finally:
        close_log_file()
        logging.getLogger().setLevel(level)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ['shoebox: "rating:many" is not a rating: write rating:3 or rating:>=4.']


def test_the_command_line_prints_what_the_bridge_is_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from desktop.cli import library_cmds
    from desktop.cli.main import run

    def warns(_args: object, _ctx: object) -> int:
        messages.warning("2 folders are not connected; their photos are kept.")
        return 0

    monkeypatch.setattr(library_cmds, "cmd_status", warns)
    monkeypatch.setenv("SHOEBOX_HOME", str(tmp_path / "home"))
    level = logging.getLogger().level
    try:
        assert run(["status"]) == 0
    finally:
        close_log_file()
        logging.getLogger().setLevel(level)
    assert capsys.readouterr().err.strip().splitlines() == [
        "shoebox: 2 folders are not connected; their photos are kept."
    ]


def test_the_console_does_not_repeat_what_a_front_end_showed(tmp_path: Path) -> None:
    """In a plain process (no pytest handlers) stderr gets the sentence once, from the CLI's handler."""
    import subprocess
    import sys

    code = (
        "import logging, sys\n"
        "from desktop.core.runtime import messages\n"
        "from desktop.core.runtime.logs import setup_logging\n"
        "setup_logging(None)\n"
        "messages.error('nobody shows this one')\n"
        "stop = messages.register(lambda level, text: print('shown: ' + text, file=sys.stderr))\n"
        "messages.error('the handler shows this one')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.splitlines() == [
        "ERROR desktop.core.runtime.messages: nobody shows this one",
        "shown: the handler shows this one",
    ]
