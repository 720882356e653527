"""Importing files from outside the library: copy into the import folder, then catalogue.

Files land in ``<import folder>/YYYY/MM/`` by date taken. A file whose exact
content is already in the catalog is skipped and reported, an existing name
is never overwritten (``name (1).jpg``), and each copy is written to a
temporary name and renamed, so an interrupted import never leaves half a photo.
Each source is read once: the bytes that were hashed and checked are the bytes
written, so a card pulled out half-way cannot leave a copy that differs from
what was checked, or stop the import of the files after it.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.core.catalog.schema import STATUS_ERROR, Photo, Root
from desktop.core.imaging import decode as imaging
from desktop.core.imaging.raw import RawFile, reads_as_raw
from desktop.core.ingest import xmp
from desktop.core.ingest.formats import is_image_name
from desktop.core.ingest.metadata import PhotoMetadata, read_metadata
from desktop.core.ingest.raw_metadata import read_raw_metadata
from desktop.core.ingest.scan_worker import hash_bytes
from desktop.core.ingest.scanner import Scanner, storable_name
from desktop.core.runtime.jobs import Cancelled, JobControl

if TYPE_CHECKING:
    from desktop.core.library import Library

_BAD_NAME = "its name is not valid UTF-8; rename it, then import it"


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)  # destination paths
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (source, already-catalogued path)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (destination, reason) unreadable after copy
    in_library: list[str] = field(default_factory=list)  # sources already inside a root: catalogued in place
    cancelled: bool = False

    def summary(self) -> str:
        parts = [f"{len(self.imported)} imported"]
        if self.duplicates:
            parts.append(f"{len(self.duplicates)} already in the library (skipped)")
        if self.in_library:
            parts.append(f"{len(self.in_library)} already inside a library folder")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        if self.errors:
            parts.append(f"{len(self.errors)} could not be read")
        return ("Import cancelled: " if self.cancelled else "Import: ") + ", ".join(parts)


def _expand(sources: Sequence[Path], report: ImportReport) -> list[Path]:
    files: list[Path] = []
    for src in sources:
        p = Path(src).expanduser()
        if p.is_dir():
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if not name.startswith(".") and is_image_name(name):
                        if storable_name(name):
                            files.append(Path(dirpath) / name)
                        else:
                            report.skipped.append((os.path.join(dirpath, name), _BAD_NAME))
        elif p.is_file():
            if not storable_name(str(p)):
                report.skipped.append((str(p), _BAD_NAME))
            elif is_image_name(p.name):
                files.append(p)
            else:
                report.skipped.append((str(p), "not a supported image type (by its extension)"))
        elif not p.exists():
            report.skipped.append((str(p), "no such file or folder"))
        else:
            report.skipped.append((str(p), "not a regular file"))
    return files


def _date_folder(name: str, data: bytes, mtime: float) -> str:
    """YYYY/MM of the date taken (EXIF), else of the file's modification time.

    Raises ``ImageError`` for a file that is plainly not a photo: it is never copied into the library.
    """
    read: Callable[[], PhotoMetadata]
    if reads_as_raw(name, data):
        with RawFile(data) as raw_file:
            read = functools.partial(read_raw_metadata, data, raw_file.info, "", mtime)
    else:
        read = functools.partial(read_metadata, data, imaging.open_image(data), mtime)
    when: dt.datetime | None = None
    try:
        meta = read()
        if meta.taken_local:
            when = dt.datetime.fromisoformat(meta.taken_local)
    except Exception:  # an unreadable file still gets imported (and listed with its reason)
        when = None
    if when is None:
        when = dt.datetime.fromtimestamp(mtime)
    return f"{when:%Y}/{when:%m}"


def _read_source(path: Path) -> tuple[bytes, os.stat_result]:
    """The file's bytes and its stat, taken from one open file (so they belong together)."""
    with path.open("rb") as f:
        return f.read(), os.fstat(f.fileno())


def _write_copy(data: bytes, tmp: Path, st: os.stat_result) -> None:
    """Write ``data`` to ``tmp`` with the source's times (the fallback date and the scanner read them)."""
    with tmp.open("wb") as out:  # a temporary left by a killed import is written over
        out.write(data)
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))


