"""Callbacks: the message a finished task sends to where its request asked (``notify``).

``notify`` is null (nobody), ``"desktop"`` (the app shows it the next time it
looks: ``pending_desktop``, then ``mark_notified``), ``{"file": PATH}`` (the
callback JSON written atomically) or ``{"command": "CMD {msg_id} {out}"}`` (run
without a shell; each argument has its placeholders filled in, so an output
folder with spaces stays one argument). ``Task.notified`` is set once delivered.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.core.catalog.schema import Task
from desktop.core.processing import tasks
from desktop.core.runtime import messages
from desktop.core.runtime.wording import counted

if TYPE_CHECKING:
    from desktop.core.library import Library

log = logging.getLogger(__name__)

DESKTOP = "desktop"
COMMAND_TIMEOUT_S = 120


def callback(info: tasks.TaskInfo) -> dict[str, Any]:
    """The callback message of a task: ``{"msg_id", "success", "code", "message", "output_files"}``."""
    files: list[dict[str, Any]] = []
    for item in info.items or []:
        if item.state == "failed" or (item.state == "pending" and info.state in tasks.FINISHED):
            files.append(
                {
                    "source": item.source_path,
                    "path": None,
                    "size": None,
                    "mime": None,
                    "cache_hit": False,
                    "ssim": None,
                    "code": item.code or "not_run",
                    "message": item.message or "This item was not processed (the task was cancelled).",
                }
            )
            continue
        for out in item.outputs:
            files.append(
                {
                    "source": out.get("source", item.source_path),
                    "path": out.get("path"),
                    "size": out.get("size"),
                    "mime": out.get("mime"),
                    "cache_hit": bool(out.get("cache_hit")),
                    "ssim": out.get("ssim"),
                    # a quality check that failed (``quality.check``): the output was written, but look at it
                    "flagged": bool(out.get("flagged")),
                    "problems": out.get("problems"),
                    "code": out.get("code"),
                    "message": out.get("message"),
                }
            )
    code: str | None = None
    if info.error:
        code, message = "task_failed", info.error
    elif info.state == "cancelled":
        code, message = "cancelled", f"Task {info.id} was cancelled."
    elif info.failed:
        code = "items_failed"
        message = f"{info.failed} of {counted(info.total, 'item')} failed; the output files list why."
    elif info.state != "done":
        code, message = info.state, f"Task {info.id} is {info.state}."
    else:
        message = f"{counted(info.done, 'item')} done ({info.cache_hits} from the cache)."
    return {
        "msg_id": info.msg_id,
        "success": code is None,
        "code": code,
        "message": message,
        "task": info.id,
        "output_files": files,
    }


def write_file(path: Path, payload: dict[str, Any]) -> None:
    """``payload`` as JSON at ``path``, complete or not at all (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def command_args(template: str, info: tasks.TaskInfo, success: bool) -> list[str]:
    """``template`` split as a shell would (no shell runs it), each argument's placeholders filled in."""
    values = {
        "{msg_id}": info.msg_id,
        "{out}": info.output_dir,
        "{task}": str(info.id),
        "{success}": "true" if success else "false",
        "{state}": info.state,
    }
    args = []
    for arg in shlex.split(template):
        for key, value in values.items():
            arg = arg.replace(key, value)
        args.append(arg)
    return args


def deliver(lib: Library, task_id: int) -> bool:
    """Send the finished task's callback where it asked; True when delivered (or nobody asked)."""
    info = tasks.task_info(task_id)
    if info is None or info.notified:
        return True
    target = info.notify
    if target is None:
        return True
    if target == DESKTOP:
        return False  # the app shows it and marks it
    payload = callback(info)
    try:
        if isinstance(target, dict) and "file" in target:
            write_file(Path(str(target["file"])).expanduser(), payload)
        elif isinstance(target, dict) and "command" in target:
            args = command_args(str(target["command"]), info, bool(payload["success"]))
            proc = subprocess.run(
                args, stdin=subprocess.DEVNULL, capture_output=True, timeout=COMMAND_TIMEOUT_S, check=False
            )
            if proc.returncode != 0:
                err = proc.stderr.decode(errors="replace").strip().splitlines()
                raise OSError(f"it exited with {proc.returncode}{': ' + err[-1] if err else ''}")
        else:
            raise ValueError(f"unknown notify target {target!r}")
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        messages.warning(
            f"The callback of task {task_id} could not be delivered to {json.dumps(target)}: {exc}."
        )
        return False
    mark_notified(lib, task_id)
    return True


def mark_notified(lib: Library, task_id: int) -> None:
    lib.writer.call(lambda: Task.update(notified=True).where(Task.id == task_id).execute())


def pending_desktop() -> list[tasks.TaskInfo]:
    """Finished tasks whose callback is for the app and that it has not shown yet."""
    rows = Task.select(Task.id).where(
        (Task.notify == json.dumps(DESKTOP))
        & (Task.notified == False)  # noqa: E712 - SQL, not Python
        & Task.state.in_(list(tasks.FINISHED))
    )
    out = []
    for row in rows:
        info = tasks.task_info(row.id)
        if info is not None:
            out.append(info)
    return out
