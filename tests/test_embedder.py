"""The embedding pipeline: one embedding per content, resume after a kill, index kept in step."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from desktop.core.catalog.schema import Embedding, Photo
from desktop.core.library import Library
from desktop.core.runtime.jobs import JobControl
from desktop.core.semantic import clip_models as cm
from desktop.core.semantic.device import DevicePlan
from desktop.core.semantic.embedder import (
    Embedder,
    open_catalog_index,
    pending_count,
    pending_items,
)
from desktop.core.semantic.search import index_library

REPO = Path(__file__).resolve().parent.parent
TINY_CFG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
FP32 = DevicePlan("cpu", "fp32", "tests")


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import open_clip
    import torch

    torch.manual_seed(0)
    model = open_clip.model.CLIP(**TINY_CFG).eval()
    return cm.save_checkpoint(
        model, tmp_path_factory.mktemp("tiny") / "tiny.safetensors", "shoebox-tiny", TINY_CFG
    )


def add_photos(lib: Library, folder: Path, n: int, dup_every: int = 0, thumbs: bool = True) -> list[int]:
    """n photos of random noise (every ``dup_every``-th a byte copy of the previous one)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(str(folder)))
    rows = []
    data = b""
    for i in range(n):
        if not (dup_every and i % dup_every == dup_every - 1):
            arr = rng.integers(0, 255, size=(48, 64, 3), dtype=np.uint8)
            buf = io.BytesIO()
            Image.fromarray(arr).save(buf, "JPEG", quality=90)
            data = buf.getvalue()
        (folder / f"p{i:03d}.jpg").write_bytes(data)
        h = hashlib.sha256(data).hexdigest()
        if thumbs:
            lib.thumbnails.write(h, data)
        rows.append({"rel_path": f"p{i:03d}.jpg", "content_hash": h, "status": "ok", "size_bytes": len(data)})
    root = lib.add_root(folder)

    def _insert() -> list[int]:
        return [Photo.create(root=root.id, **r).id for r in rows]

    return lib.writer.call(_insert)


def model(ckpt: Path, tmp: Path) -> cm.ClipModel:
    spec = cm.spec_from_options(None, ckpt)
    assert spec is not None
    return cm.load_model(spec, tmp / "models", plan=FP32)


def test_every_photo_gets_exactly_one_embedding(library: Library, tiny_ckpt: Path, tmp_path: Path) -> None:
    ids = add_photos(library, tmp_path / "pics", 20, dup_every=4)
    clip = model(tiny_ckpt, tmp_path)
    contents = {p.content_hash for p in Photo.select()}
    assert len(contents) == 15 and len(ids) == 20
    assert pending_count(clip.model_id) == 15
    idx = open_catalog_index(library, clip.model_id, clip.embed_dim)
    seen: list[tuple[int, int]] = []
    report = Embedder(library, clip, idx, batch_size=4).run(
        JobControl("embed", lambda p: seen.append((p.done, p.total)))
    )
    assert (report.embedded, report.total, report.failed, report.cancelled) == (15, 15, [], False)
    assert seen[-1] == (15, 15)
    rows = list(Embedding.select().where(Embedding.model_id == clip.model_id))
    assert len(rows) == 15 and {r.content_hash for r in rows} == contents
    for r in rows:
        v = np.frombuffer(bytes(r.vector), dtype=np.float16)
        assert v.shape == (32,) and abs(float(np.linalg.norm(v.astype(np.float32))) - 1) < 1e-2
    assert pending_count(clip.model_id) == 0 and library.embedded_count(clip.model_id) == 15
    assert idx.hashes() == contents
    assert Embedder(library, clip, idx).run().total == 0  # nothing left


