"""Shoebox's entry in the Linux application menu: the ``.desktop`` file and the icon.

``install`` writes ``shoebox.desktop`` into ``$XDG_DATA_HOME/applications`` and
the icon into ``$XDG_DATA_HOME/icons/hicolor`` (``~/.local/share`` when the
variable is unset), from the template ``installer/shoebox.desktop`` with
``Exec`` and ``TryExec`` pointing at the command that started this process: the
``shoebox`` script of a pip or pipx install, the bundle's executable, or
``python main.py`` in a checkout. Writing again changes nothing that is already
right; ``remove`` takes the same files away. The library is never touched.

Desktops watch the ``applications`` folder and show the entry at once. The
user's icon cache is refreshed only where one already exists: creating one
would hide icons that other apps add later without refreshing it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.runtime.bundled import bundled_file

APP_ID = "shoebox"
UNSUPPORTED_PLATFORMS = ("darwin", "win32", "cygwin")
# what the spec reserves in an Exec argument: such an argument is written in double quotes
_EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")
_EXEC_ESCAPED_IN_QUOTES = set('"`$\\')


class DesktopEntryError(Exception):
    """The menu entry cannot be written or removed here; the message says why and what to do."""


@dataclass(frozen=True)
class EntryFile:
    """One file of the entry and what was done with it: written, unchanged, removed or absent."""

    path: Path
    status: str

    def as_dict(self) -> dict[str, str]:
        return {"path": str(self.path), "status": self.status}


@dataclass(frozen=True)
class EntryReport:
    action: str  # "install" or "remove"
    command: tuple[str, ...]  # what the menu entry runs (empty for "remove")
    files: tuple[EntryFile, ...] = field(default=())

    @property
    def desktop_file(self) -> Path:
        return self.files[0].path

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "command": list(self.command),
            "desktop_file": str(self.desktop_file),
            "files": [f.as_dict() for f in self.files],
        }


def supported(platform: str | None = None) -> bool:
    return (platform or sys.platform) not in UNSUPPORTED_PLATFORMS


def xdg_data_home(env: dict[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME``, or ``~/.local/share`` when it is unset, empty or relative (as the spec says)."""
    value = (os.environ if env is None else env).get("XDG_DATA_HOME", "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / ".local" / "share"


def entry_targets(data_home: Path) -> dict[str, Path]:
    """Where each file of the entry goes, keyed by the shipped file it is copied from."""
    icons = data_home / "icons" / "hicolor"
    return {
        "installer/shoebox.desktop": data_home / "applications" / f"{APP_ID}.desktop",
        "resources/shoebox.svg": icons / "scalable" / "apps" / f"{APP_ID}.svg",
        "resources/shoebox-256.png": icons / "256x256" / "apps" / f"{APP_ID}.png",
    }


def launch_command(
    executable: str | None = None, argv0: str | None = None, frozen: bool | None = None
) -> list[str]:
    """The command that starts this Shoebox, as absolute paths.

    Defaults come from the running process: ``sys.executable``, ``sys.argv[0]``
    and whether it is a frozen bundle.
    """
    executable = sys.executable if executable is None else executable
    argv0 = sys.argv[0] if argv0 is None else argv0
    frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    if frozen:
        return [os.path.abspath(executable)]
    started = Path(os.path.abspath(argv0)) if argv0 else None
    if started is not None and started.name == "main.py" and started.is_file():
        return [os.path.abspath(executable), str(started)]
    # the console script pip or pipx made; not resolved, so pipx's ~/.local/bin link stays the target
    if started is not None and started.stem == APP_ID and started.is_file():
        return [str(started)]
    beside = Path(executable).parent / APP_ID
    if beside.is_file():
        return [str(beside)]
    raise DesktopEntryError(
        "Could not tell which command starts this Shoebox; run 'shoebox install-desktop' with the "
        "shoebox command that pip or pipx installed (or 'python main.py install-desktop' in a checkout)."
    )


def exec_value(command: Sequence[str]) -> str:
    """``command`` as a desktop entry's ``Exec`` value (quoting and escaping per the specification)."""
    parts = []
    for arg in command:
        if any(c in _EXEC_RESERVED for c in arg):
            arg = '"' + "".join("\\" + c if c in _EXEC_ESCAPED_IN_QUOTES else c for c in arg) + '"'
        parts.append(arg.replace("%", "%%"))
    # the value is also a desktop-entry string, where a backslash is written twice
    return " ".join(parts).replace("\\", "\\\\")


def render_entry(template: str, command: Sequence[str]) -> str:
    """The template with ``Exec``/``TryExec`` set to ``command`` and its comments left out."""
    lines = []
    for line in template.splitlines():
        if line.startswith("#"):
            continue  # the template's notes are about the template
        if line.startswith("Exec="):
            line = "Exec=" + exec_value([*command, "--gui"])
        elif line.startswith("TryExec="):
            line = "TryExec=" + command[0].replace("\\", "\\\\")
        lines.append(line)
    return "\n".join(lines) + "\n"


def install(data_home: Path | None = None, command: Sequence[str] | None = None) -> EntryReport:
    """Write the menu entry and the icons (idempotent: files already right are left alone)."""
    _check_platform()
    data_home = xdg_data_home() if data_home is None else data_home
    command = launch_command() if command is None else list(command)
    files = []
    for source, target in entry_targets(data_home).items():
        shipped = bundled_file(source)
        if not shipped.is_file():
            raise DesktopEntryError(
                f"{shipped} is missing from this Shoebox installation; reinstall Shoebox and try again."
            )
        if source.endswith(".desktop"):
            content = render_entry(shipped.read_text(encoding="utf-8"), command).encode("utf-8")
        else:
            content = shipped.read_bytes()
        files.append(EntryFile(target, _write_if_changed(target, content)))
    _refresh_icon_cache(data_home)
    return EntryReport("install", tuple(command), tuple(files))


def remove(data_home: Path | None = None) -> EntryReport:
    """Take the menu entry and the icons away again (absent files are fine)."""
    _check_platform()
    data_home = xdg_data_home() if data_home is None else data_home
    files = []
    for target in entry_targets(data_home).values():
        try:
            target.unlink()
            files.append(EntryFile(target, "removed"))
        except FileNotFoundError:
            files.append(EntryFile(target, "absent"))
        except OSError as exc:
            raise DesktopEntryError(
                f"Could not remove {target} ({exc.strerror or exc}); remove it by hand."
            ) from exc
    _refresh_icon_cache(data_home)
    return EntryReport("remove", (), tuple(files))


def _check_platform() -> None:
    if not supported():
        raise DesktopEntryError(
            "Adding Shoebox to the application menu works on Linux only for now; "
            "start it with the shoebox command instead."
        )


def _write_if_changed(target: Path, content: bytes) -> str:
    try:
        if target.read_bytes() == content:
            return "unchanged"
    except OSError:
        pass
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(content)
        os.replace(partial, target)  # a menu never reads half a file
    except OSError as exc:
        raise DesktopEntryError(
            f"Could not write {target} ({exc.strerror or exc}); check that the folder is writable."
        ) from exc
    return "written"


def _refresh_icon_cache(data_home: Path) -> None:
    theme = data_home / "icons" / "hicolor"
    tool = shutil.which("gtk-update-icon-cache")
    if tool is None or not (theme / "icon-theme.cache").is_file():
        return
    # a stale cache only delays the icon; the entry itself is written
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run([tool, "-q", "-t", str(theme)], capture_output=True, timeout=30, check=False)
