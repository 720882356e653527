"""Looking after the catalog itself: backup, backup list, restore, check.

``backup`` and ``restore`` work on the catalog file without opening the library,
so ``restore`` also mends a catalog too damaged to open.
"""

from __future__ import annotations

import argparse
import errno
import sys

from desktop.cli.context import CliError, Context, Subcommands
from desktop.core.catalog import backups
from desktop.core.ingest.health import check_library
from desktop.core.runtime.paths import Paths, resolve_paths
from desktop.core.runtime.wording import SHOEBOX


def _paths() -> Paths:
    """The library's paths, refusing a data folder that is a file (as every other command does).

    Backups must work on a catalog too damaged to open, so these commands do not open the library.
    """
    paths = resolve_paths()
    if paths.data.exists() and not paths.data.is_dir():
        raise CliError(paths.unusable(paths.data, NotADirectoryError(errno.ENOTDIR, "Not a directory")))
    return paths


def cmd_backup(args: argparse.Namespace, ctx: Context) -> int:
    paths = _paths()
    if args.action == "list":
        found = backups.list_backups(paths.backups)
        if args.json:
            ctx.print_json([b.as_dict() for b in found])
        elif not found:
            print(f"No backups in {paths.backups} yet; make one with: {SHOEBOX} backup", file=sys.stderr)
        for b in [] if args.json else found:
            print(f"{b.created:%Y-%m-%d %H:%M}  {b.size_bytes / 1e6:7.1f} MB  {b.description:32}  {b.path}")
        return 0
    try:
        made = backups.make_backup(paths.catalog_db, paths.backups, backups.MANUAL)
    except backups.BackupError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        ctx.print_json(made.as_dict())
    else:
        print(made.path)
    return 0


def cmd_restore(args: argparse.Namespace, ctx: Context) -> int:
    paths = _paths()
    try:
        report = backups.restore(paths, args.backup)
    except backups.BackupError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        ctx.print_json(report.as_dict())
        return 0
    made = report.restored.created
    print(
        f"Restored the catalog from {report.restored.path} ({report.restored.description}, {made:%Y-%m-%d %H:%M})."
    )
    if report.saved is not None:
        print(
            f"The catalog it replaced is saved as {report.saved.path}; "
            f"to go back to it: {SHOEBOX} restore {report.saved.path.name}"
        )
    return 0


def cmd_check(args: argparse.Namespace, ctx: Context) -> int:
    report = check_library(ctx.library, ctx.control("check"))
    ctx.end_progress()
    if args.json:
        ctx.print_json(report.as_dict())
    elif report.healthy:
        print("The catalog is sound and matches the library folders.")
    else:
        for problem in report.problems():
            print(problem)
    return 0 if report.healthy else 1


def register(sub: Subcommands) -> None:
    p = sub.add_parser("backup", help="back up the catalog now and print its path; 'backup list' lists them")
    p.add_argument("action", nargs="?", choices=["list"], help="list the backups, newest first")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="put a backup (default: the newest) in place of the catalog")
    p.add_argument("backup", nargs="?", metavar="BACKUP", help="a backup's path or file name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser(
        "check", help="check the catalog file and compare it with the disk (exit 1 on problems)"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_check)
