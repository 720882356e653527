"""Model manifest, loading from checkpoints (never unpickling), offline behaviour, device choice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from desktop.core.semantic import clip_models as cm
from desktop.core.semantic.device import DevicePlan, cpu_has_fast_bf16, plan_device

REPO = Path(__file__).resolve().parent.parent
TINY_CFG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
FP32 = DevicePlan("cpu", "fp32", "tests")


def make_tiny(seed: int) -> Any:
    import open_clip
    import torch

    torch.manual_seed(seed)
    return open_clip.model.CLIP(**TINY_CFG).eval()


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny-model") / "tiny.safetensors"
    return cm.save_checkpoint(make_tiny(0), out, "shoebox-tiny", TINY_CFG)


def test_manifest_offers_default_stronger_and_lighter() -> None:
    man = cm.load_manifest()
    default = man.default_entry()
    assert (default.arch, default.pretrained) == ("ViT-B-32", "laion2b_s34b_b79k")
    assert len(man.models) >= 3
    for e in man.models:
        assert e.embed_dim > 0 and e.download_mb > 0 and e.licence and e.note
    assert man.get("ViT-B-32/laion2b_s34b_b79k") == default
    assert man.get("vit-b-32") == default


def test_manifest_weights_locations_match_open_clip() -> None:
    """The app checks "is it downloaded?" from the manifest without importing open_clip (torch):
    each entry's hf_hub must be where open_clip itself downloads that model from."""
    import open_clip

    for e in cm.load_manifest().models:
        assert e.hf_hub, e.name
        assert open_clip.get_pretrained_cfg(e.arch, e.pretrained).get("hf_hub") == e.hf_hub, e.name


def test_download_check_of_a_manifest_model_does_not_import_open_clip(tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from desktop.core.semantic import clip_models as cm; "
        "spec = cm.load_manifest().default_entry().spec(); "
        f"print(cm.model_status(spec, Path({str(tmp_path)!r}))['downloaded'], "
        "'open_clip' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False", "False"], out.stderr


def test_spec_from_options() -> None:
    spec = cm.spec_from_options("vit-b-32", None)
    assert spec is not None and spec.model_id == "ViT-B-32@laion2b_s34b_b79k"
    other = cm.spec_from_options("ViT-B-16/laion2b_s34b_b88k", None)
    assert other is not None and other.arch == "ViT-B-16"
    assert cm.spec_from_options(None, None) is None
    with pytest.raises(cm.ModelUnavailable, match="model list"):
        cm.spec_from_options("no-such-model", None)
    with pytest.raises(cm.ModelUnavailable, match="does not exist"):
        cm.spec_from_options("ViT-B-32", "/nonexistent/file.safetensors")


def test_checkpoint_declares_its_architecture(tiny_ckpt: Path, tmp_path: Path) -> None:
    spec = cm.spec_from_options(None, tiny_ckpt)
    assert spec is not None and spec.arch == "shoebox-tiny"
    assert spec.model_id.startswith("shoebox-tiny@file:")
    same = cm.spec_from_options("shoebox-tiny", tiny_ckpt)
    assert same is not None and same.model_id == spec.model_id
    # a manifest name given with a file that says what it is (Settings passes the selected row's name)
    named = cm.spec_from_options("vit-b-32", tiny_ckpt)
    assert named is not None and named.arch == "shoebox-tiny" and named.model_id == spec.model_id
    assert cm.ModelSpec.from_json(spec.to_json()) == spec
    other = cm.save_checkpoint(make_tiny(1), tmp_path / "other.safetensors", "shoebox-tiny", TINY_CFG)
    other_spec = cm.spec_from_options(None, other)
    assert other_spec is not None and other_spec.model_id != spec.model_id

    clip = cm.load_model(spec, tmp_path / "models", plan=FP32)
    assert (clip.embed_dim, clip.image_size) == (32, 32)
    from PIL import Image

    v = clip.encode_images([Image.new("RGB", (90, 60), (200, 10, 10)), Image.new("L", (40, 80), 128)])
    assert v.shape == (2, 32) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)


def test_trimmed_text_tower_matches_full(tiny_ckpt: Path, tmp_path: Path) -> None:
    import torch

    spec = cm.spec_from_options(None, tiny_ckpt)
    assert spec is not None
    clip = cm.load_model(spec, tmp_path, plan=FP32)
    texts = ["a dog", "birthday cake with candles on a table"]
    fast = clip.encode_texts(texts)
    with torch.inference_mode():
        full = clip.torch_model.encode_text(clip.tokenize(texts), normalize=True).numpy()
    assert np.allclose(fast, full, atol=1e-5)


