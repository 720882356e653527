"""CLIP models for smart search: the manifest, weights on disk, loading, encoding.

A model is named by a ``ModelSpec``: an open_clip architecture plus either a
pretrained tag (fetched by open_clip's own downloader into the library's
``models/`` folder) or a local checkpoint file. The spec's ``model_id`` is the
key under which embeddings are stored, so two different checkpoints of the same
architecture never share vectors.

Local checkpoints are ``.safetensors`` files or torch checkpoints loaded with
``weights_only=True`` (arbitrary pickled objects are refused). A checkpoint may
declare its own architecture -- safetensors metadata ``shoebox.arch`` and
``shoebox.open_clip_config``, or ``arch`` / ``model_cfg`` keys beside
``state_dict`` in a torch checkpoint -- so custom architectures (the tests'
tiny model) load through exactly the same path as ``--model ViT-B-32
--weights file.safetensors``.

torch and open_clip are imported inside the functions that need a model, so
the rest of the app starts without them.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from desktop.core.imaging import decode as imaging
from desktop.core.runtime.bundled import bundled_file
from desktop.core.runtime.errors import ShoeboxError
from desktop.core.runtime.wording import SHOEBOX, brief
from desktop.core.semantic.device import (
    DevicePlan,
    configure_threads,
    plan_device,
    torch_dtype,
    verify_low_precision,
)

if TYPE_CHECKING:
    import torch
    from PIL import Image

log = logging.getLogger(__name__)

MANIFEST_FILE = bundled_file("models/manifest.json")
CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")
META_ARCH = "shoebox.arch"
META_CONFIG = "shoebox.open_clip_config"
META_PREPROCESS = "shoebox.preprocess"

DownloadProgress = Callable[[int, int], None]  # (bytes done, bytes expected; 0 when unknown)


class ModelUnavailable(ShoeboxError):
    """No usable model: the message says what is missing and how to get it."""


# --------------------------------------------------------------------- manifest
@dataclass(frozen=True)
class ManifestEntry:
    name: str
    arch: str
    pretrained: str
    embed_dim: int
    image_size: int
    download_mb: int
    licence: str
    note: str
    requires: tuple[str, ...] = ()
    hf_hub: str = ""  # open_clip's Hugging Face location of the weights (checked against it by a test)

    def spec(self) -> ModelSpec:
        return ModelSpec(arch=self.arch, pretrained=self.pretrained, name=self.name)


@dataclass(frozen=True)
class Manifest:
    default: str
    models: tuple[ManifestEntry, ...]

    def get(self, name: str) -> ManifestEntry | None:
        """Find an entry by manifest name, ``arch``, or ``arch/pretrained`` (case-insensitive)."""
        key = name.strip().lower()
        for e in self.models:
            if key in (
                e.name.lower(),
                f"{e.arch}/{e.pretrained}".lower(),
                f"{e.arch}@{e.pretrained}".lower(),
            ):
                return e
        for e in self.models:
            if key == e.arch.lower():
                return e
        return None

    def default_entry(self) -> ManifestEntry:
        entry = self.get(self.default)
        assert entry is not None, "the manifest's default names no entry"
        return entry


def load_manifest(path: Path = MANIFEST_FILE) -> Manifest:
    raw = json.loads(path.read_text(encoding="utf-8"))
    models = tuple(
        ManifestEntry(
            name=m["name"],
            arch=m["arch"],
            pretrained=m["pretrained"],
            embed_dim=int(m["embed_dim"]),
            image_size=int(m["image_size"]),
            download_mb=int(m["download_mb"]),
            licence=m["licence"],
            note=m["note"],
            requires=tuple(m.get("requires", ())),
            hf_hub=str(m.get("hf_hub", "")),
        )
        for m in raw["models"]
    )
    return Manifest(default=raw["default"], models=models)


# ------------------------------------------------------------------------ specs
@dataclass(frozen=True)
class ModelSpec:
    """Which weights: ``arch`` + ``pretrained`` tag, or ``arch`` + a local ``weights`` file."""

    arch: str
    pretrained: str | None = None
    weights: str | None = None  # absolute path of a local checkpoint
    name: str | None = None  # the manifest name, when it came from there
    fingerprint: str | None = field(default=None, compare=False)

    @property
    def model_id(self) -> str:
        """The key embeddings are stored under (``Embedding.model_id``)."""
        if self.weights:
            fp = self.fingerprint or checkpoint_fingerprint(Path(self.weights))
            return f"{self.arch}@file:{fp}"
        return f"{self.arch}@{self.pretrained}"

    def label(self) -> str:
        if self.name:
            return self.name
        if self.weights:
            return f"{self.arch} ({Path(self.weights).name})"
        return f"{self.arch}/{self.pretrained}"

    def to_json(self) -> str:
        d = asdict(self)
        if self.weights and not d["fingerprint"]:
            d["fingerprint"] = checkpoint_fingerprint(Path(self.weights))
        return json.dumps(d, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> ModelSpec:
        d = json.loads(text)
        return ModelSpec(
            arch=d["arch"],
            pretrained=d.get("pretrained"),
            weights=d.get("weights"),
            name=d.get("name"),
            fingerprint=d.get("fingerprint"),
        )


_fp_cache: dict[tuple[str, int, int], str] = {}
_fp_lock = threading.Lock()


def checkpoint_fingerprint(path: Path) -> str:
    """A cheap content fingerprint: size plus the first and last MiB (weights differ everywhere)."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _fp_lock:
        if key in _fp_cache:
            return _fp_cache[key]
    h = hashlib.sha256(str(st.st_size).encode())
    with open(path, "rb") as fh:
        h.update(fh.read(1 << 20))
        if st.st_size > 2 << 20:
            fh.seek(-(1 << 20), os.SEEK_END)
            h.update(fh.read(1 << 20))
    fp = h.hexdigest()[:16]
    with _fp_lock:
        _fp_cache[key] = fp
    return fp


