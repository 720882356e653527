"""Helpers shared by the benchmarks: made libraries (cached), timing, memory, output."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
MAKE_LIBRARY = REPO.parent / "shared" / "tools" / "make_library.py"


def made_library(name: str, count: int, size: str, extras: bool = False) -> Path:
    """A library from ../shared/tools/make_library.py, generated once and reused."""
    target = OUT / "libraries" / f"{name}-{size}-{count}"
    if (target / "manifest.json").is_file():
        return target
    if not MAKE_LIBRARY.is_file():
        raise SystemExit(f"the benchmarks need {MAKE_LIBRARY} (the shared tools beside the repo)")
    args = [sys.executable, str(MAKE_LIBRARY), str(target), "--count", str(count), "--size", size]
    if not extras:
        args.append("--no-extras")
    print(f"making {target.name} (once; reused by later runs)...", file=sys.stderr, flush=True)
    subprocess.run(args, check=True)
    return target


def peak_rss_mb(children: bool = False) -> float:
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024.0


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        # what decides CPU inference speed here: native bf16 matrix units (Intel AMX, AVX-512-BF16)
        "bf16_units": sorted(flags & {"amx_bf16", "avx512_bf16"}) or "none",
        "cores": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_result(name: str, data: dict[str, Any]) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def print_table(title: str, rows: list[tuple[str, str, str, str]]) -> None:
    """rows: (metric, value, target, verdict)."""
    print(f"\n== {title}")
    widths = [max(len(r[i]) for r in [("metric", "value", "target", "")] + rows) for i in range(4)]
    header = ("metric", "value", "target", "")
    for r in [header] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)))
