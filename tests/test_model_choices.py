"""The one model list (``search.model_choices``): ``model list --json`` and the app's settings show it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from desktop.core.semantic import search
from desktop.core.semantic.clip_models import ModelSpec, load_manifest

MANIFEST_KEYS = [
    "name",
    "arch",
    "pretrained",
    "embed_dim",
    "download_mb",
    "licence",
    "note",
    "requires",
    "downloaded",
    "active",
    "serving",
]


def test_the_manifest_with_the_default_active_and_nothing_downloaded(library: Any) -> None:
    manifest = load_manifest()
    choices = search.model_choices(library)
    assert [c.name for c in choices] == [e.name for e in manifest.models]
    assert all(c.in_manifest and not c.downloaded and not c.serving for c in choices)
    assert [c.name for c in choices if c.active] == [manifest.default]
    default = manifest.default_entry()
    first = next(c for c in choices if c.name == default.name)
    assert (first.arch, first.download_mb, first.licence) == (
        default.arch,
        default.download_mb,
        default.licence,
    )
    rows = search.model_list(library)
    assert [list(r) for r in rows] == [MANIFEST_KEYS] * len(rows)
    assert rows == [c.as_dict() for c in choices]


def test_a_chosen_weights_file_follows_the_manifest(library: Any, tmp_path: Path) -> None:
    weights = tmp_path / "mine.safetensors"
    weights.write_bytes(b"not really weights, but a file to fingerprint")
    spec = ModelSpec(arch="ViT-B-32", weights=str(weights))
    search.set_active_model(library, spec)
    choices = search.model_choices(library)
    assert not any(c.active for c in choices if c.in_manifest)
    mine = choices[-1]
    assert not mine.in_manifest and mine.active and mine.downloaded and mine.weights == str(weights)
    assert mine.name == spec.label()
    assert search.model_list(library)[-1] == {
        "name": spec.label(),
        "arch": "ViT-B-32",
        "pretrained": None,
        "weights": str(weights),
        "downloaded": True,
        "active": True,
        "serving": False,
    }
    weights.unlink()
    assert not search.model_choices(library)[-1].downloaded