@dataclass(frozen=True)
class CheckpointHeader:
    arch: str | None
    config: dict[str, Any] | None
    preprocess: dict[str, Any] | None


def read_checkpoint_header(path: Path) -> CheckpointHeader:
    """The architecture a checkpoint declares, without building the model."""
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        # "numpy": reading the header must not import torch (the app checks a chosen file with this)
        with safe_open(str(path), framework="numpy") as fh:
            meta = fh.metadata() or {}
        cfg = json.loads(meta[META_CONFIG]) if META_CONFIG in meta else None
        pre = json.loads(meta[META_PREPROCESS]) if META_PREPROCESS in meta else None
        return CheckpointHeader(meta.get(META_ARCH), cfg, pre)
    obj = _torch_load(path)
    if isinstance(obj, dict):
        arch = obj.get("arch")
        cfg = obj.get("model_cfg")
        pre = obj.get("preprocess_cfg")
        return CheckpointHeader(
            arch if isinstance(arch, str) else None,
            cfg if isinstance(cfg, dict) else None,
            pre if isinstance(pre, dict) else None,
        )
    return CheckpointHeader(None, None, None)


def _torch_load(path: Path) -> Any:
    import pickle

    import torch

    try:
        return torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
    except (pickle.UnpicklingError, RuntimeError) as exc:
        raise ModelUnavailable(
            f"{path} is not a plain weights file ({exc.__class__.__name__}). Shoebox only loads "
            "safetensors files or torch checkpoints that hold tensors (loaded with weights_only=True), "
            "never pickled Python objects. Convert it with safetensors, or use a model from 'model list'."
        ) from exc


