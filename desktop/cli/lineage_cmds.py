"""What was made from what, and clearing what nothing uses: ``lineage PATH``, ``gc``."""

from __future__ import annotations

import argparse
from pathlib import Path

from desktop.cli.context import CliError, Context, Subcommands
from desktop.core.processing import gc, lineage
from desktop.core.runtime.wording import counted, format_bytes, format_local_time


def cmd_lineage(args: argparse.Namespace, ctx: Context) -> int:
    found = lineage.for_path(ctx.library, Path(args.path))
    sources, outputs = found["derived_from"], found["outputs"]
    if args.json:
        ctx.print_json(found)
        return 0 if sources or outputs else 1
    if not sources and not outputs:
        raise CliError(f"{args.path} was not made by Shoebox, and nothing has been made from it yet.")
    for src in sources:
        when = format_local_time(src["time"]) or src["time"]
        print(f"Derived from {src['path']}")
        print(f"  by {src['recipe_name']} ({src['recipe']}) on {when}")
    if sources and outputs:
        print()
    if outputs:
        print(lineage.summary(found)["exported"] + ":")
    for out in outputs:
        when = format_local_time(out["time"]) or out["time"]
        task = f", task {out['task']}" if out["task"] is not None else ""
        print(f"  {out['path']}")
        print(f"    by {out['recipe_name']} ({out['recipe']}) on {when}{task}")
    return 0


def _print_kinds(report: gc.GcReport) -> None:
    for kind, (count, size) in report.by_kind().items():
        print(f"  {count:>7,}  {format_bytes(size):>10}  {gc.KIND_NAMES[kind]}")


def cmd_gc(args: argparse.Namespace, ctx: Context) -> int:
    found = gc.collect(ctx.library, ctx.control("gc"))
    ctx.end_progress()
    if args.dry_run:
        if args.json:
            ctx.print_json(found.as_dict())
        elif not found.orphans:
            print("Nothing to clean up.")
        else:
            for orphan in found.orphans:
                what = orphan.path or "vector of {} for model {}".format(*(orphan.key or ("?", "?")))
                print(f"{orphan.kind:<10} {format_bytes(orphan.size):>10}  {what}")
            print(f"{counted(len(found.orphans), 'item')}, {format_bytes(found.total)} would be freed:")
            _print_kinds(found)
        return 0
    done = gc.delete(ctx.library, found, ctx.control("gc"))
    ctx.end_progress()
    if args.json:
        ctx.print_json(done.as_dict())
    elif not done.orphans:
        print("Nothing to clean up.")
    else:
        print(
            f"Deleted {counted(len(done.orphans) - len(done.failures), 'item')}, {format_bytes(done.reclaimed)} freed:"
        )
        _print_kinds(done)
    for failure in [] if args.json else done.failures:
        print(f"Not deleted: {failure}")
    return 1 if done.failures else 0


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "lineage",
        help="what a file was made from, and what was made from a photo (exports, with recipes and dates)",
    )
    p.add_argument("path", metavar="PATH", help="a photo of the library or a file Shoebox made")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_lineage)

    p = sub.add_parser(
        "gc",
        help="delete what nothing uses: thumbnails, previews and vectors of removed photos, unfinished outputs",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="list what would be deleted, with sizes; delete nothing"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_gc)
