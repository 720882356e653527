"""What a query in the search field shows in the grid.

``SearchFlow`` owns the path from the search field's text to the grid: the query
parsed once by ``desktop.core.catalog.query`` (filters, free text, ``similar:``),
answered by smart search when a model is ready and by the catalog's keyword
filter without one (the same filter ``python main.py search`` uses), *Find
similar* and an image dropped on the field, which answer is still current (a
late answer never replaces a newer query), a rerun when the model that answered
changes, and the banner over the grid that says a model is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject

from desktop.core.catalog.filters import PhotoFilter, check_tags
from desktop.core.catalog.query import ParsedQuery, parse_query
from desktop.core.runtime.wording import counted
from desktop.gui.app.application import SEARCH_CHECKING
from desktop.gui.grid.photo_model import SORT_DATE, SORT_RELEVANCE

if TYPE_CHECKING:
    from desktop.gui.main.main_window import MainWindow

SEARCH_LIMIT = 1000


class SearchFlow(QObject):
    """The search field's queries and their answers in the grid; owned by the main window."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.ctx = window.ctx
        self.library = window.library
        self.runner = window.runner
        self.model = window.model
        self.notice = window.notice
        self.search_bar = window.search_bar
        self.sidebar = window.sidebar
        self.model_notice = window.model_notice
        self._search_token = 0
        self._search_text = ""
        # what the shown query was answered with (see _search_key); None when it needs no model
        self._searched_with: tuple[str, Any, bool] | None = None
        self._everything_for: str | None = None  # the query whose weaker matches the person asked to see

        self.search_bar.search_changed.connect(self.run_search)
        self.search_bar.image_search_requested.connect(self.search_by_image)
        self.search_bar.sort_changed.connect(lambda _s: self._rerun_search())
        window.photo_actions.find_similar_requested.connect(self.find_similar)
        window.photo_actions.similar_available = self._similar_unavailable_reason
        self.model_notice.dismissed.connect(self._model_notice_dismissed)
        self.ctx.search_state_changed.connect(self.on_search_state)

    @property
    def text(self) -> str:
        """The query the grid shows, or "" when it shows a sidebar view."""
        return self._search_text

    def leave(self) -> None:
        """The grid shows a sidebar view again: no query is current, and a late answer is dropped."""
        self.search_bar.set_text("", emit=False)
        self._search_text = ""
        self._searched_with = None
        self._search_token += 1

    def _similar_unavailable_reason(self) -> str | None:
        st = self.ctx.search_state
        return None if st.ready and self.ctx.search is not None else st.message

    def _rerun_search(self) -> None:
        if self._search_text:
            self.run_search(self._search_text, force=True)

    def _show_all_results(self) -> None:
        """The person asked for the matches under the relevance cutoff too (for this query only)."""
        self._everything_for = self._search_text
        self._rerun_search()

    def run_search(self, text: str, force: bool = False) -> None:
        """Show what ``text`` finds: smart search when a model is ready, else filters and file names."""
        text = text.strip()
        if text == self._search_text and not force:
            return
        self._search_text = text
        self._search_token += 1
        everything = text == self._everything_for
        token = self._search_token
        if not text:
            self.window.show_view(self.sidebar.current_spec())
            return
        self.window.enter_view(f"search:{text}")
        self.sidebar.clear_selection()
        self.window.show_grid()
        try:
            parsed = self._parse(text)
        except ValueError as exc:
            # the query finds nothing until it is fixed: the last query's photos must not stay up
            # under this one's title
            self._searched_with = None
            self.model.browse(PhotoFilter(photo_ids=[]), f"“{text}”")
            self.notice.show_message(str(exc))
            return
        similar_to, free_text = parsed.similar, parsed.text
        sort = self.search_bar.sort_mode()
        state = self.ctx.search_state
        service = self.ctx.search if state.ready else None
        # a query that needs the model runs again when what answered it changes: see on_search_state
        self._searched_with = self._search_key() if similar_to is not None or free_text else None
        if similar_to is not None:
            if service is None:
                # nothing can answer it yet: the last query's photos must not stay up under this title
                self.model.browse(PhotoFilter(photo_ids=[]), f"“{text}”")
                self._explain_no_model("Finding similar photos")
                return
            title = self._similar_title(similar_to)
            self._submit_search(
                token,
                title,
                lambda _c: service.similar(
                    similar_to,
                    limit=SEARCH_LIMIT,
                    query=text,
                    sort="date" if sort == SORT_DATE else "score",
                    everything=everything,
                ),
            )
            return
        if free_text and service is not None:
            self._submit_search(
                token,
                f"“{text}”",
                lambda _c: service.search(
                    text,
                    limit=SEARCH_LIMIT,
                    sort="date" if sort == SORT_DATE else "score",
                    everything=everything,
                ),
            )
            return
        # no model (or no free text): the filters narrow the catalog and each word must be in a file
        # name, title, description, keyword or tag (what 'python main.py search' does without a model)
        f = parsed.keyword_filter()
        if free_text:
            showing = (
                f"Showing photos whose names, titles, descriptions, keywords or tags contain “{free_text}”."
            )
            if self._model_banner_shown():  # the banner above already says why: do not say it twice
                self.notice.show_message(f"Without a smart-search model: {showing[0].lower()}{showing[1:]}")
            else:
                self.notice.show_message(
                    f"{state.message or 'Smart search is not ready yet.'} {showing}",
                    ("Settings…", lambda: self.window.open_settings("model"))
                    if self.ctx.search is None
                    else None,
                )
        else:
            self.notice.hide()
        self.model.browse(f, f"“{text}”")

    def _parse(self, text: str) -> ParsedQuery:
        """The query parsed (``similar:``, filters, free text); raises ``QueryError`` (a ``ValueError``)
        that says how to fix it."""
        parsed = parse_query(text)
        check_tags(parsed.filter.tags)  # an unknown or ambiguous tag says so instead of showing nothing
        return parsed

    def _similar_title(self, target: int | Path) -> str:
        if isinstance(target, int):
            record = self.library.reads.record(target)
            return f"Like {record.name}" if record is not None else "Similar photos"
        return f"Like {target.name}"

    def _submit_search(self, token: int, title: str, fn: Any) -> None:
        sort = SORT_DATE if self.search_bar.sort_mode() == SORT_DATE else SORT_RELEVANCE

        def _done(result: Any) -> None:
            if token != self._search_token:
                return  # the person typed on; an older answer must not replace a newer one
            hits = [(h.photo_id, float(h.score)) for h in result.hits]
            self.model.set_results(hits, title, sort=sort, on_done=self.window.update_header)
            notes = [n for n in (result.notice,) if n]
            more = result.more
            if more:
                notes.append(f"{counted(more, 'weaker match', 'weaker matches')} hidden.")
            if notes:
                action = ("Show all", self._show_all_results) if more else None
                self.notice.show_message(" ".join(notes), action)
            else:
                self.notice.hide()

        def _failed(message: str) -> None:
            if token == self._search_token:
                self.notice.show_message(message)  # the runner's sentence: what failed and why

        self.runner.submit("Search", fn, on_result=_done, on_error=_failed, track=False, owner=self)

    def find_similar(self, photo_id: int) -> None:
        """Right-click → Find similar: the search field shows it so the person can refine it."""
        if self.ctx.search is None or not self.ctx.search_state.ready:
            self._explain_no_model("Finding similar photos")
            return
        self.search_bar.set_text(f"similar:{photo_id} ")

    def find_similar_to_current(self) -> None:
        ids = self.window.selected_ids()
        if ids:
            self.find_similar(ids[0])

    def search_by_image(self, path: Path) -> None:
        """An image dropped on the search field (from the library or anywhere)."""
        if self.ctx.search is None or not self.ctx.search_state.ready:
            self._explain_no_model("Searching by an image")
            return
        record = self.library.record_by_path(path)
        self.search_bar.set_text(f"similar:{record.id} " if record is not None else f'similar:"{path}" ')

    def _model_banner_shown(self) -> bool:
        return not self.model_notice.isHidden()

    def _explain_no_model(self, doing: str) -> None:
        """Why ``doing`` needs smart search — in the notice bar, unless the model banner already says it."""
        if self._model_banner_shown():
            self.notice.show_message(f"{doing} needs the smart-search model (see above).")
        else:
            self.notice.show_message(
                self.ctx.search_state.message, ("Settings…", lambda: self.window.open_settings("model"))
            )

    def _search_key(self) -> tuple[str, Any, bool]:
        """What a smart query's answer depends on: the state, the serving model, every photo embedded."""
        st = self.ctx.search_state
        return st.state, self.ctx.search if st.ready else None, st.pending == 0

    def on_search_state(self) -> None:
        """The model became ready, another one was chosen, it failed, or it finished embedding.

        A query typed before (it showed "Smart search is starting…" and file-name
        matches) runs again with what is there now. While a model is still
        loading, the results on screen stay.
        """
        self._update_model_banner()
        if (
            self._search_text
            and self._searched_with is not None
            and self.ctx.search_state.state != SEARCH_CHECKING
            and self._searched_with != self._search_key()
        ):
            self._rerun_search()

    def _update_model_banner(self) -> None:
        st = self.ctx.search_state
        shown = self.ctx.settings.value("notices/model_missing_dismissed", "false") in (True, "true")
        if st.state == "unavailable" and st.model_name and not shown:
            if st.failed:
                self.model_notice.set_problem(st.message)  # a broken file: say why, no download offer
            else:
                self.model_notice.set_model(st.model_name, st.download_bytes)
            self.model_notice.show()
        else:
            self.model_notice.hide()

    def _model_notice_dismissed(self) -> None:
        self.ctx.settings.setValue("notices/model_missing_dismissed", True)
        self.model_notice.hide()


__all__ = ["SEARCH_LIMIT", "SearchFlow"]
