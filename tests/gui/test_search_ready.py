"""Searches that finish: a query typed before the model is ready runs once it is (issue 9, item 2).

The first smart search after launch showed "Smart search is starting… 0 photos"
and stayed empty after the model process had loaded; the same after a model
switch in Settings.
"""

from __future__ import annotations

from typing import Any

import pytest

from desktop.core.library import Library
from desktop.gui.app.application import SEARCH_READY, SearchState


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Any:
    """serve(service): the app's model check finds ``service`` ready (instead of loading a real model)."""

    def _serve(service: Any) -> None:
        state = SearchState(SEARCH_READY, "", model_name="Fake")
        monkeypatch.setattr("desktop.gui.app.application._load_search", lambda _lib, _c: (service, state))

    return _serve


def test_a_query_typed_while_the_model_starts_runs_when_it_is_ready(
    lib: Library, make_window: Any, fake_search: Any, serve: Any
) -> None:
    window = make_window(lib, smart_search=True)  # not started yet: the model is "starting"
    assert window.ctx.search_state.state == "checking"
    window.search_bar.set_text("a red car")
    assert "Smart search is starting" in window.notice.text()
    assert window.model.rowCount() == 0  # no file name has these words
    service = fake_search(lib)
    serve(service)
    window.ctx.check_search()  # the model process has loaded (the synchronous runner: at once)
    assert service.calls and service.calls[-1][:2] == ("search", "a red car")
    assert window.model.is_results and window.model.rowCount() == 2
    assert "Smart search is starting" not in window.notice.text()
    assert "weaker matches hidden" in window.notice.text()


def test_a_model_switch_reruns_the_current_query_with_the_new_model(
    lib: Library, make_window: Any, fake_search: Any, serve: Any
) -> None:
    old = fake_search(lib)
    serve(old)
    window = make_window(lib, smart_search=True)
    window.ctx.check_search()
    window.search_bar.set_text("snow at night")
    assert [c[1] for c in old.calls] == ["snow at night"]
    new = fake_search(lib)
    serve(new)
    seen_while_loading: list[int] = []
    window.ctx.search_state_changed.connect(
        lambda: (
            seen_while_loading.append(len(old.calls)) if window.ctx.search_state.state == "checking" else None
        )
    )
    window.ctx.check_search()  # what Settings' model_changed is connected to (another weights file)
    assert seen_while_loading == [1]  # nothing reran while the new model loaded
    assert [c[1] for c in new.calls] == ["snow at night"]
    assert len(old.calls) == 1
    assert window.model.is_results and window.model.rowCount() == 2


def test_an_embedding_that_finishes_reruns_the_query_once(
    lib: Library, make_window: Any, fake_search: Any
) -> None:
    service = fake_search(lib)
    window = make_window(lib, search=service)
    window.ctx.search_state.pending = 5
    window.search_bar.set_text("beach")
    window.ctx.search_state.pending = 0
    window.ctx.search_state_changed.emit()  # what the finished embedding job says
    window.ctx.search_state_changed.emit()  # and nothing new after it
    assert [c[1] for c in service.calls] == ["beach", "beach"]
