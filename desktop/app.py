"""Choose between the headless command line and the desktop app."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # each side is imported only when chosen: a command never loads Qt, and the app never parses commands
    if args and args[0] not in ("--gui",):
        from desktop.cli.main import run

        return run(args)
    from desktop.gui.app.application import run_gui

    return run_gui([a for a in args if a != "--gui"])
