"""The vector index of one model: content hash -> unit vector(s), nearest neighbours.

Vectors are keyed by file content hash (identical files share one vector; a
moved file keeps its hash, so moves never touch the index), persisted under
``paths.index/<model>/`` with the label -> hash map beside them. The
catalog's ``Embedding`` table stays the source of truth: ``diff`` compares the
index with it at start-up so the caller can add what is missing, delete what
is gone, or rebuild a damaged index.

Two modes, by size. Up to ``exact_max`` vectors (150k: most personal
libraries) the index is a float32 matrix and every query an exact matrix
product (about 7 ms at 100k); it is saved as ``vectors.npy`` and read back with
the GIL released. Beyond that queries go through an hnswlib graph (inner
product, M=16), grown incrementally as embeddings arrive. The graph is built
only when a library crosses ``exact_max``, on a background thread at low
priority while the matrix keeps answering, because hnswlib holds the GIL
while it loads or saves a graph (~0.25 s per 100k vectors, a frozen window in
the desktop app). A candidate set (a selective filter) is always searched
exactly over its own vectors, so filters never hide good matches that the
graph would have pruned.

A video has several rows under its one hash, one per embedded keyframe (a
photo has one). Every row is a point of the matrix or the graph; queries rank
rows and then keep each hash's best row, so a video matches a query by its
best frame and comes back once. A query may itself be several vectors (*Find
similar* from a video: its frames); a row then scores its best match among
them, so two videos score their best pair of frames.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.runtime.jobs import lower_thread_priority

log = logging.getLogger(__name__)

INDEX_VERSION = 2  # 2: a hash may own several rows (a video's frames); a version-1 index reads as is
READABLE_VERSIONS = (1, 2)
HASH_DTYPE = "S64"


@dataclass(frozen=True)
class IndexDiff:
    missing: set[str]  # in the catalog, not in the index
    extra: set[str]  # in the index, no longer in the catalog

    @property
    def consistent(self) -> bool:
        return not self.missing and not self.extra


def _as_queries(query: np.ndarray, dim: int) -> np.ndarray:
    """A query as (vectors, dim) float32: one row for a text or a photo, one per frame for a video."""
    return np.asarray(query, dtype=np.float32).reshape(-1, dim)


def _best(rows: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Each row's score: its best inner product with any of the queries."""
    scores: np.ndarray = rows @ queries[0] if queries.shape[0] == 1 else (rows @ queries.T).max(axis=1)
    return scores


def index_dir_name(model_id: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id).strip("_")
    return slug[:120] or "model"


