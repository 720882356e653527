"""Processing commands: ``process`` (waiting or ``--async``), ``process --request FILE.json``, and ``tasks``.

``process RECIPE PHOTOS... --out DIR`` runs now and prints each output (or the
item's error); ``--async`` queues the request and, when no worker is draining
the queue, starts a detached ``tasks work --until-empty`` that exits once the
queue is empty. ``tasks list|show|cancel|retry|pause|resume`` look at and steer
the queue from any process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from desktop.cli.context import CliError, Context, Subcommands
from desktop.core.catalog.filters import FilterError
from desktop.core.catalog.query import QueryError
from desktop.core.processing import gateway, runner, tasks
from desktop.core.processing.gateway import RequestError
from desktop.core.runtime.jobs import at_least_background_priority
from desktop.core.runtime.wording import counted, format_bytes


def _value(text: str) -> Any:
    """``--set`` values: JSON when they parse (80, true, [1,2], "x"), else the text as it is."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _overrides(pairs: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise CliError(f"--set takes op.param=value (like jpeg.quality=80), not '{pair}'.")
        out[key.strip()] = _value(value)
    return out


def _query_paths(ctx: Context, query: str) -> list[str]:
    # smart search lives beside processing, not below it: the command line joins them
    from desktop.core.semantic.clip_models import ModelUnavailable
    from desktop.core.semantic.search import SearchService, keyword_search

    try:
        service = SearchService(ctx.library, None, allow_download=False)
        try:
            result = service.search(query, limit=1_000_000)
        except ModelUnavailable:
            result = keyword_search(ctx.library, query, limit=1_000_000)
        finally:
            service.close()
    except (QueryError, FilterError) as exc:
        raise CliError(str(exc)) from None
    return [h.path for h in result.hits]


def _input_paths(args: argparse.Namespace, ctx: Context) -> list[str]:
    paths: list[str] = []
    for ref in args.photos or []:
        photo_id = ctx.catalog_id(ref)
        if photo_id is not None:
            record = ctx.library.reads.record(photo_id)
            assert record is not None
            paths.append(str(record.path))
        else:
            paths.append(str(Path(ref).expanduser().absolute()))
    if args.album:
        ids = ctx.library.album_photo_ids(args.album)
        if ids is None:
            raise CliError(f"There is no album '{args.album}'; 'album list' shows the albums.")
        for pid in sorted(ids):
            record = ctx.library.reads.record(pid)
            if record is not None:
                paths.append(str(record.path))
    if args.query:
        paths.extend(_query_paths(ctx, args.query))
    seen: set[str] = set()
    return [p for p in paths if not (p in seen or seen.add(p))]  # type: ignore[func-returns-value]


def _request(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    if args.request:
        if args.recipe or args.photos or args.out:
            raise CliError(
                "--request FILE.json holds the whole request: give no recipe, photos or --out with it."
            )
        try:
            text = Path(args.request).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"Cannot read the request {args.request}: {exc.strerror or exc}.") from None
        try:
            return gateway.parse_request(text).as_dict()
        except RequestError as exc:
            if args.json:  # a script reads every refusal the same way: the response, with its code
                ctx.print_json(
                    {
                        "msg_id": _msg_id_in(text),
                        "success": False,
                        "error_code": exc.code,
                        "error_msg": exc.message,
                    }
                )
                raise _Refused from None
            raise CliError(exc.message) from None
    if not args.recipe:
        raise CliError("Name a recipe (process web-2048 PHOTOS... --out DIR) or give --request FILE.json.")
    if not args.out:
        raise CliError("Give the output folder with --out DIR.")
    files = _input_paths(args, ctx)
    if not files:
        raise CliError('No photos to process: name files, or use --album NAME or --query "...".')
    notify: Any = None
    if args.notify and args.on_done:
        raise CliError("Choose one of --notify FILE.json and --on-done CMD.")
    if args.notify:
        notify = {"file": str(Path(args.notify).expanduser().absolute())}
    elif args.on_done:
        notify = {"command": args.on_done}
    req: dict[str, Any] = {
        "cmd": args.recipe,
        "params": _overrides(args.set),
        "input_files": files,
        "output_dir": str(Path(args.out).expanduser().absolute()),
        "priority": args.priority,
        "notify": notify,
    }
    if args.msg_id:
        req["msg_id"] = args.msg_id
    return req


