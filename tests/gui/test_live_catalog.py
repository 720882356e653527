"""The open app shows what the command line changes: tags, ratings, folders (issue 9, item 4).

The command line runs for real, as a subprocess on the same SHOEBOX_HOME, while
the window is open; the app notices its commits through ``PRAGMA data_version``
(``desktop/core/catalog/changes.py``) and refreshes what is on screen.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from desktop.core.library import Library

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> None:
    """``python main.py ARGS`` with this test's SHOEBOX_HOME (the ``home`` fixture set it)."""
    done = subprocess.run(
        [sys.executable, "main.py", *args], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def _select(window: Any, photo_id: int) -> None:
    window.select_ids([photo_id])
    row = window.model.row_for_id(photo_id)
    window.grid.selectionModel().setCurrentIndex(
        window.model.index(row, 0), window.grid.selectionModel().SelectionFlag.NoUpdate
    )
    window._push_selection()


def test_a_tag_set_from_the_command_line_shows_within_two_seconds(
    lib: Library, make_window: Any, photos_dir: Path, qtbot: Any
) -> None:
    window = make_window(lib)
    window.ctx.start()  # what the app does once its first cells are painted: the poll starts there
    beach = lib.photo_by_path(photos_dir / "beach.jpg")
    assert beach is not None
    _select(window, beach.id)
    assert "Holiday" not in window.info_panel.tag_chips()
    _cli("tag", "add", "Holiday", str(photos_dir / "beach.jpg"))
    qtbot.waitUntil(
        lambda: "Holiday" in window.info_panel.tag_chips() and window.sidebar.count_for("tag:Holiday") == 1,
        timeout=2000,
    )
    assert window.selected_ids() == [beach.id]  # the refresh kept the selection


def test_a_rating_set_from_the_command_line_reaches_the_grid(
    lib: Library, make_window: Any, photos_dir: Path, qtbot: Any
) -> None:
    window = make_window(lib)
    window.ctx.start_change_monitor()
    snow = lib.photo_by_path(photos_dir / "snow.jpg")
    assert snow is not None
    _select(window, snow.id)

    def rating() -> int:
        row = window.model.row_for_id(snow.id)
        return -1 if row is None else window.model.record(row).rating

    assert rating() == 0
    _cli("rate", "4", str(photos_dir / "snow.jpg"))
    qtbot.waitUntil(lambda: rating() == 4, timeout=2000)
    assert window.selected_ids() == [snow.id]


def test_a_folder_added_from_the_command_line_shows_and_is_watched(
    lib: Library, make_window: Any, tmp_path: Path, make_jpeg: Any, qtbot: Any
) -> None:
    folder = tmp_path / "From the shell"
    make_jpeg(folder / "one.jpg", color=(10, 200, 30))
    make_jpeg(folder / "two.jpg", color=(200, 10, 30))
    window = make_window(lib)
    window.ctx._watch = True  # the fixture's context does not watch; the app's does
    window.ctx.start()
    assert str(folder.resolve()) not in window.ctx.watcher.watched_paths
    _cli("add", str(folder))
    root = next(r for r in lib.roots() if Path(r.path) == folder.resolve())
    qtbot.waitUntil(lambda: window.sidebar.count_for(f"root:{root.id}") == 2, timeout=2000)
    qtbot.waitUntil(lambda: window.model.rowCount() == 7, timeout=2000)
    assert str(folder.resolve()) in window.ctx.watcher.watched_paths


def test_the_apps_own_writes_are_not_taken_for_outside_ones(
    lib: Library, make_window: Any, photos_dir: Path, make_jpeg: Any, qtbot: Any
) -> None:
    """No refresh storm during the app's own scan: only other processes' commits count."""
    window = make_window(lib)
    ctx = window.ctx
    outside: list[bool] = []
    ctx._bridge.outside.connect(lambda: outside.append(True))
    ctx.start_change_monitor()
    qtbot.wait(700)
    window.photo_actions.rate(window.model.ids()[:2], 5)
    make_jpeg(photos_dir / "new.jpg", color=(1, 2, 3))
    window.scan_flow.scan_roots()
    lib.add_tag("mine", window.model.ids()[:1])
    qtbot.wait(1200)  # two polls or more
    assert outside == []


def test_a_burst_of_outside_commits_refreshes_at_once_then_at_most_once_per_gap(
    lib: Library, make_window: Any, qtbot: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr("desktop.gui.app.application.OUTSIDE_REFRESH_GAP_MS", 300)
    window = make_window(lib)
    ctx = window.ctx
    refreshes: list[bool] = []
    ctx.catalog_changed.connect(lambda: refreshes.append(True))
    for _ in range(10):  # a long command-line scan commits every second
        ctx._bridge.outside.emit()
    assert len(refreshes) == 1  # the first change shows at once
    qtbot.waitUntil(lambda: len(refreshes) == 2, timeout=1000)  # the rest once, after the gap
    qtbot.wait(500)
    assert len(refreshes) == 2
