"""Export benchmark (issue 12): Shoebox's exports beside ImageMagick and libvips on the same 12 MP JPEGs.

Run alone: ``python -m bench.bench_export [--count 200] [--skip-process] [--skip-direct] [--skip-peers]``
(also ``python -m bench export``). What it times, each over the same flat folder of ``count`` camera-like
12 MP JPEGs (made once by ../shared/tools/make_library.py, reused by later runs):

- the peers, each one command over every file as a person would type it: ImageMagick
  ``mogrify -path OUT -resize 2048x2048 -quality 85 *.jpg`` and libvips
  ``vipsthumbnail --size 2048 -o OUT/%s.jpg[Q=85] *.jpg`` (and the 1280 px, quality 80 equivalents of
  the ``email-1280`` preset); a missing tool is skipped with the line that installs it;
- Shoebox as a person runs it: ``python main.py process web-2048 FILES --out DIR --json`` in a fresh
  library holding the folder, end to end including the process start, then the same export again into
  another folder (served from the result cache), and ``email-1280``;
- the render spine called directly (``desktop.core.processing.render.render``, resize + jpeg, the files
  written) with 1 thread, 2 threads and 2 processes: which way of spreading the work is fastest here.

Targets (issue 12): Shoebox at least as fast as ImageMagick and within 1.5x of libvips; a repeat from the
cache >= 300 photos/s. The GUI's stalls while an export runs are measured by ``bench.export_gui_probe``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import xxhash

from bench.common import MAKE_LIBRARY, OUT, REPO, machine, print_table, write_result

SEED = 1
INSTALL = "apt-get install -y imagemagick libvips-tools"
# what each preset does to the pixels, for the peers and the direct path: (long edge, JPEG quality)
PRESETS = {"web-2048": (2048, 85), "email-1280": (1280, 80)}


# ---------------------------------------------------------------- the corpus


def corpus(count: int) -> Path:
    """A flat folder of exactly ``count`` 12 MP JPEGs, made once and reused (keyed by seed and count)."""
    flat = OUT / "export" / f"input-12mp-{count}-seed{SEED}"
    if flat.is_dir() and len(list(flat.glob("*.jpg"))) == count:
        return flat
    if not MAKE_LIBRARY.is_file():
        raise SystemExit(f"the export bench needs {MAKE_LIBRARY} (the shared tools beside the repo): skipped")
    # a smaller --count (a quick try) takes the first files of the 200 the issue asks for
    made_count = max(count, 200)
    made = OUT / "libraries" / f"export-12mp-{made_count}-seed{SEED}"
    if not (made / "manifest.json").is_file():
        print(f"making {made.name}: 12 MP JPEGs, about 1 s each per core (once)...", file=sys.stderr)
        args = [str(MAKE_LIBRARY), str(made), "--size", "12mp", "--count", str(made_count), "--no-extras"]
        subprocess.run([sys.executable, *args, "--workers", "2", "--seed", str(SEED)], check=True)
    # bursts come on top of the base photos: take the first ``count`` by path, so every run uses the same set
    files = sorted(made.rglob("*.jpg"))[:count]
    if len(files) < count:
        raise SystemExit(f"{made} holds {len(files)} JPEGs, fewer than {count}")
    if flat.exists():
        shutil.rmtree(flat)
    flat.mkdir(parents=True)
    for i, f in enumerate(files):
        # a flat folder: the peers take one glob; the index keeps names unique across month folders
        shutil.copy2(f, flat / f"{i:04d}_{f.name}")
    return flat


def jpegs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.jpg"))


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 2) if seconds > 0 else 0.0


# ---------------------------------------------------------------- the peers


def tool_version(argv: list[str]) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else None


def peer_commands(files: list[Path], out: Path, long_edge: int, quality: int) -> dict[str, list[str]]:
    names = [str(f) for f in files]
    return {
        "imagemagick": [
            "mogrify",
            "-path",
            str(out),
            "-resize",
            f"{long_edge}x{long_edge}",
            "-quality",
            str(quality),
            *names,
        ],
        # an absolute -o path: a relative one is taken from each input's folder
        "libvips": ["vipsthumbnail", "--size", str(long_edge), "-o", f"{out}/%s.jpg[Q={quality}]", *names],
    }


def bench_peers(files: list[Path], work: Path) -> dict[str, Any]:
    versions = {
        "imagemagick": tool_version(["mogrify", "-version"]),
        "libvips": tool_version(["vips", "--version"]),
    }
    result: dict[str, Any] = {"versions": versions}
    for tool, version in versions.items():
        if version is None:
            result[tool] = {"skipped": f"{tool} is not installed: install it with `{INSTALL}`"}
            print(f"{tool}: not installed, skipped (install it with `{INSTALL}`)", file=sys.stderr)
    for preset, (edge, quality) in PRESETS.items():
        for tool in ("imagemagick", "libvips"):
            if versions[tool] is None:
                continue
            out = fresh_dir(work / f"{tool}-{preset}")
            argv = peer_commands(files, out, edge, quality)[tool]
            t0 = time.perf_counter()
            done = subprocess.run(argv, capture_output=True, text=True)
            seconds = time.perf_counter() - t0
            written = len(list(out.glob("*.jpg")))
            entry: dict[str, Any] = {
                "command": " ".join(argv[: argv.index(str(files[0]))]) + " <files>",
                "seconds": round(seconds, 2),
                "written": written,
                "photos_per_s": rate(written, seconds),
            }
            if done.returncode != 0 or written != len(files):
                entry["error"] = (done.stderr or done.stdout).strip()[-500:] or f"exit {done.returncode}"
            result.setdefault(tool, {})[preset] = entry
            print(f"  {tool} {preset}: {entry['photos_per_s']} photos/s", file=sys.stderr, flush=True)
            shutil.rmtree(out)
    return result


# ---------------------------------------------------------------- the render spine, called directly


def _steps(edge: int, quality: int) -> list[Any]:
    from desktop.core.processing import operations

    return operations.validate_steps(
        [{"op": "resize", "params": {"long_edge": edge}}, {"op": "jpeg", "params": {"quality": quality}}]
    )


def render_one(path: Path, out: Path, edge: int, quality: int) -> int:
    """What the engine does per photo, minus the catalog: hash the source (the cache key needs it), render,
    write the output. Returns the bytes written."""
    from desktop.core.processing.render import Source, render

    data = path.read_bytes()
    source = Source(path=path, content_hash="xxh3:" + xxhash.xxh3_128_hexdigest(data))
    size = 0
    for r in render(source, _steps(edge, quality)):
        target = out / f"{path.stem}.{r.ext}"
        target.write_bytes(r.data)
        size += len(r.data)
    return size


def _render_in_child(job: tuple[str, str, int, int]) -> int:
    path, out, edge, quality = job
    return render_one(Path(path), Path(out), edge, quality)


def bench_direct(files: list[Path], work: Path, modes: list[str]) -> dict[str, Any]:
    """resize + jpeg over every file through ``render``, spread three ways; each mode's output is checked."""
    result: dict[str, Any] = {}
    for preset, (edge, quality) in PRESETS.items():
        for mode in modes:
            if preset != "web-2048" and mode != result.get("web-2048_fastest"):
                continue  # the 1280 export only in the way that was fastest for 2048
            out = fresh_dir(work / f"direct-{preset}-{mode}")
            jobs = [(str(f), str(out), edge, quality) for f in files]
            kind, n = mode.split("x")[0], int(mode.split("x")[1])
            t0 = time.perf_counter()
            if kind == "threads" and n == 1:
                sizes = [_render_in_child(j) for j in jobs]
            elif kind == "threads":
                with ThreadPoolExecutor(n) as pool:
                    sizes = list(pool.map(_render_in_child, jobs))
            else:
                with ProcessPoolExecutor(n) as pool:
                    sizes = list(pool.map(_render_in_child, jobs, chunksize=4))
            seconds = time.perf_counter() - t0
            written = len(list(out.glob("*.jpg")))
            result.setdefault(preset, {})[mode] = {
                "seconds": round(seconds, 2),
                "written": written,
                "mean_kb": round(sum(sizes) / max(1, len(sizes)) / 1024, 1),
                "photos_per_s": rate(written, seconds),
            }
            print(f"  direct {preset} {mode}: {rate(written, seconds)} photos/s", file=sys.stderr, flush=True)
            shutil.rmtree(out)
        if preset == "web-2048":
            timed = result["web-2048"]
            result["web-2048_fastest"] = max(timed, key=lambda m: timed[m]["photos_per_s"])
    return result


