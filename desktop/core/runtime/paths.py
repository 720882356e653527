"""Where Shoebox keeps its files: the one module that decides every path.

By default everything follows the platform's conventions (platformdirs): the
catalog, settings and models live in the user data dir, thumbnails and the
vector index in the user cache dir, logs in the log dir. Setting the
environment variable ``SHOEBOX_HOME=DIR`` puts all of it under DIR, so tests and
scripts get an isolated library.
"""

from __future__ import annotations

import errno
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from desktop.core.runtime.errors import ShoeboxError

APP_NAME = "Shoebox"
ENV_HOME = "SHOEBOX_HOME"


class DataFolderError(ShoeboxError):
    """A folder Shoebox must write to cannot be used; the message says which, why and what to do."""


@dataclass(frozen=True)
class Paths:
    """Every location Shoebox writes to; directories are created on demand."""

    data: Path
    cache: Path
    logs: Path
    isolated: bool = False  # True under SHOEBOX_HOME: nothing is written outside it

    @property
    def catalog_db(self) -> Path:
        return self.data / "catalog.sqlite3"

    @property
    def backups(self) -> Path:
        return self.data / "backups"

    @property
    def models(self) -> Path:
        return self.data / "models"

    @property
    def default_picture_cache(self) -> Path:
        """Where thumbnails and previews live until the person moves them.

        Only ``Library`` reads this: it owns the caches' current location
        (``library.thumbnails.root``, ``library.previews.root``), which a move changes.
        """
        return self.cache

    @property
    def index(self) -> Path:
        return self.cache / "index"

    @property
    def results(self) -> Path:
        """The processing engine's result cache (``processing.cache``): outputs kept for repeats."""
        return self.cache / "results"

    @property
    def default_import_dir(self) -> Path:
        """Where imported files are copied unless the user chose another folder."""
        if self.isolated:
            return self.data / "Imports"
        return Path(platformdirs.user_pictures_dir()) / "Shoebox Imports"

    @property
    def log_file(self) -> Path:
        return self.logs / "shoebox.log"

    def ensure(self) -> Paths:
        """Create every folder, or raise ``DataFolderError`` saying in one sentence what is wrong.

        The log folder is not required: without it Shoebox still works, it only
        keeps no log file (``logs.setup_logging`` says nothing about it).
        """
        needed = (
            self.data,
            self.cache,
            self.backups,
            self.models,
            self.index,
        )
        for d in needed:
            try:
                d.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DataFolderError(self.unusable(d, exc)) from exc
        # an existing folder can still be read-only: the catalog and the thumbnails are written there
        for d in (self.data, self.cache):
            try:
                with tempfile.TemporaryFile(dir=d):
                    pass
            except OSError as exc:
                raise DataFolderError(self.unusable(d, exc)) from exc
        return self

    def unusable(self, folder: Path, exc: OSError) -> str:
        """One sentence: which of Shoebox's folders cannot be used, why, and what to do about it."""
        role, top = "data folder", self.data
        if not self.isolated:
            for name, candidate in (("cache folder", self.cache), ("log folder", self.logs)):
                if folder == candidate or candidate in folder.parents:
                    role, top = name, candidate
        why, fix = _why_unusable(folder, top, exc)
        if self.isolated:
            todo = f"Point {ENV_HOME} at a folder you can write to, or unset it."
        else:
            todo = f"{fix}, or set {ENV_HOME} to a folder you can write to."
        return f"Shoebox cannot use {top} as its {role}: {why}. {todo}"


def _why_unusable(folder: Path, top: Path, exc: OSError) -> tuple[str, str]:
    """Why ``folder`` (under ``top``) cannot be used, and what fixes it (where SHOEBOX_HOME is not set)."""
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):
        # somewhere on the way down is a file where a folder should be
        for candidate in (folder, *folder.parents):
            if candidate.exists() and not candidate.is_dir():
                why = "it is a file" if candidate == top else f"{candidate} is a file, not a folder"
                return why, f"Move {candidate} aside"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "it may not be written to (permission denied)", f"Fix the permissions of {top}"
    if exc.errno == errno.EROFS:
        return "it is on a read-only disk", "Make that disk writable"
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return "its disk is full", "Free some space on that disk"
    return str(exc.strerror or exc).lower(), f"Check {top}"


def resolve_paths(home: str | os.PathLike[str] | None = None) -> Paths:
    """Paths for an explicit home, else ``$SHOEBOX_HOME``, else the platform dirs."""
    chosen = home if home is not None else os.environ.get(ENV_HOME)
    if chosen:
        root = Path(chosen).expanduser().resolve()
        return Paths(data=root, cache=root / "cache", logs=root / "logs", isolated=True)
    return Paths(
        data=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        cache=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        logs=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
    )