def spec_from_options(model: str | None, weights: str | os.PathLike[str] | None) -> ModelSpec | None:
    """The spec that ``--model NAME`` / ``--weights FILE`` ask for (None when neither is given)."""
    if weights:
        path = Path(weights).expanduser().resolve()
        if not path.is_file():
            raise ModelUnavailable(f"The weights file {path} does not exist.")
        if path.suffix.lower() not in CHECKPOINT_SUFFIXES:
            raise ModelUnavailable(
                f"{path.name} is not a checkpoint Shoebox reads; use a {', '.join(CHECKPOINT_SUFFIXES)} file."
            )
        header = read_checkpoint_header(path)
        # the file knows what it is; else a manifest name (vit-b-32) stands for its architecture
        entry = load_manifest().get(model) if model else None
        arch = header.arch or (entry.arch if entry is not None else model)
        if not arch:
            raise ModelUnavailable(
                f"{path.name} does not say which architecture it is. Add --model ARCH (for example "
                "--model ViT-B-32); 'model list' shows the offered architectures."
            )
        return ModelSpec(arch=arch, weights=str(path), fingerprint=checkpoint_fingerprint(path))
    if model:
        entry = load_manifest().get(model)
        if entry is not None:
            return entry.spec()
        if "/" in model or "@" in model:
            arch, _, tag = model.replace("@", "/").partition("/")
            return ModelSpec(arch=arch, pretrained=tag)
        raise ModelUnavailable(
            f"Unknown model '{model}'. Use a name from '{SHOEBOX} model list', ARCH/TAG for any "
            "open_clip pretrained model, or --model ARCH --weights FILE for a local checkpoint."
        )
    return None


# -------------------------------------------------------------------- downloads
def _pretrained_cfg(spec: ModelSpec) -> dict[str, Any]:
    import open_clip

    cfg: dict[str, Any] = open_clip.get_pretrained_cfg(spec.arch, spec.pretrained or "")
    if not cfg:
        raise ModelUnavailable(
            f"open_clip knows no pretrained weights '{spec.pretrained}' for {spec.arch}. "
            f"See '{SHOEBOX} model list'."
        )
    return cfg


def _hf_candidates(cfg: dict[str, Any]) -> list[tuple[str, str]]:
    hub = str(cfg.get("hf_hub", ""))
    if not hub:
        return []
    repo, filename = os.path.split(hub.rstrip("/")) if not hub.endswith("/") else (hub.rstrip("/"), "")
    names = [filename] if filename else []
    names += ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
    return [(repo, n) for n in names]


def cached_weights(spec: ModelSpec, models_dir: Path) -> Path | None:
    """The downloaded checkpoint of a named model, if it is already in ``models_dir``."""
    if spec.weights:
        p = Path(spec.weights)
        return p if p.is_file() else None
    entry = load_manifest().get(spec.name or f"{spec.arch}/{spec.pretrained}")
    cfg: dict[str, Any]
    if entry is not None and entry.hf_hub and (entry.arch, entry.pretrained) == (spec.arch, spec.pretrained):
        cfg = {"hf_hub": entry.hf_hub}  # no open_clip import (it imports torch): the app checks this at start
    else:
        try:
            cfg = _pretrained_cfg(spec)
        except ModelUnavailable:
            return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover
        return None
    for repo, filename in _hf_candidates(cfg):
        found = try_to_load_from_cache(repo, filename, cache_dir=str(models_dir))
        if isinstance(found, str) and os.path.isfile(found):
            return Path(found)
    return None


def _fetch_pretrained(cfg: dict[str, Any], cache_dir: str) -> str:
    """open_clip's own downloader (a seam the tests replace to simulate no network)."""
    from open_clip.pretrained import download_pretrained

    return str(download_pretrained(cfg, cache_dir=cache_dir))