def start_worker(ctx: Context) -> bool:
    """Start a detached ``tasks work --until-empty`` unless a worker already drains the queue."""
    if runner.worker_running(ctx.library):
        return False
    if getattr(sys, "frozen", False):
        cmd = [sys.executable, "tasks", "work", "--until-empty"]
    else:
        cmd = [sys.executable, str(Path(sys.argv[0]).absolute()), "tasks", "work", "--until-empty"]
    kwargs: dict[str, Any] = {}
    if os.name == "nt":
        kwargs["creationflags"] = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
    else:
        kwargs["start_new_session"] = True  # not killed with the terminal that ran 'process --async'
    subprocess.Popen(  # noqa: S603 - our own interpreter and script
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # it logs to the log file
        close_fds=True,
        **kwargs,
    )
    return True


def _print_callback(ctx: Context, cb: dict[str, Any], as_json: bool) -> int:
    if as_json:
        ctx.print_json(cb)
    else:
        for f in cb["output_files"]:
            if f["path"] and not f["code"]:
                hit = "  (cached)" if f["cache_hit"] else ""
                print(f"{f['path']}  {format_bytes(f['size'])}  <- {f['source']}{hit}")
                if f.get("flagged"):
                    print(f"  check: {f.get('problems')}", file=sys.stderr)
            elif f["path"]:
                print(f"skipped {f['path']}: {f['message']}", file=sys.stderr)
            else:
                print(f"error: {f['source']}: {f['message']}", file=sys.stderr)
        if not ctx.quiet:
            print(cb["message"], file=sys.stderr)
    return 0 if cb["success"] else 1


class _Refused(Exception):
    """The request was refused and the response printed already (``--json``)."""


