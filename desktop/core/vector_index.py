"""The vector index of one model: content hash -> unit vector, nearest neighbours.

Vectors are keyed by file content hash (identical files share one vector; a
moved file keeps its hash, so moves never touch the index). An hnswlib graph
(inner product, M=16) is grown incrementally as embeddings arrive -- building
one from scratch at a million photos takes minutes -- and persisted under
``paths.index/<model>/`` with the label -> hash map beside it. The catalog's
``Embedding`` table stays the source of truth: ``diff`` compares the index
with it at start-up so the caller can add what is missing, delete what is
gone, or rebuild a damaged index.

Which search runs depends on size: up to ``exact_max`` vectors a float32 copy
is kept and every query is an exact matrix product (about 7 ms at 100k);
beyond that queries go through the graph. A candidate set (a selective filter)
is always searched exactly over its own vectors, so filters never hide good
matches that the graph would have pruned.
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

log = logging.getLogger(__name__)

INDEX_VERSION = 1
HASH_DTYPE = "S64"


@dataclass(frozen=True)
class IndexDiff:
    missing: set[str]  # in the catalog, not in the index
    extra: set[str]  # in the index, no longer in the catalog

    @property
    def consistent(self) -> bool:
        return not self.missing and not self.extra


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
        self._labels: dict[str, int] = {}  # live hash -> label
        self._hashes: list[str | None] = []  # label -> hash; None once deleted
        self._hnsw: Any = None
        self._mat: np.ndarray | None = None  # float32 rows by label while small
        self._live: np.ndarray = np.zeros(0, dtype=bool)
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
    def tombstones(self) -> int:
        with self._lock:
            return len(self._hashes) - len(self._labels)

    @property
    def uses_graph(self) -> bool:
        """True when whole-library queries go through the hnsw graph rather than exact search."""
        with self._lock:
            return self._mat is None

    def memory_bytes(self) -> int:
        with self._lock:
            n = len(self._hashes)
            graph = n * (4 * self.dim + 2 * self.m * 4 + 8 + 64) if self._hnsw is not None else 0
            mat = self._mat.nbytes if self._mat is not None else 0
            return graph + mat + len(self._labels) * 150

    def _new_graph(self, capacity: int) -> Any:
        import hnswlib

        g = hnswlib.Index(space="ip", dim=self.dim)
        g.init_index(max_elements=max(capacity, 1024), ef_construction=self.ef_construction, M=self.m)
        g.set_ef(self.ef_search)
        g.set_num_threads(self._threads)
        return g

    def _ensure_capacity(self, extra: int) -> None:
        need = len(self._hashes) + extra
        if self._hnsw is None:
            self._hnsw = self._new_graph(max(need * 2, 1024))
        elif need > self._hnsw.get_max_elements():
            self._hnsw.resize_index(max(need, self._hnsw.get_max_elements() * 2))
        if self._mat is not None and need > self._mat.shape[0]:
            grown = np.zeros((max(need, self._mat.shape[0] * 2, 1024), self.dim), dtype=np.float32)
            grown[: self._mat.shape[0]] = self._mat
            self._mat = grown
        if need > self._live.shape[0]:
            live = np.zeros(max(need, self._live.shape[0] * 2, 1024), dtype=bool)
            live[: self._live.shape[0]] = self._live
            self._live = live

    # --------------------------------------------------------------- changes
    def add(self, hashes: Sequence[str], vectors: np.ndarray) -> int:
        """Add or replace vectors (unit length, shape (N, dim)); returns how many were new."""
        vecs = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if len(hashes) != vecs.shape[0]:
            raise ValueError("one vector per hash")
        if not len(hashes):
            return 0
        with self._lock:
            if self._mat is None and not self._hashes:
                self._mat = np.zeros((0, self.dim), dtype=np.float32)
            labels: list[int] = []
            new = 0
            seen: dict[str, int] = {}
            for h in hashes:
                if h in self._labels:
                    labels.append(self._labels[h])
                elif h in seen:
                    labels.append(seen[h])
                else:
                    seen[h] = len(self._hashes) + new
                    labels.append(seen[h])
                    new += 1
            self._ensure_capacity(new)
            self._hashes.extend([None] * new)
            for h, lab in seen.items():
                self._hashes[lab] = h
                self._labels[h] = lab
            arr = np.asarray(labels, dtype=np.int64)
            self._hnsw.add_items(vecs, arr)
            if self._mat is not None:
                self._mat[arr] = vecs
                if len(self._labels) > self.exact_max:
                    self._mat = None  # big enough for the graph alone; frees 2 KB a photo
            self._live[arr] = True
            self.dirty = True
            return new

    def remove(self, hashes: Iterable[str]) -> int:
        with self._lock:
            n = 0
            for h in hashes:
                lab = self._labels.pop(h, None)
                if lab is None:
                    continue
                self._hashes[lab] = None
                self._live[lab] = False
                self._hnsw.mark_deleted(lab)
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
        with self._lock:
            lab = self._labels.get(content_hash)
            if lab is None:
                return None
            row: np.ndarray = self._rows([lab])[0]
            return row

    def _rows(self, labels: Sequence[int]) -> np.ndarray:
        if self._mat is not None:
            return self._mat[np.asarray(labels, dtype=np.int64)]
        return np.asarray(self._hnsw.get_items(list(labels)), dtype=np.float32).reshape(-1, self.dim)

    def scores(self, query: np.ndarray, hashes: Iterable[str]) -> dict[str, float]:
        """Exact scores of ``query`` against the given hashes (those in the index)."""
        with self._lock:
            pairs = [(h, self._labels[h]) for h in hashes if h in self._labels]
            if not pairs:
                return {}
            rows = self._rows([lab for _, lab in pairs])
        s = rows @ np.asarray(query, dtype=np.float32)
        return {h: float(v) for (h, _), v in zip(pairs, s, strict=True)}

    def search(
        self, query: np.ndarray, k: int, candidates: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """The ``k`` nearest hashes (best first) to a unit ``query``, within ``candidates`` if given."""
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        with self._lock:
            live = len(self._labels)
            if live == 0 or k <= 0:
                return []
            if candidates is not None:
                labels = [self._labels[h] for h in candidates if h in self._labels]
                if not labels:
                    return []
                if len(labels) <= self.exact_candidates_max or self._hnsw is None:
                    return self._exact(q, k, np.asarray(labels, dtype=np.int64))
                allowed = set(labels)
                hits = self._graph(q, min(k, len(labels)), allowed)
                if len(hits) >= min(k, len(labels)):
                    return hits
                return self._exact(q, k, np.asarray(labels, dtype=np.int64))
            if self._mat is not None:
                n = len(self._hashes)
                return self._exact(q, k, None, n)
            return self._graph(q, min(k, live), None)

    def _exact(self, q: np.ndarray, k: int, labels: np.ndarray | None, n: int = 0) -> list[tuple[str, float]]:
        if labels is None:
            assert self._mat is not None
            scores = self._mat[:n] @ q
            scores[~self._live[:n]] = -np.inf
            idx = np.arange(n)
        else:
            scores = self._rows(labels.tolist()) @ q
            idx = labels
        k = min(k, scores.shape[0])
        top = np.argpartition(-scores, k - 1)[:k] if k < scores.shape[0] else np.arange(scores.shape[0])
        top = top[np.argsort(-scores[top], kind="stable")]
        out: list[tuple[str, float]] = []
        for i in top:
            h = self._hashes[int(idx[i])]
            if h is not None and np.isfinite(scores[i]):
                out.append((h, float(scores[i])))
        return out

    def _graph(self, q: np.ndarray, k: int, allowed: set[int] | None) -> list[tuple[str, float]]:
        self._hnsw.set_ef(max(self.ef_search, 2 * k))
        kwargs: dict[str, Any] = {"k": k, "num_threads": 1}
        if allowed is not None:
            kwargs["filter"] = allowed.__contains__
        try:
            labels, dists = self._hnsw.knn_query(q.reshape(1, -1), **kwargs)
        except RuntimeError:  # fewer reachable elements than k (heavy deletes or filters)
            return []
        out: list[tuple[str, float]] = []
        for lab, d in zip(labels[0], dists[0], strict=True):
            h = self._hashes[int(lab)]
            if h is not None:
                out.append((h, 1.0 - float(d)))
        return out

    def sample_scores(self, query: np.ndarray, n: int = 2000, seed: int = 0) -> np.ndarray:
        """Scores of ``query`` against a fixed random sample: the query's background distribution."""
        with self._lock:
            live = np.flatnonzero(self._live[: len(self._hashes)])
            if live.size == 0:
                return np.zeros(0, dtype=np.float32)
            if live.size > n:
                live = np.random.default_rng(seed).choice(live, size=n, replace=False)
            rows = self._rows(live.tolist())
        return rows @ np.asarray(query, dtype=np.float32)

    # ------------------------------------------------------------- persistence
    def save(self) -> None:
        """Write the graph, the id map and the metadata atomically (each file replaced whole)."""
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            graph = self.directory / "hnsw.bin"
            ids = self.directory / "ids.npy"
            meta = self.directory / "meta.json"
            if self._hnsw is not None:
                tmp = graph.with_suffix(".tmp")
                self._hnsw.save_index(str(tmp))
                os.replace(tmp, graph)
            arr = np.array([(h or "").encode("ascii") for h in self._hashes], dtype=HASH_DTYPE)
            tmp_ids = self.directory / "ids.tmp.npy"
            np.save(tmp_ids, arr)
            os.replace(tmp_ids, ids)
            vectors = self.directory / "vectors.npy"
            if self._mat is not None:
                # hnswlib's get_items holds the GIL ~40 us per vector (4 s at 100k, a frozen GUI):
                # the exact-search matrix is saved beside the graph and read back with one np.load
                tmp_vec = self.directory / "vectors.tmp.npy"
                np.save(tmp_vec, self._mat[: len(self._hashes)])
                os.replace(tmp_vec, vectors)
            else:
                vectors.unlink(missing_ok=True)
            info = {
                "version": INDEX_VERSION,
                "model_id": self.model_id,
                "dim": self.dim,
                "count": len(self._hashes),
                "live": len(self._labels),
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
        import hnswlib

        info = json.loads((self.directory / "meta.json").read_text(encoding="utf-8"))
        if (
            info.get("version") != INDEX_VERSION
            or info.get("model_id") != self.model_id
            or info.get("dim") != self.dim
        ):
            raise ValueError("index metadata does not match this model")
        arr = np.load(self.directory / "ids.npy", allow_pickle=False)
        count = int(info["count"])
        if arr.shape[0] != count:
            raise ValueError(f"id map has {arr.shape[0]} entries, metadata says {count}")
        hashes: list[str | None] = [b.decode("ascii") or None for b in arr.tolist()]
        g = None
        if count:
            g = hnswlib.Index(space="ip", dim=self.dim)
            g.load_index(str(self.directory / "hnsw.bin"), max_elements=max(count * 2, 1024))
            if g.element_count != count:
                raise ValueError(f"graph has {g.element_count} elements, id map {count}")
            g.set_ef(self.ef_search)
            g.set_num_threads(self._threads)
        self._hnsw = g
        self._m = int(info.get("m", self.m))
        self._hashes = hashes
        self._labels = {h: i for i, h in enumerate(hashes) if h is not None}
        self._live = np.zeros(max(count, 1024), dtype=bool)
        for lab in self._labels.values():
            self._live[lab] = True
        if g is not None:
            deleted = [i for i, h in enumerate(hashes) if h is None]
            for lab in deleted:
                with contextlib.suppress(RuntimeError):  # already marked in the saved graph
                    g.mark_deleted(lab)
        if len(self._labels) <= self.exact_max:
            live = [lab for lab in self._labels.values()]
            saved = self._saved_vectors(count, max(count, 1024))
            mat = saved if saved is not None else np.zeros((max(count, 1024), self.dim), dtype=np.float32)
            if saved is None and live and g is not None:
                # older index without vectors.npy: small chunks so other threads (the GUI) get the GIL
                for i in range(0, len(live), 1000):
                    part = live[i : i + 1000]
                    mat[np.asarray(part)] = np.asarray(g.get_items(part), dtype=np.float32)
                    time.sleep(0)
            self._mat = mat
        else:
            self._mat = None
        self.dirty = False
