"""The app writes sidecars after edits settle, on a job runner thread, never on the GUI thread."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from desktop.core.catalog import sidecar_queue
from desktop.core.ingest import sidecars, xmp
from desktop.core.library import Library
from desktop.gui.app.jobs import JobRunner
from desktop.gui.app.sidecar_writes import SidecarWrites


def test_edits_are_written_once_debounced_off_the_gui_thread(
    qtbot: Any, lib: Library, photos_dir: Path, monkeypatch: Any
) -> None:
    runner = JobRunner(max_threads=1)
    writes = SidecarWrites(lib, runner, debounce_ms=150)
    threads: list[str] = []
    real = sidecars.drain

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(sidecars, "drain", spy)
    beach = lib.photo_by_path(photos_dir / "beach.jpg")
    dune = lib.photo_by_path(photos_dir / "dune.jpg")
    assert beach is not None and dune is not None
    try:
        lib.add_tag("Sea", [beach.id])  # three edits in a burst: one drain
        lib.set_rating([beach.id, dune.id], 4)
        lib.add_tag("Sand", [dune.id])
        assert threads == []  # nothing is written while the edits go on
        with qtbot.waitSignal(writes.drained, timeout=5000) as got:
            pass
        assert got.args[0].written == 2
        assert threads and threading.main_thread().name not in threads
        assert xmp.read_sidecar(str(photos_dir / "beach.jpg.xmp")).tags == ["Sea"]
        assert xmp.read_sidecar(str(photos_dir / "dune.jpg.xmp")).rating == 4
        assert sidecar_queue.count() == 0
        qtbot.wait(300)
        assert len(threads) == 1
    finally:
        writes.stop()
        runner.shutdown()


def test_settings_metadata_page_sets_the_mode_and_naming(qtbot: Any, lib: Library, runner: JobRunner) -> None:
    from desktop.gui.dialogs.settings_dialog import SettingsDialog

    dialog = SettingsDialog(lib, runner)
    qtbot.addWidget(dialog)
    page = dialog.metadata_page
    assert dialog.show_page("metadata") is page
    assert page.mode_buttons["sidecars"].isChecked() and page.name_buttons["name.ext.xmp"].isChecked()
    page.mode_buttons["embed"].click()
    page.name_buttons["name.xmp"].click()
    assert lib.config() == {
        "metadata.write": "embed",
        "metadata.sidecar_name": "name.xmp",
        "library.group_pairs": "on",
        "processing.cache_mb": "2048",
    }
    page.mode_buttons["off"].click()
    assert lib.config()["metadata.write"] == "off"
    assert not page.name_buttons["name.xmp"].isEnabled()
    assert page.status.text() == "All sidecars are up to date."


def test_a_mark_arriving_while_the_app_closes_starts_no_drain(
    qtbot: Any, lib: Library, photos_dir: Path
) -> None:
    runner = JobRunner(max_threads=1)
    writes = SidecarWrites(lib, runner, debounce_ms=10)
    writes.stop()
    runner.shutdown()
    writes.marked.emit()  # queued before the stop, delivered after it
    writes.drain()
    qtbot.wait(50)  # the runner is gone: a drain would raise "the app is closing" in the event loop


def test_settings_metadata_shows_the_first_failure_and_write_now_drains_through_the_apps_writer(
    qtbot: Any, lib: Library, runner: JobRunner, photos_dir: Path, monkeypatch: Any
) -> None:
    import errno

    from desktop.core.ingest import xmp_write
    from desktop.gui.dialogs.settings_dialog import SettingsDialog

    writes = SidecarWrites(lib, runner, debounce_ms=60_000)  # no debounced drain: only the ones asked for
    drains: list[object] = []
    writes.drained.connect(drains.append)
    beach = lib.photo_by_path(photos_dir / "beach.jpg")
    assert beach is not None

    def immutable(_src: str, dst: str) -> None:
        raise OSError(errno.EPERM, "Operation not permitted", dst)

    try:
        lib.add_tag("Sea", [beach.id])
        with monkeypatch.context() as patch:
            patch.setattr(xmp_write.os, "replace", immutable)
            lib.write_sidecars(notify=False)
        dialog = SettingsDialog(lib, runner, sidecar_writes=writes)
        qtbot.addWidget(dialog)
        page = dialog.metadata_page
        text = page.status.text()
        assert text.startswith("1 waiting to be written. Could not write: no permission to write (")
        assert text.endswith("beach.jpg); Shoebox tries again.")
        assert not page.write_now.isHidden()
        assert page.write_now.isEnabled()
        page.write_now.click()  # the runner is synchronous: the drain ran
        assert len(drains) == 1 and sidecar_queue.count() == 0
        assert xmp.read_sidecar(str(photos_dir / "beach.jpg.xmp")).tags == ["Sea"]
        assert page.status.text() == "All sidecars are up to date."
        assert not page.write_now.isEnabled()

        # changes made while writing is off wait, are told, and are written when it is turned on
        page.mode_buttons["off"].click()
        lib.add_tag("Dune", [beach.id])
        page.refresh()
        assert page.status.text() == "Writing is off; 1 photo's changes will be written when it is on."
        assert not page.write_now.isEnabled()
        page.mode_buttons["sidecars"].click()
        assert len(drains) == 2 and sidecar_queue.count() == 0
        assert sorted(xmp.read_sidecar(str(photos_dir / "beach.jpg.xmp")).tags) == ["Dune", "Sea"]
    finally:
        writes.stop()
