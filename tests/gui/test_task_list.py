"""The app runs the processing queue while it is open, and the Tasks window lists and controls the tasks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.core.catalog.schema import Task
from desktop.core.library import Library
from desktop.core.processing import gateway, runner, tasks
from desktop.gui.app import task_queue
from desktop.gui.app.application import AppContext
from desktop.gui.app.jobs import Job
from desktop.gui.app.task_queue import TaskHandle, finished_text
from desktop.gui.panels.status_panel import JobListModel, describe
from desktop.gui.panels.task_list import TaskItemsModel, TaskListDialog, TaskTableModel
from tests.conftest import run_cli


def _request(photos_dir: Path, out: Path, **extra: Any) -> dict[str, Any]:
    files = sorted(str(p) for p in photos_dir.rglob("*.jpg"))
    return {"cmd": "web-2048", "input_files": files, "output_dir": str(out), **extra}


def _submit(lib: Library, photos_dir: Path, out: Path, origin: str = "app", **extra: Any) -> int:
    response = gateway.submit(lib, _request(photos_dir, out, **extra), origin=origin)
    assert response.success, response.error_msg
    assert response.task is not None
    return response.task


@pytest.fixture
def ctx(lib: Library, qtbot: Any) -> Iterator[AppContext]:
    """The app's composition root with its real (threaded) job runner; its queue not started yet."""
    context = AppContext(lib, watch=False, smart_search=False)
    yield context
    context.shutdown()


@pytest.fixture
def sync_ctx(lib: Library) -> Iterator[AppContext]:
    """The same with a job runner that runs each job inline (catalog changes happen before the click returns)."""
    context = AppContext(lib, synchronous=True, watch=False, smart_search=False)
    yield context
    context.shutdown()


def test_a_task_queued_while_the_app_is_open_is_run_by_the_app_and_announced(
    ctx: AppContext, lib: Library, photos_dir: Path, tmp_path: Path, qtbot: Any
) -> None:
    queue = ctx.task_queue
    notices: list[tuple[str, bool]] = []
    queue.notice.connect(lambda text, failed: notices.append((text, failed)))
    queue.start()
    assert queue.holding
    # the command line sees a worker running, so 'process --async' starts no second one
    assert runner.worker_running(lib)
    out = tmp_path / "Exports"
    task_id = _submit(lib, photos_dir, out, origin="cli", notify="desktop")
    qtbot.waitUntil(lambda: tasks.state(task_id) == "done", timeout=20_000)
    info = tasks.task_info(task_id)
    assert info is not None and info.done == 5 and info.failed == 0
    assert len(list(out.glob("*.jpg"))) == 5
    qtbot.waitUntil(lambda: bool(notices), timeout=5000)
    assert notices == [(f"Exported 5 photos to {out}.", False)]
    qtbot.waitUntil(lambda: tasks.task_info(task_id).notified, timeout=5000)  # type: ignore[union-attr]
    # the job the status bar showed is named after the recipe and ends with the same sentence
    job = queue.job
    assert job is not None and job.name == "Exporting (Web 2048 px)"
    assert describe(job) == f"Exporting (Web 2048 px): Exported 5 photos to {out}."
    ctx.shutdown()
    assert not runner.worker_running(lib)  # the lock is let go: a later --async starts its own worker


def test_process_async_from_a_terminal_is_left_to_the_open_app(
    ctx: AppContext, lib: Library, home: Path, photos_dir: Path, tmp_path: Path, qtbot: Any
) -> None:
    ctx.task_queue.start()
    out = tmp_path / "out"
    files = sorted(str(p) for p in photos_dir.rglob("*.jpg"))
    proc = run_cli(home, "process", "email-1280", *files, "--out", str(out), "--async", check=True)
    task_id = int(proc.stdout.strip())
    assert "the running worker will take it" in proc.stderr
    qtbot.waitUntil(lambda: tasks.state(task_id) == "done", timeout=20_000)
    info = tasks.task_info(task_id)
    assert info is not None and info.worker is None and info.done == 5


def test_a_task_left_running_by_a_dead_worker_is_resumed_at_start(
    ctx: AppContext, lib: Library, photos_dir: Path, tmp_path: Path, qtbot: Any
) -> None:
    task_id = _submit(lib, photos_dir, tmp_path / "out")
    # a worker that crashed: its pid is gone and its heartbeat is old
    lib.writer.call(
        lambda: (
            Task.update(state="running", worker="999999999@nohost", heartbeat=time.time() - 600)
            .where(Task.id == task_id)
            .execute()
        )
    )
    ctx.task_queue.start()
    qtbot.waitUntil(lambda: tasks.state(task_id) == "done", timeout=20_000)
    assert tasks.task_info(task_id).done == 5  # type: ignore[union-attr]


