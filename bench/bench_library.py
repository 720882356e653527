"""Library benchmarks (issue 2): first scan of 12 MP JPEGs, rescan of 100k, peak memory, watch latency.

Run alone: ``python -m bench.bench_library [--count N]``. The 12 MP library is
made once by ``../shared/tools/make_library.py`` and reused.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import machine, made_library, peak_rss_mb, print_table, write_result
from desktop.core.library import Library
from desktop.core.runtime.paths import resolve_paths


def _fresh_library(tmp: Path) -> Library:
    return Library(resolve_paths(tmp / "home"))


def bench_first_scan(count: int) -> dict[str, Any]:
    src = made_library("scan", count, "12mp")
    files = [p for p in src.rglob("*.jpg")]
    with tempfile.TemporaryDirectory() as tmp:
        lib = _fresh_library(Path(tmp))
        root = lib.add_root(src, watched=False)
        t0 = time.perf_counter()
        report = lib.scan([root])
        seconds = time.perf_counter() - t0
        t1 = time.perf_counter()
        lib.scan([root])
        rescan_s = time.perf_counter() - t1
        lib.close()
    return {
        "files": len(files),
        "bytes_mb": round(sum(f.stat().st_size for f in files) / 1e6, 1),
        "added": report.added,
        "errors": report.errors,
        "seconds": round(seconds, 2),
        "photos_per_s": round(report.added / seconds, 1),
        "rescan_unchanged_s": round(rescan_s, 3),
    }


def bench_rescan_100k(n: int) -> dict[str, Any]:
    """Rescan of an unchanged library of n files.

    The files are real JPEGs (one tiny camera-like photo copied n times into
    YYYY/MM folders); the catalog rows are filled by a real scan of the first
    2,000 and bulk-copied for the rest (same columns as the scanner writes), so
    the timed part, a real ``Library.scan`` over all n, does what a rescan does
    on a user's machine: walk, stat, compare with the catalog, re-read nothing.
    """
    from desktop.core.catalog.schema import Photo

    seed = made_library("seed", 20, "tiny")
    sample = next(seed.rglob("*.jpg")).read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        root_dir = Path(tmp) / "lib"
        t0 = time.perf_counter()
        for i in range(n):
            folder = root_dir / f"{2000 + i % 24}" / f"{1 + (i // 24) % 12:02d}"
            if i < 288:
                folder.mkdir(parents=True, exist_ok=True)
            (folder / f"IMG_{i:06d}.jpg").write_bytes(sample + i.to_bytes(4, "big"))
        make_s = time.perf_counter() - t0
        lib = _fresh_library(Path(tmp))
        root = lib.add_root(root_dir, watched=False)
        # catalogue everything for real, but only the first files run the full pipeline
        from desktop.core.ingest.scanner import walk_images

        entries = list(walk_images(root_dir))
        real_part = entries[:2000]
        lib.scanner_report = None
        from desktop.core.ingest.scanner import Scanner

        Scanner(lib).process_paths(root, [r for r, _, _ in real_part])
        template = Photo.select().where(Photo.root == root.id).first().__data__
        rows = []
        for rel, size, mtime in entries[2000:]:
            row = {k: v for k, v in template.items() if k != "id"}
            row.update(
                rel_path=rel,
                size_bytes=size,
                mtime=mtime,
                added_at=dt.datetime.now(),
                updated_at=dt.datetime.now(),
            )
            rows.append(row)

        def _insert() -> None:
            for i in range(0, len(rows), 2000):
                Photo.insert_many(rows[i : i + 2000]).execute()

        lib.writer.call(_insert)
        assert lib.count() == n, lib.count()
        t1 = time.perf_counter()
        report = lib.scan([root])
        seconds = time.perf_counter() - t1
        lib.close()
    return {
        "photos": n,
        "unchanged": report.unchanged,
        "reread": report.added + report.updated,
        "seconds": round(seconds, 2),
        "make_files_s": round(make_s, 1),
    }


def bench_watch_latency(samples: int = 8) -> dict[str, Any]:
    from desktop.core.ingest.watcher import LibraryWatcher

    src = made_library("scan", 60, "12mp")
    files = sorted(src.rglob("*.jpg"))[:samples]
    latencies = []
    with tempfile.TemporaryDirectory() as tmp:
        lib = _fresh_library(Path(tmp))
        watched = Path(tmp) / "watched"
        watched.mkdir()
        lib.add_root(watched)
        watcher = LibraryWatcher(lib)
        watcher.start()
        try:
            for i, f in enumerate(files):
                target = watched / f"landed_{i}.jpg"
                t0 = time.perf_counter()
                shutil.copyfile(f, target)
                while lib.photo_by_path(target) is None:
                    if time.perf_counter() - t0 > 30:
                        raise RuntimeError("watcher did not catalogue a file within 30 s")
                    time.sleep(0.01)
                latencies.append(time.perf_counter() - t0)
            # a burst of 1,000 files dropped at once
            burst_src = made_library("seed", 20, "tiny")
            one = next(burst_src.rglob("*.jpg")).read_bytes()
            drop = watched / "dropped"
            drop.mkdir()
            t0 = time.perf_counter()
            for i in range(1000):
                (drop / f"d_{i:04d}.jpg").write_bytes(one + i.to_bytes(4, "big"))
            while lib.count() < len(files) + 1000:
                if time.perf_counter() - t0 > 120:
                    break
                time.sleep(0.05)
            burst_s = time.perf_counter() - t0
            burst_n = lib.count() - len(files)
        finally:
            watcher.stop()
            lib.close()
    return {
        "samples": len(latencies),
        "median_s": round(statistics.median(latencies), 3),
        "max_s": round(max(latencies), 3),
        "burst_1000_catalogued": burst_n,
        "burst_1000_s": round(burst_s, 2),
    }


def run(count: int = 120, rescan_n: int = 100_000) -> dict[str, Any]:
    t0 = time.perf_counter()
    first = bench_first_scan(count)
    rescan = bench_rescan_100k(rescan_n)
    watch = bench_watch_latency()
    result = {
        "machine": machine(),
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "first_scan_12mp": first,
        "rescan_unchanged": rescan,
        "watch_latency": watch,
        "peak_rss_mb": {
            "main": round(peak_rss_mb(), 1),
            "scan_workers": round(peak_rss_mb(children=True), 1),
        },
        "bench_seconds": round(time.perf_counter() - t0, 1),
    }
    write_result("library", result)
    ok = lambda good: "ok" if good else "MISS"  # noqa: E731
    print_table(
        "library (issue 2)",
        [
            (
                "first scan, 12 MP JPEGs",
                f"{first['photos_per_s']} photos/s ({first['files']} files)",
                ">= 60/s",
                ok(first["photos_per_s"] >= 60),
            ),
            (
                f"rescan unchanged {rescan['photos']:,}",
                f"{rescan['seconds']} s",
                "<= 15 s",
                ok(rescan["seconds"] <= 15),
            ),
            (
                "watch: landed -> catalog",
                f"median {watch['median_s']} s, max {watch['max_s']} s",
                "<= 2 s",
                ok(watch["max_s"] <= 2),
            ),
            (
                "watch: 1,000 dropped",
                f"{watch['burst_1000_catalogued']} in {watch['burst_1000_s']} s",
                "all",
                ok(watch["burst_1000_catalogued"] == 1000),
            ),
            (
                "peak RSS main / workers",
                f"{result['peak_rss_mb']['main']} / {result['peak_rss_mb']['scan_workers']} MB",
                "",
                "",
            ),
        ],
    )
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=120, help="12 MP base photos for the scan benchmark")
    ap.add_argument("--rescan", type=int, default=100_000)
    a = ap.parse_args()
    run(a.count, a.rescan)
    sys.exit(0)
