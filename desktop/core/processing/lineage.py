"""Lineage: what was made from what. One ``Lineage`` row per output and source, written by the task runner
in the same writer call that finishes the item; a record of the person's work, never a cache."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from desktop.core.catalog.schema import Lineage

if TYPE_CHECKING:
    from desktop.core.library import Library


@dataclass(frozen=True)
class LineageRow:
    output_path: str
    output_hash: str
    source_path: str
    source_hash: str
    source_photo: int | None
    recipe: str  # slug
    recipe_name: str
    recipe_version: int
    params: list[dict[str, Any]]  # operations.canonical(steps)
    task: int | None


def _insert(rows: list[LineageRow]) -> None:
    Lineage.insert_many(
        [
            {
                "output_path": r.output_path,
                "output_hash": r.output_hash,
                "source_path": r.source_path,
                "source_hash": r.source_hash,
                "source_photo": r.source_photo,
                "recipe": r.recipe,
                "recipe_name": r.recipe_name,
                "recipe_version": r.recipe_version,
                "params": json.dumps(r.params, sort_keys=True, separators=(",", ":")),
                "task": r.task,
            }
            for r in rows
        ]
    ).execute()


def record(lib: Library, rows: list[LineageRow]) -> None:
    """Write ``rows`` through the catalog writer (inline when called on the writer thread)."""
    if rows:
        lib.writer.call(_insert, rows)