# ---------------------------------------------------------------- Shoebox's `process` command


def shoebox(home: Path, *args: str, timeout: float = 1800) -> tuple[subprocess.CompletedProcess[str], float]:
    env = dict(os.environ, SHOEBOX_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(REPO / "main.py"), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done, time.perf_counter() - t0


def process_missing(home: Path) -> str | None:
    """Why ``process`` cannot be benched in this build, or None when it is there."""
    done, _ = shoebox(home, "process", "--help", timeout=120)
    if done.returncode != 0:
        said = ((done.stderr or done.stdout).strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return (
            "this build has no `process` command, so Shoebox's own exports were not timed "
            f"(`python main.py process --help` said: {said[:90]}...); it comes with the engine of issue 12"
        )
    return None


def task_id_of(report: Any) -> Any:
    """The task's id in ``process --json``'s answer: ``task`` (an id or a task dict) or ``task_id``."""
    if not isinstance(report, dict):
        return None
    task = report.get("task", report.get("task_id"))
    return task.get("id") if isinstance(task, dict) else task


def outputs_of(report: Any) -> list[dict[str, Any]]:
    if isinstance(report, dict):
        rows = report.get("output_files", report.get("outputs", []))
        return [r for r in rows if isinstance(r, dict)]
    return []


def one_export(home: Path, files: list[Path], preset: str, out: Path) -> dict[str, Any]:
    done, seconds = shoebox(home, "process", preset, *map(str, files), "--out", str(out), "--json")
    entry: dict[str, Any] = {"seconds": round(seconds, 2), "exit": done.returncode}
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        entry["error"] = (done.stderr or done.stdout).strip()[-500:] or "no JSON on stdout"
        return entry
    rows = outputs_of(report)
    written = [p for p in out.rglob("*") if p.is_file() and not p.name.endswith(".shoebox-partial")]
    entry.update(
        written=len(written),
        photos_per_s=rate(len(written), seconds),
        cache_hits_reported=sum(1 for r in rows if r.get("cache_hit")),
        failed=[r for r in rows if r.get("code") not in (None, "ok", 0)][:5],
    )
    task = task_id_of(report)
    if task is not None:
        shown, _ = shoebox(home, "tasks", "show", str(task), "--json", timeout=120)
        try:
            info = json.loads(shown.stdout)
            entry["task"] = task
            entry["task_cache_hits"] = info.get("cache_hits") if isinstance(info, dict) else None
            entry["task_state"] = info.get("state") if isinstance(info, dict) else None
        except json.JSONDecodeError:
            entry["task_show_error"] = (shown.stderr or shown.stdout).strip()[-300:]
        # the task's own time (its started and finished stamps in the catalog, to the microsecond): the
        # command's wall time above also holds the interpreter's start and the catalog's opening (~1 s)
        with sqlite3.connect(home / "catalog.sqlite3") as con:
            row = con.execute("SELECT started_at, finished_at FROM task WHERE id=?", (task,)).fetchone()
        if row and row[0] and row[1]:
            took = (dt.datetime.fromisoformat(row[1]) - dt.datetime.fromisoformat(row[0])).total_seconds()
            entry["task_seconds"] = round(took, 3)
            entry["task_photos_per_s"] = rate(len(written), took)
    if done.returncode != 0 or len(written) != len(files):
        entry["error"] = (done.stderr or "").strip()[-500:] or f"{len(written)} of {len(files)} written"
    return entry


def bench_process(folder: Path, files: list[Path], work: Path) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="shoebox-export-bench-"))
    try:
        missing = process_missing(home)
        if missing:
            return {"missing": missing}
        added, add_s = shoebox(home, "add", "--no-watch", str(folder), "--json")
        result: dict[str, Any] = {"add_and_scan_s": round(add_s, 2)}
        if added.returncode != 0:
            result["error"] = f"`add` failed: {(added.stderr or added.stdout).strip()[-300:]}"
            return result
        for preset in PRESETS:
            first = one_export(home, files, preset, fresh_dir(work / f"process-{preset}"))
            again = one_export(home, files, preset, fresh_dir(work / f"process-{preset}-again"))
            result[preset] = {"first": first, "from_cache": again}
            shutil.rmtree(work / f"process-{preset}")
            shutil.rmtree(work / f"process-{preset}-again")
        return result
    finally:
        shutil.rmtree(home, ignore_errors=True)


