"""Sidecar benchmark (issue 11): a first scan of 1,000 JPEGs with XMP sidecars against the same without.

Target: scanning with sidecars costs at most 20% more. Both folders hold the same
1,000 JPEGs (1024×768, with EXIF); one also has a digiKam-style ``name.jpg.xmp``
beside each (tags in ``digiKam:TagsList``, ``lr:hierarchicalSubject`` and
``dc:subject``, rating, colour label, title), which the scan reads, merges and
turns into tags. Each scan goes into a new library (so no thumbnail is reused);
the two alternate, a few rounds each, and the medians are compared, since this
VM's speed drifts by more than the difference measured. The CPU time of the scan
(its threads and its worker processes) is compared too: on a machine shared with
other work it is the steadier measure of what the sidecars cost.

Run alone: ``python -m bench.bench_sidecars [--count N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from bench.common import OUT, machine, print_table, write_result
from desktop.core.library import Library
from desktop.core.runtime.paths import resolve_paths

TARGET_EXTRA = 0.20  # at most 20% slower with sidecars

PLACES = ["Places/France/Paris", "Places/Italy/Rome", "Places/Japan/Kyoto", "Places/Peru/Cusco"]
PEOPLE = ["People/Anna", "People/Ben", "People/Chloé", "People/Dan"]
SIDECAR = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:digiKam="http://www.digikam.org/ns/1.0/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
   xmp:Rating="{rating}" digiKam:ColorLabel="{label}">
   <digiKam:TagsList><rdf:Seq>{tags_slash}</rdf:Seq></digiKam:TagsList>
   <lr:hierarchicalSubject><rdf:Bag>{tags_bar}</rdf:Bag></lr:hierarchicalSubject>
   <dc:subject><rdf:Bag>{leaves}</rdf:Bag></dc:subject>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Photo {n}</rdf:li></rdf:Alt></dc:title>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""


def _items(values: list[str]) -> str:
    return "".join(f"<rdf:li>{v}</rdf:li>" for v in values)


def sidecar_text(n: int) -> str:
    tags = [PLACES[n % len(PLACES)], PEOPLE[n % len(PEOPLE)], f"Events/Trip {n % 25}"]
    return SIDECAR.format(
        rating=n % 6,
        label=n % 8,
        tags_slash=_items(tags),
        tags_bar=_items([t.replace("/", "|") for t in tags]),
        leaves=_items([t.rsplit("/", 1)[-1] for t in tags]),
        n=n,
    )


def make_folders(count: int) -> tuple[Path, Path]:
    """``plain/`` and ``with-sidecars/``: the same JPEGs, made once and reused."""
    base = OUT / "libraries" / f"sidecars-{count}"
    plain, with_sidecars = base / "plain", base / "with-sidecars"
    if (with_sidecars / f"{count - 1:04d}.jpg.xmp").is_file():
        return plain, with_sidecars
    shutil.rmtree(base, ignore_errors=True)
    plain.mkdir(parents=True)
    print(f"making {count} JPEGs with and without sidecars (once)...", file=sys.stderr, flush=True)
    start = dt.datetime(2024, 7, 3, 9, 0)
    for n in range(count):
        img = Image.new("RGB", (1024, 768), ((n * 37) % 256, (n * 91) % 256, (n * 53) % 256))
        img.paste((n % 256, 255 - n % 256, 128), (n % 700, n % 500, n % 700 + 300, n % 500 + 250))
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = "Canon", "EOS R5"
        exif.get_ifd(0x8769)[0x9003] = (start + dt.timedelta(minutes=n)).strftime("%Y:%m:%d %H:%M:%S")
        img.save(plain / f"{n:04d}.jpg", quality=88, exif=exif.tobytes())
    shutil.copytree(plain, with_sidecars)
    for n in range(count):
        (with_sidecars / f"{n:04d}.jpg.xmp").write_text(sidecar_text(n), encoding="utf-8")
    return plain, with_sidecars


def _cpu() -> float:
    """CPU seconds of this process (the scanning and writer threads) and its reaped children (the
    scan's worker processes, reaped when the scan's pool shuts down)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def scan_seconds(folder: Path) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds, photos added, tags made) of a first scan of ``folder`` into a new library."""
    with tempfile.TemporaryDirectory() as tmp:
        lib = Library(resolve_paths(Path(tmp) / "home"))
        try:
            root = lib.add_root(folder, watched=False)
            t0, c0 = time.perf_counter(), _cpu()
            report = lib.scan([root])
            seconds, cpu = time.perf_counter() - t0, _cpu() - c0
            tagged = len(lib.tags())
        finally:
            lib.close()
    return seconds, cpu, report.added, tagged


def run(count: int = 1000, rounds: int = 3) -> dict[str, Any]:
    plain, with_sidecars = make_folders(count)
    for folder in (plain, with_sidecars):  # into the page cache before anything is timed
        for f in folder.iterdir():
            f.read_bytes()
    times: dict[str, list[float]] = {"without": [], "with": []}
    cpus: dict[str, list[float]] = {"without": [], "with": []}
    tags_made = 0
    for _ in range(rounds):
        for key, folder in (("without", plain), ("with", with_sidecars)):
            seconds, cpu, added, tags = scan_seconds(folder)
            assert added == count, f"{folder}: {added} of {count} added"
            times[key].append(round(seconds, 2))
            cpus[key].append(round(cpu, 2))
            if key == "with":
                tags_made = tags
    without, with_ = statistics.median(times["without"]), statistics.median(times["with"])
    cpu_without, cpu_with = statistics.median(cpus["without"]), statistics.median(cpus["with"])
    extra, cpu_extra = with_ / without - 1, cpu_with / cpu_without - 1
    result = {
        "machine": machine(),
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "load_average": os.getloadavg(),
        "photos": count,
        "rounds": rounds,
        "seconds_without": times["without"],
        "seconds_with": times["with"],
        "cpu_seconds_without": cpus["without"],
        "cpu_seconds_with": cpus["with"],
        "median_without_s": round(without, 2),
        "median_with_s": round(with_, 2),
        "extra": round(extra, 3),
        "median_cpu_without_s": round(cpu_without, 2),
        "median_cpu_with_s": round(cpu_with, 2),
        "cpu_extra": round(cpu_extra, 3),
        "tags_from_sidecars": tags_made,
    }
    write_result("sidecars", result)
    print_table(
        "sidecars (issue 11)",
        [
            (
                f"first scan, {count:,} JPEGs, without / with sidecars",
                f"{without:.2f} / {with_:.2f} s (median of {rounds})",
                "",
                "",
            ),
            (
                "extra time with sidecars",
                f"{extra * 100:+.1f}%",
                f"<= {TARGET_EXTRA * 100:.0f}%",
                "ok" if extra <= TARGET_EXTRA else "MISS",
            ),
            (
                "extra CPU with sidecars (scan + workers)",
                f"{cpu_extra * 100:+.1f}% ({cpu_without:.1f} / {cpu_with:.1f} s)",
                f"<= {TARGET_EXTRA * 100:.0f}%",
                "ok" if cpu_extra <= TARGET_EXTRA else "MISS",
            ),
        ],
    )
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    run(a.count, a.rounds)
    sys.exit(0)