def test_failed_items_are_announced_and_listed_with_their_reason(
    sync_ctx: AppContext, lib: Library, photos_dir: Path, tmp_path: Path, qtbot: Any
) -> None:
    out = tmp_path / "out"
    task_id = _submit(lib, photos_dir, out, notify="desktop")
    gone = photos_dir / "snow.jpg"
    gone.unlink()  # deleted after the task was queued
    notices: list[tuple[str, bool]] = []
    sync_ctx.task_queue.notice.connect(lambda text, failed: notices.append((text, failed)))
    sync_ctx.task_queue.start()  # the synchronous runner runs the task now
    assert tasks.state(task_id) == "failed"
    assert notices == [(f"Exported 4 photos to {out}. 1 could not be exported: see Tasks.", True)]

    dialog = TaskListDialog(JobListModel(sync_ctx.runner), sync_ctx.task_queue)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    pane = dialog.processing
    assert pane is not None
    assert pane.selected_task() is not None and pane.selected_task().id == task_id  # type: ignore[union-attr]
    table = pane.model
    row = table.row_of(task_id)
    assert table.index(row, 1).data() == "Done with errors"
    assert table.index(row, 2).data() == "5 of 5"
    assert table.index(row, 3).data() == "4 done, 1 failed"
    items = pane.items_model
    by_source = {items.index(r, 0).data(): r for r in range(items.rowCount())}
    failed = by_source["snow.jpg"]
    assert failed == 0  # the failed first: their reasons are what the details are opened for
    assert items.index(failed, 1).data() == "Failed"
    assert "no longer exists" in items.index(failed, 6).data()
    ok = by_source["beach.jpg"]
    assert items.index(ok, 1).data() == "Done"
    assert items.index(ok, 2).data() == "beach_web-2048.jpg"  # the folder is the task's, said above
    assert items.index(ok, 3).data().endswith(("bytes", "KB"))
    assert "could not be processed" in pane.summary.text()
    assert pane.retry_button.isEnabled() and not pane.pause_button.isEnabled()
    assert pane.open_button.isEnabled()


def test_pause_resume_cancel_and_retry_buttons_change_the_catalog(
    sync_ctx: AppContext, lib: Library, photos_dir: Path, tmp_path: Path, qtbot: Any
) -> None:
    # the queue is not started: the task stays queued while the buttons act on it
    task_id = _submit(lib, photos_dir, tmp_path / "out")
    dialog = TaskListDialog(JobListModel(sync_ctx.runner), sync_ctx.task_queue)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    pane = dialog.processing
    assert pane is not None
    assert pane.model.index(0, 1).data() == "Queued"
    assert pane.pause_button.isEnabled() and pane.cancel_button.isEnabled()
    assert not pane.resume_button.isEnabled() and not pane.retry_button.isEnabled()
    assert not pane.open_button.isEnabled()  # no output folder yet

    pane.pause_button.click()
    assert tasks.state(task_id) == "paused"
    assert pane.model.index(0, 1).data() == "Paused"  # the window read it again at once
    assert pane.resume_button.isEnabled() and not pane.pause_button.isEnabled()
    pane.resume_button.click()
    assert tasks.state(task_id) == "queued"
    pane.cancel_button.click()
    assert tasks.state(task_id) == "cancelled"
    assert pane.retry_button.isEnabled() and not pane.cancel_button.isEnabled()
    assert pane.items_model.index(0, 1).data() == "Not run"
    pane.retry_button.click()
    assert tasks.state(task_id) == "queued"


def test_a_refused_change_says_why(
    sync_ctx: AppContext, lib: Library, photos_dir: Path, tmp_path: Path, qtbot: Any
) -> None:
    task_id = _submit(lib, photos_dir, tmp_path / "out")
    lib.writer.call(lambda: Task.update(state="done", done=5).where(Task.id == task_id).execute())
    told: list[str] = []
    sync_ctx.messages.posted.connect(told.append)
    sync_ctx.task_queue.change(task_id, "pause")
    qtbot.waitUntil(lambda: bool(told), timeout=3000)
    assert told == [f"Task {task_id} is done, so it cannot be paused."]


def test_the_status_bar_pauses_resumes_and_cancels_the_task_in_the_catalog(
    sync_ctx: AppContext, lib: Library, photos_dir: Path, tmp_path: Path
) -> None:
    task_id = _submit(lib, photos_dir, tmp_path / "out")
    job = Job("Exporting (Web 2048 px)")
    handle = TaskHandle(sync_ctx.task_queue)
    handle.task_id = task_id
    job.handle = handle
    job.pause()
    assert tasks.state(task_id) == "paused" and job.paused
    job.resume()
    assert tasks.state(task_id) == "queued" and not job.paused
    job.stop()
    assert tasks.state(task_id) == "cancelled"
    assert not job.control.cancelled  # only the app closing cancels the job itself