# ---------------------------------------------------------------- the GUI while an export runs


def bench_gui(folder: Path, work: Path, modes: list[str], limit: int) -> dict[str, Any]:
    """``bench.export_gui_probe`` in each mode, on a fresh library holding the folder."""
    result: dict[str, Any] = {}
    for mode in modes:
        home = Path(tempfile.mkdtemp(prefix="shoebox-export-gui-"))
        try:
            added, _ = shoebox(home, "add", "--no-watch", str(folder), "--json")
            if added.returncode != 0:
                result[mode] = {"error": f"`add` failed: {(added.stderr or added.stdout).strip()[-300:]}"}
                continue
            out = work / f"gui-{mode}.json"
            env = dict(os.environ, SHOEBOX_HOME=str(home), QT_QPA_PLATFORM="offscreen")
            args = [
                "--mode",
                mode,
                "--files-dir",
                str(folder),
                "--export-dir",
                str(fresh_dir(work / f"gui-{mode}")),
            ]
            if mode == "in-app-render":
                args += ["--limit", str(limit)]
            done = subprocess.run(
                [sys.executable, "-m", "bench.export_gui_probe", *args, "--out", str(out)],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=1800,
            )
            if done.returncode != 0 or not out.is_file():
                result[mode] = {"error": (done.stderr or done.stdout).strip()[-800:]}
                continue
            probe = json.loads(out.read_text())
            if probe["info"].get("error"):  # the export did not run: its stall figures would mean nothing
                result[mode] = {"error": probe["info"]["error"]}
                continue
            during, idle = probe["phases"]["scroll_during_export"], probe["phases"]["scroll_idle"]
            result[mode] = {
                **probe["info"],
                "max_stall_ms": during.get("max_gap_ms"),
                "stalls_over_50ms": during.get("gaps_over_50ms"),
                "p99_gap_ms": during.get("p99_gap_ms"),
                "idle_max_stall_ms": idle.get("max_gap_ms"),
                "stall_sites": during.get("stall_sites"),
                "stall_time_split": during.get("stall_time_split"),
            }
        finally:
            shutil.rmtree(home, ignore_errors=True)
    return result


