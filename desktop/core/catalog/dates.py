"""The syntax of date changes people type: a shift such as ``+6h``, ``-30m`` or ``+1d2h``, and a date
such as ``2024-07-03 14:05``. The CLI's ``date`` command and the app's *Adjust date* use it."""

from __future__ import annotations

import datetime as dt
import re

from desktop.core.runtime.errors import ShoeboxError

_PART = re.compile(r"(\d+)\s*(w|d|h|m|s)", re.IGNORECASE)
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


MAX_SHIFT = dt.timedelta(days=365 * 150)  # more is a typo (and past year 9999 Python cannot count)


class DateSyntaxError(ShoeboxError, ValueError):
    """A shift or a date that does not parse (one sentence with an example)."""


def parse_shift(text: str) -> dt.timedelta:
    """``+6h``, ``-30m``, ``+1d2h``, ``-1w`` → a timedelta (the sign is required: which way is the point)."""
    s = text.strip().replace(" ", "")
    if s[:1] not in ("+", "-") or not s[1:]:
        raise DateSyntaxError(f"'{text}' is not a time shift; write it like +6h, -30m or +1d2h.")
    body = s[1:]
    parts = list(_PART.finditer(body))
    if not parts or "".join(m.group(0) for m in parts).lower() != body.lower():
        raise DateSyntaxError(f"'{text}' is not a time shift; write it like +6h, -30m or +1d2h.")
    delta = dt.timedelta(**{_UNITS[m.group(2).lower()]: 0 for m in parts})
    for m in parts:
        delta += dt.timedelta(**{_UNITS[m.group(2).lower()]: int(m.group(1))})
    if delta > MAX_SHIFT:
        raise DateSyntaxError(f"'{text}' moves dates by more than 150 years; is it a typo?")
    return -delta if s[0] == "-" else delta


def parse_when(text: str) -> dt.datetime:
    """``2024-07-03 14:05`` (or with seconds, or ``T``) → a naive local datetime."""
    try:
        when = dt.datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        when = None
    if when is None or when.tzinfo is not None:
        raise DateSyntaxError(f"'{text}' is not a date and time; write it like 2024-07-03 14:05.")
    return when
