"""Smart search end to end with a tiny random CLIP: similar, text, hybrid filters, restarts, model switch, CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from desktop.core.catalog.query import QueryError
from desktop.core.catalog.schema import Embedding, Photo
from desktop.core.library import Library
from desktop.core.runtime.paths import resolve_paths
from desktop.core.semantic import clip_models as cm
from desktop.core.semantic.device import DevicePlan
from desktop.core.semantic.embedder import forget_indexes, pending_count
from desktop.core.semantic.search import (
    SearchService,
    active_spec,
    extra_status,
    index_library,
    keyword_search,
    serving_spec,
    set_active_model,
)

TINY_CFG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
FP32 = DevicePlan("cpu", "fp32", "tests")


def _tiny(seed: int, path: Path) -> Path:
    import open_clip
    import torch

    torch.manual_seed(seed)
    return cm.save_checkpoint(open_clip.model.CLIP(**TINY_CFG).eval(), path, "shoebox-tiny", TINY_CFG)


@pytest.fixture(scope="session")
def tiny_ckpts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tiny")
    return _tiny(0, d / "a.safetensors"), _tiny(1, d / "b.safetensors")


def jpeg(seed: int) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, size=(3,), dtype=np.uint8)
    arr = np.clip(base + rng.normal(0, 40, size=(48, 64, 3)), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def add_photo(lib: Library, root_id: int, folder: Path, name: str, data: bytes, **meta: Any) -> int:
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    h = hashlib.sha256(data).hexdigest()
    lib.thumbnails.write(h, data)
    return lib.writer.call(
        lambda: (
            Photo.create(
                root=root_id, rel_path=name, content_hash=h, status="ok", size_bytes=len(data), **meta
            ).id
        )
    )


@pytest.fixture
def lib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Library]:
    monkeypatch.setenv("SHOEBOX_HOME", str(tmp_path / "home"))
    forget_indexes()
    library = Library(resolve_paths())
    yield library
    forget_indexes()
    library.close()


@pytest.fixture
def catalog(lib: Library, tmp_path: Path, tiny_ckpts: tuple[Path, Path]) -> dict[str, Any]:
    """80 photos (2 byte-identical to p000), tags, dates, cameras, places; embedded with model A."""
    folder = tmp_path / "pics"
    folder.mkdir()
    root = lib.add_root(folder)
    ids: dict[str, int] = {}
    for i in range(80):
        name = f"p{i:03d}.jpg"
        ids[name] = add_photo(
            lib,
            root.id,
            folder,
            name,
            jpeg(i),
            taken_local=dt.datetime(2015 + i % 10, 1 + i % 12, 1, 12).isoformat(),
            camera_make="Canon" if i % 3 == 0 else "NIKON",
            rating=i % 6,
            gps_lat=48.85 if i % 5 == 0 else 40.0,
            gps_lon=2.29 if i % 5 == 0 else -3.7,
        )
    data0 = (folder / "p000.jpg").read_bytes()
    ids["dup1.jpg"] = add_photo(lib, root.id, folder, "dup1.jpg", data0)
    ids["sub/dup2.jpg"] = add_photo(lib, root.id, folder, "sub/dup2.jpg", data0)
    ids["eiffel.jpg"] = add_photo(lib, root.id, folder, "x81.jpg", jpeg(81), title="Tour Eiffel at dusk")
    lib.add_tag("family", [ids[f"p{i:03d}.jpg"] for i in range(0, 80, 4)])
    spec = cm.spec_from_options(None, tiny_ckpts[0])
    assert spec is not None
    report = index_library(lib, spec, plan=FP32, batch_size=16)
    assert report.embedded == 81 and not report.cancelled
    return {"folder": folder, "ids": ids, "spec": spec, "root": root}


def service(lib: Library, spec: cm.ModelSpec | None = None) -> SearchService:
    return SearchService(lib, spec, plan=FP32)


def test_similar_returns_the_photo_and_its_exact_duplicates_first(
    lib: Library, catalog: dict[str, Any]
) -> None:
    res = service(lib).similar(catalog["folder"] / "p000.jpg", limit=10, everything=True)
    top3 = {Path(h.path).name for h in res.hits[:3]}
    assert top3 == {"p000.jpg", "dup1.jpg", "dup2.jpg"}
    assert all(h.score > 0.999 for h in res.hits[:3])
    assert res.hits[3].score < 0.999
    scores = [h.score for h in res.hits]
    assert scores == sorted(scores, reverse=True)
    by_id = service(lib).similar(catalog["ids"]["p005.jpg"], limit=1)
    assert Path(by_id.hits[0].path).name == "p005.jpg"


def test_text_search_scores_are_sorted_and_cutoff_can_be_lifted(
    lib: Library, catalog: dict[str, Any]
) -> None:
    s = service(lib)
    full = s.search("a dog on the beach", limit=200, everything=True)
    assert len(full.hits) == 83 and full.cutoff is not None
    scores = [h.score for h in full.hits]
    assert scores == sorted(scores, reverse=True)
    cut = s.search("a dog on the beach", limit=200)
    assert 1 <= len(cut.hits) <= len(full.hits)
    assert len(cut.hits) + cut.more == len(full.hits)
    # the best hit is always shown, even when nothing clears the cutoff
    assert all(h.score >= cut.cutoff for h in cut.hits[1:] if not h.keyword)  # type: ignore[operator]
    again = s.search("a dog on the beach", limit=200, everything=True)  # from the query cache
    assert [h.photo_id for h in again.hits] == [h.photo_id for h in full.hits]


def test_filters_are_honoured(lib: Library, catalog: dict[str, Any]) -> None:
    s = service(lib)
    rows = {p.id: p for p in Photo.select()}
    res = s.search("sunset tag:family camera:canon after:2016 before:2024", limit=100, everything=True)
    assert res.hits
    for h in res.hits:
        p = rows[h.photo_id]
        assert p.camera_make == "Canon" and "2016" <= p.taken_local < "2024"
        assert "family" in [t for t in __import__("desktop.core.library", fromlist=["x"]).photo_tags(p.id)]
    near = s.search('beach place:"near 48.85,2.29 5km" rating>=3', limit=100, everything=True)
    assert near.hits and all(
        rows[h.photo_id].gps_lat == 48.85 and rows[h.photo_id].rating >= 3 for h in near.hits
    )
    sub = s.similar(
        catalog["folder"] / "p000.jpg", query=f"folder:{catalog['folder'] / 'sub'}", everything=True
    )
    assert [Path(h.path).name for h in sub.hits] == ["dup2.jpg"]
    by_date = s.search("tree camera:nikon", limit=100, sort="date", everything=True)
    dates = [h.taken_local for h in by_date.hits]
    assert dates == sorted(dates, reverse=True)
    only_filters = s.search("tag:family", limit=100)
    assert len(only_filters.hits) == 20


def test_keywords_in_titles_and_tags_are_found(lib: Library, catalog: dict[str, Any]) -> None:
    s = service(lib)
    res = s.search("eiffel", limit=5)
    assert res.hits[0].path.endswith("x81.jpg") and res.hits[0].keyword
    lib.add_tag("Places/Lisbon", [catalog["ids"]["p033.jpg"]])
    res = s.search("lisbon", limit=5)
    assert res.hits[0].path.endswith("p033.jpg")


def test_keywords_in_a_big_library_are_matched_among_the_clip_candidates(
    lib: Library, catalog: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past KEYWORD_SCAN_MAX photos names are matched within the CLIP candidates (looked up by hash),
    tags across the library; a filter still applies to what comes back."""
    from desktop.core.semantic import search as search_mod

    monkeypatch.setattr(search_mod, "KEYWORD_SCAN_MAX", 10)
    s = service(lib)
    res = s.search("x81", limit=200, everything=True)  # a file name: x81.jpg is among the candidates
    assert any(h.path.endswith("x81.jpg") and h.keyword for h in res.hits)
    lib.add_tag("Places/Lisbon", [catalog["ids"]["p033.jpg"]])
    res = s.search("lisbon", limit=5)
    assert res.hits[0].path.endswith("p033.jpg") and res.hits[0].keyword
    filtered = s.search("lisbon tag:family", limit=5, everything=True).hits  # p033 is not in family
    assert filtered and all(not h.path.endswith("p033.jpg") for h in filtered)