# ---------------------------------------------------------------- the run


def run(
    count: int = 200,
    peers: bool = True,
    direct: bool = True,
    process: bool = True,
    modes: tuple[str, ...] = ("threadsx1", "threadsx2", "processesx2"),
    gui: bool = True,
    gui_limit: int = 60,
) -> dict[str, Any]:
    folder = corpus(count)
    files = jpegs(folder)
    work = fresh_dir(OUT / "export" / "work")
    result: dict[str, Any] = {
        "machine": machine(),
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "photos": len(files),
        "megabytes": round(sum(f.stat().st_size for f in files) / 1024**2, 1),
        "load_average_before": round(os.getloadavg()[0], 2),
    }
    if peers:
        result["peers"] = bench_peers(files, work)
    if direct:
        result["direct_render"] = bench_direct(files, work, list(modes))
    if process:
        result["process"] = bench_process(folder, files, work)
    if gui:
        # the app's own task runner needs `process`; the in-app render is measurable before it exists
        gui_modes = ["in-app-render"]
        if process and not result["process"].get("missing"):
            gui_modes.append("process-async")
        result["gui"] = bench_gui(folder, work, gui_modes, gui_limit)
    result["load_average_after"] = round(os.getloadavg()[0], 2)
    shutil.rmtree(work, ignore_errors=True)
    write_result("export", result)
    report(result)
    missing = result.get("process", {}).get("missing")
    if missing:
        raise RuntimeError(f"export bench: {missing} (peers and the direct render path were measured)")
    return result


