"""Build step pyproject.toml cannot express: ship the top-level data files inside the package.

``models/manifest.json``, ``resources/`` and ``installer/shoebox.desktop`` stay at
the repository's top level (the layout the project keeps), and the wheel carries
them as ``desktop/_data/<same path>``, where ``desktop.core.runtime.bundled``
looks first. An editable install needs no copy: the checkout's own files are
found there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# the list lives in the package (one owner); read it without importing the package
_ns: dict[str, object] = {}
exec((HERE / "desktop" / "core" / "runtime" / "bundled.py").read_text(encoding="utf-8"), _ns)
SHIPPED_FILES: tuple[str, ...] = _ns["SHIPPED_FILES"]  # type: ignore[assignment]
PACKAGE_DATA: str = _ns["PACKAGE_DATA"]  # type: ignore[assignment]


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for rel in SHIPPED_FILES:
            src = HERE / rel
            if not src.is_file():
                raise SystemExit(f"setup.py: {rel} is missing; the wheel would ship without it")
            dest = Path(self.build_lib) / "desktop" / PACKAGE_DATA / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)


setup(cmdclass={"build_py": BuildWithData})