def test_missing_thumbnail_decodes_the_original_and_bad_files_are_reported(
    library: Library, tiny_ckpt: Path, tmp_path: Path
) -> None:
    add_photos(library, tmp_path / "pics", 5, thumbs=False)
    (tmp_path / "pics" / "p004.jpg").write_bytes(b"not a jpeg")
    clip = model(tiny_ckpt, tmp_path)
    report = Embedder(library, clip, None, batch_size=2).run()
    assert report.embedded == 4 and len(report.failed) == 1 and "p004" in report.failed[0][0]
    assert pending_count(clip.model_id) == 1  # retried next run


def test_cancel_after_k_batches_then_resume_without_duplicates(
    library: Library, tiny_ckpt: Path, tmp_path: Path
) -> None:
    add_photos(library, tmp_path / "pics", 24)
    clip = model(tiny_ckpt, tmp_path)
    control = JobControl("embed")
    batches = 0
    original = clip.encode_prepared

    def counting(arrays: Any) -> np.ndarray:
        nonlocal batches
        batches += 1
        if batches == 2:
            control.cancel()  # takes effect at the next batch boundary
        return original(arrays)

    clip.encode_prepared = counting  # type: ignore[method-assign]
    try:
        idx = open_catalog_index(library, clip.model_id, clip.embed_dim)
        first = Embedder(library, clip, idx, batch_size=5).run(control)
    finally:
        del clip.encode_prepared
    assert first.cancelled and first.embedded == 10
    assert Embedding.select().count() == 10 and pending_count(clip.model_id) == 14
    second = Embedder(library, clip, idx, batch_size=5).run()
    assert second.embedded == 14 and not second.cancelled
    assert Embedding.select().count() == 24 and len(idx) == 24


def test_paused_job_waits(library: Library, tiny_ckpt: Path, tmp_path: Path) -> None:
    import threading

    add_photos(library, tmp_path / "pics", 6)
    clip = model(tiny_ckpt, tmp_path)
    control = JobControl("embed")
    control.pause()
    result: list[Any] = []
    t = threading.Thread(target=lambda: result.append(Embedder(library, clip, batch_size=2).run(control)))
    t.start()
    t.join(0.5)
    assert t.is_alive() and Embedding.select().count() == 0
    control.resume()
    t.join(10)
    assert result and result[0].embedded == 6


def test_killed_process_resumes_without_duplicates(library: Library, tiny_ckpt: Path, tmp_path: Path) -> None:
    """A real kill (SIGKILL mid-run) loses at most the batch in flight; the rerun finishes the rest."""
    add_photos(library, tmp_path / "pics", 40)
    home = library.paths.data
    script = textwrap.dedent(f"""
        import os, signal, sys
        from pathlib import Path
        from desktop.core.semantic import clip_models as cm
        from desktop.core.semantic.device import DevicePlan
        from desktop.core.semantic.embedder import Embedder
        from desktop.core.library import Library
        from desktop.core.runtime.paths import resolve_paths
        lib = Library(resolve_paths({str(home)!r}))
        spec = cm.spec_from_options(None, {str(tiny_ckpt)!r})
        clip = cm.load_model(spec, lib.paths.models, plan=DevicePlan("cpu", "fp32", "t"))
        n = 0
        real = clip.encode_prepared
        def enc(arrays):
            global n
            n += 1
            if n == 3:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(arrays)
        clip.encode_prepared = enc
        Embedder(lib, clip, None, batch_size=5).run()
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()
    clip = model(tiny_ckpt, tmp_path)
    assert Embedding.select().count() == 10  # two committed batches survived
    report = index_library(library, cm.spec_from_options(None, tiny_ckpt), plan=FP32, batch_size=5)
    assert report.embedded == 30
    hashes = [r.content_hash for r in Embedding.select().where(Embedding.model_id == clip.model_id)]
    assert len(hashes) == len(set(hashes)) == 40


def test_pending_items_pick_one_photo_per_content(library: Library, tmp_path: Path) -> None:
    add_photos(library, tmp_path / "pics", 6, dup_every=2)
    items = pending_items("some-model")
    assert len(items) == 3 and all(it.path.is_file() for it in items)
    assert os.path.basename(str(items[0].path)) == "p000.jpg"
