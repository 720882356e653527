"""The catalog writer: calls run in the order they were made, a failing call rolls back only itself,
work queued at close still runs, and no caller waits forever on a writer that stopped."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from desktop.core.catalog import writer as writer_module
from desktop.core.catalog.db import close_db, init_db
from desktop.core.catalog.schema import Setting
from desktop.core.catalog.writer import Writer


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "catalog.sqlite3"
    init_db(path)
    yield path
    close_db()


@pytest.fixture
def writer(catalog: Path) -> Iterator[Writer]:
    w = Writer()
    yield w
    w.close()


def _put(key: str, value: str = "") -> str:
    Setting.create(key=key, value=value)
    return key


def _keys(catalog: Path) -> list[str]:
    """What is committed, read through a connection of its own (as another process would see it)."""
    conn = sqlite3.connect(catalog)
    try:
        return sorted(row[0] for row in conn.execute("SELECT key FROM setting"))
    finally:
        conn.close()


def test_calls_run_in_the_order_they_were_submitted(writer: Writer, catalog: Path) -> None:
    ran: list[int] = []

    def step(i: int) -> int:
        ran.append(i)
        _put(f"k{i:03d}", str(i))
        return i * 2

    futures = [writer.submit(step, i) for i in range(200)]
    assert [f.result(timeout=10) for f in futures] == [i * 2 for i in range(200)]
    assert ran == list(range(200))
    assert len(_keys(catalog)) == 200
    assert writer.writes == 200


def test_a_failing_call_rolls_back_only_itself_and_raises_in_its_caller(
    writer: Writer, catalog: Path
) -> None:
    def half_then_fail() -> None:
        _put("b1")
        _put("b2")
        raise ValueError("the second half went wrong")

    first = writer.submit(_put, "a")
    failing = writer.submit(half_then_fail)
    after = writer.submit(_put, "c")

    assert first.result(timeout=10) == "a"
    with pytest.raises(ValueError, match="the second half went wrong"):
        failing.result(timeout=10)
    assert after.result(timeout=10) == "c"
    assert writer.call(_put, "d") == "d"  # and it goes on serving
    assert _keys(catalog) == ["a", "c", "d"]


def test_a_write_that_breaks_a_constraint_rolls_back_the_rows_it_made_before(
    writer: Writer, catalog: Path
) -> None:
    writer.call(_put, "taken")

    def batch() -> None:
        _put("fresh")
        _put("taken")  # primary key: IntegrityError

    with pytest.raises(Exception, match="UNIQUE constraint failed"):
        writer.call(batch)
    assert _keys(catalog) == ["taken"]


def test_work_queued_at_close_runs_and_later_calls_fail_clearly(writer: Writer, catalog: Path) -> None:
    gate = threading.Event()
    started = threading.Event()

    def blocker() -> str:
        started.set()
        assert gate.wait(10)
        return _put("first")

    held = writer.submit(blocker)
    assert started.wait(10)
    queued = [writer.submit(_put, f"q{i}") for i in range(5)]  # waiting behind the blocker
    closer = threading.Thread(target=writer.close)
    closer.start()
    gate.set()
    closer.join(10)

    assert not closer.is_alive(), "close() hung with work queued"
    assert held.result(timeout=1) == "first"
    assert [f.result(timeout=1) for f in queued] == [f"q{i}" for i in range(5)]
    assert _keys(catalog) == ["first", "q0", "q1", "q2", "q3", "q4"]
    with pytest.raises(RuntimeError, match="the catalog writer is closed"):
        writer.submit(_put, "late")
    writer.close()  # a second close does nothing


def test_a_call_racing_close_either_runs_or_fails_it_never_waits_forever(
    writer: Writer, catalog: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """close() runs on another thread at the moment a call is being submitted (made certain by
    pausing the call inside submit): the call used to be queued behind the stop marker, and
    its caller waited for a writer thread that had already ended."""

    class CloseMeanwhile(Future[Any]):
        def __init__(self) -> None:
            super().__init__()
            closer = threading.Thread(target=writer.close)
            closer.start()
            closer.join(0.5)

    monkeypatch.setattr(writer_module, "Future", CloseMeanwhile)
    try:
        fut = writer.submit(_put, "racing")
    except RuntimeError as exc:
        assert "closed" in str(exc)
        assert _keys(catalog) == []
    else:
        assert fut.result(timeout=5) == "racing"
        assert _keys(catalog) == ["racing"]


def test_calls_from_several_threads_all_run_each_thread_in_its_own_order(
    writer: Writer, catalog: Path
) -> None:
    ran: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def step(t: int, i: int) -> None:
        ran.append((t, i))
        _put(f"t{t}-{i:02d}")

    def worker(t: int) -> None:
        try:
            for i in range(50):
                writer.call(step, t, i)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)

    assert not errors
    assert len(ran) == 400 and writer.writes == 400
    for t in range(8):
        assert [i for tt, i in ran if tt == t] == list(range(50))
    assert len(_keys(catalog)) == 400


def test_a_write_inside_a_write_runs_inline_in_the_same_transaction(writer: Writer, catalog: Path) -> None:
    def outer() -> None:
        writer.call(_put, "inner")
        raise ValueError("undo both")

    with pytest.raises(ValueError):
        writer.call(outer)
    assert _keys(catalog) == []
    writer.call(lambda: writer.call(_put, "nested"))
    assert _keys(catalog) == ["nested"]
