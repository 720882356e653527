"""Smart-search commands: index, search, similar, model list|use|download.

Every command that needs a model takes ``--model NAME`` (a manifest name, or
an open_clip architecture with ``--weights FILE``) and ``--weights FILE`` (a
local safetensors / torch checkpoint). torch is imported only when one of
these commands runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.cli.context import CliError, Context, Subcommands
from desktop.core.catalog.filters import FilterError
from desktop.core.catalog.query import QueryError
from desktop.core.imaging.decode import ImageError
from desktop.core.runtime.wording import SHOEBOX, counted
from desktop.core.semantic.clip_models import ModelSpec, ModelUnavailable, download_weights, spec_from_options
from desktop.core.semantic.embedder import pending_count
from desktop.core.semantic.search import (
    SearchService,
    index_library,
    keyword_search,
    model_list,
    set_active_model,
)

if TYPE_CHECKING:
    from desktop.core.semantic.search import SearchResult


@contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except (ModelUnavailable, QueryError, FilterError, FileNotFoundError) as exc:
        raise CliError(str(exc)) from None
    except ImageError as exc:
        raise CliError(f"cannot use that image as a query: {exc.reason}") from None


def _spec(args: argparse.Namespace) -> ModelSpec | None:
    return spec_from_options(getattr(args, "model", None), getattr(args, "weights", None))


def _print_hits(args: argparse.Namespace, ctx: Context, result: SearchResult, scored: bool = True) -> int:
    """The hits, best first; ``scored=False`` (word and filter matches without a model) leaves out
    the scores, which would only say "matched" or "not"."""
    if args.json:
        # without a score to give (filters alone, or words without a model) "score" is null, not 0.0
        ctx.print_json([h.as_dict() | ({} if scored else {"score": None}) for h in result.hits])
    else:
        for h in result.hits:
            print(f"{h.score:7.4f}  {h.path}" if scored else str(h.path))
    if not ctx.quiet:
        if result.more and not args.all:
            print(f"{result.more} more below the relevance cutoff; add --all to see them.", file=sys.stderr)
        if result.notice:
            print(result.notice, file=sys.stderr)
        if not result.hits:
            print("No matches.", file=sys.stderr)
    return 0


def cmd_index(args: argparse.Namespace, ctx: Context) -> int:
    with _user_errors():
        spec = _spec(args)
        lib = ctx.library
        report = index_library(
            lib,
            spec,
            ctx.control("index"),
            batch_size=args.batch_size,
            decode_workers=args.workers,
            limit=args.limit,
            leave_free_cores=0,  # a foreground command: every core embeds
        )
    ctx.end_progress()
    for path, reason in report.failed[:20]:
        print(f"warning: could not embed {path}: {reason}", file=sys.stderr)
    print(report.summary(), file=sys.stderr)
    if args.json:
        ctx.print_json(report.as_dict())
    return 130 if report.cancelled else 0


def cmd_search(args: argparse.Namespace, ctx: Context) -> int:
    limit = args.limit or (1_000_000 if args.all else 50)
    with _user_errors():
        # searching never starts a 600 MB download: that is 'model download', asked for explicitly
        service = SearchService(ctx.library, _spec(args), allow_download=False)
        scored = True
        try:
            result = service.search(args.query, limit=limit, sort=args.sort, everything=args.all)
            scored = bool(result.text.strip())  # filters alone ("is:rejected"): every hit scores the same
        except ModelUnavailable as exc:
            scored = False
            result = keyword_search(ctx.library, args.query, limit=limit, sort=args.sort)
            if not ctx.quiet:
                print(f"Smart search is not available: {exc}", file=sys.stderr)
                print(
                    "Showing matches by file name, title, description, keywords and tags instead.",
                    file=sys.stderr,
                )
        finally:
            service.close()
    return _print_hits(args, ctx, result, scored)


def cmd_similar(args: argparse.Namespace, ctx: Context) -> int:
    with _user_errors():
        photo_id = ctx.catalog_id(args.path)
        record = ctx.library.reads.record(photo_id) if photo_id is not None else None
        target = Path(record.path) if record is not None else Path(args.path).expanduser()
        if not target.exists() and ctx.library.photo_by_path(target) is None:
            raise CliError(f"{target} does not exist.")
        service = SearchService(ctx.library, _spec(args), allow_download=False)
        result = service.similar(
            target.absolute(),
            limit=args.limit or (1_000_000 if args.all else 50),
            plus=args.plus or (),
            minus=args.minus or (),
            query=args.filter or "",
            sort=args.sort,
            everything=args.all,
        )
        service.close()
    return _print_hits(args, ctx, result)


def cmd_model_list(args: argparse.Namespace, ctx: Context) -> int:
    rows = model_list(ctx.library)
    if args.json:
        ctx.print_json(rows)
        return 0
    for r in rows:
        flags = [f for f in ("active", "serving") if r.get(f)]
        state = "downloaded" if r.get("downloaded") else "not downloaded"
        size = f"{r['download_mb']} MB" if r.get("download_mb") else ""
        print(
            f"{'*' if r.get('active') else ' '} {r['name']:<16} {r['arch']}/{r.get('pretrained') or '-'}  "
            f"{size:>7}  {state}{'  [' + ', '.join(flags) + ']' if flags else ''}"
        )
        if r.get("note"):
            print(f"    {r['note']}")
        if r.get("requires"):
            print(f"    needs: {', '.join(r['requires'])}")
    return 0


def cmd_model_use(args: argparse.Namespace, ctx: Context) -> int:
    with _user_errors():
        spec = spec_from_options(args.name, args.weights)
    assert spec is not None
    lib = ctx.library
    set_active_model(lib, spec)
    pending = pending_count(spec.model_id)
    print(
        f"smart search now uses {spec.label()}; {counted(pending, 'photo')} to embed "
        f"(run '{SHOEBOX} index'; the previous model answers searches until then).",
        file=sys.stderr,
    )
    return 0


def _download_progress(ctx: Context) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        if ctx.quiet:
            return
        mb = done / 1e6
        line = f"download: {mb:.0f}/{total / 1e6:.0f} MB" if total else f"download: {mb:.0f} MB"
        sys.stderr.write(
            ("\r\x1b[2K" if sys.stderr.isatty() else "") + line + ("" if sys.stderr.isatty() else "\n")
        )
        sys.stderr.flush()

    return report


def cmd_model_download(args: argparse.Namespace, ctx: Context) -> int:
    with _user_errors():
        spec = spec_from_options(args.name, None)
        assert spec is not None
        path = download_weights(spec, ctx.library.paths.models, _download_progress(ctx))
    if sys.stderr.isatty() and not ctx.quiet:
        sys.stderr.write("\n")
    print(f"{spec.label()} is ready: {path}", file=sys.stderr)
    return 0


def _model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model", metavar="NAME", help="model name from 'model list', or an open_clip ARCH with --weights"
    )
    p.add_argument("--weights", metavar="FILE", help="local checkpoint (.safetensors, or a torch state_dict)")


def register(sub: Subcommands) -> None:
    p = sub.add_parser("index", help="embed every photo that has no smart-search embedding yet")
    _model_options(p)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", type=int, default=None, help="decoder threads (default: half the cores)")
    p.add_argument("--limit", type=int, default=None, help="embed at most N photos this time")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser(
        "search",
        help="smart search: free text plus filters (tag: after: before: camera: folder: rating: album: place: name: is:rejected)",
        description=f'Example: {SHOEBOX} search "dog on the beach tag:family after:2019-06 '
        'place:\\"near 48.85,2.29 5km\\""',
    )
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=None, help="at most N results (default 50; all with --all)")
    p.add_argument("--sort", choices=("score", "date"), default="score")
    p.add_argument("--all", action="store_true", help="ignore the relevance cutoff (show more)")
    p.add_argument("--json", action="store_true")
    _model_options(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("similar", help="photos that look like PATH (a library photo or any image file)")
    p.add_argument("path", metavar="PHOTO", help="a library photo's path or catalog id, or any image file")
    p.add_argument("--limit", type=int, default=None, help="at most N results (default 50; all with --all)")
    p.add_argument(
        "--plus", action="append", metavar="TEXT", help='steer towards TEXT ("at night"); repeatable'
    )
    p.add_argument("--minus", action="append", metavar="TEXT", help="steer away from TEXT; repeatable")
    p.add_argument("--filter", metavar="QUERY", help='filters in search syntax, e.g. "tag:family after:2019"')
    p.add_argument("--sort", choices=("score", "date"), default="score")
    p.add_argument("--all", action="store_true", help="ignore the relevance cutoff (show more)")
    p.add_argument("--json", action="store_true")
    _model_options(p)
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("model", help="smart-search models: list, use, download")
    msub = p.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    mp = msub.add_parser("list", help="offered models, what is downloaded and active")
    mp.add_argument("--json", action="store_true")
    mp.set_defaults(func=cmd_model_list)
    mp = msub.add_parser(
        "use", help="switch the model (the library is re-embedded; the old one serves meanwhile)"
    )
    mp.add_argument("name", help="name from 'model list', or an open_clip ARCH with --weights")
    mp.add_argument("--weights", metavar="FILE")
    mp.set_defaults(func=cmd_model_use)
    mp = msub.add_parser("download", help="download a model's weights into the library")
    mp.add_argument("name")
    mp.set_defaults(func=cmd_model_download)
