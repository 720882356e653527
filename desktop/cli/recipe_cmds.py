"""Recipes on the command line: ``recipes [list]``, ``recipes show NAME``, ``recipes save NAME --from FILE.json``,
``recipes delete NAME`` and ``recipes ops`` (the operations and their parameters), ``--json`` everywhere.

A saved recipe is user data in the catalog; the presets live in code and
cannot be changed or deleted, but ``recipes show web-2048 --json`` gives a
starting point to edit and save under another name.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from desktop.cli.context import CliError, Context, Subcommands
from desktop.core.processing import naming, operations, recipes
from desktop.core.processing.params import Param


def _describe(recipe: recipes.Recipe) -> str:
    steps = " → ".join(
        s.op
        + (
            "(" + ", ".join(f"{k}={v}" for k, v in s.params.items() if v is not None) + ")"
            if s.params
            else ""
        )
        for s in recipe.steps
    )
    kind = "preset" if recipe.preset else f"saved, version {recipe.version}"
    return f"{recipe.slug} — {recipe.name} ({kind})\n    {steps}\n    names: {recipe.naming}"


def _param(p: Param) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": p.kind, "default": p.default}
    if p.minimum is not None or p.maximum is not None:
        out["range"] = [p.minimum, p.maximum]
    if p.choices:
        out["choices"] = list(p.choices)
    if p.optional:
        out["optional"] = True
    if p.help:
        out["help"] = p.help
    return out


def cmd_recipes(args: argparse.Namespace, ctx: Context) -> int:
    action = args.recipes_command or "list"
    if action == "ops":
        ops: list[dict[str, Any]] = [
            {
                "op": o.name,
                "title": o.title,
                "version": o.version,
                "stage": o.stage,
                "media": o.media,
                "params": {k: _param(p) for k, p in o.params.items()},
            }
            for o in operations.all_operations()
        ]
        if args.json:
            ctx.print_json(ops)
        else:
            for o in ops:
                params = ", ".join(f"{k}={v['default']!r}" for k, v in o["params"].items())
                print(f"{o['op']:<16} {o['title']} [{o['stage']}, {o['media']}]  {params}")
        return 0
    _ = ctx.library  # saved recipes are read from the catalog: open (and migrate) it first
    if action == "list":
        every = recipes.all_recipes()
        if args.json:
            ctx.print_json([r.as_dict() for r in every])
        else:
            for r in every:
                print(_describe(r))
        return 0
    if action == "show":
        recipe = recipes.find(args.name)
        if args.json:
            ctx.print_json(recipe.as_dict())
        else:
            print(_describe(recipe))
        return 0
    if action == "delete":
        recipe = recipes.find(args.name)
        recipes.delete(ctx.library, recipe.slug)
        print(f"Deleted the recipe '{recipe.name}'.", file=sys.stderr)
        return 0
    # save: the steps (and optionally naming and collision) from a JSON file, as 'recipes show --json' prints them
    try:
        text = sys.stdin.read() if args.source == "-" else Path(args.source).read_text(encoding="utf-8")
        body = json.loads(text)
    except OSError as exc:
        raise CliError(f"Cannot read {args.source}: {exc.strerror or exc}.") from None
    except ValueError as exc:
        raise CliError(f"{args.source} is not valid JSON ({exc}).") from None
    if isinstance(body, list):
        body = {"steps": body}
    if not isinstance(body, dict) or not isinstance(body.get("steps"), list):
        raise CliError(
            f"{args.source} must hold a recipe object with a 'steps' list (see 'recipes show web-2048 --json')."
        )
    saved = recipes.save(
        ctx.library,
        args.name,
        body["steps"],
        template=str(body.get("naming") or naming.DEFAULT_TEMPLATE),
        collision=str(body.get("collision") or "counter"),
    )
    if args.json:
        ctx.print_json(saved.as_dict())
    else:
        print(f"Saved the recipe '{saved.name}' ({saved.slug}), version {saved.version}.", file=sys.stderr)
    return 0


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "recipes", help="list, show, save or delete export recipes; 'recipes ops' lists the operations"
    )
    p.add_argument("--json", action="store_true")
    rsub = p.add_subparsers(dest="recipes_command", required=False, metavar="ACTION")
    sp = rsub.add_parser("list", help="every recipe: the presets, then the saved ones")
    sp.add_argument("--json", action="store_true")
    sp = rsub.add_parser("show", help="one recipe's steps, naming and version")
    sp.add_argument("name", metavar="NAME")
    sp.add_argument("--json", action="store_true")
    sp = rsub.add_parser("save", help="save a recipe (a new version when the name exists) from a JSON file")
    sp.add_argument("name", metavar="NAME")
    sp.add_argument(
        "--from", dest="source", required=True, metavar="FILE.json", help="the recipe's JSON ('-': stdin)"
    )
    sp.add_argument("--json", action="store_true")
    sp = rsub.add_parser("delete", help="delete a saved recipe (presets stay)")
    sp.add_argument("name", metavar="NAME")
    sp.add_argument("--json", action="store_true")
    sp = rsub.add_parser("ops", help="the operations a recipe can use, with their parameters")
    sp.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_recipes)
