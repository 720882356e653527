"""Smart-search speed: model throughput, the indexing pipeline, query latency, ANN recall.

``python -m bench.bench_search`` (or ``make bench``) writes bench/out/search.json.
ViT-B-32 with random weights costs the same compute as the real one, so no
download is needed. Figures:

- inference: ViT-B-32 image tower fp32 vs bf16 (1 and 2 threads), text tower
  full 77 tokens vs trimmed to the real token count;
- pipeline: ``add`` + ``index`` of a made 12 MP library cold, ``index`` alone
  over the already-scanned library, and a plain loop (full decode + fp32) on
  the same files;
- queries at 100k (and 1M with ``SHOEBOX_BENCH_1M=1``; the graph build takes
  minutes there): exact and hnsw latency, recall@10 of hnsw vs exact on
  clustered vectors, index memory per photo, incremental add of 1,000, and the
  full ``SearchService.search`` latency (encode + search + rows) at 100k.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import OUT, machine, made_library, peak_rss_mb, print_table, write_result

DIM = 512
WORDS = [
    "dog",
    "cat",
    "beach",
    "snow",
    "red",
    "car",
    "birthday",
    "cake",
    "candles",
    "mountain",
    "lake",
    "sunset",
    "city",
    "night",
    "street",
    "market",
    "child",
    "bicycle",
    "forest",
    "river",
    "bridge",
    "flowers",
    "garden",
    "kitchen",
    "dinner",
    "party",
    "train",
    "boat",
]


def _pct(xs: list[float], p: float) -> float:
    return round(float(np.percentile(np.asarray(xs), p)), 2)


def _random_vitb32(out: Path) -> Path:
    import open_clip
    import torch

    from desktop.core.semantic.clip_models import save_checkpoint

    path = out / "vit-b-32-random.safetensors"
    if not path.is_file():
        torch.manual_seed(0)
        save_checkpoint(open_clip.create_model("ViT-B-32", pretrained=None), path, "ViT-B-32")
    return path


# ----------------------------------------------------------------- inference
def bench_inference(batch: int = 16) -> dict[str, Any]:
    import open_clip
    import torch

    from desktop.core.semantic.device import cpu_has_fast_bf16, min_cosine

    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", pretrained=None).eval()
    low = open_clip.create_model("ViT-B-32", pretrained=None).eval()
    low.load_state_dict(model.state_dict())
    low = low.to(torch.bfloat16)
    x = torch.randn(batch, 3, 224, 224)
    out: dict[str, Any] = {"fast_bf16_cpu": cpu_has_fast_bf16(), "batch": batch}
    with torch.inference_mode():
        ref = model.encode_image(x)
        out["bf16_min_cosine"] = round(min_cosine(ref, low.encode_image(x.bfloat16())), 6)
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for name, m, inp in (("fp32", model, x), ("bf16", low, x.bfloat16())):
                m.encode_image(inp[:2])
                t = time.perf_counter()
                m.encode_image(inp)
                ms = (time.perf_counter() - t) * 1000 / batch
                out[f"image_{name}_{threads}t_ms_per_photo"] = round(ms, 1)
        tok = open_clip.get_tokenizer("ViT-B-32")(["a birthday cake with candles"])
        n = int((tok != 0).sum())
        torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
        for _ in range(2):
            model.encode_text(tok)
        t = time.perf_counter()
        for _ in range(10):
            model.encode_text(tok)
        out["text_fp32_full77_ms"] = round((time.perf_counter() - t) * 100, 1)
    from desktop.core.semantic.clip_models import ClipModel, ModelSpec
    from desktop.core.semantic.device import DevicePlan

    clip = ClipModel(
        ModelSpec("ViT-B-32", "random"),
        model,
        open_clip.get_tokenizer("ViT-B-32"),
        DevicePlan("cpu", "fp32", "bench"),
        224,
        (0.5, 0.5, 0.5),
        (0.5, 0.5, 0.5),
        "shortest",
    )
    clip.encode_texts(["warm up"])
    t = time.perf_counter()
    for i in range(10):
        clip.encode_texts([f"a birthday cake with {i} candles"])
    out["text_fp32_trimmed_ms"] = round((time.perf_counter() - t) * 100, 1)
    out["text_tokens"] = n
    return out


# ------------------------------------------------------------------ pipeline
def bench_pipeline(work: Path, ckpt: Path, count: int = 120, plain_n: int = 24) -> dict[str, Any]:
    from desktop.core.catalog.schema import Embedding
    from desktop.core.library import Library
    from desktop.core.runtime.paths import resolve_paths
    from desktop.core.semantic import clip_models as cm
    from desktop.core.semantic.embedder import forget_indexes
    from desktop.core.semantic.search import index_library

    src = made_library("scan", count, "12mp")
    files = sorted(p for p in src.rglob("*.jpg"))
    n_files = len(files)
    forget_indexes()
    lib = Library(resolve_paths(work / "home"))
    spec = cm.spec_from_options("ViT-B-32", ckpt)
    assert spec is not None
    clip = cm.load_model(spec, lib.paths.models)  # load once: model load is not per-photo cost
    t0 = time.perf_counter()
    root = lib.add_root(src, watched=False)
    scan = lib.scan([root])
    t_scan = time.perf_counter() - t0
    t1 = time.perf_counter()
    rep = index_library(lib, spec, leave_free_cores=0)  # what 'python main.py index' does: every core
    t_index = time.perf_counter() - t1
    photos = rep.embedded
    # index alone over the already-scanned library
    lib.writer.call(lambda: Embedding.delete().execute())
    forget_indexes()
    shutil.rmtree(lib.paths.index, ignore_errors=True)
    lib.paths.index.mkdir(parents=True)
    t2 = time.perf_counter()
    rep2 = index_library(lib, spec, leave_free_cores=0)
    t_index2 = time.perf_counter() - t2
    forget_indexes()
    lib.close()

    # the plain loop: full decode + open_clip's preprocess + fp32, one photo at a time
    import open_clip
    import torch
    from PIL import Image, ImageOps

    model = clip.torch_model
    pre = open_clip.image_transform(224, is_train=False)
    t3 = time.perf_counter()
    with torch.inference_mode():
        for f in files[:plain_n]:
            with Image.open(f) as im:
                img = ImageOps.exif_transpose(im.convert("RGB"))
            model.float().encode_image(pre(img).unsqueeze(0))
    t_plain = time.perf_counter() - t3
    return {
        "files": n_files,
        "photos_embedded": photos,
        "precision": clip.plan.describe(),
        "scan_s": round(t_scan, 2),
        "scan_added": scan.added,
        "index_cold_s": round(t_index, 2),
        "add_plus_index_photos_per_s": round(photos / (t_scan + t_index), 1),
        "index_only_photos_per_s": round(rep2.embedded / t_index2, 1),
        "plain_loop_photos_per_s": round(plain_n / t_plain, 2),
        "targets": {"index_only": 80, "add_plus_index": 40},
    }


# ------------------------------------------------------------------- queries
def clustered(n: int, seed: int = 0, clusters: int = 1000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, DIM)).astype(np.float32)
    out = np.empty((n, DIM), dtype=np.float32)
    for i in range(0, n, 100_000):
        m = min(100_000, n - i)
        block = centres[rng.integers(0, clusters, m)] + 0.6 * rng.normal(size=(m, DIM)).astype(np.float32)
        out[i : i + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def bench_index(n: int, work: Path) -> dict[str, Any]:
    from desktop.core.semantic.vector_index import VectorIndex

    vecs = clustered(n)
    hashes = [f"{i:064x}" for i in range(n)]
    queries = clustered(200, seed=99)
    res: dict[str, Any] = {"n": n}
    t = time.perf_counter()
    graph = VectorIndex(work / f"ann-{n}", "bench", DIM, exact_max=0)
    for i in range(0, n - 1000, 50_000):
        graph.add(hashes[i : min(i + 50_000, n - 1000)], vecs[i : min(i + 50_000, n - 1000)])
    graph.wait_for_graph()  # past exact_max the graph is built in the background
    assert graph.uses_graph
    res["graph_build_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    graph.add(hashes[n - 1000 :], vecs[n - 1000 :])
    res["incremental_add_1000_ms"] = round((time.perf_counter() - t) * 1000, 1)
    res["graph_memory_bytes_per_photo"] = round(graph.memory_bytes() / n)
    exact_lat, ann_lat, recall = [], [], []
    for q in queries:
        t = time.perf_counter()
        scores = vecs @ q
        top = np.argpartition(-scores, 10)[:10]
        exact_lat.append((time.perf_counter() - t) * 1000)
        truth = {hashes[i] for i in top}
        t = time.perf_counter()
        got = graph.search(q, 10)
        ann_lat.append((time.perf_counter() - t) * 1000)
        recall.append(len(truth & {h for h, _ in got}) / 10)
    res.update(
        {
            "exact_p50_ms": _pct(exact_lat, 50),
            "exact_p99_ms": _pct(exact_lat, 99),
            "ann_p50_ms": _pct(ann_lat, 50),
            "ann_p99_ms": _pct(ann_lat, 99),
            "ann_recall_at_10": round(float(np.mean(recall)), 4),
            "ann_ef_search": graph.ef_search,
        }
    )
    return res


def bench_service(n: int, work: Path, ckpt: Path) -> dict[str, Any]:
    """Full text-query latency through SearchService on a catalog of ``n`` photos."""
    from desktop.core.catalog.schema import Embedding, Photo, Root
    from desktop.core.library import Library
    from desktop.core.runtime.paths import resolve_paths
    from desktop.core.semantic import clip_models as cm
    from desktop.core.semantic.embedder import forget_indexes
    from desktop.core.semantic.search import SearchService, _mark_serving, set_active_model
    from desktop.core.semantic.vector_index import VectorIndex, index_dir_name

    forget_indexes()
    lib = Library(resolve_paths(work / f"svc-{n}"))
    spec = cm.spec_from_options("ViT-B-32", ckpt)
    assert spec is not None
    set_active_model(lib, spec)
    _mark_serving(lib, spec)
    vecs = clustered(n, seed=5)
    blobs = vecs.astype(np.float16)
    root_dir = work / f"root-{n}"
    root_dir.mkdir(exist_ok=True)
    t = time.perf_counter()

    def _fill() -> None:
        root = Root.create(path=str(root_dir))
        for i in range(0, n, 2000):
            Photo.insert_many(
                [
                    {
                        "root": root.id,
                        "rel_path": f"{j // 1000:04d}/IMG_{j:07d}.jpg",
                        "content_hash": f"{j:064x}",
                        "status": "ok",
                        "taken_local": f"20{10 + j % 15:02d}-0{1 + j % 9}-1{j % 10}T12:00:00",
                        "camera_make": "Canon" if j % 3 else "NIKON",
                    }
                    for j in range(i, min(n, i + 2000))
                ]
            ).execute()
            Embedding.insert_many(
                [
                    {"content_hash": f"{j:064x}", "model_id": spec.model_id, "vector": blobs[j].tobytes()}
                    for j in range(i, min(n, i + 2000))
                ]
            ).execute()

    lib.writer.call(_fill)
    fill_s = time.perf_counter() - t
    t = time.perf_counter()
    idx = VectorIndex(lib.paths.index / index_dir_name(spec.model_id), spec.model_id, DIM)
    for i in range(0, n, 50_000):
        idx.add([f"{j:064x}" for j in range(i, min(n, i + 50_000))], vecs[i : i + 50_000])
    idx.save()
    build_s = time.perf_counter() - t
    svc = SearchService(lib)
    t = time.perf_counter()
    svc.search("warm up", limit=50)
    first_ms = (time.perf_counter() - t) * 1000
    rng = np.random.default_rng(1)
    lat: list[float] = []
    lat_filtered: list[float] = []
    for i in range(60):
        q = " ".join(rng.choice(WORDS, size=3)) + f" {i}"
        t = time.perf_counter()
        svc.search(q, limit=50)
        lat.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        svc.search(q + " camera:nikon after:2020", limit=50)
        lat_filtered.append((time.perf_counter() - t) * 1000)
    svc.close()
    forget_indexes()
    lib.close()
    return {
        "n": n,
        "catalog_fill_s": round(fill_s, 1),
        "index_build_s": round(build_s, 1),
        "first_query_ms (model load + index load)": round(first_ms, 1),
        "text_query_p50_ms": _pct(lat, 50),
        "text_query_p99_ms": _pct(lat, 99),
        "filtered_text_query_p50_ms": _pct(lat_filtered, 50),
        "filtered_text_query_p99_ms": _pct(lat_filtered, 99),
        "targets": {"p50_ms": 30, "p99_ms": 80},
    }


def run(out_dir: Path | None = None) -> dict[str, Any]:
    out_dir = out_dir or OUT
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    result: dict[str, Any] = {"machine": machine(), "when": dt.datetime.now().isoformat(timespec="seconds")}
    with tempfile.TemporaryDirectory(prefix="shoebox-bench-search-") as tmp:
        work = Path(tmp)
        ckpt = _random_vitb32(work)
        steps: list[tuple[str, Any]] = [
            ("inference", lambda: bench_inference()),
            ("pipeline_12mp", lambda: bench_pipeline(work / "pipe", ckpt)),
            ("index_100k", lambda: bench_index(100_000, work)),
            ("service_100k", lambda: bench_service(100_000, work, ckpt)),
        ]
        if os.environ.get("SHOEBOX_BENCH_1M"):
            steps.append(("index_1m", lambda: bench_index(1_000_000, work)))
        for name, fn in steps:
            print(f"search bench: {name}...", file=sys.stderr, flush=True)
            s = time.perf_counter()
            result[name] = fn()
            result[name]["bench_s"] = round(time.perf_counter() - s, 1)
            print(f"  {result[name]}", file=sys.stderr, flush=True)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    result["bench_seconds"] = round(time.perf_counter() - t0, 1)
    if out_dir == OUT:
        write_result("search", result)
    else:
        import json

        (out_dir / "search.json").write_text(json.dumps(result, indent=2))
    _print_summary(result)
    return result


def _print_summary(r: dict[str, Any]) -> None:
    def ok(good: bool) -> str:
        return "ok" if good else "MISS"

    inf, pipe, ix, svc = r["inference"], r["pipeline_12mp"], r["index_100k"], r["service_100k"]
    rows = [
        (
            "image tower fp32 / bf16, 2 threads",
            f"{inf['image_fp32_2t_ms_per_photo']} / {inf['image_bf16_2t_ms_per_photo']} ms/photo",
            "",
            "",
        ),
        (
            "bf16 vs fp32 (min cosine)",
            str(inf["bf16_min_cosine"]),
            ">= 0.9999",
            ok(inf["bf16_min_cosine"] >= 0.9999),
        ),
        (
            "index a scanned library",
            f"{pipe['index_only_photos_per_s']} photos/s",
            ">= 80/s",
            ok(pipe["index_only_photos_per_s"] >= 80),
        ),
        (
            "cold add + index",
            f"{pipe['add_plus_index_photos_per_s']} photos/s",
            ">= 40/s",
            ok(pipe["add_plus_index_photos_per_s"] >= 40),
        ),
        ("exact search 100k", f"p50 {ix['exact_p50_ms']} ms, p99 {ix['exact_p99_ms']} ms", "", ""),
        ("graph 100k: recall@10", str(ix["ann_recall_at_10"]), ">= 0.98", ok(ix["ann_recall_at_10"] >= 0.98)),
        (
            "text query 100k",
            f"p50 {svc['text_query_p50_ms']} ms, p99 {svc['text_query_p99_ms']} ms",
            "p50 <= 30, p99 <= 80",
            ok(svc["text_query_p50_ms"] <= 30 and svc["text_query_p99_ms"] <= 80),
        ),
        (
            "filtered text query 100k",
            f"p50 {svc['filtered_text_query_p50_ms']} ms, p99 {svc['filtered_text_query_p99_ms']} ms",
            "same",
            ok(svc["filtered_text_query_p50_ms"] <= 30 and svc["filtered_text_query_p99_ms"] <= 80),
        ),
        ("peak RSS", f"{r['peak_rss_mb']} MB", "", ""),
    ]
    print_table("search (issue 3)", rows)


if __name__ == "__main__":
    run()