def not_downloaded_message(spec: ModelSpec) -> str:
    """The model was never downloaded (and this call may not download it): how to get it."""
    entry = load_manifest().get(spec.name or f"{spec.arch}/{spec.pretrained}")
    size = f" ({entry.download_mb} MB)" if entry else ""
    return (
        f"Smart search needs the model {spec.label()}{size}, which is not downloaded yet: get it with "
        f"'{SHOEBOX} model download {spec.name or spec.arch + '/' + str(spec.pretrained)}', or use a "
        "checkpoint file you have: --model ARCH --weights FILE. Everything else in Shoebox works without it."
    )


def offline_message(spec: ModelSpec, reason: str) -> str:
    entry = load_manifest().get(spec.name or f"{spec.arch}/{spec.pretrained}")
    size = f" ({entry.download_mb} MB)" if entry else ""
    return (
        f"Smart search needs the model {spec.label()}{size}, which is not downloaded yet, and it could not "
        f"be downloaded ({reason}). Connect to the internet and run '{SHOEBOX} model download "
        f"{spec.name or spec.arch + '/' + str(spec.pretrained)}', or use a checkpoint file you have: "
        "--model ARCH --weights FILE. Everything else in Shoebox works without it."
    )


HUB_URL = "https://huggingface.co"
CONNECT_TIMEOUT_S = 1.5


def hub_address() -> tuple[str, int]:
    """Where a download connects first: the proxy when one is set, else the hub (``HF_ENDPOINT``)."""
    from urllib.parse import urlsplit
    from urllib.request import getproxies

    hub = urlsplit(os.environ.get("HF_ENDPOINT") or HUB_URL)
    scheme = hub.scheme or "https"
    proxy = getproxies().get(scheme)
    if proxy:
        via = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if via.hostname:
            return via.hostname, via.port or (443 if via.scheme == "https" else 80)
    return hub.hostname or "huggingface.co", hub.port or (443 if scheme == "https" else 80)


def hub_reachable(timeout: float = CONNECT_TIMEOUT_S) -> bool:
    """Whether the model hub (or the proxy before it) takes a connection within ``timeout`` seconds.

    The hub client, offline, retries each file for most of a minute before it gives up; this
    answers in a second or two. Name lookup can hang past a socket timeout, so the attempt
    runs on a thread that is waited for only that long.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    address = hub_address()
    answer: list[bool] = []

    def _connect() -> None:
        try:
            with socket.create_connection(address, timeout=timeout):
                answer.append(True)
        except OSError:
            answer.append(False)

    attempt = threading.Thread(target=_connect, name="hub-reachable", daemon=True)
    attempt.start()
    attempt.join(timeout + 0.5)
    return bool(answer and answer[0])


def no_connection_message(spec: ModelSpec) -> str:
    entry = load_manifest().get(spec.name or f"{spec.arch}/{spec.pretrained}")
    size = f" ({entry.download_mb} MB)" if entry else ""
    name = spec.name or f"{spec.arch}/{spec.pretrained}"
    host = hub_address()[0]
    return (
        f"There is no internet connection (Shoebox could not reach {host}), so {spec.label()}{size} cannot "
        f"be downloaded now: connect and run '{SHOEBOX} model download {name}' again, or use a weights "
        f"file you already have with '{SHOEBOX} model use {name} --weights FILE' (in the app: "
        "Settings → Choose weights file…). Everything else in Shoebox works without it."
    )


@contextlib.contextmanager
def _quiet_hub_client() -> Iterator[None]:
    """The hub client logs each retry as a warning (twice on a terminal, through its own handler
    and the root one); a failed download is reported once, by the message we raise."""
    hub_log = logging.getLogger("huggingface_hub")
    level = hub_log.level
    hub_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        hub_log.setLevel(level)


def download_weights(spec: ModelSpec, models_dir: Path, progress: DownloadProgress | None = None) -> Path:
    """Fetch a named model's weights into ``models_dir`` (no-op when cached); reports bytes."""
    found = cached_weights(spec, models_dir)
    if found is not None:
        return found
    if spec.weights:
        raise ModelUnavailable(
            f"The weights file {spec.weights} is gone. Pick the file again with --weights."
        )
    if not hub_reachable():  # before open_clip's import (seconds): offline is known in one
        raise ModelUnavailable(no_connection_message(spec))
    cfg = _pretrained_cfg(spec)
    models_dir.mkdir(parents=True, exist_ok=True)
    entry = load_manifest().get(spec.name or f"{spec.arch}/{spec.pretrained}")
    expected = entry.download_mb * 1_000_000 if entry else 0
    stop = threading.Event()

    def _watch() -> None:
        # hf_hub writes into *.incomplete blobs; their size is the progress whatever the downloader
        while not stop.wait(0.5):
            done = sum(p.stat().st_size for p in models_dir.rglob("*.incomplete") if p.is_file())
            if progress is not None and done:
                progress(done, expected)

    watcher = threading.Thread(target=_watch, name="model-download-progress", daemon=True)
    watcher.start()
    try:
        with _quiet_hub_client():
            path = _fetch_pretrained(cfg, str(models_dir))
    except ModelUnavailable:
        raise
    except Exception as exc:
        raise ModelUnavailable(offline_message(spec, brief(f"{exc.__class__.__name__}: {exc}"))) from exc
    finally:
        stop.set()
        watcher.join(timeout=2)
    if not path or not os.path.isfile(path):
        raise ModelUnavailable(offline_message(spec, "the download produced no file"))
    if progress is not None:
        size = os.path.getsize(path)
        progress(size, size)
    return Path(path)


