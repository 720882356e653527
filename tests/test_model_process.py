"""The model in its own process: queries and embedding through it, cancel, crashes, bad weights."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from test_embedder import FP32, add_photos, model

from desktop.core.catalog.schema import Embedding
from desktop.core.library import Library
from desktop.core.runtime.jobs import JobControl
from desktop.core.semantic import clip_models as cm
from desktop.core.semantic.embedder import pending_count
from desktop.core.semantic.model_process import ModelProcess, WorkerDied
from desktop.core.semantic.search import SearchService, index_library

REPO = Path(__file__).resolve().parent.parent


def _embedded(library: Library, service: SearchService, tmp_path: Path, n: int) -> cm.ModelSpec:
    """``n`` photos, embedded through the service's model process; the spec they were embedded with."""
    add_photos(library, tmp_path / "pics", n)
    spec = service.spec()
    index_library(library, spec, batch_size=4, encoder_for=service.model_process)
    return spec


def _broken_weights(tmp_path: Path) -> Path:
    """A safetensors file whose header is not JSON."""
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{not json")
    return bad


@pytest.fixture
def service(library: Library, tiny_clip_file: Path) -> Iterator[SearchService]:
    spec = cm.spec_from_options(None, tiny_clip_file)
    assert spec is not None
    svc = SearchService(library, spec, plan=FP32, model_process=True)
    yield svc
    svc.close()


def test_embedding_and_queries_through_the_model_process_match_in_process(
    library: Library, service: SearchService, tiny_clip_file: Path, tmp_path: Path
) -> None:
    add_photos(library, tmp_path / "pics", 12, dup_every=4)
    spec = service.spec()
    report = index_library(library, spec, batch_size=4, encoder_for=service.model_process)
    assert report.embedded == 9 and not report.cancelled and not report.failed
    assert pending_count(spec.model_id) == 0
    proc = service.model_process(spec)
    assert proc.alive and proc.embed_dim == 32 and "fp32" in proc.plan

    # the same vectors as the model in this process would give
    local = model(tiny_clip_file, tmp_path)
    rows = {r.content_hash: r.vector for r in Embedding.select()}
    from PIL import Image

    from desktop.core.semantic.embedder import pending_items  # noqa: F401  (the same inputs: thumbnails)

    for h, blob in list(rows.items())[:3]:
        with Image.open(library.thumbnails.path_for(h)) as im:
            ref = local.encode_images([im.convert("RGB")])[0]
        got = np.frombuffer(bytes(blob), dtype=np.float16).astype(np.float32)
        assert float(ref @ got) > 0.999

    text = proc.encode_texts(["a red car", "snow"])
    assert text.shape == (2, 32)
    np.testing.assert_allclose(text, local.encode_texts(["a red car", "snow"]), atol=1e-5)
    result = service.search("noise", limit=5)
    assert result.hits and result.model_id == spec.model_id
    outside = tmp_path / "pics" / "p000.jpg"
    similar = service.similar(outside, limit=3)
    assert similar.hits[0].score > 0.99  # the photo itself (by its stored vector)
    with pytest.raises(cm.ModelUnavailable):
        proc.encode_image_file(tmp_path / "no-such.jpg")  # the child's reason comes back
    assert proc.alive  # a bad query does not take the model down


def test_cancel_stops_at_a_batch_and_the_process_keeps_serving(
    library: Library, service: SearchService, tmp_path: Path
) -> None:
    add_photos(library, tmp_path / "pics", 24)
    spec = service.spec()
    control = JobControl("embed", lambda p: control.cancel() if p.done >= 4 else None, min_interval=0)
    first = index_library(library, spec, control, batch_size=4, encoder_for=service.model_process)
    assert first.cancelled and 4 <= first.embedded < 24
    assert service.model_process(spec).alive
    rest = index_library(library, spec, batch_size=4, encoder_for=service.model_process)
    assert first.embedded + rest.embedded == 24 and pending_count(spec.model_id) == 0


def test_a_killed_model_process_fails_calls_with_a_reason_and_is_restarted(
    library: Library, service: SearchService, tmp_path: Path
) -> None:
    spec = _embedded(library, service, tmp_path, 4)
    proc = service.model_process(spec)
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while proc.alive and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(
        WorkerDied, match="stopped working.*killed, most often because the computer ran out of memory"
    ):
        proc.encode_texts(["anything"])
    assert service.search("noise", limit=3).hits  # a new process answers
    assert service.model_process(spec).pid != proc.pid


def test_broken_weights_fail_fast_with_the_reason(library: Library, tmp_path: Path) -> None:
    spec = cm.ModelSpec(arch="ViT-B-32", weights=str(_broken_weights(tmp_path)))
    proc = ModelProcess(spec, library.paths.models, library.thumbnails, device="cpu", precision="fp32")
    t0 = time.monotonic()
    with pytest.raises(cm.ModelUnavailable):
        proc.wait_ready(timeout_s=120)
    assert time.monotonic() - t0 < 60 and not proc.alive


def test_the_app_process_never_imports_torch(tmp_path: Path, tiny_clip_file: Path) -> None:
    """Queries and embedding go through the model process; this process keeps only index and catalog."""
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from test_embedder import FP32, add_photos
        from desktop.core.semantic import clip_models as cm
        from desktop.core.library import Library
        from desktop.core.runtime.paths import resolve_paths
        from desktop.core.semantic.search import SearchService, index_library
        lib = Library(resolve_paths(Path({str(tmp_path / "home")!r})))
        add_photos(lib, Path({str(tmp_path / "pics")!r}), 6)
        spec = cm.spec_from_options(None, {str(tiny_clip_file)!r})
        svc = SearchService(lib, spec, plan=FP32, model_process=True)
        report = index_library(lib, spec, batch_size=3, encoder_for=svc.model_process)
        hits = svc.search("noise", limit=3).hits
        svc.close()
        lib.close()
        print(report.embedded, len(hits), "torch" in sys.modules, "open_clip" in sys.modules)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests")]))
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["6", "3", "False", "False"], out.stderr[-3000:]


def test_closing_the_service_while_a_model_loads_returns_at_once(
    library: Library, tiny_clip_file: Path
) -> None:
    import threading

    spec = cm.spec_from_options(None, tiny_clip_file)
    assert spec is not None
    svc = SearchService(library, spec, plan=FP32, model_process=True)
    errors: list[BaseException] = []

    def query() -> None:
        try:
            svc.search("anything")
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=query)
    t.start()
    time.sleep(0.5)  # the model process is still starting (imports take seconds)
    t0 = time.monotonic()
    svc.close()
    t.join(15)
    assert time.monotonic() - t0 < 10 and not t.is_alive()
    assert errors and isinstance(errors[0], cm.ModelUnavailable | WorkerDied)
    with pytest.raises(cm.ModelUnavailable, match="stopped"):
        svc.model_process(spec)  # a closed service starts no new process


def test_a_model_that_failed_to_load_is_not_retried_by_the_same_service(
    library: Library, tmp_path: Path
) -> None:
    spec = cm.ModelSpec(arch="ViT-B-32", weights=str(_broken_weights(tmp_path)), fingerprint="broken")
    svc = SearchService(library, spec, plan=FP32, model_process=True)
    try:
        with pytest.raises(cm.ModelUnavailable):
            svc.model()
        t0 = time.monotonic()
        with pytest.raises(cm.ModelUnavailable):
            svc.model()
        assert time.monotonic() - t0 < 1.0  # the reason is remembered, no new process
    finally:
        svc.close()


def test_a_complete_active_model_becomes_the_serving_one_without_a_process(
    library: Library, service: SearchService, tmp_path: Path
) -> None:
    from desktop.core.semantic.search import serving_spec, set_active_model

    spec = _embedded(library, service, tmp_path, 3)
    set_active_model(library, spec)
    library.set_setting("search.serving_model", "")  # as if the last job died after its final commit
    assert serving_spec(library) is None
    report = index_library(library, None, encoder_for=lambda *_: pytest.fail("no process needed"))
    assert report.embedded == 0
    serving = serving_spec(library)
    assert serving is not None and serving.model_id == spec.model_id
