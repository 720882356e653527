"""Lineage: what was made from what. One ``Lineage`` row per output and source, written by the task runner
in the same writer call that finishes the item; a record of the person's work, never a cache.

Read both ways by path (``lineage PATH``): a file's sources, found by its content hash (so an output that was
moved or renamed is still recognised) or by the path it was written to, and its outputs, found by its photo,
its content or its path. ``summary`` words it for the info panel.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.core.catalog.schema import Lineage
from desktop.core.ingest.formats import is_video_name
from desktop.core.ingest.scan_worker import hash_bytes
from desktop.core.ingest.video import hash_video
from desktop.core.library import LibraryError, lineage_of
from desktop.core.runtime.wording import counted, format_local_time

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


def file_hash(path: Path) -> str:
    """A file's content hash as the scanner computes it (a video's from its size and edges), so that an output
    catalogued as a photo and one found on disk carry the same hash."""
    if is_video_name(path.name):
        return hash_video(str(path), os.stat(path).st_size)
    return hash_bytes(path.read_bytes())


def for_path(lib: Library, path: Path) -> dict[str, list[dict[str, Any]]]:
    """``{"derived_from": [...], "outputs": [...]}`` for the file or photo at ``path``.

    Raises ``LibraryError`` (one sentence) when ``path`` is neither a file nor a photo of the library.
    """
    path = Path(path).expanduser()
    photo = lib.photo_by_path(path)
    absolute = str(path.absolute())
    if photo is not None:
        return lineage_of(str(Path(photo.root.path) / photo.rel_path), photo.content_hash, photo.id)
    if path.is_file():
        try:
            content = file_hash(path)
        except OSError as exc:
            raise LibraryError(
                f"{path} could not be read ({exc.strerror or exc}); check its permissions."
            ) from exc
        return lineage_of(absolute, content, None)
    found = lineage_of(absolute, None, None)  # a file gone since: its rows are still the record
    if found["derived_from"] or found["outputs"]:
        return found
    if path.is_dir():
        raise LibraryError(f"{path} is a folder; give the path of a photo or of a file Shoebox made.")
    raise LibraryError(f"{path} is neither a file nor a photo in the library; check the path.")


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def summary(found: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The info panel's words: ``derived`` ("Derived from IMG_1234.CR2 by Web 2048 px"), ``exported``
    ("Exported 3 times") and ``exports`` (one line per output: where, by which recipe, when); None / []
    when there is nothing to say."""
    sources = found.get("derived_from") or []
    outputs = found.get("outputs") or []
    derived = None
    if sources:
        first = sources[0]
        derived = f"Derived from {_name(first['path'])} by {first.get('recipe_name') or first['recipe']}"
        # the same bytes made twice (a second export, a cache hit) are one source, not two
        others = len({s["content_hash"] for s in sources} - {first["content_hash"]})
        if others:
            derived += f" (and {counted(others, 'other source')})"
    exported = None
    if outputs:
        exported = "Exported once" if len(outputs) == 1 else f"Exported {len(outputs)} times"
    exports = [
        f"{o['path']} · {o.get('recipe_name') or o['recipe']} · {format_local_time(o['time']) or o['time']}"
        for o in outputs
    ]
    return {"derived": derived, "exported": exported, "exports": exports}
