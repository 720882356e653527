"""Where CLIP runs and in which precision, and how many threads it may take.

CUDA runs fp16, Apple MPS fp32 (fp16 on MPS drifts on some ops), the CPU fp32
unless it has native bf16 matrix units (Intel AMX or AVX-512-BF16), where bf16
weights run ViT-B-32 several times faster. Without those units PyTorch
emulates bf16 and it is *slower* than fp32 (about 9x on an AVX2-only EPYC), so
bf16 is never chosen on feature guesswork alone: ``verify_low_precision``
compares it against fp32 on first use and the caller falls back to fp32 when
the embeddings drift (cosine below 0.9999).

Nothing here imports torch at module level: ``python main.py status`` and the
GUI start without it. ``SHOEBOX_DEVICE`` (cuda/mps/cpu) and
``SHOEBOX_PRECISION`` (fp32/bf16/fp16) override the automatic choice.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

ENV_DEVICE = "SHOEBOX_DEVICE"
ENV_PRECISION = "SHOEBOX_PRECISION"
MIN_COSINE = 0.9999
BF16_FLAGS = ("amx_bf16", "avx512_bf16")


@dataclass(frozen=True)
class DevicePlan:
    """Where a model runs: ``device`` is a torch device string, ``precision`` fp32/bf16/fp16."""

    device: str
    precision: str
    reason: str

    def describe(self) -> str:
        return f"{self.device} {self.precision} ({self.reason})"


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of the first core (empty where /proc/cpuinfo does not exist)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_has_fast_bf16(flags: Sequence[str] | frozenset[str] | None = None) -> bool:
    have = cpu_flags() if flags is None else frozenset(flags)
    return any(f in have for f in BF16_FLAGS)


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def plan_device(device: str | None = None, precision: str | None = None) -> DevicePlan:
    """Choose the device and precision (imports torch)."""
    import torch

    want_device = (device or os.environ.get(ENV_DEVICE) or "").lower() or None
    want_precision = (precision or os.environ.get(ENV_PRECISION) or "").lower() or None
    if want_device in (None, "cuda") and torch.cuda.is_available():
        return DevicePlan("cuda", want_precision or "fp16", "CUDA GPU")
    mps = getattr(torch.backends, "mps", None)
    if want_device in (None, "mps") and mps is not None and mps.is_available():
        return DevicePlan("mps", want_precision or "fp32", "Apple GPU")
    if want_precision:
        return DevicePlan("cpu", want_precision, "requested")
    if cpu_has_fast_bf16():
        return DevicePlan("cpu", "bf16", "CPU with AMX/AVX-512-BF16 (verified against fp32 on first use)")
    return DevicePlan("cpu", "fp32", "CPU without native bf16")


def torch_dtype(precision: str) -> torch.dtype:
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


_threads_configured = False


def configure_threads(leave_free: int = 1, max_threads: int | None = None) -> int:
    """Give torch all cores but ``leave_free`` (the GUI and the decoders need one).

    Returns the intra-op thread count. Inter-op parallelism is pinned to one
    thread: CLIP's graph is a chain, and a second pool only oversubscribes.
    """
    global _threads_configured
    import torch

    n = max(1, usable_cores() - leave_free)
    if max_threads is not None:
        n = max(1, min(n, max_threads))
    torch.set_num_threads(n)
    if not _threads_configured:
        # raises once parallel work has started (or it was set before): keep what there is
        with contextlib.suppress(RuntimeError):
            torch.set_num_interop_threads(1)
        _threads_configured = True
    return n


def min_cosine(a: Any, b: Any) -> float:
    """Smallest row-wise cosine between two 2-D tensors."""
    import torch

    a32 = a.float()
    b32 = b.float()
    return float(torch.nn.functional.cosine_similarity(a32, b32, dim=-1).min().item())


def verify_low_precision(
    reference: Callable[[], Any], candidate: Callable[[], Any], threshold: float = MIN_COSINE
) -> tuple[bool, float]:
    """Run both embedding functions on the same inputs and compare them row by row."""
    import torch

    with torch.inference_mode():
        ref = reference()
        got = candidate()
    cos = min_cosine(ref, got)
    return cos >= threshold, cos


def describe_plan_elsewhere(device: str | None, precision: str | None, timeout_s: float = 120.0) -> str:
    """``plan_device(...).describe()`` worked out in a short-lived child process.

    The desktop app never imports torch (an import holds the GIL for hundreds
    of milliseconds at a time, which froze the window); its Settings ask this
    instead. Raises ``RuntimeError`` with the child's last words if it fails.
    """
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys\n"
        "from desktop.core.runtime.lifeline import die_with_parent\n"
        "die_with_parent(int(sys.argv[3]), kernel_signal=True)\n"  # an app that was killed takes it along
        "from desktop.core.semantic.device import plan_device\n"
        "print(plan_device(sys.argv[1] or None, sys.argv[2] or None).describe())\n"
    )
    repo = str(Path(__file__).resolve().parents[3])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (repo, os.environ.get("PYTHONPATH")) if p))
    try:
        out = subprocess.run(
            [sys.executable, "-c", code, device or "", precision or "", str(os.getpid())],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"checking the device took more than {timeout_s:.0f} s") from None
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        why = (out.stderr.strip().splitlines() or ["no answer"])[-1]
        raise RuntimeError(why)
    return lines[-1]
