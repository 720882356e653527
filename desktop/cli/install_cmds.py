"""``install-desktop``: put Shoebox in the Linux application menu, or take it out (``--remove``)."""

from __future__ import annotations

import argparse
from typing import Any

from desktop.cli.context import CliError, Context
from desktop.core.runtime import desktop_entry


def cmd_install_desktop(args: argparse.Namespace, ctx: Context) -> int:
    try:
        report = desktop_entry.remove() if args.remove else desktop_entry.install()
    except desktop_entry.DesktopEntryError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        ctx.print_json(report.as_dict())
    elif args.remove:
        gone = [f for f in report.files if f.status == "removed"]
        print(
            "Removed Shoebox from the application menu."
            if gone
            else "Shoebox was not in the application menu."
        )
        for f in gone:
            print(f"  removed {f.path}")
    else:
        changed = any(f.status == "written" for f in report.files)
        print(
            "Added Shoebox to the application menu."
            if changed
            else "Shoebox is already in the application menu; nothing changed."
        )
        print(f"  {report.desktop_file} runs: {' '.join(report.command)} --gui")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "install-desktop",
        help="add Shoebox and its icon to the application menu (Linux; --remove takes them out)",
    )
    p.add_argument("--remove", action="store_true", help="remove the menu entry and the icons again")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_install_desktop)