# ---------------------------------------------------------------------- loading
_registered_configs: set[str] = set()
_config_lock = threading.Lock()


def _register_arch(arch: str, config: dict[str, Any], models_dir: Path) -> str:
    """Make ``config`` creatable by name with open_clip; returns the name to create it by."""
    import open_clip

    builtin = open_clip.get_model_config(arch)
    if builtin is not None and builtin == config:
        return arch
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:10]
    name = arch if builtin is None else f"{arch}-shoebox-{digest}"
    with _config_lock:
        if name in _registered_configs and open_clip.get_model_config(name) == config:
            return name
        cfg_dir = models_dir / "configs"
        cfg_dir.mkdir(parents=True, exist_ok=True)
        path = cfg_dir / f"{name}.json"
        path.write_text(json.dumps(config, indent=1, sort_keys=True), encoding="utf-8")
        open_clip.add_model_config(path)
        _registered_configs.add(name)
    return name


def _preprocess_settings(
    model: Any, override: dict[str, Any] | None
) -> tuple[int, tuple[float, ...], tuple[float, ...], str]:
    from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

    cfg = dict(getattr(model.visual, "preprocess_cfg", {}) or {})
    if override:
        cfg.update(override)
    size = cfg.get("size") or getattr(model.visual, "image_size", 224)
    if isinstance(size, list | tuple):
        size = size[0]
    mean = tuple(cfg.get("mean") or OPENAI_DATASET_MEAN)
    std = tuple(cfg.get("std") or OPENAI_DATASET_STD)
    return int(size or 224), mean, std, str(cfg.get("resize_mode") or "shortest")


