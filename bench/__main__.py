"""``make bench``: run every benchmark, write bench/out/*.json and print a table each.

Pick some with ``python -m bench library search gui``; the default runs all.
"""

from __future__ import annotations

import importlib
import sys
import traceback

SUITES = {
    "library": "bench.bench_library",
    "video": "bench.bench_video",
    "search": "bench.bench_search",
    "gui": "bench.bench_gui",
    "sidecars": "bench.bench_sidecars",
    "sidecar_writes": "bench.bench_sidecar_writes",
    "export": "bench.bench_export",
}


def main(argv: list[str]) -> int:
    chosen = argv or list(SUITES)
    failed = []
    for name in chosen:
        try:
            module = importlib.import_module(SUITES[name])
        except ModuleNotFoundError as exc:
            print(f"\n== {name}: not available ({exc})")
            failed.append(name)
            continue
        try:
            module.run()
        except Exception:
            traceback.print_exc()
            failed.append(name)
    print("\nJSON results are in bench/out/; record them in bench/RESULTS.md.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
