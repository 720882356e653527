"""Stale notices (issue 9, item 5): each notice goes with the view it describes; the status bar
says a task finished once it has; the first estimate of the time left is not wild; one model banner."""

from __future__ import annotations

from typing import Any

from desktop.core.library import Library


def test_search_notices_go_when_the_view_changes(lib: Library, make_window: Any, fake_search: Any) -> None:
    """ "3 weaker matches hidden / Show all" stayed above All photos and *Could not read*."""
    window = make_window(lib, search=fake_search(lib))
    window.search_bar.set_text("a red car")
    assert "weaker matches hidden" in window.notice.text()
    window.sidebar.select_key("view:errors")
    assert window.stack.currentWidget() is window._errors_page
    assert window.notice.text() == ""
    window.search_bar.set_text("a red car")
    assert "weaker matches hidden" in window.notice.text()
    window.sidebar.select_key("view:all")
    assert window.notice.text() == ""
    window.search_bar.set_text("a red car")
    window.search_bar.set_text("")  # clearing the field goes back to the browsed view
    assert window.notice.text() == ""


def test_a_notice_stays_while_its_view_refreshes(lib: Library, make_window: Any, fake_search: Any) -> None:
    window = make_window(lib, search=fake_search(lib))
    window.search_bar.set_text("a red car")
    window.refresh_all()  # the catalog changed under the same view
    assert "weaker matches hidden" in window.notice.text()


def test_the_status_bar_says_a_scan_finished_then_clears(
    lib: Library, make_window: Any, qtbot: Any, monkeypatch: Any
) -> None:
    """It still said "Scanning lib150: …" after the scan had finished."""
    monkeypatch.setattr("desktop.gui.panels.status_panel.FINISHED_SHOWN_MS", 200)
    window = make_window(lib)
    window.scan_flow.scan_roots()  # synchronous runner: finished when this returns
    text = window.status_panel.label.text()
    assert text.startswith("Scanned") and not text.startswith("Scanning"), text
    qtbot.waitUntil(lambda: window.status_panel.label.text() == "", timeout=2000)


def test_a_failed_task_stays_in_the_status_bar(
    lib: Library, make_window: Any, qtbot: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr("desktop.gui.panels.status_panel.FINISHED_SHOWN_MS", 100)
    window = make_window(lib)

    def fail(_control: Any) -> None:
        raise OSError("the disk went away")

    window.runner.submit("Understanding photos", fail)
    assert "failed — the disk went away" in window.status_panel.label.text()
    qtbot.wait(300)
    assert "failed" in window.status_panel.label.text()


def test_one_model_banner_not_two(empty_lib: Library, make_window: Any) -> None:
    """Without a model, the banner says why; the search's notice does not say it again."""
    window = make_window(empty_lib, smart_search=True)
    window.ctx.start()  # no weights in this home: the banner offers the download
    assert window.model_notice is not None and window.model_notice.isVisible()
    banner = window.model_notice.text.text()
    assert "Smart search needs" in banner
    window.search_bar.set_text("beach")
    notice = window.notice.text()
    assert "names, titles, descriptions, keywords or tags" in notice
    assert "needs" not in notice and "not downloaded" not in notice
    window.search_flow.find_similar(1)
    assert "see above" in window.notice.text() and "not downloaded" not in window.notice.text()


def test_without_the_banner_the_notice_says_why(empty_lib: Library, make_window: Any) -> None:
    window = make_window(empty_lib, smart_search=True)
    window.ctx.start()
    assert window.model_notice is not None
    window.model_notice.dismiss()  # dismissed for good: now the notice is the only place that says it
    window.search_bar.set_text("beach")
    assert "Smart search needs a model" in window.notice.text()