def test_a_task_paused_while_running_waits_and_goes_on_when_resumed(
    ctx: AppContext,
    lib: Library,
    photos_dir: Path,
    tmp_path: Path,
    qtbot: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = runner.run_task
    calls: list[int] = []

    def pausing_run_task(library: Library, task_id: int, worker: str, control: Any) -> None:
        calls.append(task_id)
        if len(calls) == 1:  # as the engine does when 'pause' comes between items: it stops, still paused
            tasks.pause(library, task_id)
            return
        real(library, task_id, worker, control)

    monkeypatch.setattr(task_queue.runner, "run_task", pausing_run_task)
    task_id = _submit(lib, photos_dir, tmp_path / "out")
    ctx.task_queue.start()
    qtbot.waitUntil(lambda: tasks.state(task_id) == "paused", timeout=10_000)
    job = ctx.task_queue.job
    assert job is not None
    qtbot.waitUntil(lambda: job.paused, timeout=5000)
    assert job.active and "(paused)" in describe(job)  # the status bar says so and offers Resume
    job.resume()
    qtbot.waitUntil(lambda: tasks.state(task_id) == "done", timeout=20_000)
    assert calls == [task_id, task_id]


def test_task_models_pass_the_model_tester(
    sync_ctx: AppContext, lib: Library, photos_dir: Path, tmp_path: Path, qtmodeltester: Any
) -> None:
    (photos_dir / "dune.jpg").unlink()
    task_id = _submit(lib, photos_dir, tmp_path / "a")
    sync_ctx.task_queue.start()
    _submit(lib, photos_dir, tmp_path / "b")
    table = TaskTableModel()
    qtmodeltester.check(table)
    table.refresh()
    assert table.rowCount() == 2
    qtmodeltester.check(table)
    table.refresh()  # the same tasks: rows changed in place
    qtmodeltester.check(table)
    items = TaskItemsModel()
    qtmodeltester.check(items)
    items.set_task(tasks.task_info(task_id))
    assert items.rowCount() == 4
    qtmodeltester.check(items)


def test_the_eta_comes_from_the_rate_since_the_task_was_first_seen_running() -> None:
    now = [100.0]
    model = TaskTableModel(clock=lambda: now[0])
    base = tasks.TaskInfo(
        id=1, msg_id="m", priority=0, cmd="web-2048", recipe={"name": "Web"}, output_dir="/tmp/x",
        notify=None, state="running", error=None, origin="app", total=40, done=10, failed=0, cache_hits=0,
        cpu_seconds=0.0, megapixels=0.0, created_at=None, started_at=None, finished_at=None, worker=None,
        heartbeat=None, notified=False,
    )  # fmt: skip
    model.set_tasks([base])
    assert model.index(0, 4).data() == ""  # no rate yet
    now[0] = 110.0
    from dataclasses import replace

    model.set_tasks([replace(base, done=20)])
    assert model.index(0, 4).data() == "20s left"  # 10 items in 10 s, 20 to go


def test_finished_text_for_each_ending() -> None:
    info = tasks.TaskInfo(
        id=3, msg_id="m", priority=0, cmd="web-2048", recipe={"name": "Web 2048 px"},
        output_dir=str(Path.home() / "Exports"), notify="desktop", state="done", error=None, origin="app",
        total=40, done=40, failed=0, cache_hits=0, cpu_seconds=0.0, megapixels=0.0, created_at=None,
        started_at=None, finished_at=None, worker=None, heartbeat=None, notified=False,
    )  # fmt: skip
    from dataclasses import replace

    assert finished_text(info) == "Exported 40 photos to ~/Exports."
    assert finished_text(replace(info, state="failed", done=37, failed=3)) == (
        "Exported 37 photos to ~/Exports. 3 could not be exported: see Tasks."
    )
    assert finished_text(replace(info, state="cancelled", done=12)) == (
        "Export cancelled: 12 photos exported to ~/Exports before it stopped."
    )
    assert finished_text(replace(info, state="failed", done=0, error="The recipe is broken.")) == (
        "The export with Web 2048 px failed: The recipe is broken."
    )


def test_a_slow_rate_keeps_its_decimal_in_the_status_bar() -> None:
    from desktop.core.runtime.jobs import Progress
    from desktop.gui.app.jobs import RUNNING

    job = Job("Exporting (Web 2048 px)")
    job.state = RUNNING
    job.last_progress = Progress(job.name, 12, 40, 1.34, 20.9)
    assert describe(job) == "Exporting (Web 2048 px): 12 of 40 · 1.3/s · 21s left"
    job.last_progress = Progress(job.name, 120, 400, 31.6, None)
    assert describe(job) == "Exporting (Web 2048 px): 120 of 400 · 32/s"


def test_an_empty_queue_leaves_the_status_bar_quiet(sync_ctx: AppContext, lib: Library) -> None:
    sync_ctx.task_queue.start()
    sync_ctx.task_queue.poll()
    assert sync_ctx.task_queue.holding
    assert sync_ctx.runner.jobs == []  # no "Processing: done" for nothing


def test_a_big_running_task_reads_its_items_less_often() -> None:
    from desktop.gui.panels.task_list import details_interval

    assert details_interval(40) < 0.1  # the pane follows a small export at once
    assert details_interval(20_000) == 10.0
