"""Library commands: add, scan, import, status, errors, info, tag, rate, reject, ls, pairs, watch."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from desktop.cli.context import CliError, Context, Subcommands
from desktop.core.catalog.filters import FilterError, PhotoFilter, check_tags, parse_date
from desktop.core.catalog.schema import Root
from desktop.core.ingest.scanner import ScanReport
from desktop.core.ingest.watcher import LibraryWatcher
from desktop.core.library import Library, normalise_tag, photo_path, photo_to_dict
from desktop.core.processing import lineage
from desktop.core.runtime.wording import (
    SHOEBOX,
    counted,
    format_bytes,
    format_exposure_time,
    format_f_number,
    format_focal_length,
    format_local_time,
)
from desktop.core.semantic.search import extra_status


def _print_scan(ctx: Context, report: ScanReport) -> None:
    ctx.end_progress()
    for warning in report.warnings[:20]:
        print(f"warning: {warning}", file=sys.stderr)
    print(report.summary(), file=sys.stderr)
    if report.errors:
        print(f"  see them with: {SHOEBOX} errors", file=sys.stderr)


def _scan_and_report(args: argparse.Namespace, ctx: Context, roots: list[Root]) -> int:
    report = ctx.library.scan(roots, ctx.control("scan"))
    _print_scan(ctx, report)
    if args.json:
        ctx.print_json(report.as_dict())
    return 130 if report.cancelled else 0


def cmd_add(args: argparse.Namespace, ctx: Context) -> int:
    lib = ctx.library
    added = [lib.add_root(Path(p), watched=not args.no_watch) for p in args.paths]
    # a later folder may have absorbed an earlier one (add A/B A) or repeated it: scan what holds them now
    holders = (lib.root_for_path(Path(r.path)) for r in added)
    roots = list({r.id: r for r in holders if r is not None}.values())
    for root in roots:
        print(f"added {root.path} ({'watched' if root.watched else 'not watched'})", file=sys.stderr)
    return _scan_and_report(args, ctx, roots)


def cmd_scan(args: argparse.Namespace, ctx: Context) -> int:
    lib = ctx.library
    roots = lib.roots()
    if args.paths:
        wanted = {str(Path(p).expanduser().resolve()) for p in args.paths}
        roots = [r for r in roots if r.path in wanted]
        if not roots:
            raise CliError(f"none of those folders is in the library; add them with: {SHOEBOX} add FOLDER")
    if not roots:
        raise CliError(f"the library has no folders yet; add one with: {SHOEBOX} add FOLDER")
    return _scan_and_report(args, ctx, roots)


def cmd_import(args: argparse.Namespace, ctx: Context) -> int:
    lib = ctx.library
    if args.to:
        lib.set_import_dir(Path(args.to))
    report = lib.import_paths([Path(p) for p in args.paths], ctx.control("import"))
    ctx.end_progress()
    for src, twin in report.duplicates:
        print(f"skipped {src}: already in the library as {twin}", file=sys.stderr)
    for src, reason in report.skipped:
        print(f"skipped {src}: {reason}", file=sys.stderr)
    for dst, reason in report.errors:
        print(f"imported but unreadable {dst}: {reason}", file=sys.stderr)
    print(report.summary() + f" into {lib.import_dir()}", file=sys.stderr)
    if args.json:
        ctx.print_json(report.__dict__)
    return 0 if not report.skipped or report.imported else 1


def _extra_status(lib: Library) -> dict[str, Any]:
    result: dict[str, Any] = extra_status(lib)
    return result


def cmd_status(args: argparse.Namespace, ctx: Context) -> int:
    lib = ctx.library
    status = lib.status()
    status.update(_extra_status(lib))
    if args.json:
        ctx.print_json(status)
        return 0
    print(f"Library: {status['home']}")
    print(f"Photos: {status['photos']}   could not read: {status['errors']}   missing: {status['missing']}")
    for root in status["roots"]:
        flag = "watched" if root["watched"] else "not watched"
        print(f"  {root['path']}  ({counted(root['photos'], 'photo')}, {flag})")
    if "model" in status:
        print(
            f"Smart search: {status.get('embedded', 0)} embedded, {status.get('pending_embeddings', 0)} pending"
            f" (model {status['model']})"
        )
    return 0


def cmd_errors(args: argparse.Namespace, ctx: Context) -> int:
    rows = ctx.library.errors()
    if args.json:
        ctx.print_json([{"path": r["path"], "reason": r["reason"]} for r in rows])
    else:
        for r in rows:
            print(f"{r['path']}: {r['reason']}")
        if not rows:
            print("No unreadable files.", file=sys.stderr)
    return 0


# how ``info`` shows a field to a person (``--json`` keeps the raw numbers)
_HUMAN: dict[str, Any] = {
    "exposure_time": format_exposure_time,
    "f_number": format_f_number,
    "focal_length": format_focal_length,
    "size_bytes": format_bytes,
    "mtime": format_local_time,
    "added_at": format_local_time,
    "gps_alt": lambda m: f"{m:.0f} m",
    "keywords": ", ".join,
    "tags": ", ".join,
    "companions": lambda files: "; ".join(
        f"{Path(c['path']).name} ({c['format'] or '?'}, {format_bytes(c['size_bytes'] or 0)})" for c in files
    ),
}


def human_value(key: str, value: Any) -> Any:
    shown = _HUMAN.get(key)
    return shown(value) if shown is not None else value


def _info(ctx: Context, ref: str) -> dict[str, Any]:
    """The record of a photo given by path or catalog id."""
    photo_id = ctx.catalog_id(ref)
    record = ctx.library.photo_info(photo_id) if photo_id is not None else None
    return record if record is not None else ctx.library.info(Path(ref))


def cmd_info(args: argparse.Namespace, ctx: Context) -> int:
    records = [_info(ctx, ref) for ref in args.paths]
    if args.json:
        ctx.print_json(records[0] if len(records) == 1 else records)
    else:
        for rec in records:
            for key, value in rec.items():
                if key == "lineage":
                    said = lineage.summary(value)
                    for label, text in (("derived from", said["derived"]), ("exports", said["exported"])):
                        if text:
                            print(f"{label:16} {text}")
                elif value not in (None, [], ""):
                    print(f"{key:16} {human_value(key, value)}")
            print()
    return 0


def cmd_tag(args: argparse.Namespace, ctx: Context) -> int:
    lib = ctx.library
    if args.tag_command == "list":
        tags = lib.tags()
        if args.json:
            ctx.print_json([{"name": t.name, "count": t.count} for t in tags])
        else:
            for t in tags:
                depth = t.name.count("/")
                print(f"{'  ' * depth}{t.name.rsplit('/', 1)[-1]}  ({t.count})")
        return 0
    if args.tag_command == "delete":
        return _delete_tag(args, ctx)
    ids = ctx.photo_ids(args.paths)
    if args.tag_command == "add":
        tag = lib.add_tag(args.name, ids)
        print(f"Tagged {counted(len(set(ids)), 'photo')} with {tag.name}.", file=sys.stderr)
    else:
        n = lib.remove_tag(args.name, ids)
        print(f"Removed {args.name} from {counted(n, 'photo')}.", file=sys.stderr)
    return 0


def _delete_tag(args: argparse.Namespace, ctx: Context) -> int:
    lib = ctx.library
    full = normalise_tag(args.name)
    key = full.lower()  # the names delete_tag removes: this tag and every tag below it
    tags = lib.tags()
    tag = next((t for t in tags if t.name.lower() == key), None)
    if tag is None:
        raise CliError(f"No tag named '{args.name}'; '{SHOEBOX} tag list' shows them.")
    below = [t.name for t in tags if t.name.lower().startswith(key + "/")]
    lib.delete_tag(full)
    children = f" and {counted(len(below), 'tag')} below it" if below else ""
    print(f"Deleted the tag {tag.name}{children} from {counted(tag.count, 'photo')}.", file=sys.stderr)
    if args.json:
        ctx.print_json({"deleted": [tag.name, *below], "photos": tag.count})
    return 0


def cmd_rate(args: argparse.Namespace, ctx: Context) -> int:
    ids = ctx.photo_ids(args.paths)
    ctx.library.set_rating(ids, args.stars)
    photos = counted(len(set(ids)), "photo")
    if args.stars:
        print(f"Rated {photos} {counted(args.stars, 'star')}.", file=sys.stderr)
    else:
        print(f"Cleared the rating of {photos}.", file=sys.stderr)
    if args.json:
        ctx.print_json({"photos": len(set(ids)), "rating": args.stars})
    return 0


def cmd_reject(args: argparse.Namespace, ctx: Context) -> int:
    ids = ctx.photo_ids(args.paths)
    changed = ctx.library.set_rejected(ids, not args.clear)
    photos = counted(changed, "photo")
    if args.clear:
        print(f"Cleared the rejected flag of {photos}.", file=sys.stderr)
    else:
        print(f"Rejected {photos}.", file=sys.stderr)
    if args.json:
        ctx.print_json({"photos": len(set(ids)), "changed": changed, "rejected": not args.clear})
    return 0


def cmd_label(args: argparse.Namespace, ctx: Context) -> int:
    label = None if args.label == "none" else args.label
    ids = ctx.photo_ids(args.paths)
    ctx.library.set_color_label(ids, label)
    photos = counted(len(set(ids)), "photo")
    if label:
        print(f"Labelled {photos} {label}.", file=sys.stderr)
    else:
        print(f"Removed the colour label from {photos}.", file=sys.stderr)
    if args.json:
        ctx.print_json({"photos": len(set(ids)), "label": label})
    return 0


def cmd_album(args: argparse.Namespace, ctx: Context) -> int:
    lib = ctx.library
    if args.album_command == "list":
        albums = lib.albums()
        if args.json:
            ctx.print_json([{"name": n, "count": c} for n, c in albums])
        else:
            for n, c in albums:
                print(f"{n}  ({c})")
            if not albums:
                print(f"No albums yet; make one with: {SHOEBOX} album add NAME PHOTO...", file=sys.stderr)
        return 0
    if args.album_command == "delete":
        kept = lib.delete_album(args.name)
        print(
            f"Deleted the album {args.name}; its {counted(kept, 'photo')} stay in the library.",
            file=sys.stderr,
        )
        if args.json:
            ctx.print_json({"album": args.name, "deleted": True, "photos": kept})
        return 0
    ids = set(ctx.photo_ids(args.paths))
    members = lib.album_photo_ids(args.name)
    # what adding skips and removing removes: these photos that are in the album already
    already = len(ids & members) if members is not None else 0
    if args.album_command == "add":
        lib.add_to_album(args.name, sorted(ids))
        added = len(ids) - already
        note = f" ({counted(already, 'was', 'were')} in it already)" if already else ""
        print(f"Added {counted(added, 'photo')} to the album {args.name.strip()}{note}.", file=sys.stderr)
        result = {"album": args.name.strip(), "added": added, "already": already}
    else:
        if members is None:
            raise CliError(f"No album named '{args.name}'; '{SHOEBOX} album list' shows them.")
        lib.remove_from_album(args.name, sorted(ids))
        print(f"Removed {counted(already, 'photo')} from the album {args.name}.", file=sys.stderr)
        result = {"album": args.name, "removed": already}
    if args.json:
        ctx.print_json(result)
    return 0


def filter_from_args(args: argparse.Namespace) -> PhotoFilter:
    try:
        check_tags(args.tag or [])  # "No tag named …" rather than an empty list
        return PhotoFilter(
            tags=list(args.tag or []),
            after=parse_date(args.after) if args.after else None,
            before=parse_date(args.before) if args.before else None,
            camera=args.camera,
            folder=Path(args.folder) if args.folder else None,
            rating_min=args.rating,
            album=args.album,
            rejected=True if args.rejected else None,
        )
    except (FilterError, ValueError) as exc:
        raise CliError(str(exc)) from exc


def add_filter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tag", action="append", help="only photos with this tag (repeat for all of several)")
    p.add_argument("--after", help="taken on or after YYYY[-MM[-DD]]")
    p.add_argument("--before", help="taken before YYYY[-MM[-DD]]")
    p.add_argument("--camera", help="camera make or model contains TEXT")
    p.add_argument("--folder", help="only photos in or below this folder")
    p.add_argument("--rating", type=int, choices=range(0, 6), metavar="N", help="rating at least N")
    p.add_argument("--album", help="only photos in this album")
    p.add_argument("--rejected", action="store_true", help="only photos flagged rejected")


def cmd_ls(args: argparse.Namespace, ctx: Context) -> int:
    lib = ctx.library
    if args.album and lib.album_photo_ids(args.album) is None:  # as a tag that isn't there: say so
        raise CliError(f"No album named '{args.album}'; '{SHOEBOX} album list' shows them.")
    photos = lib.query(filter_from_args(args), limit=args.limit, newest_first=not args.oldest_first)
    if args.json:
        ctx.print_json([photo_to_dict(p) for p in photos])
    else:
        for p in photos:
            print(f"{(p.taken_at or '')[:19]:19}  {photo_path(p)}")
        if not photos and not ctx.quiet:
            print("No photos match.", file=sys.stderr)
    return 0


def cmd_watch(args: argparse.Namespace, ctx: Context) -> int:
    lib = ctx.library
    stop = threading.Event()

    def on_change(report: ScanReport) -> None:
        if report.seen and not ctx.quiet:
            print(
                f"updated: {report.added} new, {report.updated} changed, {report.moved} moved, "
                f"{report.errors} unreadable",
                file=sys.stderr,
                flush=True,
            )

    watcher = LibraryWatcher(lib, on_change=on_change)
    watcher.start()
    if not watcher.watched_paths:
        watcher.stop()
        raise CliError(f"no watched folders; add one with: {SHOEBOX} add FOLDER")
    print("watching " + ", ".join(watcher.watched_paths) + " (Ctrl+C to stop)", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
    return 0


def cmd_pairs(args: argparse.Namespace, ctx: Context) -> int:
    """Show RAW+JPEG pairs and Live Photos as one item (on, the default) or as two (off)."""
    lib = ctx.library
    if args.state is not None:
        lib.set_group_pairs(args.state == "on")
    on = lib.group_pairs()
    if args.json:
        ctx.print_json({"group_pairs": on})
    else:
        shown = "one item (the JPEG or still as its cover)" if on else "two items"
        print(f"RAW+JPEG pairs and Live Photos show as {shown}.", file=sys.stderr)
    return 0


def register(sub: Subcommands) -> None:
    p = sub.add_parser("add", help="add folders to the library and scan them")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--no-watch", action="store_true", help="do not watch these folders for changes")
    p.add_argument("--json", action="store_true", help="print the scan report as JSON")
    p.set_defaults(func=cmd_add)

    p = sub.add_parser("scan", help="rescan library folders (all by default)")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("import", help="copy files from outside the library into the import folder")
    p.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    p.add_argument("--to", help="set the import folder (remembered)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("status", help="library summary")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("errors", help="files that could not be read, with the reason")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_errors)

    p = sub.add_parser("info", help="a photo's catalog record")
    p.add_argument("paths", nargs="+", metavar="PHOTO", help="photos by path or catalog id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("tag", help="add, remove or list tags (hierarchical: Places/Paris)")
    tsub = p.add_subparsers(dest="tag_command", required=True, metavar="ACTION")
    for name, text in (("add", "tag photos"), ("remove", "untag photos")):
        tp = tsub.add_parser(name, help=text)
        tp.add_argument("name", metavar="NAME")
        tp.add_argument("paths", nargs="+", metavar="PHOTO", help="photos by path or catalog id")
    tp = tsub.add_parser("delete", help="delete a tag (and its children) from every photo")
    tp.add_argument("name", metavar="NAME")
    tp.add_argument("--json", action="store_true", help="print the deleted tags and the photo count")
    tp = tsub.add_parser("list", help="all tags with counts")
    tp.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tag)

    p = sub.add_parser("rate", help="set the star rating (0-5) of photos")
    p.add_argument("stars", type=int, choices=range(0, 6), metavar="STARS")
    p.add_argument("paths", nargs="+", metavar="PHOTO", help="photos by path or catalog id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_rate)

    p = sub.add_parser(
        "reject",
        help="flag photos rejected (xmp:Rating -1, as Lightroom and digiKam write it; their stars go); "
        "--clear takes the flag off",
    )
    p.add_argument("paths", nargs="+", metavar="PHOTO", help="photos by path or catalog id")
    p.add_argument("--clear", action="store_true", help="unreject: the photos become unrated")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_reject)

    p = sub.add_parser("label", help="set the colour label of photos")
    p.add_argument("label", choices=["red", "orange", "yellow", "green", "blue", "purple", "grey", "none"])
    p.add_argument("paths", nargs="+", metavar="PHOTO", help="photos by path or catalog id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_label)

    p = sub.add_parser("album", help="add photos to albums, remove them, list albums")
    asub = p.add_subparsers(dest="album_command", required=True, metavar="ACTION")
    for name, text in (
        ("add", "add photos to an album (made if new)"),
        ("remove", "take photos out of an album"),
    ):
        ap = asub.add_parser(name, help=text)
        ap.add_argument("name", metavar="ALBUM")
        ap.add_argument("paths", nargs="+", metavar="PHOTO", help="photos by path or catalog id")
        ap.add_argument("--json", action="store_true")
    ap = asub.add_parser("delete", help="delete an album (its photos stay in the library)")
    ap.add_argument("name", metavar="ALBUM")
    ap.add_argument("--json", action="store_true")
    ap = asub.add_parser("list", help="all albums with their photo counts")
    ap.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_album)

    p = sub.add_parser("ls", help="list photos, newest first")
    add_filter_options(p)
    p.add_argument("--limit", type=int)
    p.add_argument("--oldest-first", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser("pairs", help="show RAW+JPEG pairs and Live Photos as one item (on) or two (off)")
    p.add_argument("state", nargs="?", choices=["on", "off"], help="set it (without: say how it is)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_pairs)

    p = sub.add_parser("watch", help="watch library folders and keep the catalog current (foreground)")
    p.set_defaults(func=cmd_watch)
