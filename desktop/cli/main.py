"""Parse the command line and run one command."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence

from desktop import __version__
from desktop.cli import edit_cmds, install_cmds, library_cmds, maintenance_cmds
from desktop.cli.context import CliError, Context
from desktop.core.catalog.db import DiskFull
from desktop.core.library import LibraryError
from desktop.core.runtime.jobs import Cancelled
from desktop.core.runtime.logs import setup_logging
from desktop.core.runtime.paths import resolve_paths

log = logging.getLogger("desktop.cli")

COMMAND_MODULES = [library_cmds, edit_cmds, maintenance_cmds, install_cmds]
try:  # the smart-search commands are optional until that module lands
    from desktop.cli import search_cmds

    COMMAND_MODULES.append(search_cmds)
except ImportError:  # pragma: no cover
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shoebox",
        description="Shoebox photo library. Without a command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"shoebox {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def run(argv: Sequence[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv))
    log_file = setup_logging(resolve_paths(), logging.DEBUG if args.verbose else logging.WARNING)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    ctx = Context(quiet=args.quiet)
    try:
        code = int(args.func(args, ctx) or 0)
        ctx.daily_backup()
        return code
    except (LibraryError, CliError, DiskFull) as exc:
        ctx.end_progress()
        log.info("%s failed: %s", args.command, exc, exc_info=True)  # the traceback, for the log file only
        print(f"shoebox: {exc}", file=sys.stderr)
        return 1
    except Cancelled:
        ctx.end_progress()
        print("shoebox: cancelled; run the command again to resume where it stopped.", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        ctx.end_progress()
        print("shoebox: interrupted; run the command again to resume where it stopped.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        return 0
    except Exception as exc:  # a bug or a broken set-up nobody foresaw: one sentence here, the rest logged
        ctx.end_progress()
        if log_file is None:
            raise  # nowhere to keep the traceback: show it
        log.info("%s failed", args.command, exc_info=True)  # the log file only; stderr gets the sentence
        print(
            f"shoebox: {args.command} failed ({type(exc).__name__}: {exc}); the details are in {log_file}.",
            file=sys.stderr,
        )
        return 1
    finally:
        ctx.close()
