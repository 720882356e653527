"""Where Shoebox keeps its files: the one module that decides every path.

By default everything follows the platform's conventions (platformdirs): the
catalog, settings and models live in the user data dir, thumbnails and the
vector index in the user cache dir, logs in the log dir. Setting the
environment variable ``SHOEBOX_HOME=DIR`` puts all of it under DIR, so tests and
scripts get an isolated library.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Shoebox"
ENV_HOME = "SHOEBOX_HOME"


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
    def settings_file(self) -> Path:
        return self.data / "settings.json"

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
    def default_import_dir(self) -> Path:
        """Where imported files are copied unless the user chose another folder."""
        if self.isolated:
            return self.data / "Imports"
        return Path(platformdirs.user_pictures_dir()) / "Shoebox Imports"

    @property
    def log_file(self) -> Path:
        return self.logs / "shoebox.log"

    def ensure(self) -> Paths:
        for d in (
            self.data,
            self.cache,
            self.logs,
            self.backups,
            self.models,
            self.index,
        ):
            d.mkdir(parents=True, exist_ok=True)
        return self


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
