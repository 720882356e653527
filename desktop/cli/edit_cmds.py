"""Edit commands with history: undo, redo, history, trash, rotate, title, describe.

The history is the catalog's, shared with the app: ``undo`` reverts the newest
action whoever made it (a rating given in the app, a tag set here) and prints
what it did.
"""

from __future__ import annotations

import argparse
import sys

from desktop.cli.context import CliError, Context, Subcommands
from desktop.core.catalog.dates import parse_shift, parse_when
from desktop.core.catalog.query import parse_coordinates
from desktop.core.runtime.wording import counted


def _replay(args: argparse.Namespace, ctx: Context, undo: bool) -> int:
    lib = ctx.library
    result = lib.undo() if undo else lib.redo()
    if result is None:
        message = "Nothing to undo." if undo else "Nothing to redo."
        if args.json:
            ctx.print_json({"done": False, "message": message})
        else:
            print(message, file=sys.stderr)
        return 0
    verb = "Undid" if undo else "Redid"
    if args.json:
        ctx.print_json(
            {
                "done": True,
                "action": result.action.label,
                "photos": result.action.photos,
                "notes": result.notes,
            }
        )
    else:
        print(f"{verb}: {result.action.label}", file=sys.stderr)
        for note in result.notes:
            print(f"  {note}", file=sys.stderr)
    return 0


def cmd_undo(args: argparse.Namespace, ctx: Context) -> int:
    return _replay(args, ctx, undo=True)


def cmd_redo(args: argparse.Namespace, ctx: Context) -> int:
    return _replay(args, ctx, undo=False)


def cmd_history(args: argparse.Namespace, ctx: Context) -> int:
    actions = ctx.library.history(args.limit)
    if args.json:
        ctx.print_json([a.__dict__ for a in actions])
        return 0
    if not actions:
        print("No actions yet.", file=sys.stderr)
    for a in actions:
        mark = "  (undone)" if a.undone else ""
        print(f"{a.created_at.replace('T', ' ')}  [{a.source}]  {a.label}{mark}")
    return 0


def cmd_trash(args: argparse.Namespace, ctx: Context) -> int:
    ids = ctx.photo_ids(args.paths)
    report = ctx.library.trash_photos(ids)
    for path, reason in report.failed:
        print(f"not moved {path}: {reason}", file=sys.stderr)
    if args.json:
        ctx.print_json(
            {"trashed": report.trashed, "failed": [{"path": p, "reason": r} for p, r in report.failed]}
        )
    if report.trashed:
        print(f"Moved {counted(report.trashed, 'photo')} to the trash (undo with: undo).", file=sys.stderr)
    return 1 if report.failed else 0


TURNS = {"right": 90, "left": 270, "180": 180}


def cmd_rotate(args: argparse.Namespace, ctx: Context) -> int:
    ids = ctx.photo_ids(args.paths)
    ctx.library.rotate(ids, TURNS[args.way])
    print(
        f"Turned {counted(len(ids), 'photo')} {args.way} (in the catalog; the files are unchanged).",
        file=sys.stderr,
    )
    return 0


def cmd_title(args: argparse.Namespace, ctx: Context) -> int:
    ids = ctx.photo_ids(args.paths)
    if args.kind == "title":
        ctx.library.set_title(ids, args.text)
    else:
        ctx.library.set_description(ids, args.text)
    what = "title" if args.kind == "title" else "description"
    done = f"Set the {what} of" if args.text.strip() else f"Cleared the {what} of"
    print(f"{done} {counted(len(ids), 'photo')}.", file=sys.stderr)
    return 0


def cmd_date(args: argparse.Namespace, ctx: Context) -> int:
    if args.date_command == "shift" and args.shift_by is not None:  # ``-30m`` came as --by (shift_argument)
        args.paths = [p for p in (args.shift, *args.paths) if p is not None]
        args.shift = args.shift_by
    elif args.date_command == "shift" and args.shift is None:  # only one word: the shift, or a photo?
        if args.paths[0][:1] in ("+", "-"):
            raise CliError(f"Say which photos to shift, e.g. date shift {args.paths[0]} PHOTO…")
        raise CliError("Say how far to shift first, e.g. date shift +6h PHOTO…")
    ids = ctx.photo_ids(args.paths)
    if args.date_command == "shift":
        delta = parse_shift(args.shift)
        n = ctx.library.shift_dates(ids, delta)
        done = f"Shifted the dates of {counted(n, 'photo')} by {args.shift}"
    else:
        when = parse_when(args.when)
        n = ctx.library.set_dates(ids, when, keep_intervals=args.keep_intervals)
        kept = ", keeping their intervals" if args.keep_intervals else ""
        done = f"Set the dates of {counted(n, 'photo')} from {when:%Y-%m-%d %H:%M}{kept}"
    if args.json:
        ctx.print_json({"changed": n, "photos": ids})
    elif n == 0:
        print(
            "No date changed: those photos have no date to move, or already have that one.", file=sys.stderr
        )
    else:
        print(f"{done} ('undo' takes it back).", file=sys.stderr)
    return 0


