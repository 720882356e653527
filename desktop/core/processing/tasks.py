"""The persistent task queue: ``Task`` and ``TaskItem`` rows in the catalog, so work survives a quit or a crash.

States: a task is queued, running, paused, done, failed or cancelled; an item
pending, done or failed. Workers claim the queued task of highest priority
(then the oldest) with one conditional UPDATE, so two workers never run the
same task. A running task whose worker is gone (its process dead on this host,
or silent for ``STALE_S``) is queued again; its finished items are kept. Every
write goes through the catalog writer; reads return frozen dataclasses.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from desktop.core.catalog.schema import Task, TaskItem
from desktop.core.processing.recipes import Recipe
from desktop.core.runtime.errors import ShoeboxError

if TYPE_CHECKING:
    from desktop.core.library import Library

STALE_S = 60.0  # a worker silent this long is taken for gone
STATES = ("queued", "running", "paused", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")


class TaskError(ShoeboxError):
    """A task that does not exist, or cannot do what was asked in its state; one sentence."""


@dataclass(frozen=True)
class InputFile:
    """One input as queued: its path, and what the catalog knew of it then."""

    path: str
    photo_id: int | None = None
    content_hash: str | None = None


@dataclass(frozen=True)
class ItemInfo:
    id: int
    seq: int
    source_path: str
    photo_id: int | None
    state: str
    outputs: list[dict[str, Any]]
    code: str | None
    message: str | None
    cache_hit: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TaskInfo:
    id: int
    msg_id: str
    priority: int
    cmd: str
    recipe: dict[str, Any]
    output_dir: str
    notify: Any
    state: str
    error: str | None
    origin: str
    total: int
    done: int
    failed: int
    cache_hits: int
    cpu_seconds: float
    megapixels: float
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    worker: str | None
    heartbeat: float | None
    notified: bool
    items: list[ItemInfo] | None = None  # filled by ``task_info``, not by ``list_tasks``

    @property
    def recipe_name(self) -> str:
        return str(self.recipe.get("name", self.cmd))

    @property
    def pending(self) -> int:
        return self.total - self.done - self.failed

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["recipe_name"] = self.recipe_name
        if self.items is None:
            del d["items"]
        return d


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="seconds") if isinstance(value, dt.datetime) else str(value)


def _info(t: Task, items: list[ItemInfo] | None = None) -> TaskInfo:
    return TaskInfo(
        id=t.id,
        msg_id=t.msg_id,
        priority=t.priority,
        cmd=t.cmd,
        recipe=json.loads(t.recipe),
        output_dir=t.output_dir,
        notify=json.loads(t.notify) if t.notify else None,
        state=t.state,
        error=t.error,
        origin=t.origin,
        total=t.total,
        done=t.done,
        failed=t.failed,
        cache_hits=t.cache_hits,
        cpu_seconds=round(float(t.cpu_seconds), 3),
        megapixels=round(float(t.megapixels), 3),
        created_at=_iso(t.created_at),
        started_at=_iso(t.started_at),
        finished_at=_iso(t.finished_at),
        worker=t.worker,
        heartbeat=t.heartbeat,
        notified=bool(t.notified),
        items=items,
    )


def _item(i: TaskItem) -> ItemInfo:
    return ItemInfo(
        id=i.id,
        seq=i.seq,
        source_path=i.source_path,
        photo_id=i.photo_id,
        state=i.state,
        outputs=json.loads(i.outputs) if i.outputs else [],
        code=i.code,
        message=i.message,
        cache_hit=bool(i.cache_hit),
    )


def this_worker() -> str:
    """``PID@HOST`` of this process."""
    return f"{os.getpid()}@{socket.gethostname()}"


# ---------------------------------------------------------------------------- submitting
def submit(
    lib: Library,
    recipe: Recipe,
    inputs: Sequence[InputFile],
    output_dir: str,
    msg_id: str,
    cmd: str,
    priority: int = 0,
    notify: Any = None,
    origin: str = "cli",
    worker: str | None = None,
) -> int:
    """Queue a task of ``inputs`` (one item each, in order); its id. With ``worker`` the task is created
    running for it (the waiting mode: no other worker may take it first)."""
    running = {
        "state": "running",
        "worker": worker,
        "heartbeat": time.time(),
        "started_at": dt.datetime.now(),
    }
    body = json.dumps(recipe.as_dict(), sort_keys=True)

    def _write() -> int:
        task = Task.create(
            msg_id=msg_id,
            priority=priority,
            cmd=cmd,
            recipe=body,
            output_dir=output_dir,
            notify=json.dumps(notify) if notify is not None else None,
            origin=origin,
            total=len(inputs),
            **(running if worker else {}),
        )
        rows = [
            {
                "task": task.id,
                "seq": n,
                "source_path": f.path,
                "photo_id": f.photo_id,
                "source_hash": f.content_hash,
            }
            for n, f in enumerate(inputs, 1)
        ]
        for start in range(0, len(rows), 500):
            TaskItem.insert_many(rows[start : start + 500]).execute()
        return int(task.id)

    return lib.writer.call(_write)


# ---------------------------------------------------------------------------- workers
def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True  # no cheap check there: the heartbeat tells
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a killed worker nobody reaped (its parent exited, and PID 1 of a container may not reap) is a zombie:
    # it still answers signal 0, but it works no more
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def worker_alive(worker: str | None, heartbeat: float | None, now: float | None = None) -> bool:
    if not worker:
        return False
    now = time.time() if now is None else now
    if heartbeat is None or now - heartbeat > STALE_S:
        return False
    pid, _, host = worker.partition("@")
    if host == socket.gethostname() and pid.isdigit():
        return _pid_alive(int(pid))
    return True


def requeue_stale(lib: Library) -> list[int]:
    """Queue again the running tasks whose worker is gone; their ids."""
    now = time.time()
    stale = [
        t.id
        for t in Task.select(Task.id, Task.worker, Task.heartbeat).where(Task.state == "running")
        if not worker_alive(t.worker, t.heartbeat, now)
    ]
    if stale:

        def _write() -> None:
            Task.update(state="queued", worker=None).where(
                Task.id.in_(stale) & (Task.state == "running")
            ).execute()

        lib.writer.call(_write)
    return stale


def claim(lib: Library, task_id: int, worker: str) -> bool:
    """Take the queued task ``task_id`` for ``worker``; False when it is not queued (any more)."""

    def _write() -> int:
        return int(
            Task.update(
                state="running",
                worker=worker,
                heartbeat=time.time(),
                started_at=_coalesce_started(),
            )
            .where((Task.id == task_id) & (Task.state == "queued"))
            .execute()
        )

    return lib.writer.call(_write) == 1


def _coalesce_started() -> Any:
    from peewee import fn

    return fn.COALESCE(Task.started_at, dt.datetime.now())


def claim_next(lib: Library, worker: str) -> int | None:
    """The id of the queued task of highest priority (then the oldest), now running for ``worker``."""
    requeue_stale(lib)
    while True:
        row = (
            Task.select(Task.id).where(Task.state == "queued").order_by(Task.priority.desc(), Task.id).first()
        )
        if row is None:
            return None
        if claim(lib, row.id, worker):
            return int(row.id)
        # another worker took it between the read and the update: try the next


def heartbeat(lib: Library, task_id: int, worker: str) -> None:
    lib.writer.call(
        lambda: (
            Task.update(heartbeat=time.time()).where((Task.id == task_id) & (Task.worker == worker)).execute()
        )
    )


def state(task_id: int) -> str | None:
    row = Task.select(Task.state).where(Task.id == task_id).first()
    return None if row is None else str(row.state)


def queued_count() -> int:
    return int(Task.select().where(Task.state == "queued").count())


# ---------------------------------------------------------------------------- control
def _get(task_id: int) -> Task:
    task = Task.get_or_none(Task.id == task_id)
    if task is None:
        raise TaskError(f"There is no task {task_id}; 'tasks list' shows the tasks.")
    return task


def _change(lib: Library, task_id: int, allowed: tuple[str, ...], verb: str, **values: Any) -> TaskInfo:
    def _write() -> None:
        task = _get(task_id)
        if task.state not in allowed:
            raise TaskError(f"Task {task_id} is {task.state}, so it cannot be {verb}.")
        Task.update(**values).where(Task.id == task_id).execute()

    lib.writer.call(_write)
    info = task_info(task_id)
    assert info is not None
    return info


def pause(lib: Library, task_id: int) -> TaskInfo:
    """Stop after the items being processed; ``resume`` goes on from there."""
    return _change(lib, task_id, ("queued", "running"), "paused", state="paused")


def resume(lib: Library, task_id: int) -> TaskInfo:
    """A paused task queued again; one already queued (say, after its worker was killed) stays so."""
    return _change(lib, task_id, ("paused", "queued"), "resumed", state="queued", worker=None)


def cancel(lib: Library, task_id: int) -> TaskInfo:
    """Stop the task for good (its finished outputs stay); ``retry`` runs what is left."""
    return _change(
        lib,
        task_id,
        ("queued", "running", "paused"),
        "cancelled",
        state="cancelled",
        finished_at=dt.datetime.now(),
    )


def retry(lib: Library, task_id: int) -> TaskInfo:
    """Queue the failed items (and those a cancel left) of a finished task again."""

    def _write() -> None:
        task = _get(task_id)
        if task.state not in ("failed", "cancelled", "done"):
            raise TaskError(f"Task {task_id} is {task.state}; only a finished task can be retried.")
        if task.state == "done" and task.failed == 0:
            raise TaskError(f"Task {task_id} finished without failures: there is nothing to retry.")
        TaskItem.update(state="pending", code=None, message=None).where(
            (TaskItem.task == task_id) & (TaskItem.state == "failed")
        ).execute()
        Task.update(
            state="queued", failed=0, error=None, finished_at=None, worker=None, notified=False
        ).where(Task.id == task_id).execute()

    lib.writer.call(_write)
    info = task_info(task_id)
    assert info is not None
    return info


# ---------------------------------------------------------------------------- reading
def list_tasks(states: Sequence[str] | None = None, limit: int = 200) -> list[TaskInfo]:
    """The newest tasks first (without their items)."""
    q = Task.select()
    if states:
        q = q.where(Task.state.in_(list(states)))
    return [_info(t) for t in q.order_by(Task.id.desc()).limit(limit)]


def task_info(task_id: int) -> TaskInfo | None:
    """The task with its items and their outputs, None when there is none."""
    task = Task.get_or_none(Task.id == task_id)
    if task is None:
        return None
    items = [_item(i) for i in TaskItem.select().where(TaskItem.task == task_id).order_by(TaskItem.seq)]
    return _info(task, items)


@dataclass(frozen=True)
class PendingItem:
    id: int
    seq: int
    source_path: str
    photo_id: int | None
    source_hash: str | None


def pending_items(task_id: int) -> list[PendingItem]:
    return [
        PendingItem(i.id, i.seq, i.source_path, i.photo_id, i.source_hash)
        for i in TaskItem.select()
        .where((TaskItem.task == task_id) & (TaskItem.state == "pending"))
        .order_by(TaskItem.seq)
    ]


def done_output_paths(task_id: int) -> set[str]:
    """The outputs the task's finished items wrote (a resumed task keeps clear of them)."""
    paths: set[str] = set()
    rows: list[tuple[str | None]] = list(
        TaskItem.select(TaskItem.outputs)
        .where((TaskItem.task == task_id) & (TaskItem.state == "done"))
        .tuples()  # type: ignore[arg-type]
    )
    for (outputs,) in rows:
        for o in json.loads(outputs or "[]"):
            if o.get("path"):
                paths.add(o["path"])
    return paths
