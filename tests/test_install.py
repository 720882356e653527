"""Installing Shoebox: the wheel carries its data files, the menu entry, the frozen executable's child entry."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from desktop import app
from desktop.core.runtime import desktop_entry
from desktop.core.runtime.bundled import SHIPPED_FILES, bundled_file
from desktop.core.runtime.wording import SHOEBOX

REPO = Path(__file__).resolve().parent.parent


def _read_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser["Desktop Entry"]


def test_checkout_finds_the_shipped_files_at_the_top_level() -> None:
    for rel in SHIPPED_FILES:
        assert bundled_file(rel) == REPO / rel
        assert bundled_file(rel).is_file()
    assert SHOEBOX == "python main.py"  # in a checkout, messages name the command that works there


@pytest.mark.slow
def test_wheel_ships_the_manifest_and_icons_and_installed_code_reads_them(tmp_path: Path) -> None:
    # before, the wheel held only desktop/*.py and load_manifest() read a file beside site-packages
    source = tmp_path / "source"  # a copy: building writes build/ and *.egg-info beside the sources
    source.mkdir()
    for rel in (
        "pyproject.toml",
        "setup.py",
        "README.md",
        "desktop",
        *{r.split("/")[0] for r in SHIPPED_FILES},
    ):
        if (REPO / rel).is_dir():
            shutil.copytree(REPO / rel, source / rel, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / rel, source / rel)
    out = tmp_path / "wheel"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (wheel,) = out.glob("shoebox-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(site)
    for rel in SHIPPED_FILES:
        assert f"desktop/_data/{rel}" in names
    code = (
        "import json\n"
        "from desktop.core.semantic.clip_models import MANIFEST_FILE, load_manifest\n"
        "from desktop.gui.widgets.icons import APP_ICON_SVG, APP_ICON_PNG\n"
        "from desktop.core.runtime.wording import SHOEBOX\n"
        "print(json.dumps([str(MANIFEST_FILE), load_manifest().default, str(APP_ICON_SVG), str(APP_ICON_PNG), SHOEBOX]))\n"
    )
    # run from elsewhere with only the unpacked wheel importable as desktop: no path into the checkout
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(site)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    manifest, default, svg, png, command = json.loads(proc.stdout)
    assert command == "shoebox"  # what messages tell an installed user to type
    assert Path(manifest) == site / "desktop" / "_data" / "models" / "manifest.json"
    assert default == json.loads((REPO / "models" / "manifest.json").read_text())["default"]
    assert Path(svg).read_bytes() == (REPO / "resources" / "shoebox.svg").read_bytes()
    assert Path(png).parent == site / "desktop" / "_data" / "resources"


def test_install_desktop_writes_the_entry_and_icons_once_and_removes_them(tmp_path: Path) -> None:
    data_home = tmp_path / "xdg"
    env = dict(os.environ, XDG_DATA_HOME=str(data_home), SHOEBOX_HOME=str(tmp_path / "home"))

    def cli(*args: str) -> dict[str, object]:
        proc = subprocess.run(
            [sys.executable, str(REPO / "main.py"), "install-desktop", "--json", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        result: dict[str, object] = json.loads(proc.stdout)
        return result

    first = cli()
    entry_file = data_home / "applications" / "shoebox.desktop"
    assert first["desktop_file"] == str(entry_file)
    assert first["command"] == [sys.executable, str(REPO / "main.py")]
    assert [f["status"] for f in first["files"]] == ["written"] * 3  # type: ignore[index,union-attr]
    entry = _read_entry(entry_file)
    assert entry["Exec"] == f"{sys.executable} {REPO / 'main.py'} --gui"
    assert entry["TryExec"] == sys.executable
    assert entry["Icon"] == "shoebox" and entry["Name"] == "Shoebox"
    assert "/opt/shoebox" not in entry_file.read_text()
    svg = data_home / "icons" / "hicolor" / "scalable" / "apps" / "shoebox.svg"
    png = data_home / "icons" / "hicolor" / "256x256" / "apps" / "shoebox.png"
    assert svg.read_bytes() == (REPO / "resources" / "shoebox.svg").read_bytes()
    assert png.read_bytes() == (REPO / "resources" / "shoebox-256.png").read_bytes()

    stamp = entry_file.stat().st_mtime_ns
    again = cli()
    assert [f["status"] for f in again["files"]] == ["unchanged"] * 3  # type: ignore[index,union-attr]
    assert entry_file.stat().st_mtime_ns == stamp

    removed = cli("--remove")
    assert [f["status"] for f in removed["files"]] == ["removed"] * 3  # type: ignore[index,union-attr]
    assert not entry_file.exists() and not svg.exists() and not png.exists()
    assert [f["status"] for f in cli("--remove")["files"]] == ["absent"] * 3  # type: ignore[index,union-attr]


def test_install_desktop_says_it_is_linux_only_on_macos_and_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for platform in ("darwin", "win32"):
        monkeypatch.setattr(sys, "platform", platform)
        with pytest.raises(desktop_entry.DesktopEntryError, match="Linux only"):
            desktop_entry.install(tmp_path)
        with pytest.raises(desktop_entry.DesktopEntryError, match="Linux only"):
            desktop_entry.remove(tmp_path)
    assert not any(tmp_path.iterdir())


def test_exec_line_quotes_paths_with_spaces_and_percent_signs(tmp_path: Path) -> None:
    template = (REPO / "installer" / "shoebox.desktop").read_text()
    odd = tmp_path / "My Apps" / "100% $hoebox"
    text = desktop_entry.render_entry(template, [str(odd)])
    entry_file = tmp_path / "e.desktop"
    entry_file.write_text(text)
    # quoted for Exec (% doubled, $ escaped), then every backslash doubled as a desktop-entry string
    quoted = '"' + str(tmp_path) + "/My Apps/100%% " + "\\$hoebox" + '"'
    assert _read_entry(entry_file)["Exec"] == quoted.replace("\\", "\\\\") + " --gui"
    assert desktop_entry.exec_value(["/usr/bin/shoebox"]) == "/usr/bin/shoebox"


def test_the_launch_command_is_the_script_the_bundle_or_python_main_py(tmp_path: Path) -> None:
    script = tmp_path / "bin" / "shoebox"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n")
    python = str(tmp_path / "bin" / "python")
    assert desktop_entry.launch_command(python, str(script), frozen=False) == [str(script)]
    assert desktop_entry.launch_command(python, "-c", frozen=False) == [str(script)]  # beside the interpreter
    assert desktop_entry.launch_command(str(tmp_path / "bundle" / "shoebox"), "x", frozen=True) == [
        str(tmp_path / "bundle" / "shoebox")
    ]
    main = REPO / "main.py"
    assert desktop_entry.launch_command(python, str(main), frozen=False) == [python, str(main)]
    with pytest.raises(desktop_entry.DesktopEntryError, match="Could not tell"):
        desktop_entry.launch_command(str(tmp_path / "elsewhere" / "python"), "-c", frozen=False)


def test_xdg_data_home_falls_back_when_unset_or_relative() -> None:
    default = Path.home() / ".local" / "share"
    assert desktop_entry.xdg_data_home({}) == default
    assert desktop_entry.xdg_data_home({"XDG_DATA_HOME": "relative/dir"}) == default
    assert desktop_entry.xdg_data_home({"XDG_DATA_HOME": "/x/share"}) == Path("/x/share")


def test_frozen_executable_runs_a_python_snippet_like_python_c(monkeypatch: pytest.MonkeyPatch) -> None:
    # a bundle has no interpreter: the device check in Settings starts `<executable> -c CODE ARGS`
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    seen: list[list[str]] = []
    monkeypatch.setattr(app, "_record", seen.append, raising=False)
    code = "import sys\nfrom desktop import app\napp._record(list(sys.argv))\n"
    assert app.main(["-c", code, "cpu", ""]) == 0
    assert seen == [["-c", "cpu", ""]]


def test_version_flag() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "main.py"), "--version"], capture_output=True, text=True, timeout=60
    )
    from desktop import __version__

    assert proc.returncode == 0 and proc.stdout.strip() == f"shoebox {__version__}"