class VectorIndex:
    """Thread-safe; every public method takes the index lock (queries cost about a millisecond)."""

    def __init__(
        self,
        directory: Path,
        model_id: str,
        dim: int,
        exact_max: int = 150_000,
        exact_candidates_max: int = 50_000,
        m: int = 16,
        ef_construction: int = 200,
        ef_search: int = 160,
        threads: int | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.model_id = model_id
        self.dim = dim
        self.exact_max = exact_max
        self.exact_candidates_max = exact_candidates_max
        self.m = m
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self._threads = threads or max(1, (os.cpu_count() or 2) - 1)
        self._lock = threading.RLock()
        self._labels: dict[str, list[int]] = {}  # live hash -> its labels (a video: one per frame)
        self._hashes: list[str | None] = []  # label -> hash; None once deleted
        self._extra = 0  # live rows beyond one per hash: how many more rows a top k must look at
        self._hnsw: Any = None  # the graph, in graph mode only
        self._mat: np.ndarray | None = None  # float32 rows by label, in exact mode
        self._live: np.ndarray = np.zeros(0, dtype=bool)
        self._builder: threading.Thread | None = None
        self._changed: set[int] | None = None  # labels written while the graph is being built
        self.dirty = False

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        with self._lock:
            return len(self._labels)

    def __contains__(self, content_hash: object) -> bool:
        with self._lock:
            return content_hash in self._labels

    def hashes(self) -> set[str]:
        with self._lock:
            return set(self._labels)

    @property
    def uses_graph(self) -> bool:
        """True when whole-library queries go through the hnsw graph rather than exact search."""
        with self._lock:
            return self._mat is None and self._hnsw is not None

    def wait_for_graph(self, timeout_s: float | None = None) -> bool:
        """Wait for a graph being built in the background (tests, benchmarks); True once in graph mode."""
        builder = self._builder
        if builder is not None:
            builder.join(timeout_s)
        return self.uses_graph

    def memory_bytes(self) -> int:
        with self._lock:
            n = len(self._hashes)
            graph = n * (4 * self.dim + 2 * self.m * 4 + 8 + 64) if self._hnsw is not None else 0
            mat = self._mat.nbytes if self._mat is not None else 0
            return graph + mat + (len(self._labels) + self._extra) * 150

    def _new_graph(self, capacity: int) -> Any:
        import hnswlib

        g = hnswlib.Index(space="ip", dim=self.dim)
        g.init_index(max_elements=max(capacity, 1024), ef_construction=self.ef_construction, M=self.m)
        g.set_ef(self.ef_search)
        g.set_num_threads(self._threads)
        return g

    def _ensure_capacity(self, extra: int) -> None:
        need = len(self._hashes) + extra
        if self._mat is None:  # graph mode
            if self._hnsw is None:
                self._hnsw = self._new_graph(max(need * 2, 1024))
            elif need > self._hnsw.get_max_elements():
                self._hnsw.resize_index(max(need, self._hnsw.get_max_elements() * 2))
        elif need > self._mat.shape[0]:
            grown = np.zeros((max(need, self._mat.shape[0] * 2, 1024), self.dim), dtype=np.float32)
            grown[: self._mat.shape[0]] = self._mat
            self._mat = grown
        if need > self._live.shape[0]:
            live = np.zeros(max(need, self._live.shape[0] * 2, 1024), dtype=bool)
            live[: self._live.shape[0]] = self._live
            self._live = live

    # --------------------------------------------------------------- changes
    def add(self, hashes: Sequence[str], vectors: np.ndarray) -> int:
        """Add or replace vectors (unit length, shape (N, dim)); returns how many hashes were new.

        The rows a call gives under one hash become all of that hash's rows (a video's
        frames are given together, consecutively or not), replacing any it had.
        """
        vecs = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if len(hashes) != vecs.shape[0]:
            raise ValueError("one vector per hash")
        if not len(hashes):
            return 0
        groups: dict[str, list[int]] = {}
        for i, h in enumerate(hashes):
            groups.setdefault(h, []).append(i)
        with self._lock:
            if self._mat is None and self._hnsw is None:
                self._mat = np.zeros((0, self.dim), dtype=np.float32)  # a new index starts exact
            grow = sum(max(0, len(rows) - len(self._labels.get(h, ()))) for h, rows in groups.items())
            self._ensure_capacity(grow)
            labels: list[int] = []
            order: list[int] = []
            new = 0
            for h, rows in groups.items():
                old = self._labels.get(h)
                if old is None:
                    new += 1
                    old = []
                keep = old[: len(rows)]
                self._drop(old[len(rows) :])
                for _ in range(len(rows) - len(keep)):
                    keep.append(len(self._hashes))
                    self._hashes.append(h)
                self._extra += (len(keep) - 1) - (len(old) - 1 if old else 0)
                self._labels[h] = keep
                labels.extend(keep)
                order.extend(rows)
            arr = np.asarray(labels, dtype=np.int64)
            rows_in = vecs[np.asarray(order, dtype=np.int64)]
            if self._mat is not None:
                self._mat[arr] = rows_in
                if self._changed is not None:
                    self._changed.update(labels)
            else:
                self._hnsw.add_items(rows_in, arr)  # hnswlib lets the GIL go while it inserts
            self._live[arr] = True
            self.dirty = True
            self._maybe_build_graph()
            return new

    def _drop(self, labels: Iterable[int]) -> None:
        """Retire rows (their labels are never reused: the saved graph and id map stay aligned)."""
        for lab in labels:
            self._hashes[lab] = None
            self._live[lab] = False
            if self._mat is None:
                with contextlib.suppress(RuntimeError):
                    self._hnsw.mark_deleted(lab)

    def _row_count(self) -> int:
        return len(self._labels) + self._extra

    # ------------------------------------------------------------ the graph
    def _maybe_build_graph(self) -> None:
        """Past ``exact_max``: build the graph in the background (the matrix answers meanwhile)."""
        if self._mat is None or self._builder is not None or self._row_count() <= self.exact_max:
            return
        self._builder = threading.Thread(target=self._build_graph, name="index-graph-build", daemon=True)
        self._builder.start()

    def _build_graph(self) -> None:
        lower_thread_priority()  # hnswlib's insert threads inherit it: the GUI keeps its cores
        t0 = time.perf_counter()
        try:
            with self._lock:
                assert self._mat is not None
                n = len(self._hashes)
                # every label, removed ones too (then marked): the saved graph then holds exactly
                # the id map's labels, which is how a load checks that the two belong together
                labels = np.arange(n, dtype=np.int64)
                vecs = self._mat[:n].copy()  # adds may grow (replace) the matrix meanwhile
                self._changed = set()
            g = self._new_graph(max(2 * n, 1024))
            for i in range(0, len(labels), 10_000):
                g.add_items(vecs[i : i + 10_000], labels[i : i + 10_000])
            # catch up with what arrived meanwhile outside the lock (searches go on), until little is left
            done = n
            while True:
                with self._lock:
                    assert self._mat is not None and self._changed is not None
                    total = len(self._hashes)
                    redo = sorted(set(range(done, total)) | self._changed)
                    if len(redo) <= 2_000:
                        break
                    self._changed = set()
                    rows = self._mat[redo]
                if total > g.get_max_elements():
                    g.resize_index(max(2 * total, 1024))
                g.add_items(rows, np.asarray(redo, dtype=np.int64))
                done = total
            with self._lock:
                assert self._mat is not None
                total = len(self._hashes)
                if total > g.get_max_elements():
                    g.resize_index(max(2 * total, 1024))
                redo = sorted(set(range(done, total)) | self._changed)
                if redo:
                    g.add_items(self._mat[redo], np.asarray(redo, dtype=np.int64))
                for lab in np.flatnonzero(~self._live[:total]):  # removed, before or during the build
                    with contextlib.suppress(RuntimeError):
                        g.mark_deleted(int(lab))
                self._hnsw, self._mat = g, None  # frees 2 KB a photo
                self.dirty = True
            log.info(
                "index %s: graph of %d vectors built in %.0f s",
                self.model_id,
                total,
                time.perf_counter() - t0,
            )
        except Exception:  # the matrix keeps answering, exactly; the next add tries again
            log.exception("building the search graph of %s failed", self.model_id)
        finally:
            with self._lock:
                self._changed = None
                self._builder = None

    def remove(self, hashes: Iterable[str]) -> int:
        with self._lock:
            n = 0
            for h in hashes:
                labels = self._labels.pop(h, None)
                if labels is None:
                    continue
                self._extra -= len(labels) - 1
                self._drop(labels)
                n += 1
            self.dirty = self.dirty or n > 0
            return n

    def diff(self, catalog_hashes: Collection[str]) -> IndexDiff:
        with self._lock:
            have = set(self._labels)
        want = set(catalog_hashes)
        return IndexDiff(missing=want - have, extra=have - want)

    # ----------------------------------------------------------------- queries
    def vector(self, content_hash: str) -> np.ndarray | None:
        """``content_hash``'s first row: a photo's vector, a video's first keyframe's."""
        rows = self.frames(content_hash)
        return None if rows is None else rows[0]

    def frames(self, content_hash: str) -> np.ndarray | None:
        """Every row of ``content_hash``: (1, dim) for a photo, (frames, dim) for a video."""
        with self._lock:
            labels = self._labels.get(content_hash)
            if labels is None:
                return None
            return self._rows(labels)

    def _rows(self, labels: Sequence[int]) -> np.ndarray:
        if self._mat is not None:
            return self._mat[np.asarray(labels, dtype=np.int64)]
        return np.asarray(self._hnsw.get_items(list(labels)), dtype=np.float32).reshape(-1, self.dim)

    def scores(self, query: np.ndarray, hashes: Iterable[str]) -> dict[str, float]:
        """Exact scores of ``query`` (one vector or several) against the given hashes (those in the
        index): each hash's best row against the best of the query's vectors."""
        with self._lock:
            pairs = [(h, lab) for h in hashes for lab in self._labels.get(h, ())]
            if not pairs:
                return {}
            rows = self._rows([lab for _, lab in pairs])
        s = _best(rows, _as_queries(query, self.dim))
        out: dict[str, float] = {}
        for (h, _), v in zip(pairs, s, strict=True):
            if h not in out or v > out[h]:
                out[h] = float(v)
        return out

    def search(
        self, query: np.ndarray, k: int, candidates: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """The ``k`` nearest hashes (best first, each once) to a unit ``query``, within ``candidates``
        if given. A hash with several rows (a video) scores its best row; a query of several
        vectors (a video's frames) scores each row by the vector it matches best."""
        q = _as_queries(query, self.dim)
        with self._lock:
            live = len(self._labels)
            if live == 0 or k <= 0:
                return []
            if candidates is not None:
                hashes = [h for h in candidates if h in self._labels]
                labels = [lab for h in hashes for lab in self._labels[h]]
                if not labels:
                    return []
                extra = len(labels) - len(hashes)
                if len(labels) <= self.exact_candidates_max or self._hnsw is None:
                    return self._exact(q, k, extra, np.asarray(labels, dtype=np.int64))
                allowed = set(labels)
                want = min(k, len(hashes))
                hits = self._graph(q, want, extra, allowed)
                if len(hits) >= want:
                    return hits
                return self._exact(q, k, extra, np.asarray(labels, dtype=np.int64))
            if self._mat is not None:
                n = len(self._hashes)
                return self._exact(q, k, self._extra, None, n)
            return self._graph(q, min(k, live), self._extra, None)

    def _best_per_hash(self, order: Iterable[tuple[int, float]], k: int) -> list[tuple[str, float]]:
        """Rows best first -> hashes best first, each at its best row, at most ``k``."""
        out: list[tuple[str, float]] = []
        seen: set[str] = set()
        for lab, score in order:
            h = self._hashes[lab]
            if h is None or h in seen or not np.isfinite(score):
                continue
            seen.add(h)
            out.append((h, score))
            if len(out) >= k:
                break
        return out

    def _exact(
        self, q: np.ndarray, k: int, extra: int, labels: np.ndarray | None, n: int = 0
    ) -> list[tuple[str, float]]:
        if labels is None:
            assert self._mat is not None
            scores = _best(self._mat[:n], q)
            scores[~self._live[:n]] = -np.inf
            idx = np.arange(n)
        else:
            scores = _best(self._rows(labels.tolist()), q)
            idx = labels
        # k hashes lie within the top k + extra rows: at most ``extra`` rows repeat a hash above them
        k_rows = min(k + extra, scores.shape[0])
        top = (
            np.argpartition(-scores, k_rows - 1)[:k_rows]
            if k_rows < scores.shape[0]
            else np.arange(scores.shape[0])
        )
        top = top[np.argsort(-scores[top], kind="stable")]
        return self._best_per_hash(((int(idx[i]), float(scores[i])) for i in top), k)

    def _graph(self, q: np.ndarray, k: int, extra: int, allowed: set[int] | None) -> list[tuple[str, float]]:
        # ask for a little more than k rows first (videos are few in most libraries), then for
        # every row k hashes could need when frames crowded the first answer
        k_rows = k + min(extra, k + 16)
        while True:
            self._hnsw.set_ef(max(self.ef_search, 2 * k_rows))
            kwargs: dict[str, Any] = {"k": k_rows, "num_threads": 1}
            if allowed is not None:
                kwargs["filter"] = allowed.__contains__
            try:
                labels, dists = self._hnsw.knn_query(q, **kwargs)
            except RuntimeError:  # fewer reachable elements than k (heavy deletes or filters)
                return []
            # one answer per query vector, merged best first
            order = np.argsort(dists.reshape(-1), kind="stable")
            flat_labels, flat_dists = labels.reshape(-1)[order], dists.reshape(-1)[order]
            hits = self._best_per_hash(
                ((int(lab), 1.0 - float(d)) for lab, d in zip(flat_labels, flat_dists, strict=True)), k
            )
            if len(hits) >= k or k_rows >= k + extra:
                return hits
            k_rows = k + extra

    def sample_scores(self, query: np.ndarray, n: int = 2000, seed: int = 0) -> np.ndarray:
        """Scores of ``query`` against a fixed random sample: the query's background distribution
        (for a query of several vectors, of each sampled row's best score, as its hits are scored)."""
        with self._lock:
            live = np.flatnonzero(self._live[: len(self._hashes)])
            if live.size == 0:
                return np.zeros(0, dtype=np.float32)
            if live.size > n:
                live = np.random.default_rng(seed).choice(live, size=n, replace=False)
            rows = self._rows(live.tolist())
        return _best(rows, _as_queries(query, self.dim))

    # ------------------------------------------------------------- persistence
    def save(self) -> None:
        """Write the graph, the id map and the metadata atomically (each file replaced whole)."""
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            graph = self.directory / "hnsw.bin"
            ids = self.directory / "ids.npy"
            meta = self.directory / "meta.json"
            vectors = self.directory / "vectors.npy"
            if self._mat is not None:
                # exact mode: the matrix alone (np.save writes with the GIL released); no graph
                tmp_vec = self.directory / "vectors.tmp.npy"
                np.save(tmp_vec, self._mat[: len(self._hashes)])
                os.replace(tmp_vec, vectors)
                graph.unlink(missing_ok=True)
            else:
                tmp = graph.with_suffix(".tmp")
                self._hnsw.save_index(str(tmp))  # holds the GIL: graph mode (> exact_max) only
                os.replace(tmp, graph)
                vectors.unlink(missing_ok=True)
            arr = np.array([(h or "").encode("ascii") for h in self._hashes], dtype=HASH_DTYPE)
            tmp_ids = self.directory / "ids.tmp.npy"
            np.save(tmp_ids, arr)
            os.replace(tmp_ids, ids)
            info = {
                "version": INDEX_VERSION,
                "model_id": self.model_id,
                "dim": self.dim,
                "count": len(self._hashes),
                "live": len(self._labels),
                "rows": self._row_count(),
                "m": self.m,
                "ef_construction": self.ef_construction,
            }
            tmp_meta = meta.with_suffix(".tmp")
            tmp_meta.write_text(json.dumps(info), encoding="utf-8")
            os.replace(tmp_meta, meta)
            self.dirty = False

    @classmethod
    def load(cls, directory: Path, model_id: str, dim: int, **kwargs: Any) -> VectorIndex:
        """Load the persisted index, or return an empty one when it is absent, stale or damaged."""
        idx = cls(directory, model_id, dim, **kwargs)
        try:
            idx._load()
        except FileNotFoundError:
            pass
        except Exception as exc:  # a damaged index is a cache: start over, the catalog refills it
            log.warning("vector index at %s is unreadable (%s); it will be rebuilt", directory, exc)
            idx = cls(directory, model_id, dim, **kwargs)
            idx.dirty = True
        return idx

    def _saved_vectors(self, count: int, capacity: int) -> np.ndarray | None:
        """``vectors.npy`` read straight into a ``capacity``-row matrix (rows past ``count`` zero).

        ``readinto`` lets the GIL go while the disk fills the matrix; ``np.load``
        and a copy into a bigger matrix held it for ~0.3 s at 100k vectors,
        a visible freeze of the window that was starting up.
        """
        path = self.directory / "vectors.npy"
        try:
            with open(path, "rb") as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
                else:
                    return None
                if shape != (count, self.dim) or fortran or dtype != np.dtype(np.float32):
                    return None
                mat = np.empty((capacity, self.dim), dtype=np.float32)
                view = mat[:count].data.cast("B")
                if f.readinto(view) != view.nbytes:
                    return None
        except (OSError, ValueError):
            return None
        mat[count:] = 0.0
        return mat

    def _load(self) -> None:
        info = json.loads((self.directory / "meta.json").read_text(encoding="utf-8"))
        if (
            info.get("version") not in READABLE_VERSIONS
            or info.get("model_id") != self.model_id
            or info.get("dim") != self.dim
        ):
            raise ValueError("index metadata does not match this model")
        arr = np.load(self.directory / "ids.npy", allow_pickle=False)
        count = int(info["count"])
        if arr.shape[0] != count:
            raise ValueError(f"id map has {arr.shape[0]} entries, metadata says {count}")
        hashes: list[str | None] = [b.decode("ascii") or None for b in arr.tolist()]
        labels: dict[str, list[int]] = {}
        for i, h in enumerate(hashes):
            if h is not None:
                labels.setdefault(h, []).append(i)
        live_labels = [i for i, h in enumerate(hashes) if h is not None]
        live = np.zeros(max(count, 1024), dtype=bool)
        live[np.asarray(live_labels, dtype=np.int64)] = True
        extra = len(live_labels) - len(labels)
        graph_file = self.directory / "hnsw.bin"
        saved = (
            self._saved_vectors(count, max(count, 1024))
            if (self.directory / "vectors.npy").is_file()
            else None
        )
        g = None
        mat: np.ndarray | None = saved
        if saved is None:
            if not count:
                mat = np.zeros((1024, self.dim), dtype=np.float32)
            elif not graph_file.is_file():
                raise ValueError("neither the vectors nor the graph could be read")
            else:
                g = self._load_graph(graph_file, count, hashes)
                if len(live_labels) <= self.exact_max:
                    # an index from an older version (graph only): take the vectors out, in small
                    # chunks so other threads (the GUI) get the GIL, and keep the matrix from now on
                    mat = np.zeros((max(count, 1024), self.dim), dtype=np.float32)
                    for i in range(0, len(live_labels), 1000):
                        part = live_labels[i : i + 1000]
                        mat[np.asarray(part)] = np.asarray(g.get_items(part), dtype=np.float32)
                        time.sleep(0)
                    g = None
                    self.dirty = True  # saved as vectors.npy next time
        elif len(live_labels) > self.exact_max and graph_file.is_file():
            try:
                g = self._load_graph(graph_file, count, hashes)
                mat = None
            except Exception as exc:  # e.g. a crash between writing the graph and the id map
                log.warning(
                    "search graph at %s unusable (%s); searching exactly while it is rebuilt", graph_file, exc
                )
                g = None
        self._hnsw, self._mat = g, mat
        self._m = int(info.get("m", self.m))
        self._hashes = hashes
        self._labels = labels
        self._extra = extra
        self._live = live
        with self._lock:
            self._maybe_build_graph()  # big, but saved without its graph: build it in the background

    def _load_graph(self, path: Path, count: int, hashes: Sequence[str | None]) -> Any:
        import hnswlib

        g = hnswlib.Index(space="ip", dim=self.dim)
        g.load_index(str(path), max_elements=max(count * 2, 1024))
        if g.element_count != count:
            raise ValueError(f"graph has {g.element_count} elements, id map {count}")
        g.set_ef(self.ef_search)
        g.set_num_threads(self._threads)
        for lab in [i for i, h in enumerate(hashes) if h is None]:
            with contextlib.suppress(RuntimeError):  # already marked in the saved graph
                g.mark_deleted(lab)
        return g
