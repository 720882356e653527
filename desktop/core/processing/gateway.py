"""The one entry point of processing, for the command line and the app alike.

A request (``{"msg_id", "priority", "cmd", "params", "input_files",
"output_dir", "notify"}``) is parsed and validated here (an extra field, a
wrong type, a recipe that does not validate: refused with a sentence naming
it), then either queued (``submit``: the response says which task) or created
and run in this process at once (``run_now``: the waiting mode, whose task
shows in the task list like any other and returns the callback message).
Inputs may be files of the library or any other file (``Source.record`` is
then ``{}``).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.core.catalog.schema import Photo, Root
from desktop.core.processing import notify, recipes, runner, tasks
from desktop.core.processing.params import RecipeError
from desktop.core.processing.recipes import Recipe
from desktop.core.processing.tasks import InputFile

if TYPE_CHECKING:
    from desktop.core.library import Library
    from desktop.core.runtime.jobs import JobControl

FIELDS = ("msg_id", "priority", "cmd", "params", "input_files", "output_dir", "notify")


class RequestError(RecipeError):
    """A request that cannot be accepted; ``code`` for scripts, the message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Request:
    cmd: str
    input_files: list[str]
    output_dir: str
    msg_id: str = ""
    priority: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    notify: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in FIELDS}


@dataclass(frozen=True)
class Response:
    msg_id: str
    success: bool
    error_code: str | None = None
    error_msg: str | None = None
    task: int | None = None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "msg_id": self.msg_id,
            "success": self.success,
            "error_code": self.error_code,
            "error_msg": self.error_msg,
        }
        if self.task is not None:
            d["task"] = self.task
        return d


def _bad(message: str) -> RequestError:
    return RequestError("bad_request", message)


def _notify(value: Any) -> Any:
    if value is None or value == notify.DESKTOP:
        return value
    if isinstance(value, Mapping):
        keys = sorted(value)
        if (
            len(keys) == 1
            and keys[0] in ("file", "command")
            and isinstance(value[keys[0]], str)
            and value[keys[0]]
        ):
            if keys[0] == "file":
                return {"file": str(Path(value["file"]).expanduser().absolute())}
            return {"command": value["command"]}
        extra = [k for k in keys if k not in ("file", "command")]
        if extra:
            raise _bad(
                f"The request's 'notify' has an unknown field '{extra[0]}' (it has 'file' or 'command')."
            )
    raise _bad(
        'The request\'s \'notify\' must be null, "desktop", {"file": PATH} or {"command": "CMD {msg_id} {out}"}.'
    )