def _copy_sidecars(src: Path, target: Path, report: ImportReport) -> None:
    """Copy ``src``'s XMP sidecars beside its copy ``target``, renamed as it was, so the tags other
    programs gave it arrive with it. ``IMG_1.jpg.xmp`` follows the photo's new name; Lightroom's
    ``IMG_1.xmp``, shared by a RAW+JPEG pair, is copied once."""
    src_stem, target_stem = os.path.splitext(str(src))[0], os.path.splitext(str(target))[0]
    for candidate in xmp.sidecar_candidates(str(src)):
        if candidate.startswith(str(src)):  # name.ext.xmp
            dest = Path(str(target) + candidate[len(str(src)) :])
        else:  # name.xmp
            dest = Path(target_stem + candidate[len(src_stem) :])
        if not os.path.isfile(candidate) or dest.exists():
            continue
        tmp = dest.with_name(f".{dest.name}.importing")
        try:
            data, st = _read_source(Path(candidate))
            _write_copy(data, tmp, st)
            os.replace(tmp, dest)
        except OSError as exc:  # the photo is in; say which sidecar stayed behind
            tmp.unlink(missing_ok=True)
            report.skipped.append((candidate, f"sidecar not copied: {exc.strerror or exc}"))


def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    stem, suffix = os.path.splitext(name)
    n = 1
    while target.exists():
        target = folder / f"{stem} ({n}){suffix}"
        n += 1
    return target


def import_paths(
    library: Library, sources: Sequence[Path], control: JobControl | None = None
) -> ImportReport:
    control = control or JobControl("import")
    report = ImportReport()
    files = _expand(sources, report)
    dest_root_path = library.import_dir()
    dest_root_path.mkdir(parents=True, exist_ok=True)
    dest_root = library.add_root(dest_root_path, watched=True, is_import_target=True)
    copied: list[str] = []
    in_place: dict[int, tuple[Root, list[str]]] = {}
    seen_hashes: dict[str, str] = {}
    try:
        for i, src in enumerate(files):
            control.checkpoint()
            control.report(i, len(files), src.name)
            root = library.root_for_path(src.absolute())
            if root is not None:
                # already under a library folder: catalogue it where it is, copying would duplicate it
                rel = str(src.absolute())[len(root.path.rstrip("/")) + 1 :]
                in_place.setdefault(root.id, (root, []))[1].append(rel)
                report.in_library.append(str(src))
                continue
            try:
                data, st = _read_source(src)
            except OSError as exc:
                report.skipped.append((str(src), f"could not read the file: {exc.strerror or exc}"))
                continue
            digest = hash_bytes(data)
            try:
                date_folder = _date_folder(src.name, data, st.st_mtime)
            except imaging.ImageError as exc:
                report.skipped.append((str(src), exc.reason))
                continue
            # whatever its status: a file that could not be read is still in the library (listed with
            # its reason), and copying it again made "name (1).jpg", "name (2).jpg"... on every import
            twin = Photo.select(Photo, Root).join(Root).where(Photo.content_hash == digest).first()
            if twin is not None:
                report.duplicates.append((str(src), str(Path(twin.root.path) / twin.rel_path)))
                continue
            if digest in seen_hashes:
                report.duplicates.append((str(src), seen_hashes[digest]))
                continue
            folder = dest_root_path / date_folder
            target = _free_name(folder, src.name)
            tmp = target.with_name(f".{target.name}.importing")
            try:
                folder.mkdir(parents=True, exist_ok=True)
                _write_copy(data, tmp, st)
                os.replace(tmp, target)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                report.skipped.append((str(src), f"could not copy: {exc.strerror or exc}"))
                continue
            _copy_sidecars(src, target, report)
            seen_hashes[digest] = str(target)
            copied.append(str(target.relative_to(dest_root_path)))
        control.report(len(files), len(files), force=True)
    except Cancelled:
        report.cancelled = True
    scanner = Scanner(library)
    if copied:
        rep = scanner.process_paths(dest_root, copied)
        for rel in copied:
            row = Photo.get_or_none((Photo.root == dest_root.id) & (Photo.rel_path == rel))
            full = str(dest_root_path / rel)
            if row is not None and row.status == STATUS_ERROR:
                report.errors.append((full, row.error or "unreadable"))
            else:
                report.imported.append(full)
        report.cancelled = report.cancelled or rep.cancelled
    for root, rels in in_place.values():
        scanner.process_paths(root, rels)
    return report