def test_in_values_takes_more_values_than_sqlite_has_parameters(
    lib: Library, catalog: dict[str, Any]
) -> None:
    from desktop.core.catalog.filters import in_values

    ids = list(catalog["ids"].values()) + list(range(10_000_000, 10_005_000))  # 5,000 more than exist
    assert Photo.select().where(in_values(Photo.id, ids)).count() == len(catalog["ids"])


def test_external_image_as_query(lib: Library, catalog: dict[str, Any], tmp_path: Path) -> None:
    outside = tmp_path / "outside" / "copy.jpg"
    outside.parent.mkdir()
    shutil.copy(catalog["folder"] / "p010.jpg", outside)
    res = service(lib).similar(outside, limit=3)
    assert Path(res.hits[0].path).name == "p010.jpg" and res.hits[0].score > 0.999
    png = tmp_path / "outside" / "q.png"
    from PIL import Image

    Image.new("RGB", (100, 70), (10, 200, 30)).save(png)
    assert service(lib).similar(png, limit=3, plus=["at night"], minus=["daylight"]).hits


def test_index_survives_restart_deletes_and_moves(lib: Library, catalog: dict[str, Any]) -> None:
    spec = catalog["spec"]
    first = service(lib).search("snow on a red car", limit=10, everything=True)
    index_dir = next(lib.paths.index.iterdir())
    assert (index_dir / "vectors.npy").is_file() and (index_dir / "ids.npy").is_file()  # exact mode
    forget_indexes()  # a restart: the index is read back from disk
    again = service(lib, spec).search("snow on a red car", limit=10, everything=True)
    assert [h.photo_id for h in again.hits] == [h.photo_id for h in first.hits]

    gone = first.hits[0].photo_id
    lib.remove_photos([gone])
    after = service(lib).search("snow on a red car", limit=10, everything=True)
    assert gone not in [h.photo_id for h in after.hits]

    mover = catalog["ids"]["p020.jpg"]
    lib.writer.call(lambda: Photo.update(rel_path="moved/p020.jpg").where(Photo.id == mover).execute())
    (catalog["folder"] / "moved").mkdir()
    (catalog["folder"] / "p020.jpg").rename(catalog["folder"] / "moved" / "p020.jpg")
    forget_indexes()
    s = service(lib)
    res = s.similar(catalog["folder"] / "moved" / "p020.jpg", limit=1)
    assert res.hits[0].photo_id == mover and res.hits[0].path.endswith("moved/p020.jpg")
    assert len(s.index()) == 80  # the deleted photo's content left the index
    assert pending_count(spec.model_id) == 0  # a move needs no new embedding