def _build(
    spec: ModelSpec, models_dir: Path, progress: DownloadProgress | None, allow_download: bool
) -> tuple[Any, dict[str, Any] | None, str]:
    """The fp32 torch model, preprocess overrides and the name open_clip knows the arch by."""
    import open_clip

    if spec.weights:
        path = Path(spec.weights)
        if not path.is_file():
            raise ModelUnavailable(
                f"The weights file {path} does not exist. Pick it again with --weights FILE."
            )
        header = read_checkpoint_header(path)
        if header.config is not None:
            arch_name = _register_arch(spec.arch, header.config, models_dir)
        elif open_clip.get_model_config(spec.arch) is not None:
            arch_name = spec.arch
        else:
            raise ModelUnavailable(
                f"Unknown architecture '{spec.arch}' and {path.name} does not describe it. Use an open_clip "
                "architecture name such as ViT-B-32."
            )
        try:
            model = open_clip.create_model(arch_name, pretrained=str(path), weights_only=True)
        except ModelUnavailable:
            raise
        except Exception as exc:
            raise ModelUnavailable(
                f"{path.name} does not fit the {spec.arch} architecture ({brief(str(exc))}). Check --model."
            ) from exc
        return model, header.preprocess, arch_name
    cfg = _pretrained_cfg(spec)
    found = cached_weights(spec, models_dir)
    if found is None:
        if not allow_download:
            # searches and scans never start a 600 MB download by themselves: 'model download' does
            raise ModelUnavailable(not_downloaded_message(spec))
        found = download_weights(spec, models_dir, progress)
    pre: dict[str, Any] = {k: cfg[k] for k in ("mean", "std", "interpolation", "resize_mode") if k in cfg}
    # a file path (not the tag) so open_clip never asks the network whether the cache is current
    model = open_clip.create_model(
        spec.arch,
        pretrained=str(found),
        force_quick_gelu=bool(cfg.get("quick_gelu", False)),
        force_preprocess_cfg=pre or None,
        weights_only=True,
    )
    return model, pre, spec.arch