def test_torch_checkpoint_loads_with_weights_only(tmp_path: Path) -> None:
    import torch

    model = make_tiny(2)
    path = tmp_path / "tiny.pt"
    torch.save({"arch": "shoebox-tiny", "model_cfg": TINY_CFG, "state_dict": model.state_dict()}, path)
    spec = cm.spec_from_options(None, path)
    assert spec is not None and spec.arch == "shoebox-tiny"
    clip = cm.load_model(spec, tmp_path / "models", plan=FP32)
    assert clip.encode_texts(["x"]).shape == (1, 32)


class Evil:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, ("echo pwned",))


def test_pickled_objects_are_refused(tmp_path: Path) -> None:
    import torch

    path = tmp_path / "evil.pt"
    torch.save({"arch": "shoebox-tiny", "state_dict": Evil()}, path)
    with pytest.raises(cm.ModelUnavailable, match="weights_only"):
        cm.spec_from_options("shoebox-tiny", path)


def test_checkpoint_without_architecture_needs_model(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "bare.safetensors"
    save_file({k: v.contiguous() for k, v in make_tiny(0).state_dict().items()}, str(path))
    with pytest.raises(cm.ModelUnavailable, match="--model"):
        cm.spec_from_options(None, path)
    spec = cm.spec_from_options("ViT-B-32", path)  # a real arch that does not fit
    assert spec is not None and spec.arch == "ViT-B-32"
    by_name = cm.spec_from_options("vit-b-32", path)  # a manifest name stands for its architecture
    assert by_name is not None and by_name.arch == "ViT-B-32"
    with pytest.raises(cm.ModelUnavailable, match="does not fit"):
        cm.load_model(spec, tmp_path / "models", plan=FP32)


def test_offline_download_gives_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(cfg: dict[str, Any], cache_dir: str) -> str:
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(cm, "_fetch_pretrained", no_network)
    spec = cm.load_manifest().default_entry().spec()
    assert cm.cached_weights(spec, tmp_path) is None
    with pytest.raises(cm.ModelUnavailable) as info:
        cm.load_model(spec, tmp_path, plan=FP32)
    msg = str(info.value)
    assert "model download vit-b-32" in msg and "--weights" in msg and "605 MB" in msg
    assert "Everything else" in msg


def test_offline_cli_search_fails_cleanly_and_the_app_still_works(tmp_path: Path) -> None:
    env = dict(os.environ, SHOEBOX_HOME=str(tmp_path / "home"), HF_HUB_OFFLINE="1")
    run = subprocess.run(
        [sys.executable, "main.py", "search", "dog"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # no model: the search still answers (names, tags, filters) and says how to get smart search
    assert run.returncode == 0, run.stderr
    assert "Smart search is not available" in run.stderr
    assert "model download" in run.stderr and "Traceback" not in run.stderr
    code = (
        "import sys, json; from desktop.cli.main import run; rc = run(['status', '--json']); "
        "assert rc == 0, rc; assert 'torch' not in sys.modules and 'open_clip' not in sys.modules, 'torch imported'"
    )
    status = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["pending_embeddings"] == 0 and data["embedded"] == 0 and data["model"] == "vit-b-32"


def test_search_modules_import_without_torch() -> None:
    code = (
        "import sys; import desktop.core.semantic.search, desktop.core.semantic.embedder, desktop.core.semantic.vector_index, "
        "desktop.cli.search_cmds, desktop.cli.main; "
        "assert 'torch' not in sys.modules and 'open_clip' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)


def test_device_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    assert cpu_has_fast_bf16(["avx2", "amx_bf16"])
    assert cpu_has_fast_bf16(["avx512_bf16"])
    assert not cpu_has_fast_bf16(["avx2", "avx512f"])
    monkeypatch.setenv("SHOEBOX_DEVICE", "cpu")
    monkeypatch.setenv("SHOEBOX_PRECISION", "fp32")
    assert plan_device() == DevicePlan("cpu", "fp32", "requested")


def test_bf16_is_verified_against_fp32(
    tiny_ckpt: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desktop.core.semantic import device

    spec = cm.spec_from_options(None, tiny_ckpt)
    assert spec is not None
    cm.forget_loaded_models()
    clip = cm.load_model(spec, tmp_path, plan=DevicePlan("cpu", "bf16", "tests"))
    assert clip.bf16_cosine is not None
    assert clip.plan.precision == ("bf16" if clip.bf16_cosine >= device.MIN_COSINE else "fp32")
    # an impossible threshold forces the fallback
    cm.forget_loaded_models()
    monkeypatch.setattr(cm, "verify_low_precision", lambda a, b: (False, 0.5))
    clip = cm.load_model(spec, tmp_path, plan=DevicePlan("cpu", "bf16", "tests"))
    assert clip.plan.precision == "fp32"
    cm.forget_loaded_models()
