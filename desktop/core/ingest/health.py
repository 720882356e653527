"""``check``: is the catalog sound, and does it agree with the disk?

SQLite's ``integrity_check`` and ``foreign_key_check`` say whether the file is
sound; then the catalog is compared with the library folders: photos marked
present whose file is gone, image files in a library folder that are not
catalogued (walked with the same rules as a scan), and library folders that do
not exist. Nothing is changed: each finding says which command mends it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.core.catalog.db import database
from desktop.core.catalog.schema import STATUS_OK, Photo, Root
from desktop.core.ingest.scanner import forced_dirs, skip_keys, walk_images
from desktop.core.runtime.jobs import JobControl
from desktop.core.runtime.wording import SHOEBOX

if TYPE_CHECKING:
    from desktop.core.library import Library

EXAMPLES = 5


@dataclass
class CheckReport:
    integrity: list[str] = field(default_factory=list)  # integrity_check's findings ([] when "ok")
    foreign_keys: list[str] = field(default_factory=list)  # rows that point at a row that is gone
    missing_roots: list[str] = field(default_factory=list)
    gone_files: int = 0  # photos marked present whose file is gone
    gone_examples: list[str] = field(default_factory=list)
    uncatalogued: int = 0  # image files in library folders that the catalog does not know
    uncatalogued_examples: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not (
            self.integrity or self.foreign_keys or self.missing_roots or self.gone_files or self.uncatalogued
        )

    def problems(self) -> list[str]:
        """One sentence per finding, saying what to do about it."""
        out: list[str] = []
        if self.integrity or self.foreign_keys:
            first = (self.integrity + self.foreign_keys)[0]
            out.append(f"The catalog file is damaged ({first}); restore a backup with: {SHOEBOX} restore")
        if self.missing_roots:
            n = len(self.missing_roots)
            out.append(
                f"{_n(n, 'library folder')} {_be(n)} not there ({', '.join(self.missing_roots)}): "
                "plug in its drive, or remove it from the library."
            )
        if self.gone_files:
            out.append(
                f"{_n(self.gone_files, 'photo')} {_be(self.gone_files)} marked present but the file is gone "
                f"(e.g. {', '.join(self.gone_examples)}); run: {SHOEBOX} scan"
            )
        if self.uncatalogued:
            out.append(
                f"{_n(self.uncatalogued, 'file')} in library folders {_be(self.uncatalogued)} not in the "
                f"catalog (e.g. {', '.join(self.uncatalogued_examples)}); run: {SHOEBOX} scan"
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"healthy": self.healthy, "problems": self.problems(), **self.__dict__}


def _n(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _be(n: int) -> str:
    return "is" if n == 1 else "are"


def check_library(library: Library, control: JobControl | None = None) -> CheckReport:
    control = control or JobControl("check")
    report = CheckReport()
    rows = database.execute_sql("PRAGMA integrity_check").fetchall()
    report.integrity = [str(r[0]) for r in rows if r[0] != "ok"]
    fks = database.execute_sql("PRAGMA foreign_key_check").fetchall()
    report.foreign_keys = [
        f"{table} row {rowid} points at a missing {parent}" for table, rowid, parent, _ in fks
    ]
    skip = skip_keys(library)
    for root in Root.select().order_by(Root.path):
        control.checkpoint()
        if not Path(root.path).is_dir():
            report.missing_roots.append(root.path)
            continue
        _compare_root(root, skip, report, control)
    return report


def _compare_root(root: Root, skip: set[tuple[int, int]], report: CheckReport, control: JobControl) -> None:
    catalogued: dict[str, str] = dict(
        Photo.select(Photo.rel_path, Photo.status).where(Photo.root == root.id).tuples()  # type: ignore[arg-type]
    )
    for i, (rel, status) in enumerate(catalogued.items()):
        if i % 2000 == 0:
            control.checkpoint()
        if status == STATUS_OK and not os.path.exists(os.path.join(root.path, rel)):
            report.gone_files += 1
            if len(report.gone_examples) < EXAMPLES:
                report.gone_examples.append(os.path.join(root.path, rel))
    for rel, _size, _mtime in walk_images(
        Path(root.path), None, skip, forced_dirs(catalogued), control.checkpoint
    ):
        if rel not in catalogued:
            report.uncatalogued += 1
            if len(report.uncatalogued_examples) < EXAMPLES:
                report.uncatalogued_examples.append(os.path.join(root.path, rel))
