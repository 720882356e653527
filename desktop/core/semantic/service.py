"""What the desktop app asks of smart search: the ``SmartSearch`` Protocol.

The app holds whichever service answers queries now (``SearchService`` with a
model process; a fake in the GUI tests) through this Protocol, so mypy checks
that the real service, the fakes and the GUI's calls agree on one set of
signatures.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from desktop.core.catalog.filters import PhotoFilter
    from desktop.core.runtime.jobs import JobControl
    from desktop.core.semantic.clip_models import ModelSpec
    from desktop.core.semantic.embedder import BatchEncoder
    from desktop.core.semantic.search import SearchResult


class SmartSearch(Protocol):
    """Text and similar-photo search over one library, safe to call from job threads."""

    @property
    def uses_model_process(self) -> bool:
        """True when the model runs in a child process; embedding then goes through ``model_process``."""
        ...

    def model_process(self, spec: ModelSpec, control: JobControl | None = None) -> BatchEncoder:
        """The running model process for ``spec`` (started if needed), to embed photos with."""
        ...

    def search(
        self,
        query: str,
        limit: int = 50,
        sort: str = "score",
        everything: bool = False,
        base: PhotoFilter | None = None,
    ) -> SearchResult:
        """Photos matching free text and filters (``desktop.core.catalog.query`` syntax)."""
        ...

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
        """Photos like ``photo`` (a photo id, or a path to any image), narrowed by ``query``."""
        ...

    def close(self) -> None:
        """Stop the model processes and save the index; later queries fail with ``ModelUnavailable``."""
        ...
