"""GUI test fixtures: a small scanned library, a main window over it, and no tolerance for Qt warnings.

Every test in this folder fails on any Qt warning or critical message
(pytest-qt's ``qt_log_level_fail`` mark, added to each item here), so a
binding mistake or a model that breaks its contract cannot hide in the log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from desktop.core.catalog.filters import PhotoFilter
from desktop.core.library import Library, photo_path
from desktop.core.runtime.jobs import JobControl
from desktop.core.runtime.paths import resolve_paths
from desktop.core.semantic.clip_models import ModelSpec, ModelUnavailable
from desktop.core.semantic.search import SearchHit, SearchResult

if TYPE_CHECKING:
    from desktop.core.semantic.embedder import BatchEncoder
    from desktop.core.semantic.service import SmartSearch

GUI_DIR = Path(__file__).resolve().parent
QT_MULTIMEDIA_ENVIRONMENT = (
    r"^Couldn't (load|resolve) [\w\-. ()]+ (library|symbols)$",
    r"^PulseAudioService: pa_context_connect\(\) failed",
    r"No RHI backend\. Using CPU conversion",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if GUI_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            # the offscreen platform plugin says this on every top-level show; it is not ours; and
            # QtMultimedia (the viewer's player) on a machine with no sound server, no PipeWire, no
            # VA-API and no GPU says so when it loads; playing works without them (pytest-qt reads
            # only one qt_log_ignore mark, so both go in this one)
            own = item.get_closest_marker("qt_log_ignore")  # a test's own ignores are kept too
            item.add_marker(
                pytest.mark.qt_log_ignore(
                    "does not support propagateSizeHints",
                    *QT_MULTIMEDIA_ENVIRONMENT,
                    *(own.args if own is not None else ()),
                ),
                append=False,
            )


@pytest.fixture(autouse=True)
def _private_trash(xdg_trash: Path) -> Path:
    """Every GUI test gets a private trash (tests/conftest.py): Delete never reaches the real one."""
    return xdg_trash


@pytest.fixture
def photos_dir(tmp_path: Path, make_jpeg: Any) -> Path:
    """Five JPEGs on three days, two cameras; one in a subfolder."""
    folder = tmp_path / "Pictures"
    specs = [
        ("beach.jpg", dt.datetime(2023, 7, 1, 10, 0), (230, 200, 120), "Canon"),
        ("dune.jpg", dt.datetime(2023, 7, 1, 11, 0), (220, 190, 110), "Canon"),
        ("snow.jpg", dt.datetime(2022, 12, 24, 9, 0), (240, 240, 250), "Nikon"),
        ("trip/car.jpg", dt.datetime(2021, 5, 3, 15, 30), (200, 30, 30), "Nikon"),
        ("trip/road.jpg", dt.datetime(2021, 5, 3, 16, 0), (90, 90, 90), "Nikon"),
    ]
    for name, taken, colour, make in specs:
        make_jpeg(folder / name, size=(96, 64), color=colour, taken=taken, make=make, model=f"{make} X")
    return folder


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    monkeypatch.setenv("SHOEBOX_HOME", str(h))
    return h


@pytest.fixture
def lib(home: Path, photos_dir: Path) -> Iterator[Library]:
    """A Library under a tmp SHOEBOX_HOME with ``photos_dir`` added and scanned (as the app opens it)."""
    library = Library(resolve_paths(home), source="app")
    root = library.add_root(photos_dir)
    library.scan([root], workers=1)
    yield library
    library.close()


@pytest.fixture
def empty_lib(home: Path) -> Iterator[Library]:
    library = Library(resolve_paths(home), source="app")
    yield library
    library.close()


class FakeSearch:
    """Stands in for ``SearchService`` (no model weights here): similarity by the distance of ids.

    It implements the app's ``SmartSearch`` Protocol with the real signatures (mypy checks it,
    below), answers with real ``SearchResult``s, and records its calls so tests can check what
    the GUI asked for.
    """

    def __init__(self, library: Library) -> None:
        self.library = library
        self.calls: list[tuple[str, Any, dict[str, Any]]] = []
        self.closed = False

    @property
    def uses_model_process(self) -> bool:
        return False  # embedding never asks this fake for a model process

    def model_process(self, spec: ModelSpec, control: JobControl | None = None) -> BatchEncoder:
        raise ModelUnavailable(f"FakeSearch runs no model process (asked for {spec.label()}).")

    def _hits(self, ids: list[int], scores: list[float]) -> list[SearchHit]:
        photos = {p.id: p for p in self.library.query()}
        return [
            SearchHit(i, str(photo_path(photos[i])), s, photos[i].content_hash or "", photos[i].taken_local)
            for i, s in zip(ids, scores, strict=True)
        ]

    def _all_ids(self) -> list[int]:
        return [p.id for p in self.library.query()]

    def similar(
        self,
        photo: int | Path | str,
        limit: int = 50,
        plus: Sequence[str] = (),
        minus: Sequence[str] = (),
        query: str = "",
        sort: str = "score",
        everything: bool = False,
    ) -> SearchResult:
        self.calls.append(("similar", photo, {"query": query, "sort": sort, "limit": limit}))
        ids = self._all_ids()
        target = photo if isinstance(photo, int) else ids[0]
        ordered = sorted(ids, key=lambda i: (i != target, abs(i - target)))[:limit]
        return SearchResult(self._hits(ordered, [1.0 - 0.1 * n for n in range(len(ordered))]))

    def search(
        self,
        query: str,
        limit: int = 50,
        sort: str = "score",
        everything: bool = False,
        base: PhotoFilter | None = None,
    ) -> SearchResult:
        self.calls.append(("search", query, {"sort": sort, "limit": limit}))
        ids = self._all_ids()
        if everything:
            return SearchResult(self._hits(ids, [0.5 - 0.01 * n for n in range(len(ids))]))
        # two above the relevance cutoff, the rest under it
        return SearchResult(self._hits(ids[:2], [0.5, 0.5]), more=len(ids) - 2)

    def close(self) -> None:
        self.closed = True


if TYPE_CHECKING:  # mypy checks here that the fake is what the app's Protocol says
    _IS_SMART_SEARCH: type[SmartSearch] = FakeSearch


@pytest.fixture
def runner() -> Iterator[Any]:
    """A job runner that runs each job inline (order matters in these tests)."""
    from desktop.gui.app.jobs import JobRunner

    r = JobRunner(synchronous=True)
    yield r
    r.shutdown()


@pytest.fixture
def make_window(qtbot: Any) -> Iterator[Any]:
    """make_window(library, search=None) -> MainWindow, shown, with a synchronous job runner."""
    from desktop.gui.app.application import build_main_window

    made: list[Any] = []

    def _make(library: Library, search: Any = None, smart_search: bool = False) -> Any:
        ctx, window = build_main_window(
            library, synchronous=True, watch=False, smart_search=smart_search, search_service=search
        )
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        made.append(ctx)
        return window

    yield _make
    for ctx in made:
        ctx.shutdown()


@pytest.fixture
def fake_search() -> type[FakeSearch]:
    return FakeSearch