def cmd_place(args: argparse.Namespace, ctx: Context) -> int:
    if args.place_command == "set" and args.at is not None:  # a negative latitude came as --at
        args.paths = [p for p in (args.where, *args.paths) if p is not None]
        args.where = args.at
    place: tuple[float, float] | None = None
    if args.place_command == "set" and args.copy_from:
        args.paths = [p for p in (args.where, *args.paths) if p is not None]
        source = ctx.library.photo_info(ctx.photo_ids([args.copy_from])[0]) or {}
        if source.get("gps_lat") is None:
            raise CliError(f"{args.copy_from} has no place to copy; give one as LAT,LON.")
        place = (float(source["gps_lat"]), float(source["gps_lon"]))
    elif args.place_command == "set":
        if args.where is None:
            raise CliError("Say where, e.g. place set 48.8584,2.2945 PHOTO… (or --from PHOTO).")
        place = parse_coordinates(args.where)
    ids = ctx.photo_ids(args.paths)
    ctx.library.set_place(ids, place)
    if args.json:
        ctx.print_json({"photos": ids, "place": list(place) if place else None})
    elif place is not None:
        print(
            f"Set the place of {counted(len(ids), 'photo')} to {place[0]:.5f}, {place[1]:.5f}.",
            file=sys.stderr,
        )
    else:
        print(f"Cleared the place of {counted(len(ids), 'photo')}.", file=sys.stderr)
    return 0


_NEGATIVE_VALUES = {("date", "shift"): "--by", ("place", "set"): "--at"}


def shift_argument(argv: list[str]) -> list[str]:
    """``date shift -30m PHOTO`` or ``place set -33.86,151.21 PHOTO``: argparse reads a value that starts
    with a minus as an unknown option; pass it as ``--by=-30m`` / ``--at=-33.86,151.21``."""
    for i in range(len(argv) - 2):
        option = _NEGATIVE_VALUES.get((argv[i], argv[i + 1]))
        if option and argv[i + 2].startswith("-") and argv[i + 2][1:2].isdigit():
            return [*argv[: i + 2], f"{option}={argv[i + 2]}", *argv[i + 3 :]]
    return argv


def register(sub: Subcommands) -> None:
    p = sub.add_parser("undo", help="undo the newest change to the library (made here or in the app)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_undo)

    p = sub.add_parser("redo", help="redo the newest undone change")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_redo)

    p = sub.add_parser("history", help="the changes that can be undone, newest first")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("trash", help="move photos' files to the system trash and forget them (undoable)")
    p.add_argument("paths", nargs="+", metavar="PHOTO", help="photos by path or catalog id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_trash)

    p = sub.add_parser("rotate", help="turn photos in the catalog (the files are not changed)")
    p.add_argument("way", choices=sorted(TURNS), metavar="right|left|180")
    p.add_argument("paths", nargs="+", metavar="PHOTO", help="photos by path or catalog id")
    p.set_defaults(func=cmd_rotate)

    p = sub.add_parser("title", help="set the title of photos ('' clears it)")
    p.add_argument("text", metavar="TEXT")
    p.add_argument("paths", nargs="+", metavar="PHOTO", help="photos by path or catalog id")
    p.set_defaults(func=cmd_title, kind="title")

    p = sub.add_parser("describe", help="set the description of photos ('' clears it)")
    p.add_argument("text", metavar="TEXT")
    p.add_argument("paths", nargs="+", metavar="PHOTO", help="photos by path or catalog id")
    p.set_defaults(func=cmd_title, kind="description")

    p = sub.add_parser("date", help="shift or set the date taken of photos (a camera left on home time)")
    dsub = p.add_subparsers(dest="date_command", metavar="shift|set", required=True)
    dp = dsub.add_parser("shift", help="move dates by +6h, -30m, +1d2h …")
    dp.add_argument("shift", metavar="SHIFT", nargs="?", help="+6h, -30m, +1d2h (sign first)")
    dp.add_argument("--by", dest="shift_by", metavar="SHIFT", help=argparse.SUPPRESS)
    dp.add_argument("paths", nargs="+", metavar="PHOTO", help="photos by path or catalog id")
    dp.add_argument("--json", action="store_true")
    dp.set_defaults(func=cmd_date)
    dp = dsub.add_parser("set", help='give photos a date, e.g. "2024-07-03 14:05"')
    dp.add_argument("when", metavar="WHEN", help="local date and time: 2024-07-03 14:05")
    dp.add_argument("paths", nargs="+", metavar="PHOTO", help="photos by path or catalog id")
    dp.add_argument(
        "--keep-intervals",
        action="store_true",
        help="the earliest photo gets WHEN; the others keep their distance",
    )
    dp.add_argument("--json", action="store_true")
    dp.set_defaults(func=cmd_date)

    p = sub.add_parser("place", help="set or clear the place (latitude, longitude) of photos")
    psub = p.add_subparsers(dest="place_command", metavar="set|clear", required=True)
    pp = psub.add_parser("set", help="give photos a place: LAT,LON, or --from another photo")
    pp.add_argument("where", metavar="LAT,LON", nargs="?", help="degrees, latitude first: 48.8584,2.2945")
    pp.add_argument("--at", metavar="LAT,LON", help=argparse.SUPPRESS)
    pp.add_argument("--from", dest="copy_from", metavar="PHOTO", help="copy the place of this photo")
    pp.add_argument("paths", nargs="+", metavar="PHOTO", help="photos by path or catalog id")
    pp.add_argument("--json", action="store_true")
    pp.set_defaults(func=cmd_place)
    pp = psub.add_parser("clear", help="remove the place of photos")
    pp.add_argument("paths", nargs="+", metavar="PHOTO", help="photos by path or catalog id")
    pp.add_argument("--json", action="store_true")
    pp.set_defaults(func=cmd_place, where=None, at=None, copy_from=None)
