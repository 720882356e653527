"""The CLIP model in a process of its own: text queries, image queries and background embedding.

Why a process: in the desktop app's own process, importing torch and
open_clip froze the window for up to 380 ms at a time (module imports hold
the GIL), and embedding beside the GUI thread cost frames of 50-90 ms
(PyTorch runs Python between kernels; Pillow and NumPy hold the GIL in
places). ``ModelProcess`` loads the model in a ``spawn``-ed child at
background priority, so the app's process never imports torch. The app
keeps what searching needs in memory -- the vector index and the catalog --
and asks the child only for vectors: a query text's (milliseconds), an
outside image's, or a batch of photos' (which the app's job thread commits
through the catalog writer and adds to the index, so there is still one
writer and one index).

Text and image queries are answered on their own thread in the child, beside
a running batch, so typing a search never waits for a batch of photos. The
child writes nothing: stopping or cancelling may terminate it at any moment.
If it dies (killed, out of memory) every waiting call fails with
``WorkerDied``; what was committed stays, and the next call starts a new one.

Protocol over two one-way pipes, every request numbered:

- app -> child: ``("batch", n, [(hash, photo id, path, thumbnail or None)])``,
  ``("text", n, [texts])``, ``("image", n, path)``, ``("stop",)``
- child -> app: ``("ready", info)`` or ``("failed", message)`` first, then
  ``("done", n, payload)`` or ``("error", n, message)`` per request.

A batch's reply is ``(hashes, vectors, failed)`` with one hash per vector row:
a video's hash comes once per keyframe the child decoded from it (the child
opens the video itself, as it opens an original whose thumbnail is missing).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.imaging.thumbnails import ThumbnailCache
from desktop.core.runtime.jobs import (
    BACKGROUND_NICE,
    Cancelled,
    JobControl,
    at_least_background_priority,
    start_at_background_priority,
)
from desktop.core.runtime.lifeline import die_with_parent
from desktop.core.semantic.clip_models import ModelSpec, ModelUnavailable, load_model
from desktop.core.semantic.device import configure_threads, plan_device
from desktop.core.semantic.embedder import (
    THUMB_SHORT_SIDE,
    BatchHandle,
    BatchResult,
    PendingItem,
    collect_batch,
    decode_batch,
)

log = logging.getLogger(__name__)

POLL_S = 0.25  # how often a waiting caller looks at its job's cancel flag
READY_TIMEOUT_S = 900.0  # loading a big model from a slow disk on a slow CPU
QUERY_TIMEOUT_S = 120.0
BATCH_TIMEOUT_S = 900.0  # a batch of 32 on the slowest CPU takes seconds: past this the child is stuck


class WorkerDied(RuntimeError):
    """The model process ended without answering (killed, crashed, out of memory)."""


_Item = tuple[str, int, str, str | None]


# --------------------------------------------------------------------- child
def _child_main(
    inbox: Connection,
    outbox: Connection,
    spec_json: str,
    models_dir: str,
    device: str | None,
    precision: str | None,
    threads: int | None,
    decode_workers: int,
    nice: int,
) -> None:
    """The model process: load the model once, then answer requests until told to stop."""
    # dies with the app even while loading (a thread that started it ended at once: no kernel signal)
    die_with_parent()
    if nice:
        at_least_background_priority(nice)  # yield the CPU to the app's GUI thread, use every idle core
    send_lock = threading.Lock()

    def send(msg: tuple[Any, ...]) -> bool:
        with send_lock:
            try:
                outbox.send(msg)
                return True
            except (BrokenPipeError, OSError):
                return False

    try:
        plan = plan_device(device, precision)
        model = load_model(ModelSpec.from_json(spec_json), Path(models_dir), plan=plan, allow_download=False)
        if model.plan.device == "cpu":
            configure_threads(leave_free=0, max_threads=threads)
        if model.plan.device != "mps":  # Apple's backend is not safe with two forwards at once
            model.allow_concurrent_forwards()  # a query runs beside a batch instead of after it
    except ImportError as exc:
        send(
            (
                "failed",
                f"Smart search needs PyTorch and open_clip, which are not installed here ({exc}). "
                "Install them with: pip install torch open-clip-torch (make run does this).",
            )
        )
        return
    except BaseException as exc:  # anything at all: the app must get an answer, not a hang
        send(("failed", str(exc) or exc.__class__.__name__))
        return
    send(
        (
            "ready",
            {
                "model_id": model.model_id,
                "dim": model.embed_dim,
                "image_size": model.image_size,
                "plan": model.plan.describe(),
            },
        )
    )
    decoders = ThreadPoolExecutor(max(1, decode_workers), thread_name_prefix="embed-decode")
    queries = ThreadPoolExecutor(1, thread_name_prefix="model-queries")
    batches: queue.Queue[tuple[int, list[PendingItem], list[Any]] | None] = queue.Queue()

    def answer(seq: int, fn: Any, *args: Any) -> None:
        try:
            send(("done", seq, fn(*args)))
        except Exception as exc:  # the caller gets the reason (an unreadable image, say)
            send(("error", seq, str(exc) or exc.__class__.__name__))

    def run_batches() -> None:
        while (job := batches.get()) is not None:
            seq, items, futures = job
            try:
                result = collect_batch(model, items, futures)
            except Exception as exc:  # the model failed on this batch: every photo gets the reason
                reason = f"the model failed: {exc}"
                result = BatchResult(
                    [], np.zeros((0, model.embed_dim), np.float32), [(str(i.path), reason) for i in items]
                )
            if not send(("done", seq, (result.hashes, result.vectors, result.failed))):
                return

    worker = threading.Thread(target=run_batches, name="model-batches", daemon=True)
    worker.start()
    while True:
        try:
            msg = inbox.recv()
        except (EOFError, OSError):  # the app went away
            break
        kind = msg[0]
        if kind == "batch":
            _, seq, raw = msg
            items = [PendingItem(h, pid, Path(path)) for h, pid, path, _ in raw]
            thumbs = [Path(t) if t else None for *_, t in raw]
            # decoding starts now, while the batch before this one is in the model
            batches.put((seq, items, decode_batch(model, list(zip(items, thumbs, strict=True)), decoders)))
        elif kind == "text":
            queries.submit(answer, msg[1], model.encode_texts, msg[2])
        elif kind == "image":
            queries.submit(answer, msg[1], model.encode_image_file, Path(msg[2]))
        else:
            break
    batches.put(None)
    queries.shutdown(wait=False, cancel_futures=True)
    decoders.shutdown(wait=False, cancel_futures=True)


# -------------------------------------------------------------------- parent
class ModelProcess:
    """A child process holding one CLIP model.

    ``ModelProcess(spec, ...)`` starts the child; ``wait_ready`` waits until
    the model is loaded there (raising ``ModelUnavailable`` with the reason
    when it cannot be). Then it has what ``SearchService`` needs of a model
    (``model_id``, ``embed_dim``, ``encode_texts``, ``encode_image_file``) and
    what ``Embedder`` needs of a ``BatchEncoder`` (``submit``). Thread-safe.
    """

    def __init__(
        self,
        spec: ModelSpec,
        models_dir: Path,
        thumbnails: ThumbnailCache,
        *,
        device: str | None = None,
        precision: str | None = None,
        threads: int | None = None,
        decode_workers: int = 1,
        nice: int = BACKGROUND_NICE,
    ) -> None:
        self.spec = spec
        self.thumbnails = thumbnails
        self.model_id = spec.model_id
        self.embed_dim = 0
        self.image_size = 0
        self.plan = ""
        self.device, self.precision = device, precision
        ctx = mp.get_context("spawn")
        child_in, self._to_child = ctx.Pipe(duplex=False)
        self._from_child, child_out = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_child_main,
            args=(
                child_in,
                child_out,
                spec.to_json(),
                str(models_dir),
                device,
                precision,
                threads,
                decode_workers,
                nice,
            ),
            name="shoebox-model",
            daemon=True,
        )
        self._proc = proc
        try:
            start_at_background_priority(proc.start)
        except BaseException:
            for conn in (self._to_child, self._from_child):
                conn.close()
            raise
        finally:
            child_in.close()
            child_out.close()
        self._lock = threading.Lock()
        self._seq = 0
        self._waiting: dict[int, Future[Any]] = {}
        self._ready: Future[dict[str, Any]] = Future()
        self._dead: WorkerDied | None = None
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="model-replies", daemon=True)
        self._reader.start()

    # ------------------------------------------------------------ replies
    def _read(self) -> None:
        broken = False
        try:
            while True:
                try:
                    msg = self._from_child.recv()
                except (EOFError, OSError):
                    break
                kind = msg[0]
                if kind == "ready":
                    self._ready.set_result(msg[1])
                elif kind == "failed":
                    self._ready.set_exception(ModelUnavailable(msg[1]))
                elif kind in ("done", "error"):
                    with self._lock:
                        fut = self._waiting.pop(msg[1], None)
                    if fut is None:
                        continue  # its caller gave up (a cancelled job)
                    if kind == "done":
                        fut.set_result(msg[2])
                    else:
                        fut.set_exception(ModelUnavailable(msg[2]))
        except BaseException:  # an unreadable reply: nobody must wait for answers that cannot come
            log.exception("the model process sent something unreadable; stopping it")
            broken = True
        finally:
            if broken and self._proc.is_alive():
                self._proc.terminate()
            died = self._death()
            with self._lock:
                self._dead = died
                pending, self._waiting = list(self._waiting.values()), {}
            if not self._ready.done():
                self._ready.set_exception(died)
            for fut in pending:
                fut.set_exception(died)

    def _death(self) -> WorkerDied:
        self._proc.join(2.0)
        code = self._proc.exitcode
        if self._closed:
            return WorkerDied("the smart-search model process was stopped")
        if code is None:
            how = "it stopped answering"
        elif code == -9:
            how = "it was killed, most often because the computer ran out of memory"
        elif code < 0:
            how = f"it crashed (signal {-code})"
        else:
            how = f"it exited with code {code}"
        if not self._ready.done():
            return WorkerDied(how)  # while loading: the caller says which model could not be loaded
        return WorkerDied(
            f"The smart-search model stopped working ({how}). Everything embedded so far is saved; "
            "the next search or scan starts it again."
        )

    @property
    def busy(self) -> bool:
        """Requests are waiting for answers."""
        with self._lock:
            return bool(self._waiting)

    @property
    def alive(self) -> bool:
        return not self._closed and self._dead is None and self._proc.is_alive()

    # ------------------------------------------------------------ waiting
    def _wait(self, fut: Future[Any], control: JobControl | None, timeout_s: float | None, doing: str) -> Any:
        waited = 0.0
        while True:
            try:
                return fut.result(timeout=POLL_S)
            except FutureTimeout:
                waited += POLL_S
                if control is not None and control.cancelled:
                    raise Cancelled(control.name) from None
                if timeout_s is not None and waited > timeout_s:
                    self.close()  # stuck: the next call starts a fresh one
                    raise WorkerDied(
                        f"the smart-search model took more than {timeout_s:.0f} s {doing} and was restarted"
                    ) from None

    def wait_ready(self, control: JobControl | None = None, timeout_s: float = READY_TIMEOUT_S) -> None:
        try:
            info = self._wait(self._ready, control, timeout_s, "to load")
        except Cancelled:
            raise  # that job gave up; others may still want this model
        except BaseException:
            self.close()
            raise
        self.model_id = str(info["model_id"])
        self.embed_dim = int(info["dim"])
        self.image_size = int(info["image_size"])
        self.plan = str(info["plan"])
        log.info("model process ready: %s on %s", self.model_id, self.plan)

    def _request(self, kind: str, payload: Any) -> tuple[int, Future[Any]]:
        fut: Future[Any] = Future()
        with self._lock:
            if self._dead is not None:
                raise self._dead
            if self._closed:
                raise WorkerDied("the smart-search model process was stopped")
            self._seq += 1
            seq = self._seq
            self._waiting[seq] = fut
            try:
                self._to_child.send((kind, seq, payload))
            except (BrokenPipeError, OSError):
                self._waiting.pop(seq, None)
                raise self._death() from None
        return seq, fut

    def _forget(self, seq: int) -> None:
        with self._lock:
            self._waiting.pop(seq, None)

    # ------------------------------------------------------------ model API
    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        seq, fut = self._request("text", list(texts))
        try:
            return np.asarray(self._wait(fut, None, QUERY_TIMEOUT_S, "to read a query"), dtype=np.float32)
        finally:
            self._forget(seq)

    def encode_image_file(self, path: Path) -> np.ndarray:
        seq, fut = self._request("image", str(path))
        try:
            return np.asarray(self._wait(fut, None, QUERY_TIMEOUT_S, "to read an image"), dtype=np.float32)
        finally:
            self._forget(seq)

    def submit(self, items: Sequence[PendingItem]) -> BatchHandle:
        use_thumbs = 0 < self.image_size <= THUMB_SHORT_SIDE
        raw: list[_Item] = [
            (
                it.content_hash,
                it.photo_id,
                str(it.path),
                str(self.thumbnails.path_for(it.content_hash)) if use_thumbs else None,
            )
            for it in items
        ]
        seq, fut = self._request("batch", raw)

        def result(control: JobControl | None) -> BatchResult:
            try:
                hashes, vectors, failed = self._wait(fut, control, BATCH_TIMEOUT_S, "to embed a batch")
            except Cancelled:
                self._forget(seq)
                raise
            except WorkerDied:
                if control is not None and control.cancelled:
                    raise Cancelled(control.name) from None  # stopped on purpose, for this job
                raise
            return BatchResult(list(hashes), np.asarray(vectors, dtype=np.float32), list(failed))

        return result

    def close(self) -> None:
        """Stop the child: it holds nothing that needs saving, so a busy one is terminated."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(BrokenPipeError, OSError):
                self._to_child.send(("stop",))
        self._proc.join(0.5)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(3.0)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(3.0)
        with contextlib.suppress(OSError):
            self._to_child.close()
        self._reader.join(3.0)
        with contextlib.suppress(OSError):
            self._from_child.close()

    @property
    def pid(self) -> int | None:
        return self._proc.pid


__all__ = ["ModelProcess", "WorkerDied"]