def parse_request(data: str | bytes | Mapping[str, Any]) -> Request:
    """A request from JSON text or a dict; ``RequestError`` with a sentence naming what is wrong."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _bad(f"The request is not valid JSON ({exc}).") from None
    if not isinstance(data, Mapping):
        raise _bad("The request must be a JSON object with 'cmd', 'input_files' and 'output_dir'.")
    extra = [k for k in data if k not in FIELDS]
    if extra:
        raise _bad(f"The request has an unknown field '{extra[0]}'; its fields are: {', '.join(FIELDS)}.")
    for name in ("cmd", "output_dir"):
        if not isinstance(data.get(name), str) or not data[name].strip():
            raise _bad(f"The request's '{name}' must be a non-empty text.")
    files = data.get("input_files")
    if not isinstance(files, list) or not all(isinstance(f, str) and f for f in files):
        raise _bad("The request's 'input_files' must be a list of file paths.")
    if not files:
        raise RequestError("no_inputs", "The request has no input files.")
    msg_id = data.get("msg_id")
    if msg_id is None:
        msg_id = f"shoebox-{uuid.uuid4().hex[:12]}"
    elif not isinstance(msg_id, str | int) or isinstance(msg_id, bool):
        raise _bad("The request's 'msg_id' must be a text.")
    priority = data.get("priority", 0)
    if priority is None:
        priority = 0
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise _bad(f"The request's 'priority' must be a whole number, not {priority!r}.")
    params = data.get("params") or {}
    if not isinstance(params, Mapping):
        raise _bad("The request's 'params' must be an object like {\"jpeg.quality\": 80}.")
    return Request(
        cmd=data["cmd"].strip(),
        input_files=list(files),
        output_dir=data["output_dir"],
        msg_id=str(msg_id),
        priority=priority,
        params=dict(params),
        notify=_notify(data.get("notify")),
    )


def _catalogued(paths: list[Path]) -> dict[str, tuple[int, str | None]]:
    """``{path: (photo id, content hash)}`` of the paths the library holds, in a few queries."""
    roots = sorted(
        ((r.id, r.path.rstrip("/")) for r in Root.select(Root.id, Root.path)), key=lambda r: -len(r[1])
    )
    by_root: dict[int, dict[str, str]] = {}
    for path in paths:
        p = str(path)
        for root_id, rp in roots:  # the deepest root first
            if p.startswith(rp + "/"):
                by_root.setdefault(root_id, {})[p[len(rp) + 1 :]] = p
                break
    found: dict[str, tuple[int, str | None]] = {}
    for root_id, rels in by_root.items():
        names = list(rels)
        for start in range(0, len(names), 500):
            rows = Photo.select(Photo.id, Photo.rel_path, Photo.content_hash).where(
                (Photo.root == root_id) & Photo.rel_path.in_(names[start : start + 500])
            )
            for row in rows:
                found[rels[row.rel_path]] = (int(row.id), row.content_hash)
    return found


def _inputs(lib: Library, files: list[str]) -> list[InputFile]:
    paths = [Path(f).expanduser().absolute() for f in files]
    missing = [f for f, p in zip(files, paths, strict=True) if not p.is_file()]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise RequestError("input_missing", f"These input files do not exist: {shown}.")
    known = _catalogued(paths)
    out: list[InputFile] = []
    for path in paths:
        hit = known.get(str(path))
        if hit is None and path.resolve() != path:
            photo = lib.photo_by_path(
                path
            )  # reached through a link: the library may know it by its real path
            hit = (int(photo.id), photo.content_hash) if photo is not None else None
        out.append(InputFile(str(path), *hit) if hit else InputFile(str(path)))
    return out


def prepare(
    lib: Library, request: Request | Mapping[str, Any] | str | bytes
) -> tuple[Request, Recipe, list[InputFile]]:
    """The request validated: its recipe resolved (with its overrides) and its inputs found."""
    req = request if isinstance(request, Request) else parse_request(request)
    try:
        recipe = recipes.resolve(req.cmd, req.params)
    except RequestError:
        raise
    except RecipeError as exc:
        raise RequestError("bad_recipe", exc.message) from None
    _check_output_dir(Path(req.output_dir).expanduser().absolute())
    return req, recipe, _inputs(lib, req.input_files)


def _check_output_dir(folder: Path) -> None:
    """Refuse, before anything is rendered, an output folder that is a file or that cannot be written."""
    probe = folder
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise RequestError(
            "output_not_folder", f"{probe} is a file, not a folder: choose a folder for the outputs."
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        where = "" if probe == folder else f" (it would be made inside {probe})"
        raise RequestError(
            "output_read_only",
            f"The output folder {folder} cannot be written{where}: choose a folder you can write to.",
        )


def _queue(
    lib: Library,
    req: Request,
    recipe: Recipe,
    inputs: list[InputFile],
    origin: str,
    worker: str | None = None,
) -> int:
    out_dir = str(Path(req.output_dir).expanduser().absolute())
    return tasks.submit(
        lib, recipe, inputs, out_dir, req.msg_id, req.cmd, req.priority, req.notify, origin, worker
    )


def submit(lib: Library, request: Request | Mapping[str, Any] | str | bytes, origin: str = "cli") -> Response:
    """Queue the request as a task (task-list mode); a refused request is a response with the reason."""
    msg_id = request.msg_id if isinstance(request, Request) else _msg_id_of(request)
    try:
        req, recipe, inputs = prepare(lib, request)
    except RequestError as exc:
        return Response(msg_id, False, exc.code, exc.message)
    task_id = _queue(lib, req, recipe, inputs, origin)
    return Response(req.msg_id, True, task=task_id)


def run_now(
    lib: Library,
    request: Request | Mapping[str, Any] | str | bytes,
    control: JobControl | None = None,
    origin: str = "cli",
) -> dict[str, Any]:
    """Create the task and run it here at once (waiting mode); its callback message.

    A refused request raises ``RequestError`` (nothing was queued).
    """
    req, recipe, inputs = prepare(lib, request)
    worker = tasks.this_worker()
    task_id = _queue(lib, req, recipe, inputs, origin, worker)  # created running here: no worker takes it
    runner.run_task(lib, task_id, worker, control)
    return task_callback(task_id)


def task_callback(task_id: int) -> dict[str, Any]:
    info = tasks.task_info(task_id)
    if info is None:
        raise tasks.TaskError(f"There is no task {task_id}; 'tasks list' shows the tasks.")
    return notify.callback(info)


def _msg_id_of(request: Mapping[str, Any] | str | bytes) -> str:
    if isinstance(request, Mapping):
        value = request.get("msg_id")
    else:
        try:
            loaded = json.loads(request)
        except (ValueError, UnicodeDecodeError):
            return ""
        value = loaded.get("msg_id") if isinstance(loaded, dict) else None
    return "" if value is None else str(value)
