"""What CLI handlers share: the open library, JSON output, progress on stderr."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any, TypeAlias

from desktop.core.catalog import backups, sidecar_queue
from desktop.core.library import Library
from desktop.core.runtime.errors import ShoeboxError
from desktop.core.runtime.jobs import JobControl, Progress

log = logging.getLogger(__name__)

# what each command module's ``register`` adds its sub-commands to (``add_subparsers()``)
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CliError(ShoeboxError):
    """Printed to stderr as is; exit code 1."""


class Context:
    def __init__(self, quiet: bool = False) -> None:
        self._library: Library | None = None
        self.quiet = quiet
        self._progress_shown = False
        self.sidecars_drained = False  # the command wrote sidecars itself (``sidecars write``)

    @property
    def library(self) -> Library:
        if self._library is None:
            self._library = Library()
        return self._library

    def daily_backup(self) -> None:
        """After a command that changed the catalog: the day's backup, if none was made today.

        Once a day this costs one online copy of the catalog (a second or less for a
        large library); any other time it is a listing of the backups folder. A
        backup that fails never fails the command: it is logged.
        """
        if self._library is None or not self._library.writer.writes:
            return
        try:
            backups.daily_backup(self._library.paths)
        except Exception:
            log.warning("the daily catalog backup failed", exc_info=True)

    def write_sidecars(self) -> None:
        """After a command that edited photos: write their sidecars before exiting. A write that fails
        is told on stderr (the message bridge) and stays pending; the command still succeeds."""
        if self._library is None or not self._library.writer.writes or self.sidecars_drained:
            return  # a second drain would only repeat the failures the command's own drain told
        if sidecar_queue.count():
            self._library.write_sidecars()

    def catalog_id(self, ref: str) -> int | None:
        """``ref`` as a catalog id (what ``ls --json``, ``info`` and ``similar:ID`` show), or None when it
        is a path: a number is an id unless a file by that name is here."""
        if not ref.isdigit() or Path(ref).exists():
            return None
        if self.library.reads.record(int(ref)) is None:
            raise CliError(f"No photo has the id {ref}; 'ls --json' shows the ids.")
        return int(ref)

    def photo_ids(self, refs: list[str]) -> list[int]:
        """The catalog ids of photos given by path or id; one sentence naming any not in the library."""
        as_ids = [(r, self.catalog_id(r)) for r in refs]  # one lookup per argument
        ids = [i for _r, i in as_ids if i is not None]
        found, missing = self.library.photo_ids_for_paths(Path(r) for r, i in as_ids if i is None)
        ids += found
        if missing:
            raise CliError(
                "not in the library: "
                + ", ".join(str(m) for m in missing)
                + " (add their folder with 'add' or bring them in with 'import')"
            )
        return ids

    def close(self) -> None:
        if self._library is not None:
            self._library.close()
            self._library = None

    # -- output
    @staticmethod
    def print_json(obj: Any) -> None:
        json.dump(obj, sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")

    def progress(self, p: Progress) -> None:
        if self.quiet:
            return
        line = p.describe()
        if sys.stderr.isatty():
            sys.stderr.write("\r\x1b[2K" + line)
            self._progress_shown = True
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def end_progress(self) -> None:
        if self._progress_shown:
            sys.stderr.write("\n")
            self._progress_shown = False

    def control(self, name: str) -> JobControl:
        # stderr that is not a terminal (scripts, tests) gets fewer lines
        interval = 0.2 if sys.stderr.isatty() else 2.0
        return JobControl(name, self.progress, min_interval=interval)
