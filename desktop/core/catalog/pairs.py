"""Grouped items in the catalog: a cover photo and its companion (RAW+JPEG pairs, Live Photos).

The scan decides which files pair (``desktop.core.ingest.pairing``) and marks the
companion row (``Photo.companion_of`` = the cover's id, ``Photo.companion_kind``).
This module owns what the rest of the catalog asks of a pair: whether grouping is
on (the ``library.group_pairs`` setting), the condition that hides companions from
listings, counts and search results, and the pair members an edit must reach so
both files keep the same tags, rating, label, title and description.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import peewee as pw

from desktop.core.catalog.schema import Photo, Setting

KIND_RAW_JPEG = "raw+jpeg"
KIND_LIVE = "live"
SETTING_GROUP_PAIRS = "library.group_pairs"  # "on" (the default) or "off": pairs shown as two items


def grouping_on() -> bool:
    """True unless the person chose to see a pair's two files as two items."""
    row = Setting.get_or_none(Setting.key == SETTING_GROUP_PAIRS)
    return row is None or str(row.value).strip().lower() not in ("off", "0", "false", "no")


def not_companion() -> pw.Expression:
    """The condition "this photo is not a hidden companion".

    Written as ``id NOT IN (companions)`` rather than ``companion_of IS NULL``: the
    companions are few and read once through their index, and ``id`` is in every index,
    so a count over the ``(status, taken_local, id)`` index never has to visit the rows.
    """
    companion = Photo.alias("companion")
    hidden = companion.select(companion.id).where(companion.companion_of.is_null(False))
    result: pw.Expression = Photo.id.not_in(hidden)
    return result


def _tuples(query: Any) -> list[tuple[Any, ...]]:
    return list(query.tuples())


def companions_of(ids: Iterable[int]) -> dict[int, int]:
    """Cover id → its companion's id, for the covers among ``ids``."""
    from desktop.core.catalog.filters import in_values  # filters imports this module

    wanted = list(ids)
    if not wanted:
        return {}
    q = Photo.select(Photo.companion_of, Photo.id).where(in_values(Photo.companion_of, wanted))
    return {int(cover): int(pid) for cover, pid in _tuples(q)}


def members(ids: Sequence[int]) -> list[int]:
    """``ids`` with the other file of every pair among them (covers bring their companion, a
    companion shown on its own while grouping is off brings its cover), in order, once each."""
    from desktop.core.catalog.filters import in_values

    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return wanted
    found = list(wanted)
    found += [pid for cover, pid in companions_of(wanted).items()]
    q = Photo.select(Photo.companion_of).where(
        in_values(Photo.id, wanted) & Photo.companion_of.is_null(False)
    )
    found += [int(cover) for (cover,) in _tuples(q)]
    return list(dict.fromkeys(found))


def companion_count(ids: Sequence[int]) -> int:
    """How many files beyond ``ids`` an action on them reaches (the pairs' other files)."""
    return len(members(ids)) - len(set(ids))


def item_count(ids: Iterable[int]) -> int:
    """How many items ``ids`` are as people see them: a pair whose two files are both among them counts once."""
    from desktop.core.catalog.filters import in_values

    wanted = list(set(ids))
    if not wanted:
        return 0
    q = Photo.select(Photo.id).where(in_values(Photo.id, wanted) & in_values(Photo.companion_of, wanted))
    return len(wanted) - int(q.count())