def report(result: dict[str, Any]) -> None:
    rows: list[tuple[str, str, str, str]] = []
    ok: Callable[[bool], str] = lambda good: "ok" if good else "MISS"  # noqa: E731
    peers = result.get("peers", {})
    direct = result.get("direct_render", {})
    proc = result.get("process", {})
    for preset in PRESETS:
        im = peers.get("imagemagick", {}).get(preset, {}).get("photos_per_s")
        vips = peers.get("libvips", {}).get(preset, {}).get("photos_per_s")
        for tool, value in (("ImageMagick mogrify", im), ("libvips vipsthumbnail", vips)):
            if value is not None:
                rows.append((f"{preset}: {tool}", f"{value} photos/s", "", ""))
        for mode, entry in direct.get(preset, {}).items():
            best = preset == "web-2048" and direct.get("web-2048_fastest") == mode
            rows.append(
                (
                    f"{preset}: direct render, {mode.replace('x', ' x')}",
                    f"{entry['photos_per_s']} photos/s",
                    "",
                    "fastest" if best else "",
                )
            )
        first = proc.get(preset, {}).get("first", {})
        again = proc.get(preset, {}).get("from_cache", {})
        if "photos_per_s" in first:
            value = first["photos_per_s"]
            rows.append(
                (
                    f"{preset}: shoebox process",
                    f"{value} photos/s",
                    ">= ImageMagick, >= libvips/1.5",
                    ok((im is None or value >= im) and (vips is None or value >= vips / 1.5)),
                )
            )
        if "photos_per_s" in again:
            rows.append(
                (
                    f"{preset}: shoebox process again (cache)",
                    f"{again['photos_per_s']} photos/s, hits {again.get('task_cache_hits')}",
                    ">= 300/s",
                    ok(again["photos_per_s"] >= 300),
                )
            )
        if "task_photos_per_s" in again:
            rows.append(
                (
                    f"{preset}: the cached repeat's task",
                    f"{again['task_photos_per_s']} photos/s ({again['task_seconds']} s)",
                    ">= 300/s (without the start)",
                    ok(again["task_photos_per_s"] >= 300),
                )
            )
        for which, entry in (("", first), (" again", again)):
            if entry.get("error"):
                rows.append((f"{preset}: shoebox process{which}", "failed", "", entry["error"][:60]))
    if proc.get("missing"):
        rows.append(("shoebox process", "not in this build", "", "MISSING"))
    for mode, g in result.get("gui", {}).items():
        if "max_stall_ms" in g:
            rows.append(
                (
                    f"GUI longest stall, export {mode} ({g['files']} photos, {g['photos_per_s']}/s)",
                    f"{g['max_stall_ms']} ms ({g['stalls_over_50ms']} over 50; idle {g['idle_max_stall_ms']})",
                    "<= 50 ms",
                    ok(g["max_stall_ms"] <= 50),
                )
            )
        else:
            rows.append((f"GUI stall probe, {mode}", "failed", "", str(g.get("error"))[-60:]))
    print_table(f"export (issue 12): {result['photos']} 12 MP JPEGs, {result['megabytes']} MB", rows)
    for tool, version in peers.get("versions", {}).items():
        print(f"  {tool}: {version or 'not installed (' + INSTALL + ')'}")
    if proc.get("missing"):
        print(f"  shoebox process: {proc['missing']}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--skip-direct", action="store_true")
    ap.add_argument("--skip-process", action="store_true")
    ap.add_argument("--skip-gui", action="store_true")
    ap.add_argument(
        "--gui-limit", type=int, default=60, help="photos rendered in the app for the stall probe"
    )
    ap.add_argument(
        "--modes", default="threadsx1,threadsx2,processesx2", help="direct render ways, comma-separated"
    )
    a = ap.parse_args()
    run(
        a.count,
        not a.skip_peers,
        not a.skip_direct,
        not a.skip_process,
        tuple(a.modes.split(",")),
        not a.skip_gui,
        a.gui_limit,
    )
    sys.exit(0)
