"""Child processes die with their parent: scan workers, the model process, a plain subprocess.

Each test runs a real parent process that starts real children, kills the
parent with SIGKILL (as ``kill -9`` or the out-of-memory killer would) and
checks that every child is gone within a few seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and /proc")


def _alive(pid: int) -> bool:
    """Running (a zombie nobody has reaped yet counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (macOS): ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _kill_parent_and_wait_for(
    parent: subprocess.Popen[str], children: list[int], within_s: float
) -> list[int]:
    """SIGKILL ``parent``; the children still running after ``within_s`` seconds."""
    assert children and all(_alive(pid) for pid in children)
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)
    for pipe in (parent.stdout, parent.stderr):  # a killed parent's pipes are still ours to close
        if pipe is not None:
            pipe.close()
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.1)
    left = [pid for pid in children if _alive(pid)]
    for pid in left:  # never leave them behind for the next test
        os.kill(pid, signal.SIGKILL)
    return left


def _start(script: str, tmp_path: Path) -> tuple[subprocess.Popen[str], dict[str, object]]:
    """Run ``script`` as the parent; it prints one JSON line once its children are up."""
    env = dict(os.environ, PYTHONPATH=str(REPO), SHOEBOX_HOME=str(tmp_path / "home"))
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert parent.stdout is not None
    line = parent.stdout.readline()
    if not line:
        parent.kill()
        raise AssertionError(f"the parent process did not start its children:\n{parent.stderr.read()}")  # type: ignore[union-attr]
    return parent, json.loads(line)


def test_scan_workers_die_when_the_app_is_killed(tmp_path: Path) -> None:
    script = f"""
        import json, multiprocessing, sys, time
        from pathlib import Path
        from PIL import Image
        from desktop.core.runtime.jobs import JobControl
        from desktop.core.library import Library
        from desktop.core.ingest.scanner import Scanner

        pics = Path({str(tmp_path / "pics")!r})
        pics.mkdir()
        for i in range(48):
            Image.new("RGB", (64, 48), (i * 5, 90, 200 - i)).save(pics / f"p{{i}}.jpg")
        lib = Library()
        root = lib.add_root(pics)

        def progress(p):
            if p.done:  # the pool is up and has answered: hang here, as a frozen app would
                pids = [c.pid for c in multiprocessing.active_children()]
                print(json.dumps({{"workers": pids}}), flush=True)
                time.sleep(600)

        Scanner(lib, workers=2).scan([root], JobControl("scan", progress, min_interval=0))
    """
    parent, info = _start(script, tmp_path)
    workers = [int(pid) for pid in info["workers"]]  # type: ignore[attr-defined]
    assert len(workers) >= 2
    assert _kill_parent_and_wait_for(parent, workers, within_s=5) == []


def test_the_model_process_dies_with_the_app_even_while_it_loads(tmp_path: Path) -> None:
    # a "weights file" that is a named pipe nobody writes to: loading it blocks forever, as a
    # model read from a hung network drive would
    fifo = tmp_path / "stuck.safetensors"
    os.mkfifo(fifo)
    script = f"""
        import json
        import time
        from pathlib import Path
        from desktop.core.semantic.clip_models import ModelSpec
        from desktop.core.semantic.model_process import ModelProcess
        from desktop.core.imaging.thumbnails import ThumbnailCache

        spec = ModelSpec(arch="ViT-B-32", weights={str(fifo)!r}, fingerprint="stuck")
        proc = ModelProcess(spec, Path({str(tmp_path)!r}), ThumbnailCache(Path({str(tmp_path / "t")!r})))
        time.sleep(1.5)  # well into loading
        print(json.dumps({{"model": proc.pid, "alive": proc.alive}}), flush=True)
        time.sleep(600)
    """
    parent, info = _start(script, tmp_path)
    assert info["alive"] is True
    assert _kill_parent_and_wait_for(parent, [int(info["model"])], within_s=5) == []  # type: ignore[call-overload]


def test_a_plain_subprocess_that_asks_to_die_with_its_parent_does(tmp_path: Path) -> None:
    # the shape of Settings' device check: ``python -c`` started by subprocess, told the parent's pid
    script = """
        import json, os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c",
            "import sys, time\\n"
            "from desktop.core.runtime.lifeline import die_with_parent\\n"
            "die_with_parent(int(sys.argv[1]), kernel_signal=True)\\n"
            "print('up', flush=True)\\n"
            "time.sleep(600)\\n", str(os.getpid())], stdout=subprocess.PIPE, text=True)
        child.stdout.readline()
        print(json.dumps({"child": child.pid}), flush=True)
        time.sleep(600)
    """
    parent, info = _start(script, tmp_path)
    assert _kill_parent_and_wait_for(parent, [int(info["child"])], within_s=3) == []  # type: ignore[call-overload]


def test_a_child_whose_parent_is_already_gone_exits_at_once(tmp_path: Path) -> None:
    code = "from desktop.core.runtime.lifeline import die_with_parent; die_with_parent(1); import time; time.sleep(60)"
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=30, check=False
    )
    assert proc.returncode == 1 and time.monotonic() - started < 20
