"""The per-model vector index: exact and graph search, deletes, persistence, damage."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from desktop.core.semantic.vector_index import VectorIndex


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, dim: int, clusters: int = 50, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    return unit(centres[rng.integers(0, clusters, n)] + 0.35 * rng.normal(size=(n, dim)))


def exact_top(vecs: np.ndarray, q: np.ndarray, k: int) -> list[int]:
    return [int(i) for i in np.argsort(-(vecs @ q))[:k]]


def test_exact_search_finds_itself_first_and_scores_are_sorted(tmp_path: Path) -> None:
    vecs = clustered(500, 16)
    idx = VectorIndex(tmp_path, "m", 16)
    hashes = [f"h{i}" for i in range(500)]
    assert idx.add(hashes, vecs) == 500
    hits = idx.search(vecs[7], 10)
    assert hits[0] == ("h7", hits[0][1]) and abs(hits[0][1] - 1.0) < 1e-5
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True)
    assert [h for h, _ in hits] == [f"h{i}" for i in exact_top(vecs, vecs[7], 10)]


def test_graph_recall_against_exact(tmp_path: Path) -> None:
    vecs = clustered(6000, 32, seed=1)
    idx = VectorIndex(tmp_path, "m", 32, exact_max=1000)  # force the graph
    idx.add([f"h{i}" for i in range(6000)], vecs)
    assert idx.wait_for_graph(120)  # built in the background once past exact_max
    queries = clustered(50, 32, seed=2)
    recall = np.mean(
        [
            len({h for h, _ in idx.search(q, 10)} & {f"h{i}" for i in exact_top(vecs, q, 10)}) / 10
            for q in queries
        ]
    )
    assert recall >= 0.98


def test_candidates_are_searched_exactly(tmp_path: Path) -> None:
    vecs = clustered(3000, 16, seed=3)
    idx = VectorIndex(tmp_path, "m", 16, exact_max=100)
    idx.add([f"h{i}" for i in range(3000)], vecs)
    allowed = {f"h{i}" for i in range(0, 3000, 97)}
    hits = idx.search(vecs[5], 5, candidates=allowed)
    assert {h for h, _ in hits} <= allowed
    sub = sorted(allowed, key=lambda h: -float(vecs[int(h[1:])] @ vecs[5]))[:5]
    assert [h for h, _ in hits] == sub


def test_delete_replace_and_persist(tmp_path: Path) -> None:
    vecs = clustered(300, 8, seed=4)
    idx = VectorIndex(tmp_path / "ix", "model-a", 8)
    idx.add([f"h{i}" for i in range(300)], vecs)
    assert idx.remove(["h0", "h1", "nope"]) == 2
    assert "h0" not in idx and len(idx) == 298
    assert all(h not in ("h0", "h1") for h, _ in idx.search(vecs[0], 20))
    idx.add(["h2"], vecs[3:4])  # replace: h2 now sits where h3 is
    assert idx.search(vecs[3], 2)[0][1] > 0.9999
    idx.save()

    again = VectorIndex.load(tmp_path / "ix", "model-a", 8)
    assert len(again) == 298 and again.hashes() == idx.hashes()
    assert [h for h, _ in again.search(vecs[50], 5)] == [h for h, _ in idx.search(vecs[50], 5)]
    assert again.diff({f"h{i}" for i in range(1, 300)}).missing == {"h1"}
    assert again.diff(set()).extra == again.hashes()

    # a graph-mode index round-trips too
    big = VectorIndex.load(tmp_path / "ix", "model-a", 8, exact_max=10)
    assert big.search(vecs[50], 1)[0][0] == "h50"  # exact while its graph is built
    assert big.wait_for_graph(60) and len(big) == 298
    assert big.search(vecs[50], 1)[0][0] == "h50"
    big.save()
    assert (tmp_path / "ix" / "hnsw.bin").is_file() and not (tmp_path / "ix" / "vectors.npy").exists()
    graph_mode = VectorIndex.load(tmp_path / "ix", "model-a", 8, exact_max=10)
    assert graph_mode.uses_graph and graph_mode.hashes() == idx.hashes()
    assert graph_mode.search(vecs[50], 1)[0][0] == "h50"


def test_damaged_or_foreign_index_loads_empty(tmp_path: Path) -> None:
    vecs = clustered(50, 8)
    idx = VectorIndex(tmp_path, "model-a", 8)
    idx.add([f"h{i}" for i in range(50)], vecs)
    idx.save()
    assert len(VectorIndex.load(tmp_path, "model-b", 8)) == 0  # another model's files
    (tmp_path / "vectors.npy").write_bytes(b"garbage")
    broken = VectorIndex.load(tmp_path, "model-a", 8)
    assert len(broken) == 0 and broken.dirty
    (tmp_path / "ids.npy").write_bytes(b"garbage too")
    assert len(VectorIndex.load(tmp_path, "model-a", 8)) == 0
    assert len(VectorIndex.load(tmp_path / "absent", "model-a", 8)) == 0


def test_scores_vector_and_background_sample(tmp_path: Path) -> None:
    vecs = clustered(400, 8, seed=5)
    idx = VectorIndex(tmp_path, "m", 8)
    idx.add([f"h{i}" for i in range(400)], vecs)
    s = idx.scores(vecs[0], ["h0", "h1", "missing"])
    assert set(s) == {"h0", "h1"} and abs(s["h0"] - 1) < 1e-5
    v = idx.vector("h9")
    assert v is not None and np.allclose(v, vecs[9], atol=1e-6)
    assert idx.sample_scores(vecs[0], n=100).shape == (100,)


def test_reload_reads_saved_vectors_without_hnswlib_get_items(tmp_path: Path, monkeypatch) -> None:
    """get_items holds the GIL for seconds at 100k; a reload must come from vectors.npy instead."""
    import hnswlib

    vecs = clustered(300, 16)
    idx = VectorIndex(tmp_path, "m", 16)
    idx.add([f"h{i}" for i in range(300)], vecs)
    idx.save()
    assert (tmp_path / "vectors.npy").is_file()

    def no_get_items(self, *a, **k):
        raise AssertionError("get_items called on load")

    monkeypatch.setattr(hnswlib.Index, "get_items", no_get_items, raising=False)
    again = VectorIndex.load(tmp_path, "m", 16)
    assert len(again) == 300
    assert [h for h, _ in again.search(vecs[42], 5)] == [f"h{i}" for i in exact_top(vecs, vecs[42], 5)]
    assert again._mat is not None and again._mat.shape[0] >= 1024 and not again._mat[300:].any()


def test_a_truncated_vectors_file_loads_empty_for_a_rebuild(tmp_path: Path) -> None:
    vecs = clustered(200, 16)
    idx = VectorIndex(tmp_path, "m", 16)
    idx.add([f"h{i}" for i in range(200)], vecs)
    idx.save()
    data = (tmp_path / "vectors.npy").read_bytes()
    (tmp_path / "vectors.npy").write_bytes(data[: len(data) // 2])  # damaged on disk
    again = VectorIndex.load(tmp_path, "m", 16)
    assert len(again) == 0 and again.dirty  # a cache: the catalog's vectors refill it (sync_index)


def test_an_index_from_before_vectors_npy_is_read_from_its_graph(tmp_path: Path) -> None:
    import hnswlib

    vecs = clustered(300, 16)
    g = hnswlib.Index(space="ip", dim=16)
    g.init_index(max_elements=1024, M=16, ef_construction=200)
    g.add_items(vecs, np.arange(300))
    g.save_index(str(tmp_path / "hnsw.bin"))
    np.save(tmp_path / "ids.npy", np.array([f"h{i}".encode() for i in range(300)], dtype="S64"))
    meta = {"version": 1, "model_id": "m", "dim": 16, "count": 300, "live": 300, "m": 16}
    (tmp_path / "meta.json").write_text(__import__("json").dumps(meta))
    old = VectorIndex.load(tmp_path, "m", 16)
    assert len(old) == 300 and not old.uses_graph and old.dirty
    v = old.vector("h7")
    assert v is not None and np.allclose(v, vecs[7], atol=1e-5)
    old.save()
    assert (tmp_path / "vectors.npy").is_file() and not (tmp_path / "hnsw.bin").exists()


def test_a_library_under_exact_max_never_loads_or_saves_a_graph(tmp_path: Path, monkeypatch) -> None:
    """hnswlib holds the GIL while it loads or saves a graph (~0.25 s per 100k): a frozen window."""
    import hnswlib

    vecs = clustered(500, 16)
    idx = VectorIndex(tmp_path, "m", 16)
    idx.add([f"h{i}" for i in range(500)], vecs)
    idx.save()
    assert not (tmp_path / "hnsw.bin").exists()

    def forbidden(self, *a, **k):
        raise AssertionError("a graph was loaded")

    monkeypatch.setattr(hnswlib.Index, "load_index", forbidden)
    again = VectorIndex.load(tmp_path, "m", 16)
    assert len(again) == 500 and not again.uses_graph


def test_changes_while_the_graph_is_built_all_reach_it(tmp_path: Path) -> None:
    vecs = clustered(4000, 16, seed=7)
    idx = VectorIndex(tmp_path, "m", 16, exact_max=2000)
    idx.add([f"h{i}" for i in range(2500)], vecs[:2500])  # starts the build
    idx.add([f"h{i}" for i in range(2500, 4000)], vecs[2500:])  # during it, most likely
    idx.remove([f"h{i}" for i in range(0, 4000, 10)])
    idx.add(["h1"], vecs[3:4])  # replaced
    assert idx.wait_for_graph(120)
    assert len(idx) == 3600
    assert idx.search(vecs[3999], 1)[0][0] == "h3999"
    assert all(int(h[1:]) % 10 for h, _ in idx.search(vecs[0], 50))
    assert {h for h, _ in idx.search(vecs[3], 2)} == {"h1", "h3"}


def test_an_unusable_graph_falls_back_to_exact_search_and_is_rebuilt(tmp_path: Path) -> None:
    vecs = clustered(600, 16, seed=8)
    idx = VectorIndex(tmp_path, "m", 16)
    idx.add([f"h{i}" for i in range(600)], vecs)
    idx.save()  # exact mode: vectors.npy, no graph
    (tmp_path / "hnsw.bin").write_bytes(b"left from a crash")  # both files, the graph unusable
    big = VectorIndex.load(tmp_path, "m", 16, exact_max=100)
    assert len(big) == 600 and big.search(vecs[9], 1)[0][0] == "h9"  # the matrix answers
    assert big.wait_for_graph(60) and big.search(vecs[9], 1)[0][0] == "h9"