def _msg_id_in(text: str) -> str:
    """The msg_id of a request that did not parse as a whole, when it can be read at all."""
    try:
        data = json.loads(text)
    except ValueError:
        return ""
    value = data.get("msg_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else ""


def cmd_process(args: argparse.Namespace, ctx: Context) -> int:
    try:
        req = _request(args, ctx)
    except _Refused:
        return 1
    lib = ctx.library
    if args.async_:
        response = gateway.submit(lib, req, origin="cli")
        if response.success:
            started = start_worker(ctx)
            if args.json:
                ctx.print_json(response.as_dict())
            else:
                print(response.task)
                if not ctx.quiet:
                    how = "a worker started" if started else "the running worker will take it"
                    print(
                        f"Task {response.task} queued ({how}); see it with: tasks show {response.task}",
                        file=sys.stderr,
                    )
            return 0
        if args.json:
            ctx.print_json(response.as_dict())
            return 1
        raise CliError(response.error_msg or "The request was refused.")
    try:
        cb = gateway.run_now(lib, req, ctx.control("process"), origin="cli")
    except runner.Interrupted as exc:
        ctx.end_progress()
        print(f"shoebox: {exc.sentence()}", file=sys.stderr)
        return 130
    except RequestError as exc:
        if args.json:
            ctx.print_json(
                {
                    "msg_id": req.get("msg_id", ""),
                    "success": False,
                    "error_code": exc.code,
                    "error_msg": exc.message,
                }
            )
            return 1
        raise CliError(exc.message) from None
    ctx.end_progress()
    return _print_callback(ctx, cb, args.json)


def _task_line(t: tasks.TaskInfo) -> str:
    extra = f", {t.failed} failed" if t.failed else ""
    hits = f", {t.cache_hits} cached" if t.cache_hits else ""
    return (
        f"{t.id:>5}  {t.state:<9}  {t.done + t.failed}/{t.total}{extra}{hits}  "
        f"{t.recipe_name}  -> {t.output_dir}  ({t.created_at})"
    )


def cmd_tasks(args: argparse.Namespace, ctx: Context) -> int:
    lib = ctx.library
    action = args.tasks_command
    if action != "work":
        # a task whose worker was killed (kill -9, a crash, a power cut) shows as queued again, and a
        # worker is started to resume it: nobody has to queue something else to get it going
        stale = tasks.requeue_stale(lib)
        if stale:
            print(
                f"The worker of task {', '.join(map(str, stale))} had stopped; it is queued again and resumes "
                "where it stopped.",
                file=sys.stderr,
            )
            start_worker(ctx)
    if action == "list":
        found = tasks.list_tasks(limit=args.limit)
        if args.json:
            ctx.print_json([t.as_dict() for t in found])
        elif not found:
            print("No tasks.", file=sys.stderr)
        for t in [] if args.json else found:
            print(_task_line(t))
        return 0
    if action == "work":
        at_least_background_priority()
        ran = runner.work(lib, until_empty=args.until_empty)
        if not ctx.quiet:
            print(f"{counted(ran, 'task')} run.", file=sys.stderr)
        return 0
    task_id = args.id
    if action == "show":
        info = tasks.task_info(task_id)
        if info is None:
            raise CliError(f"There is no task {task_id}; 'tasks list' shows the tasks.")
    else:
        change = {"cancel": tasks.cancel, "retry": tasks.retry, "pause": tasks.pause, "resume": tasks.resume}
        info = change[action](lib, task_id)
        if action in ("retry", "resume"):
            start_worker(ctx)
    if args.json:
        ctx.print_json(info.as_dict())
        return 0
    print(_task_line(info))
    if action == "show":
        print(
            f"       CPU {info.cpu_seconds:.1f} s, {info.megapixels:.1f} MP; started {info.started_at}, "
            f"finished {info.finished_at}"
        )
        for item in info.items or []:
            if item.state == "failed":
                print(f"  failed  {item.source_path}: {item.message}")
            elif item.state == "pending":
                print(f"  pending {item.source_path}")
            for o in item.outputs:
                ssim = o.get("ssim")
                print(
                    f"  {'cached' if o.get('cache_hit') else 'done  '}  {o.get('path')}  "
                    f"{format_bytes(o.get('size'))}"
                    + (f"  SSIM {ssim:.3f}" if isinstance(ssim, int | float) else "")
                )
                if o.get("flagged"):
                    print(f"          check: {o.get('problems')}")
    return 0


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "process",
        help="export or process photos with a recipe (web-2048, email-1280, print-tiff, ...)",
        description="Waiting mode prints each output; --async queues a task (see 'tasks').",
    )
    p.add_argument(
        "recipe", nargs="?", metavar="RECIPE", help="a recipe's slug or name, or an encoder (jpeg)"
    )
    p.add_argument("photos", nargs="*", metavar="PHOTO", help="files (in the library or not) or catalog ids")
    p.add_argument("--out", metavar="DIR", help="the output folder")
    p.add_argument("--json", action="store_true")
    p.add_argument("--async", dest="async_", action="store_true", help="queue a task and return at once")
    p.add_argument("--priority", type=int, default=0, help="higher runs first (default 0)")
    p.add_argument("--set", action="append", metavar="OP.PARAM=VALUE", help="override a step's parameter")
    p.add_argument("--album", metavar="NAME", help="the photos of this album")
    p.add_argument("--query", metavar="QUERY", help="the photos a search finds (the 'search' syntax)")
    p.add_argument("--notify", metavar="FILE.json", help="write the callback message to this file")
    p.add_argument("--on-done", metavar="CMD", help="run CMD when done ({msg_id} {out} {task} {success})")
    p.add_argument("--msg-id", metavar="ID", help="the request's id, echoed in the response and callback")
    p.add_argument("--request", metavar="FILE.json", help="submit this request as it is")
    p.set_defaults(func=cmd_process)

    p = sub.add_parser("tasks", help="the task queue: list, show, cancel, retry, pause, resume")
    tsub = p.add_subparsers(dest="tasks_command", required=True, metavar="ACTION")
    tp = tsub.add_parser("list", help="the newest tasks")
    tp.add_argument("--limit", type=int, default=50)
    tp.add_argument("--json", action="store_true")
    for name, text in (
        ("show", "a task with its items and outputs"),
        ("cancel", "stop a task for good"),
        ("retry", "run a finished task's failed items again"),
        ("pause", "stop a task after the items in progress"),
        ("resume", "queue a paused task again"),
    ):
        tp = tsub.add_parser(name, help=text)
        tp.add_argument("id", type=int, metavar="ID")
        tp.add_argument("--json", action="store_true")
    # the detached worker 'process --async' starts (hidden: people need not run it)
    tp = tsub.add_parser("work")
    tp.add_argument("--until-empty", action="store_true")
    tp.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tasks)
