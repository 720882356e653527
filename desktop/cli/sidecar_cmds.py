"""Settings and XMP sidecars: ``config get|set``, ``sidecars write|read|status``.

Edits made by any command are written to sidecars before it exits
(``Context.write_sidecars``); ``sidecars write`` writes what an earlier run
left pending (a read-only folder, a crash, changes made while writing was
off) and, with ``--all``, also every photo that has tags, a rating, a label, a
title, a description, a date or place set by hand, or a sidecar already.
"""

from __future__ import annotations

import argparse
import sys

from desktop.cli.context import CliError, Context, Subcommands
from desktop.core.library import Library, LibraryError
from desktop.core.runtime.wording import changes_of, counted


def cmd_config(args: argparse.Namespace, ctx: Context) -> int:
    lib = ctx.library
    if args.config_command == "set":
        lib.set_config(args.key, args.value)
        print(f"{args.key} = {args.value}", file=sys.stderr)
        return 0
    values = lib.config()
    if args.key is not None:
        if args.key not in values:
            raise CliError(f"There is no setting '{args.key}'; the settings are: {', '.join(values)}.")
        values = {args.key: values[args.key]}
    if args.json:
        ctx.print_json(values)
    elif args.key is not None:
        print(values[args.key])
    else:
        for key, value in values.items():
            print(f"{key} = {value}")
    return 0


def cmd_sidecars(args: argparse.Namespace, ctx: Context) -> int:
    lib = ctx.library
    if args.sidecars_command == "status":
        status = lib.sidecar_status()
        if args.json:
            ctx.print_json(status)
            return 0
        print(f"Pending: {status['pending']}   orphans: {status['orphans']}   writing: {status['mode']}")
        if status["mode"] == "off" and status["pending"]:
            print(f"Writing is off: {changes_of(status['pending'])} will be written when it is on.")
        for f in status["failed"]:
            print(f"  {f['path']}: {f['reason']}")
        return 0
    if args.sidecars_command == "read":
        scan = lib.read_sidecars(args.all, ctx.control("read sidecars"))
        ctx.end_progress()
        if args.json:
            ctx.print_json(scan.as_dict())
        else:
            print(scan.summary(), file=sys.stderr)
        return 0
    ctx.sidecars_drained = True
    report = lib.write_sidecars(args.all, ctx.control("write sidecars"))
    ctx.end_progress()
    if args.json:
        ctx.print_json(report.as_dict())
    elif report.off:
        waiting = lib.sidecar_status()["pending"]
        kept = f"{changes_of(waiting)} will be written when it is on; " if waiting else ""
        raise LibraryError(
            f"Writing sidecars is off; {kept}turn it on with: config set metadata.write sidecars"
        )
    else:
        print(f"Wrote {counted(report.written, 'sidecar')}.", file=sys.stderr)
    return 1 if report.failed else 0


def register(sub: Subcommands) -> None:
    choices = "; ".join(
        [f"{key}: {'|'.join(values)}" for key, values in Library.CONFIG.items()]
        + [f"{key}: a number {low}-{high}" for key, (_d, low, high) in Library.NUMBER_CONFIG.items()]
    )
    names = ", ".join([*Library.CONFIG, *Library.NUMBER_CONFIG])
    p = sub.add_parser("config", help=f"show or change settings ({names})")
    # plain 'config' shows every setting, as 'config get' does
    csub = p.add_subparsers(dest="config_command", required=False, metavar="ACTION")
    p.add_argument("--json", action="store_true")
    p.set_defaults(key=None)
    cp = csub.add_parser("get", help="show one setting, or all")
    cp.add_argument("key", nargs="?", metavar="KEY")
    cp.add_argument("--json", action="store_true")
    cp = csub.add_parser("set", help=f"change a setting ({choices})", description=f"Settings: {choices}.")
    cp.add_argument("key", metavar="KEY")
    cp.add_argument("value", metavar="VALUE")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("sidecars", help="write, read or check the XMP sidecars beside the photos")
    ssub = p.add_subparsers(dest="sidecars_command", required=True, metavar="ACTION")
    sp = ssub.add_parser(
        "write",
        help=(
            "write the pending sidecars now (--all: also every photo with tags, a rating, a label, "
            "a title or description, a date or place set by hand, or a sidecar already)"
        ),
    )
    sp.add_argument("--all", action="store_true")
    sp.add_argument("--json", action="store_true")
    sp = ssub.add_parser("read", help="read sidecars changed outside Shoebox now (--all: every one)")
    sp.add_argument("--all", action="store_true")
    sp.add_argument("--json", action="store_true")
    sp = ssub.add_parser("status", help="pending and failed writes, and sidecars of no photo")
    sp.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sidecars)
