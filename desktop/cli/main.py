"""Parse the command line and run one command.

A ``ShoeboxError`` (a full disk, a folder that cannot be used, a query that
does not parse ...) prints its own sentence; any other exception is a bug:
one sentence that points to the log file, the traceback in that file. What
any layer posts through the message bridge is printed to stderr the same way.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence

from desktop import __version__
from desktop.cli import (
    edit_cmds,
    install_cmds,
    library_cmds,
    lineage_cmds,
    maintenance_cmds,
    process_cmds,
    recipe_cmds,
    search_cmds,
    sidecar_cmds,
)
from desktop.cli.context import Context
from desktop.core.runtime import messages
from desktop.core.runtime.errors import ShoeboxError
from desktop.core.runtime.jobs import Cancelled
from desktop.core.runtime.logs import setup_logging
from desktop.core.runtime.paths import resolve_paths

log = logging.getLogger("desktop.cli")

COMMAND_MODULES = [
    library_cmds,
    edit_cmds,
    maintenance_cmds,
    lineage_cmds,
    search_cmds,
    install_cmds,
    sidecar_cmds,
    process_cmds,
    recipe_cmds,
]


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
    args, extra = parser.parse_known_args(edit_cmds.shift_argument(list(argv)))
    if extra:
        # argparse stops filling a positional list at the first option: 'process web-2048 --out DIR A.jpg
        # B.jpg' leaves A.jpg and B.jpg over; a command whose last positional is a list of photos takes them
        if isinstance(getattr(args, "photos", None), list) and not any(e.startswith("-") for e in extra):
            args.photos.extend(extra)
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    log_file = setup_logging(resolve_paths(), logging.DEBUG if args.verbose else logging.WARNING)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    ctx = Context(quiet=args.quiet)

    def show(_level: messages.Level, text: str) -> None:
        ctx.end_progress()
        print(f"shoebox: {text}", file=sys.stderr)

    stop_showing = messages.register(show)
    try:
        code = int(args.func(args, ctx) or 0)
        ctx.write_sidecars()
        ctx.daily_backup()
        return code
    except ShoeboxError as exc:
        ctx.end_progress()
        # a mistyped argument needs no traceback; one that wraps a lower failure (a disk, SQLite) keeps it
        log.info("%s failed: %s", args.command, exc, exc_info=exc.__cause__ is not None)
        print(f"shoebox: {exc.message}", file=sys.stderr)
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
        # the traceback goes to the log file only; stderr gets the sentence that points there
        messages.error(messages.unexpected(args.command, exc), exc)
        return 1
    finally:
        stop_showing()
        ctx.close()
