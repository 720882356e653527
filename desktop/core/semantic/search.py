"""Smart search: text, image and "find similar" queries over the CLIP index, with filters.

``SearchService`` is what the CLI and the GUI call (from a worker thread; it is
thread-safe). One query string mixes free text with filters (see
``desktop.core.catalog.query`` for the syntax); the free text is embedded (recent
queries are cached), matched against the index of the serving model, and
blended with a keyword match of tags, file names, titles, descriptions and
keywords, so a word the person typed into a photo is found even where CLIP
misses it. Filters narrow the candidates first; a small candidate set is
searched exactly, so a selective filter never hides good matches.

Relevance: CLIP scores shift from query to query, so there is no global
threshold. Each query is scored against a fixed random sample of the library
(its background distribution); hits must stand ``CUTOFF_Z`` standard
deviations above that background mean. Keyword matches always pass. What the
cutoff drops is counted in ``SearchResult.more`` and returned with
``everything=True`` ("show more").

Models: the *active* model (``model use``) is the one the library is being
embedded with; the *serving* model answers searches. After a switch the old
model keeps serving until the new one has embedded every photo, then
``index_library`` promotes it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from desktop.core.catalog import pairs
from desktop.core.catalog.db import database
from desktop.core.catalog.filters import (
    PhotoFilter,
    apply_filter,
    check_tags,
    fold,
    fold_has_any,
    in_values,
    photo_text,
)
from desktop.core.catalog.query import ParsedQuery, QueryError, parse_query
from desktop.core.catalog.schema import Photo, PhotoTag, Root, Tag
from desktop.core.runtime.wording import SHOEBOX, counted
from desktop.core.semantic.clip_models import (
    ModelSpec,
    ModelUnavailable,
    load_manifest,
    load_model,
    model_status,
)
from desktop.core.semantic.device import DevicePlan, configure_threads, plan_device
from desktop.core.semantic.embedder import (
    BatchEncoder,
    Embedder,
    EmbedReport,
    open_catalog_index,
    pending_count,
    rows_of,
    stored_vectors,
    sync_index,
)
from desktop.core.semantic.model_process import ModelProcess

if TYPE_CHECKING:
    from desktop.core.library import Library
    from desktop.core.runtime.jobs import JobControl
    from desktop.core.semantic.clip_models import ClipModel
    from desktop.core.semantic.service import SmartSearch
    from desktop.core.semantic.vector_index import VectorIndex

log = logging.getLogger(__name__)

SETTING_MODEL = "search.model"  # ModelSpec JSON: what the library is (being) embedded with
SETTING_SERVING = "search.serving_model"  # ModelSpec JSON: whose embeddings were complete last
SETTING_DEVICE = "smart_search.device"  # "" = automatic; cuda / mps / cpu
SETTING_PRECISION = "smart_search.precision"  # "" = automatic; fp32 / bf16 / fp16


def library_plan(library: Library) -> DevicePlan | None:
    """The device and precision the user chose in Settings, or None for automatic."""
    device = library.get_setting(SETTING_DEVICE, "") or None
    precision = library.get_setting(SETTING_PRECISION, "") or None
    if device is None and precision is None:
        return None
    return plan_device(device, precision)


CUTOFF_Z = 3.0
TIE_EPS = 1e-4  # float16 vectors: identical content scores equal to within this
MIN_BACKGROUND = 64  # fewer vectors than this: no statistics, no cutoff
KEYWORD_WEIGHT = 0.10  # added to the CLIP score, scaled by the share of query words matched
POOL_MIN = 200
QUERY_CACHE = 256
PENDING_TTL_S = 30.0
KEYWORD_SCAN_MAX = 20_000  # beyond this a LIKE scan per query costs more than the latency budget


# ------------------------------------------------------------------ model choice
def active_spec(library: Library) -> ModelSpec:
    raw = library.get_setting(SETTING_MODEL)
    if raw:
        try:
            return ModelSpec.from_json(raw)
        except (ValueError, KeyError):
            log.warning("ignoring an unreadable %s setting", SETTING_MODEL)
    return load_manifest().default_entry().spec()


def serving_spec(library: Library) -> ModelSpec | None:
    raw = library.get_setting(SETTING_SERVING)
    if not raw:
        return None
    try:
        return ModelSpec.from_json(raw)
    except (ValueError, KeyError):
        return None


def set_active_model(library: Library, spec: ModelSpec) -> None:
    """Embed the library with ``spec`` from now on; the current serving model stays until it is done."""
    library.set_setting(SETTING_MODEL, spec.to_json())


def _mark_serving(library: Library, spec: ModelSpec) -> None:
    library.set_setting(SETTING_SERVING, spec.to_json())


def extra_status(library: Library) -> dict[str, Any]:
    """Smart-search fields of ``status --json`` (no torch import)."""
    spec = active_spec(library)
    serving = serving_spec(library)
    mid = spec.model_id
    return {
        "embedded": library.embedded_count(mid),
        "pending_embeddings": pending_count(mid),
        "model": spec.label(),
        "model_id": mid,
        "serving_model": serving.label() if serving else None,
    }


def index_library(
    library: Library,
    spec: ModelSpec | None = None,
    control: JobControl | None = None,
    plan: DevicePlan | None = None,
    batch_size: int = 32,
    decode_workers: int | None = None,
    limit: int | None = None,
    leave_free_cores: int = 1,
    encoder_for: Callable[[ModelSpec, JobControl | None], BatchEncoder] | None = None,
) -> EmbedReport:
    """Embed everything pending for ``spec`` (default: the active model); ``spec`` becomes active.

    When nothing is left pending the model becomes the serving one. The CLI
    embeds in its own process with every core (``leave_free_cores=0``; on 2
    cores torch with 2 threads embeds about twice as fast as with 1). The
    desktop app passes ``encoder_for`` (``SearchService.model_process``): the
    model then runs in its own process at background priority, so it never
    takes the GIL or the CPU from the GUI thread.
    """
    switching = spec is not None and spec.model_id != active_spec(library).model_id
    if spec is None:
        spec = active_spec(library)
    encoder: ClipModel | BatchEncoder
    if encoder_for is not None:
        if not switching and pending_count(spec.model_id) == 0:
            _serve_if_complete(library, spec)  # complete (its last photos went, say): it answers now
            return EmbedReport(spec.model_id)  # nothing new: no need to wake a model process
        if control is not None:
            control.report(0, 0, "starting the model", force=True)
        encoder = encoder_for(spec, control)
    else:
        encoder = load_model(spec, library.paths.models, plan=plan or library_plan(library))
        if encoder.plan.device == "cpu":
            configure_threads(leave_free=leave_free_cores)
    if switching:
        set_active_model(library, spec)  # only a model that loaded becomes the active one
    model_id = encoder.model_id
    # an index already open in this process is current (this job adds what it embeds); reconciling
    # it again read 100k catalog rows at every start of a job
    idx = open_catalog_index(library, model_id, encoder.embed_dim, sync=False)
    report = Embedder(library, encoder, idx, batch_size=batch_size, decode_workers=decode_workers).run(
        control, limit
    )
    if not report.cancelled:
        _serve_if_complete(library, spec)
    return report


def _serve_if_complete(library: Library, spec: ModelSpec) -> None:
    """A model with every photo embedded becomes the one that answers searches."""
    if pending_count(spec.model_id) == 0:
        current = serving_spec(library)
        if current is None or current.model_id != spec.model_id:
            _mark_serving(library, spec)


# ----------------------------------------------------------------------- results
@dataclass(frozen=True)
class SearchHit:
    photo_id: int
    path: str
    score: float
    content_hash: str
    taken_local: str | None
    keyword: bool = False  # a tag, name, title, description or keyword matched the text

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "score": round(self.score, 5), "id": self.photo_id}


@dataclass
class SearchResult:
    hits: list[SearchHit]
    more: int = 0  # hits under the relevance cutoff, returned with everything=True
    cutoff: float | None = None
    model_id: str = ""
    text: str = ""
    filter: PhotoFilter = field(default_factory=PhotoFilter)
    elapsed_ms: float = 0.0
    notice: str | None = None  # e.g. "312 photos are not embedded yet"


# ------------------------------------------------------------------------ service
class SearchService:
    """Text / image / similar search for one library. Safe to share between threads."""

    def __init__(
        self,
        library: Library,
        spec: ModelSpec | None = None,
        plan: DevicePlan | None = None,
        allow_download: bool = True,
        model_process: bool = False,
    ) -> None:
        """``model_process=True`` (the desktop app) runs the model in a child process
        (``desktop.core.semantic.model_process``): this process then never imports torch."""
        self.library = library
        self._explicit = spec
        self._plan = plan
        self._allow_download = allow_download
        self._use_process = model_process
        self._processes: dict[str, ModelProcess] = {}
        self._failures: dict[str, str] = {}  # model id -> why it would not load
        self._process_lock = threading.Lock()
        self._closed = False
        self._lock = threading.RLock()
        self._model: ClipModel | ModelProcess | None = None
        self._index: VectorIndex | None = None
        self._cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._pending: tuple[float, str, int] = (0.0, "", 0)
        self._count: tuple[float, int] = (-1e9, 0)  # (when, model id, count): a COUNT is slow at 1M

    # -- model and index
    def spec(self) -> ModelSpec:
        """The model answering queries: the explicit one, else the serving one, else the active one."""
        if self._explicit is not None:
            return self._explicit
        return serving_spec(self.library) or active_spec(self.library)

    @property
    def uses_model_process(self) -> bool:
        return self._use_process

    def model(self) -> ClipModel | ModelProcess:
        with self._lock:
            self._check_open()
            spec = self.spec()
            current = self._model
            stale = current is None or current.model_id != spec.model_id
            if self._use_process and not stale and not getattr(current, "alive", True):
                stale = True  # the model process died: start another (the index stays valid)
            if not stale:
                assert current is not None
                return current
            if not self._use_process:
                self._model = load_model(
                    spec,
                    self.library.paths.models,
                    plan=self._plan or library_plan(self.library),
                    allow_download=self._allow_download,
                )
                if current is None or current.model_id != self._model.model_id:
                    self._index = None
                return self._model
        # a model process loads for seconds: wait for it without the lock, so close() and other
        # queries are never stuck behind it
        proc = self.model_process(spec)
        with self._lock:
            self._check_open()
            if self._model is None or self._model.model_id != proc.model_id:
                self._index = None
            self._model = proc
            return proc

    def _check_open(self) -> None:
        if self._closed:
            raise ModelUnavailable("Smart search was stopped (the app is closing or switching models).")

    def model_process(self, spec: ModelSpec, control: JobControl | None = None) -> ModelProcess:
        """A running model process for ``spec``, started and loaded if needed (model-process mode).

        The serving model's process answers queries; while the library switches
        to another model, that model's process embeds beside it. Idle processes
        of models that are neither are stopped. A model that failed to load is
        not tried again by this service (the app makes a new one when the
        person picks another model or device).
        """
        with self._process_lock:
            self._check_open()
            failed = self._failures.get(spec.model_id)
            if failed is not None:
                raise ModelUnavailable(failed)
            proc = self._processes.get(spec.model_id)
            if proc is None or not proc.alive:
                if proc is not None:
                    proc.close()
                device = (
                    self._plan.device if self._plan else self.library.get_setting(SETTING_DEVICE, "") or None
                )
                precision = (
                    self._plan.precision
                    if self._plan
                    else self.library.get_setting(SETTING_PRECISION, "") or None
                )
                proc = ModelProcess(
                    spec,
                    self.library.paths.models,
                    self.library.thumbnails,
                    device=device,
                    precision=precision,
                )
                self._processes[spec.model_id] = proc
            keep = {spec.model_id, self.spec().model_id, active_spec(self.library).model_id}
            for mid in [m for m in self._processes if m not in keep and not self._processes[m].busy]:
                self._processes.pop(mid).close()
        try:
            proc.wait_ready(control)
        except ModelUnavailable as exc:
            with self._process_lock:
                self._failures[spec.model_id] = str(exc)
            raise
        with self._process_lock:
            if self._closed:
                proc.close()
                self._check_open()
        return proc

    def index(self) -> VectorIndex:
        model = self.model()
        with self._lock:
            if self._index is None or self._index.model_id != model.model_id:
                self._index = open_catalog_index(self.library, model.model_id, model.embed_dim)
            return self._index

    def refresh(self) -> None:
        """Re-check the index against the catalog (after scans, deletes, a model switch)."""
        with self._lock:
            self._index = None
        sync_index(self.index())

    def close(self) -> None:
        """Stop the model processes first (a load in progress then fails at once), then save the index."""
        with self._process_lock:
            self._closed = True
            processes, self._processes = list(self._processes.values()), {}
        for proc in processes:
            proc.close()
        with self._lock:
            if self._index is not None and self._index.dirty:
                self._index.save()

    # -- query vectors
    def embed_text(self, text: str) -> np.ndarray:
        model = self.model()
        key = (model.model_id, text.strip().lower())
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        vec: np.ndarray = model.encode_texts([text.strip()])[0]
        with self._cache_lock:
            self._cache[key] = vec
            while len(self._cache) > QUERY_CACHE:
                self._cache.popitem(last=False)
        return vec

    def photo_vectors(self, photo: int | Path | str) -> tuple[np.ndarray, int | None]:
        """The vectors (rows, dim) of a library photo (by id or path) -- one for a photo, one per
        keyframe for a video -- or the one of any image file; plus its photo id."""
        model = self.model()
        row: Photo | None = None
        if isinstance(photo, int):
            row = self.library.photo(photo)
            if row is None:
                raise ModelUnavailable(f"There is no photo with id {photo}.")
        else:
            row = self.library.photo_by_path(Path(photo))
        if row is not None and row.content_hash:
            vecs = self.index().frames(row.content_hash)
            if vecs is None:
                vecs = stored_vectors(model.model_id, row.content_hash, model.embed_dim)
            if vecs is not None:
                return vecs, int(row.id)
        path = Path(photo) if not isinstance(photo, int) else Path(row.root.path) / row.rel_path  # type: ignore[union-attr]
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist.")
        return model.encode_image_file(path).reshape(1, -1), (int(row.id) if row is not None else None)

    # -- queries
    def search(
        self,
        query: str,
        limit: int = 50,
        sort: str = "score",
        everything: bool = False,
        base: PhotoFilter | None = None,
    ) -> SearchResult:
        """Free text + filters (``desktop.core.catalog.query`` syntax). Text-less queries list by date;
        a query with ``similar:ID`` is answered by ``similar`` (the rest of the query refines it)."""
        t0 = time.perf_counter()
        parsed = parse_query(query, base)
        check_tags(parsed.filter.tags)  # "No tag named …" rather than silently nothing
        if parsed.similar is not None:
            return self.similar(parsed.similar, limit=limit, query=query, sort=sort, everything=everything)
        if not parsed.text:
            return self._filter_only(parsed, limit, t0)
        qvec = self.embed_text(parsed.text)
        return self._rank(qvec, parsed, limit, sort, everything, t0)

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
        """Photos like ``photo`` (a library photo or any image file), optionally "+ text - text".

        ``query`` may hold filters (and free text, which counts as ``plus``). From a video the
        query is its keyframes, each shifted by the text: a photo or video then scores its best
        match with any of them, as a text query matches a video by its best frame. (Not their
        mean: a clip of a beach and then a street would find neither.)
        """
        t0 = time.perf_counter()
        parsed = parse_query(query)
        check_tags(parsed.filter.tags)
        vecs, _ = self.photo_vectors(photo)
        q = vecs.astype(np.float32).copy()
        extra_plus = [parsed.text] if parsed.text else []
        for t in [*plus, *extra_plus]:
            if t.strip():
                q += self.embed_text(t)
        for t in minus:
            if t.strip():
                q -= self.embed_text(t)
        q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        parsed.terms = []  # keyword matching is for text queries; here the image leads
        return self._rank(q, parsed, limit, sort, everything, t0)

    def _pending_count(self, model_id: str) -> int:
        when, mid, n = self._pending
        now = time.monotonic()
        if mid != model_id or now - when > PENDING_TTL_S:
            n = pending_count(model_id)
            self._pending = (now, model_id, n)
        return n

    def _filter_only(self, parsed: ParsedQuery, limit: int, t0: float) -> SearchResult:
        photos = self.library.query(parsed.filter, limit=limit)
        hits = [
            SearchHit(p.id, str(Path(p.root.path) / p.rel_path), 0.0, p.content_hash or "", p.taken_local)
            for p in photos
        ]
        return SearchResult(hits, text="", filter=parsed.filter, elapsed_ms=(time.perf_counter() - t0) * 1000)

    def _candidates(self, f: PhotoFilter, idx: VectorIndex) -> set[str] | None:
        """Hashes the filter allows, or None for "the whole library" (no filter, or a broad one)."""
        if f == PhotoFilter():
            return None
        q = apply_filter(Photo.select(Photo.content_hash), f).where(Photo.content_hash.is_null(False))
        n = q.count()
        if n > idx.exact_candidates_max:
            return None  # broad: search the graph, then check hits against the filter
        return {str(h) for (h,) in rows_of(q)}

    def _keyword_hashes(self, parsed: ParsedQuery, pool: Sequence[str]) -> dict[str, int]:
        """content hash -> how many query words its photo's text fields or tags contain.

        Tags are matched across the library (the tag table is small). Names, titles,
        descriptions and keywords are matched across the library up to
        ``KEYWORD_SCAN_MAX`` photos (one LIKE scan) and within the CLIP candidates beyond.
        """
        terms = parsed.terms[:8]
        if not terms:
            return {}
        found: dict[str, set[str]] = {}
        # the text is folded to match, accents and case ignored (the terms come folded)
        text_cond = fold_has_any(photo_text(), terms)
        all_tags = {int(tid): fold(str(name)) for tid, name in rows_of(Tag.select(Tag.id, Tag.name))}
        tag_names = {tid: name for tid, name in all_tags.items() if any(t in name for t in terms)}
        text_cols = (Photo.content_hash, Photo.rel_path, Photo.title, Photo.description, Photo.keywords)
        if self._photo_count() > KEYWORD_SCAN_MAX:
            # a big library: only the CLIP candidates, looked up by hash and matched here. (A LIKE
            # scan beside a status or filter index made SQLite walk every photo: 150 ms a query.)
            # The filter needs no checking: results are filtered when their rows are read.
            q = Photo.select(*text_cols).where(in_values(Photo.content_hash, list(pool)[:2000]))
            sql, params = q.sql()
            rows = database.execute_sql(sql, params).fetchall()
        else:
            q = apply_filter(Photo.select(*text_cols), parsed.filter).where(Photo.content_hash.is_null(False))
            rows = list(rows_of(q.where(text_cond).limit(2000)))
        for h, *texts in rows:
            blob = fold(" ".join(str(x) for x in texts if x))
            hit = {t for t in terms if t in blob}
            if hit:
                found.setdefault(str(h), set()).update(hit)
        if tag_names:
            tq = apply_filter(
                Photo.select(Photo.content_hash, PhotoTag.tag).join(
                    PhotoTag, on=(PhotoTag.photo == Photo.id)
                ),
                parsed.filter,
            ).where(in_values(PhotoTag.tag, tag_names) & Photo.content_hash.is_null(False))
            for h, tid in rows_of(tq.limit(2000)):
                found.setdefault(str(h), set()).update(t for t in terms if t in tag_names[int(tid)])
        return {h: len(ts) for h, ts in found.items() if ts}

    def _photo_count(self) -> int:
        when, n = self._count
        now = time.monotonic()
        if now - when > PENDING_TTL_S:
            n = int(Photo.select().count())
            self._count = (now, n)
        return n

    def _rank(
        self, qvec: np.ndarray, parsed: ParsedQuery, limit: int, sort: str, everything: bool, t0: float
    ) -> SearchResult:
        idx = self.index()
        f = parsed.filter
        pool = max(limit * 2, POOL_MIN)
        cands = self._candidates(f, idx)
        scored: dict[str, float] = {}
        filtered_later = cands is None and f != PhotoFilter()
        k = pool * 4 if filtered_later else pool
        for h, s in idx.search(qvec, k, cands):
            scored[h] = s
        kw = self._keyword_hashes(parsed, list(scored))
        if kw:
            missing = [h for h in kw if h not in scored]
            scored.update(idx.scores(qvec, missing))
        n_terms = max(1, len(parsed.terms[:8]))
        final = {h: s + (KEYWORD_WEIGHT * kw[h] / n_terms if h in kw else 0.0) for h, s in scored.items()}

        cutoff: float | None = None
        if len(idx) >= MIN_BACKGROUND:
            bg = idx.sample_scores(qvec)
            cutoff = float(bg.mean() + CUTOFF_Z * bg.std())
        hits = self._rows(final, f, set(kw))
        hits.sort(key=lambda h: (-h.score, h.photo_id))
        kept = hits if (everything or cutoff is None) else [h for h in hits if h.keyword or h.score >= cutoff]
        more = len(hits) - len(kept)
        if not everything and cutoff is not None and hits:
            # never an empty page when something matched, and never split a tie at the top
            # (a photo's exact duplicates score the same as the photo itself)
            top = hits[0].score
            ties = [h for h in hits if h.score >= top - TIE_EPS and h not in kept]
            if ties:
                kept = sorted(kept + ties, key=lambda h: (-h.score, h.photo_id))
                more = len(hits) - len(kept)
        if sort == "date":
            kept.sort(key=lambda h: (h.taken_local or "", h.photo_id), reverse=True)
        notice = None
        pending = self._pending_count(idx.model_id)
        if pending:
            are = "is" if pending == 1 else "are"
            notice = (
                f"{counted(pending, 'photo')} {are} not embedded yet; "
                f"run '{SHOEBOX} index' (or wait) to include them."
            )
        return SearchResult(
            hits=kept[:limit],
            more=more + max(0, len(kept) - limit),
            cutoff=cutoff,
            model_id=idx.model_id,
            text=parsed.text,
            filter=f,
            elapsed_ms=(time.perf_counter() - t0) * 1000,
            notice=notice,
        )

    def _rows(self, scores: dict[str, float], f: PhotoFilter, keyword: set[str]) -> list[SearchHit]:
        """Every readable photo (duplicates included) with a scored content, honouring ``f``."""
        # by hash alone first (with the filter in the same query SQLite may pick the status index);
        # the statuses are checked here, the rest of a filter by a second query over the ids found
        q = (
            Photo.select(
                Photo.id, Photo.rel_path, Photo.content_hash, Photo.taken_local, Root.path, Photo.status
            )
            .join(Root)
            .where(in_values(Photo.content_hash, scores))
        )
        sql, params = q.sql()
        statuses = set(f.statuses)
        found = [r for r in database.execute_sql(sql, params).fetchall() if not statuses or r[5] in statuses]
        # (grouped pairs: the filter hides companions, so a RAW or a Live Photo's clip never shows twice)
        if replace(f, statuses=()) != PhotoFilter(statuses=()) or pairs.grouping_on():
            allowed = {
                int(pid)
                for (pid,) in rows_of(
                    apply_filter(Photo.select(Photo.id), f).where(in_values(Photo.id, [r[0] for r in found]))
                )
            }
            found = [r for r in found if r[0] in allowed]
        join = os.path.join
        return [
            SearchHit(int(pid), join(root, rel), scores[h], h, taken, h in keyword)
            for pid, rel, h, taken, root, _status in found
        ]


if TYPE_CHECKING:  # mypy checks here that the service is what the app's Protocol says
    _IS_SMART_SEARCH: type[SmartSearch] = SearchService


def keyword_search(library: Library, query: str, limit: int = 50, sort: str = "score") -> SearchResult:
    """Search without a model: filters plus every free-text word in a name, title, description,
    keyword or tag (``ParsedQuery.keyword_filter``, which the app's grid browses too). What
    ``search`` answers when no CLIP model is available."""
    t0 = time.perf_counter()
    parsed = parse_query(query)
    check_tags(parsed.filter.tags)
    if parsed.similar is not None:
        raise QueryError("Finding similar photos needs the smart-search model; without it, search by words.")
    q = apply_filter(
        Photo.select(Photo.id, Photo.rel_path, Photo.content_hash, Photo.taken_local, Root.path).join(Root),
        parsed.keyword_filter(),
    )
    q = q.order_by(Photo.taken_local.desc(), Photo.id.desc()).limit(limit)
    hits = [
        SearchHit(int(pid), str(Path(root) / rel), 1.0, str(h or ""), taken, True)
        for pid, rel, h, taken, root in rows_of(q)
    ]
    return SearchResult(
        hits=hits,
        more=0,
        cutoff=None,
        model_id="",
        text=parsed.text,
        filter=parsed.filter,
        elapsed_ms=(time.perf_counter() - t0) * 1000,
        notice=None,
    )


@dataclass(frozen=True)
class ModelChoice:
    """A model people can pick (a manifest entry, or the weights file they chose) and its state here."""

    name: str
    arch: str
    pretrained: str | None
    downloaded: bool
    active: bool
    serving: bool
    in_manifest: bool = True
    embed_dim: int = 0
    download_mb: int = 0
    licence: str = ""
    note: str = ""
    requires: tuple[str, ...] = ()
    weights: str | None = None  # the chosen weights file (not in the manifest)

    def as_dict(self) -> dict[str, Any]:
        """The record ``model list --json`` prints."""
        head: dict[str, Any] = {"name": self.name, "arch": self.arch, "pretrained": self.pretrained}
        if not self.in_manifest:
            state = {"downloaded": self.downloaded, "active": self.active, "serving": self.serving}
            return {**head, "weights": self.weights, **state}
        return {
            **head,
            "embed_dim": self.embed_dim,
            "download_mb": self.download_mb,
            "licence": self.licence,
            "note": self.note,
            "requires": list(self.requires),
            "downloaded": self.downloaded,
            "active": self.active,
            "serving": self.serving,
        }


def model_choices(library: Library) -> list[ModelChoice]:
    """The manifest with what is downloaded and what is active/serving, then the active model when
    the manifest does not hold it (a chosen weights file). The one model list: ``model list`` and
    the app's settings both show it. Checking what is downloaded may import open_clip."""
    active = active_spec(library)
    serving = serving_spec(library)
    out = []
    for e in load_manifest().models:
        spec = e.spec()
        st = model_status(spec, library.paths.models)
        out.append(
            ModelChoice(
                name=e.name,
                arch=e.arch,
                pretrained=e.pretrained,
                downloaded=bool(st["downloaded"]),
                active=spec.model_id == active.model_id,
                serving=serving is not None and spec.model_id == serving.model_id,
                embed_dim=e.embed_dim,
                download_mb=e.download_mb,
                licence=e.licence,
                note=e.note,
                requires=e.requires,
            )
        )
    if active.weights or not any(c.active for c in out):
        out.append(
            ModelChoice(
                name=active.label(),
                arch=active.arch,
                pretrained=active.pretrained,
                downloaded=bool(active.weights and Path(active.weights).is_file()),
                active=True,
                serving=serving is not None and serving.model_id == active.model_id,
                in_manifest=False,
                weights=active.weights,
            )
        )
    return out


def model_list(library: Library) -> list[dict[str, Any]]:
    """``model_choices`` as ``model list --json`` prints them."""
    return [c.as_dict() for c in model_choices(library)]
