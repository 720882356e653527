"""Files that ship with Shoebox itself: the model manifest, the icons, the menu entry template.

In a checkout they sit at the repository's top level (``models/``,
``resources/``, ``installer/``). An installed wheel and the PyInstaller bundle
carry the same files inside the package, under ``desktop/_data/`` at the same
relative paths (``setup.py`` and ``installer/shoebox.spec`` put them there), so
installed code never looks outside its own package. ``bundled_file`` is the
one place that knows both layouts. ``setup.py`` runs this file on its own to
read ``SHIPPED_FILES``, so it imports nothing but the standard library.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

PACKAGE_DATA = "_data"  # desktop/_data in a wheel or a bundle; absent in a checkout
# every file that ships, relative to the repository root (setup.py copies exactly these)
SHIPPED_FILES = (
    "models/manifest.json",
    "resources/shoebox.svg",
    "resources/shoebox-256.png",
    "installer/shoebox.desktop",
)


def _package_root() -> Path:
    # a regular package on disk: pip installs wheels unzipped and PyInstaller's one-folder bundle
    # keeps data files as files, so the Traversable is a real path Qt and shutil can open
    return Path(str(importlib.resources.files("desktop")))


def checkout_root() -> Path:
    """The directory above the ``desktop`` package: the repository in a checkout."""
    return _package_root().parent


def bundled_file(relative: str) -> Path:
    """Where the shipped file ``relative`` (e.g. ``"models/manifest.json"``) is, installed or not.

    The packaged copy wins when it exists; otherwise the checkout's. The path
    returned may not exist (a checkout missing ``resources/``): callers decide
    what a missing file means.
    """
    packaged = _package_root() / PACKAGE_DATA / relative
    if packaged.is_file():
        return packaged
    return checkout_root() / relative