def test_model_change_reembeds_and_old_index_serves_meanwhile(
    lib: Library, catalog: dict[str, Any], tiny_ckpts: tuple[Path, Path]
) -> None:
    a = catalog["spec"]
    b = cm.spec_from_options(None, tiny_ckpts[1])
    assert b is not None and b.model_id != a.model_id
    assert serving_spec(lib) == a
    set_active_model(lib, b)
    assert active_spec(lib).model_id == b.model_id
    assert extra_status(lib)["pending_embeddings"] == 81
    partial = index_library(lib, None, plan=FP32, batch_size=10, limit=30)
    assert partial.embedded == 30
    assert serving_spec(lib) == a  # B is incomplete: A keeps answering
    res = service(lib).search("a cat", limit=5)
    assert res.model_id == a.model_id and res.hits
    rest = index_library(lib, None, plan=FP32, batch_size=10)
    assert rest.embedded == 51
    assert serving_spec(lib) == b
    assert service(lib).search("a cat", limit=5).model_id == b.model_id
    st = extra_status(lib)
    assert (st["embedded"], st["pending_embeddings"]) == (81, 0)
    assert Embedding.select().where(Embedding.model_id == a.model_id).count() == 81  # the old vectors stay


def test_cli_index_search_similar(
    lib: Library, tmp_path: Path, tiny_ckpts: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from desktop.cli.main import run

    folder = tmp_path / "cli-pics"
    folder.mkdir()
    root = lib.add_root(folder)
    for i in range(6):
        add_photo(lib, root.id, folder, f"c{i}.jpg", jpeg(100 + i), camera_make="Canon" if i < 3 else "Sony")
    w = str(tiny_ckpts[0])
    assert run(["-q", "index", "--model", "shoebox-tiny", "--weights", w, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["embedded"] == 6
    assert run(["search", "red flowers camera:canon", "--json", "--all", "--weights", w]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 3 and set(hits[0]) >= {"path", "score"}
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert run(["similar", str(folder / "c4.jpg"), "--json", "--limit", "2", "--plus", "at night"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) <= 2 and hits
    assert run(["search", "x after:2019-13"]) == 1
    assert "YYYY" in capsys.readouterr().err
    assert run(["status", "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["embedded"] == 6 and st["pending_embeddings"] == 0 and st["model"].startswith("shoebox-tiny")


def test_cutoff_never_splits_a_tie_at_the_top(lib: Library, catalog: dict[str, Any], monkeypatch) -> None:
    """Even when the relevance cutoff would drop everything, a photo's exact duplicates stay with it."""
    import desktop.core.semantic.search as search_mod

    monkeypatch.setattr(search_mod, "CUTOFF_Z", 1e6)  # a cutoff no score can reach
    monkeypatch.setattr(search_mod, "MIN_BACKGROUND", 1)
    svc = service(lib)
    ids = catalog["ids"]
    result = svc.similar(ids["p000.jpg"], limit=10)
    got = {h.photo_id for h in result.hits}
    assert {ids["p000.jpg"], ids["dup1.jpg"], ids["sub/dup2.jpg"]} <= got
    assert result.more > 0


def test_similar_in_the_query_is_answered_like_find_similar(
    lib: Library, catalog: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """``similar:ID`` is the query parser's: the service, the app's search field and the command line
    all answer it the same way, refined by the rest of the query."""
    from desktop.cli.main import run

    s = service(lib)
    target = catalog["ids"]["p003.jpg"]
    by_query = s.search(f"similar:{target} camera:canon", limit=20, everything=True)
    direct = s.similar(target, limit=20, query="camera:canon", everything=True)
    assert [h.photo_id for h in by_query.hits] == [h.photo_id for h in direct.hits]
    assert by_query.hits[0].photo_id == target
    assert all(Photo.get_by_id(h.photo_id).camera_make == "Canon" for h in by_query.hits)
    assert run(["search", f"similar:{target}", "--json", "--limit", "1"]) == 0
    assert [h["id"] for h in json.loads(capsys.readouterr().out)] == [target]
    with pytest.raises(QueryError, match="needs the smart-search model"):
        keyword_search(lib, f"similar:{target}")