class ClipModel:
    """A loaded CLIP model: prepares images, encodes images and texts to L2-normalised float32."""

    def __init__(
        self,
        spec: ModelSpec,
        model: Any,
        tokenizer: Any,
        plan: DevicePlan,
        image_size: int,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        resize_mode: str,
        bf16_cosine: float | None = None,
    ) -> None:
        import torch

        self.spec = spec
        self.model_id = spec.model_id
        self.plan = plan
        self.image_size = image_size
        self.resize_mode = resize_mode
        self.bf16_cosine = bf16_cosine
        self._model = model
        self._tokenizer = tokenizer
        self._dtype = torch_dtype(plan.precision)
        self._mean = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
        self._std = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
        self._lock = threading.Lock()  # one forward at a time: the GUI and the embedder share the model
        self.embed_dim = int(self._probe_dim())
        self._trim_text = self._can_trim_text()

    def allow_concurrent_forwards(self) -> None:
        """Let a query's forward pass run beside a batch's (a model process: inference keeps no state)."""
        self._lock = contextlib.nullcontext()  # type: ignore[assignment]

    def _probe_dim(self) -> int:
        proj = getattr(self._model, "text_projection", None)
        if proj is not None and hasattr(proj, "shape"):
            return int(proj.shape[-1])
        return int(self.encode_texts(["a photo"]).shape[1])  # type: ignore[unreachable,unused-ignore]

    def _can_trim_text(self) -> bool:
        import open_clip

        m = self._model
        return (
            type(m) is open_clip.CLIP
            and getattr(m, "text_pool_type", "") == "argmax"
            and getattr(m, "attn_mask", None) is not None
            and isinstance(self._tokenizer, open_clip.SimpleTokenizer)
        )

    # -- images
    def prepare(self, img: Image.Image) -> np.ndarray:
        """An upright PIL image -> uint8 HxWx3 at the model's input size (resize + centre crop)."""
        from PIL import Image as PILImage

        s = self.image_size
        if img.mode != "RGB":
            img = img.convert("RGB")
        w, h = img.size
        if self.resize_mode == "squash":
            img = img.resize((s, s), PILImage.Resampling.BICUBIC)
        else:
            scale = s / min(w, h)
            nw, nh = max(s, round(w * scale)), max(s, round(h * scale))
            if (nw, nh) != (w, h):
                img = img.resize((nw, nh), PILImage.Resampling.BICUBIC, reducing_gap=3.0)
            left, top = (nw - s) // 2, (nh - s) // 2
            img = img.crop((left, top, left + s, top + s))
        return np.asarray(img, dtype=np.uint8)

    def _to_tensor(self, arrays: Sequence[np.ndarray]) -> torch.Tensor:
        import torch

        x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(255.0)
        x = (x - self._mean) / self._std
        return x.to(device=self.plan.device, dtype=self._dtype)

    def encode_prepared(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        """Embed images already passed through ``prepare`` -> float32 (N, D), unit length."""
        import torch

        if not arrays:
            return np.zeros((0, self.embed_dim), dtype=np.float32)
        x = self._to_tensor(arrays)
        with self._lock, torch.inference_mode():
            y = self._model.encode_image(x)
        return _normalise(np.asarray(y.float().cpu().numpy()))

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self.encode_prepared([self.prepare(im) for im in images])

    def encode_image_file(self, path: Path) -> np.ndarray:
        """Embed any image file (a query dropped from outside the library) -> (D,)."""
        img = decode_for_model(path, self.image_size)
        vec: np.ndarray = self.encode_images([img])[0]
        return vec

    # -- text
    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        tokens: torch.Tensor = self._tokenizer(list(texts))
        return tokens

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        tokens = self.tokenize(texts).to(self.plan.device)
        with self._lock, torch.inference_mode():
            y = (
                self._encode_text_trimmed(tokens)
                if getattr(self, "_trim_text", False)
                else self._model.encode_text(tokens)
            )
        return _normalise(np.asarray(y.float().cpu().numpy()))

    def _encode_text_trimmed(self, tokens: torch.Tensor) -> torch.Tensor:
        """CLIP's text tower on the real tokens only: the tower is causal and pools at
        end-of-text, so dropping trailing padding leaves the output unchanged (3x faster)."""
        from open_clip.transformer import text_global_pool

        m = self._model
        n = int((tokens != 0).sum(dim=1).max().item())
        tokens = tokens[:, : max(1, n)]
        cast = m.transformer.get_cast_dtype()
        x = m.token_embedding(tokens).to(cast)
        x = x + m.positional_embedding[: tokens.shape[1]].to(cast)
        x = m.transformer(x, attn_mask=m.attn_mask[: tokens.shape[1], : tokens.shape[1]])
        x = m.ln_final(x)
        x = text_global_pool(x, tokens, m.text_pool_type, eos_token_id=getattr(m, "text_eos_id", None))
        proj = m.text_projection
        if proj is not None:
            x = proj(x) if hasattr(proj, "weight") else x @ proj
        return x  # type: ignore[no-any-return]

    @property
    def torch_model(self) -> Any:
        return self._model


def _normalise(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=1, keepdims=True)
    out: np.ndarray = (v / np.maximum(n, 1e-12)).astype(np.float32)
    return out


def decode_for_model(path: Path, size: int) -> Image.Image:
    """Decode an image file upright, small: JPEG DCT scaling never decodes all 12 MP."""
    # a long side of 3x the input keeps the short side >= the input for any usual aspect ratio
    return imaging.load_upright(Path(path), size * 3)


_models: dict[tuple[str, str, str], ClipModel] = {}
_models_lock = threading.Lock()


def load_model(
    spec: ModelSpec,
    models_dir: Path,
    plan: DevicePlan | None = None,
    progress: DownloadProgress | None = None,
    allow_download: bool = True,
) -> ClipModel:
    """Load (once per process) the model ``spec`` names, downloading it if needed."""
    plan = plan or plan_device()
    key = (spec.model_id, plan.device, plan.precision)
    with _models_lock:
        if key in _models:
            return _models[key]
    try:
        import open_clip  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:  # pragma: no cover
        raise ModelUnavailable(
            f"Smart search needs PyTorch and open_clip ({exc}). Install them with: pip install torch open-clip-torch"
        ) from exc
    if plan.device == "cpu":
        configure_threads()
    t0 = time.perf_counter()
    model, pre, arch_name = _build(spec, models_dir, progress, allow_download)
    model.eval()
    import open_clip

    try:
        tokenizer = open_clip.get_tokenizer(arch_name, cache_dir=str(models_dir))
    except Exception as exc:
        raise ModelUnavailable(
            f"The text tokenizer of {spec.label()} could not be loaded ({brief(str(exc), 200)}). It may need extra "
            f"packages: {', '.join(_requires(spec)) or 'see the model card'}."
        ) from exc
    size, mean, std, mode = _preprocess_settings(model, pre)
    cosine: float | None = None
    final_plan = plan
    if plan.precision != "fp32":
        model, final_plan, cosine = _lower_precision(model, tokenizer, plan, size)
    elif plan.device != "cpu":
        model = model.to(plan.device)
    clip = ClipModel(spec, model, tokenizer, final_plan, size, mean, std, mode, cosine)
    log.info("loaded %s on %s in %.1fs", spec.model_id, final_plan.describe(), time.perf_counter() - t0)
    with _models_lock:
        _models.setdefault(key, clip)
        return _models[key]


def _requires(spec: ModelSpec) -> tuple[str, ...]:
    entry = load_manifest().get(spec.name or spec.arch)
    return entry.requires if entry else ()


def _lower_precision(
    model: Any, tokenizer: Any, plan: DevicePlan, size: int
) -> tuple[Any, DevicePlan, float]:
    """Convert to the plan's precision if its embeddings match fp32 (cosine >= 0.9999), else keep fp32."""
    import torch

    dtype = torch_dtype(plan.precision)
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(4, 3, size, size, generator=gen) * 2 - 1
    tokens = tokenizer(["a photo of a dog", "snow on a red car", "birthday cake with candles"])
    low = copy.deepcopy(model).to(device=plan.device, dtype=dtype)

    def ref() -> Any:
        return torch.cat([model.encode_image(images), model.encode_text(tokens)])

    def cand() -> Any:
        return torch.cat(
            [
                low.encode_image(images.to(plan.device, dtype)).float().cpu(),
                low.encode_text(tokens.to(plan.device)).float().cpu(),
            ]
        )

    ok, cos = verify_low_precision(ref, cand)
    if ok:
        return low, plan, cos
    log.warning("%s drifts from fp32 (cosine %.6f); using fp32", plan.precision, cos)
    fp32 = DevicePlan(plan.device, "fp32", f"{plan.precision} failed verification (cosine {cos:.6f})")
    return model.to(plan.device), fp32, cos


def forget_loaded_models() -> None:
    """Drop the process-wide model cache (tests; freeing memory after a model switch)."""
    with _models_lock:
        _models.clear()


# --------------------------------------------------------------- saving (tests, tools)
def save_checkpoint(model: Any, path: Path, arch: str, config: dict[str, Any] | None = None) -> Path:
    """Write ``model``'s weights as safetensors declaring ``arch`` (and its config when custom)."""
    from safetensors.torch import save_file

    meta = {META_ARCH: arch}
    if config is not None:
        meta[META_CONFIG] = json.dumps(config, sort_keys=True)
    pre = getattr(getattr(model, "visual", None), "preprocess_cfg", None)
    if pre:
        meta[META_PREPROCESS] = json.dumps(
            {k: v for k, v in pre.items() if k in ("size", "mean", "std", "resize_mode")}
        )
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata=meta)
    return path


def model_status(spec: ModelSpec, models_dir: Path) -> dict[str, Any]:
    """Is the model ready on disk? (No torch import for local files and manifest models.)"""
    if spec.weights:
        return {"model": spec.label(), "model_id": spec.model_id, "downloaded": Path(spec.weights).is_file()}
    try:
        found = cached_weights(spec, models_dir)
    except Exception:  # pragma: no cover - a broken open_clip install must not break 'model list'
        found = None
    return {"model": spec.label(), "model_id": spec.model_id, "downloaded": found is not None}
