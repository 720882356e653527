"""Choose between the headless command line and the desktop app.

This is the ``shoebox`` command (``python main.py`` in a checkout, the
executable of the PyInstaller bundle). A frozen bundle has no Python
interpreter to start children with, so the same executable also serves as
one: ``multiprocessing``'s spawned children (the smart-search model process,
the scan workers) re-enter it through ``freeze_support``, and ``-c CODE ARGS``
runs a short Python snippet the way ``python -c`` does (the device check in
Settings starts one).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def _run_snippet(code: str, argv: list[str]) -> int:
    """``python -c CODE ARGS`` for a frozen executable: ``sys.argv`` is ``["-c", *ARGS]``."""
    sys.argv = ["-c", *argv]
    exec(compile(code, "<string>", "exec"), {"__name__": "__main__"})
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    if getattr(sys, "frozen", False):
        import multiprocessing

        # a spawned child (``--multiprocessing-fork``) runs its task here and exits
        multiprocessing.freeze_support()
    args = list(sys.argv[1:] if argv is None else argv)
    if getattr(sys, "frozen", False) and len(args) >= 2 and args[0] == "-c":
        return _run_snippet(args[1], args[2:])
    # each side is imported only when chosen: a command never loads Qt, and the app never parses commands
    if args and args[0] not in ("--gui",):
        from desktop.cli.main import run

        return run(args)
    from desktop.gui.app.application import run_gui

    return run_gui([a for a in args if a != "--gui"])
