"""Run tasks of the queue: each pending item hashed now, served from the cache or rendered, written safely.

Per item: the source is hashed from the file when it runs (a vanished source
fails that item; a changed one is computed again, never served stale from the
cache), the result cache is asked, else the item is rendered in a child process of
``render_pool`` (Pillow holds the GIL for most of a render: threads would
neither use the cores nor leave the app's GUI thread alone); cache hits never
leave this process. Every output
is written as ``.NAME.shoebox-partial`` in its target folder and renamed when
complete, so a kill leaves only recognisable partial files. Finished items,
their lineage and the task's counters go to the catalog in one writer call per
small batch; finished items are never redone. Between items the runner reads
the task's state from the catalog (``tasks pause`` from another process) and
beats its heart, so another worker can take over a task whose worker died.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from desktop.core.catalog.schema import Task, database
from desktop.core.ingest.formats import is_video_name
from desktop.core.ingest.scan_worker import hash_bytes
from desktop.core.ingest.video import hash_video
from desktop.core.processing import lineage, naming, notify, operations, render, render_pool, tasks
from desktop.core.processing.cache import CachedOutput, ResultCache, content_key, place_copy
from desktop.core.processing.lineage import LineageRow
from desktop.core.processing.operations import Step
from desktop.core.processing.params import RecipeError
from desktop.core.processing.recipes import Recipe
from desktop.core.processing.render_pool import RenderFailed
from desktop.core.processing.tasks import PendingItem

if TYPE_CHECKING:
    from desktop.core.library import Library
    from desktop.core.runtime.jobs import JobControl

log = logging.getLogger(__name__)

# threads that hash sources, ask the cache, wait for a child's render and write outputs: two per child
# keep every child busy while the other thread of its pair hashes or writes
THREADS = 2 * render_pool.default_workers()
# False: render in the runner's own threads (what tests that replace ``render.render`` need)
RENDER_IN_CHILDREN = True
STATE_CHECK_S = 0.5  # how often the task's state is read from the catalog
COMMIT_EVERY_S = 0.25
COMMIT_ITEMS = 64
RECORDS_AT_ONCE = 64
# catalog fields that say nothing about what an output holds: left out of the cache key
_VOLATILE = ("status", "error", "added_at", "mtime", "size_bytes", "content_hash", "lineage")


@dataclass
class ItemResult:
    item_id: int
    state: str  # done | failed
    outputs: list[dict[str, Any]] = field(default_factory=list)
    code: str | None = None
    message: str | None = None
    cache_hit: bool = False
    lineage: list[LineageRow] = field(default_factory=list)
    cpu_seconds: float = 0.0
    megapixels: float = 0.0


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a task running in this process; the task was paused (``tasks resume`` queues it)."""

    def __init__(self, task_id: int) -> None:
        super().__init__(task_id)
        self.task_id = task_id

    def sentence(self) -> str:
        info = tasks.task_info(self.task_id)
        progress = f" with {info.done + info.failed} of {info.total} done" if info is not None else ""
        return (
            f"Interrupted: task {self.task_id} is paused{progress}; 'tasks resume {self.task_id}' queues it "
            "again and 'tasks work' (or the app) finishes it."
        )


class ItemFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _write_failure(exc: OSError, folder: Path) -> ItemFailed:
    """One sentence for an output that could not be written."""
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ItemFailed(
            "read_only",
            f"The output folder {folder} is read-only; choose another folder or allow writing to it.",
        )
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return ItemFailed(
            "disk_full", f"The disk holding {folder} is full; free some space and retry the task."
        )
    if exc.errno == errno.ENAMETOOLONG:
        return ItemFailed(
            "name_too_long", f"An output name in {folder} is too long; use a shorter naming template."
        )
    return ItemFailed("write_failed", f"The output could not be written to {folder} ({exc.strerror or exc}).")


def _taken_date(record: dict[str, Any], path: Path) -> dt.datetime:
    taken = record.get("taken_at")
    if isinstance(taken, str) and taken:
        with suppress(ValueError):
            return dt.datetime.fromisoformat(taken.replace("Z", "+00:00"))
    try:
        return dt.datetime.fromtimestamp(path.stat().st_mtime)
    except OSError:
        return dt.datetime.now()


def _camera(record: dict[str, Any]) -> str:
    make = (record.get("camera_make") or "").strip()
    model = (record.get("camera_model") or "").strip()
    if make and model.lower().startswith(make.lower()):
        return model
    return " ".join(p for p in (make, model) if p)


class _Output:
    """What an item writes: a cached file, or bytes when the cache is off."""

    def __init__(self, cached: CachedOutput | None, rendered: render.Rendered | None) -> None:
        self.cached = cached
        self.rendered = rendered

    @property
    def ext(self) -> str:
        return self.cached.ext if self.cached else self.rendered.ext  # type: ignore[union-attr]

    def meta(self) -> dict[str, Any]:
        if self.cached is not None:
            c = self.cached
            return {"mime": c.mime, "label": c.label, "size": c.size, "hash": c.hash, "info": c.info}
        r = self.rendered
        assert r is not None
        return {
            "mime": r.mime,
            "label": r.label,
            "size": len(r.data),
            "hash": hash_bytes(r.data),
            "info": {k: v for k, v in r.info.items() if isinstance(v, str | int | float | bool)},
        }

    def write_to(self, partial: Path) -> None:
        with suppress(FileNotFoundError):
            partial.unlink()
        if self.cached is not None:
            place_copy(self.cached.path, partial)
        else:
            assert self.rendered is not None
            with open(partial, "wb") as fh:
                fh.write(self.rendered.data)


class TaskRunner:
    def __init__(
        self,
        lib: Library,
        task_id: int,
        worker: str,
        control: JobControl | None = None,
        threads: int | None = None,
        cache: ResultCache | None = None,
    ) -> None:
        self.lib = lib
        self.task_id = task_id
        self.worker = worker
        self.control = control
        self.in_children = RENDER_IN_CHILDREN
        # rendering in this process, more threads than two only wait for the GIL
        self.threads = max(1, threads if threads is not None else THREADS if self.in_children else 2)
        self.cache = cache or ResultCache.for_library(lib)
        self._reserved: set[str] = set()
        self._reserve_lock = threading.Lock()
        self._target_locks: dict[str, threading.Lock] = {}
        self._committing: Future[None] | None = None
        self._records: dict[int, dict[str, Any]] = {}  # read ahead by ``_with_records``, taken by ``_source``

    def _with_records(self, items: list[PendingItem]) -> Iterator[PendingItem]:
        """The items, each chunk's catalog records read in one go beforehand (``Library.photo_records``):
        read one by one they cost more than serving an item from the cache."""
        for start in range(0, len(items), RECORDS_AT_ONCE):
            chunk = items[start : start + RECORDS_AT_ONCE]
            self._records.update(
                self.lib.photo_records([i.photo_id for i in chunk if i.photo_id is not None])
            )
            yield from chunk

    # ------------------------------------------------------------------ one item
    def _source(self, item: PendingItem) -> tuple[render.Source, dict[str, Any]]:
        path = Path(item.source_path)
        try:
            size = path.stat().st_size
            if not path.is_file():
                raise FileNotFoundError(item.source_path)
            record: dict[str, Any] = {}
            if item.photo_id is not None:
                # without its lineage: what was exported from it says nothing of what this output
                # holds, and changes with every export (kept, each repeat would miss the cache)
                record = (
                    self._records.pop(item.photo_id, {})
                    or self.lib.photo_info(item.photo_id, lineage=False)
                    or {}
                )
            kind = str(record.get("kind") or ("video" if is_video_name(path.name) else "image"))
            content = hash_video(str(path), size) if kind == "video" else hash_bytes(path.read_bytes())
        except FileNotFoundError:
            raise ItemFailed(
                "source_missing",
                f"{path} no longer exists; it was moved or deleted after the task was queued.",
            ) from None
        except OSError as exc:
            raise ItemFailed("source_unreadable", f"{path} cannot be read ({exc.strerror or exc}).") from None
        if item.source_hash and item.source_hash != content:
            log.info("%s changed since it was queued: computed again", path)
        rotation = int(record.get("rotation") or 0)
        return render.Source(path, content, kind, rotation, record), record

    def _render(self, source: render.Source) -> render_pool.Done:
        job = render_pool.Job(
            str(source.path), source.content_hash, source.kind, source.rotation, source.record, self.raw_steps
        )
        try:
            if not self.in_children:
                return render_pool.render_job(job)
            for attempt in (1, 2):
                executor, future = render_pool.submit(job)
                try:
                    return future.result()
                except BrokenProcessPool:
                    # a child died (a decoder crash, the OOM killer): every item it held lands here; each
                    # tries once more in a fresh pool, so only the one that kills it again fails
                    render_pool.reset(executor)
                    log.warning("a render process died while %s was being processed", source.path)
                    if attempt == 2:
                        break
        except RenderFailed as exc:
            raise ItemFailed(exc.code, exc.message) from None
        raise ItemFailed(
            "crashed",
            f"{source.path.name} made the rendering process stop unexpectedly; the other items went on "
            "(check the file, or export it again on its own).",
        )

    def _outputs(
        self, source: render.Source, record: dict[str, Any]
    ) -> tuple[list[_Output], bool, float, float]:
        """The item's outputs, whether they came from the cache, the megapixels computed and the CPU
        seconds the render took in its child."""
        meta = {k: v for k, v in record.items() if k not in _VOLATILE}
        key = content_key(source.content_hash, self.canonical, meta)
        with self.cache.lock(key):
            hit = self.cache.get(key)
            if hit is not None:
                return [_Output(c, None) for c in hit], True, 0.0, 0.0
            done = self._render(source)
            rendered = done.outputs
            cached = self.cache.put(key, source.content_hash, rendered)
        child_cpu = done.cpu_seconds if self.in_children else 0.0  # in-process: thread_time counts it
        if cached is not None:
            return [_Output(c, None) for c in cached], False, done.megapixels, child_cpu
        return [_Output(None, r) for r in rendered], False, done.megapixels, child_cpu

    def _place(self, out: _Output, final: Path) -> Path | None:
        """Write ``out`` to ``final`` under the recipe's collision policy; the path used (None: skipped)."""
        with self._reserve_lock:
            target_lock = self._target_locks.setdefault(str(final), threading.Lock())
        # two items aiming at one name (the same photo twice) share its partial file: one at a time
        with target_lock:
            return self._place_one(out, final)

    def _place_one(self, out: _Output, final: Path) -> Path | None:
        policy = self.recipe.collision
        folder = final.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if policy == "skip" and (final.exists() or str(final) in self._reserved):
                return None
            partial = naming.partial_path(final)
            out.write_to(partial)
            if policy == "overwrite":
                os.replace(partial, final)
                with self._reserve_lock:
                    self._reserved.add(str(final))
                return final
            try:
                for cand in naming.candidates(final):
                    with self._reserve_lock:
                        if str(cand) in self._reserved:
                            continue
                        # a hard link never replaces a file: two tasks (or processes) writing the same name
                        # each get their own, with no window between looking and writing
                        try:
                            os.link(partial, cand)
                        except FileExistsError:
                            continue
                        except OSError:
                            if cand.exists():
                                continue
                            os.replace(partial, cand)  # a file system without hard links
                        self._reserved.add(str(cand))
                        return cand
            finally:
                with suppress(FileNotFoundError):
                    partial.unlink()
        except OSError as exc:
            raise _write_failure(exc, folder) from None
        raise AssertionError("the counter never runs out")

    def _process(self, item: PendingItem) -> ItemResult:
        cpu0 = time.thread_time()
        try:
            result = self._process_item(item)
        except ItemFailed as exc:
            result = ItemResult(item.id, "failed", code=exc.code, message=exc.message)
        except Exception as exc:  # a bug or a failure nobody foresaw: this item fails, the task goes on
            log.exception("processing %s failed", item.source_path)
            name = Path(item.source_path).name
            result = ItemResult(
                item.id,
                "failed",
                code="failed",
                message=f"{name} could not be processed ({exc}); see the log.",
            )
        result.cpu_seconds += time.thread_time() - cpu0
        return result

    def _process_item(self, item: PendingItem) -> ItemResult:
        source, record = self._source(item)
        outputs, hit, mp, child_cpu = self._outputs(source, record)
        albums = record.get("albums") or []
        date = _taken_date(record, source.path)
        placed: list[dict[str, Any]] = []
        rows: list[LineageRow] = []
        main: Path | None = None
        for out in outputs:
            meta = out.meta()
            info = meta.pop("info")
            if info.get("sidecar") and main is not None:
                target = main.with_name(f"{main.stem}.{out.ext}")
            else:
                rel = naming.render(
                    self.recipe.naming,
                    naming.NameFields(
                        stem=source.path.stem,
                        ext=out.ext,
                        recipe=self.recipe.slug,
                        name=self.recipe.name,
                        date=date,
                        album=str(albums[0]) if albums else "",
                        camera=_camera(record),
                        n=item.seq,
                        index=str(meta["label"] or ""),
                    ),
                )
                target = self.out_dir / Path(rel)
            final = self._place(out, target)
            if not info.get("sidecar"):
                main = final or target
            entry = {
                "source": str(source.path),
                "path": str(final or target),
                "size": meta["size"],
                "mime": meta["mime"],
                "cache_hit": hit,
                "ssim": info.get("ssim"),
                "flagged": bool(info.get("flagged")),
                "problems": info.get("problems"),
                "label": meta["label"],
                "code": None if final else "skipped",
                "message": None
                if final
                else f"{target.name} already exists; skipped (the recipe never overwrites).",
            }
            placed.append(entry)
            if final is not None and not info.get("sidecar"):  # a sidecar goes with its export, not as one
                rows.append(
                    LineageRow(
                        output_path=str(final),
                        # the scanner hashes a video by its size and edges: a derived video must carry
                        # the same hash to be recognised as one
                        output_hash=lineage.file_hash(final) if is_video_name(final.name) else meta["hash"],
                        source_path=str(source.path),
                        source_hash=source.content_hash,
                        source_photo=record.get("id") if record else None,
                        recipe=self.recipe.slug,
                        recipe_name=self.recipe.name,
                        recipe_version=self.recipe.version,
                        params=self.canonical,
                        task=self.task_id,
                    )
                )
        done = ItemResult(item.id, "done", placed, cache_hit=hit, lineage=rows, megapixels=mp)
        done.cpu_seconds = child_cpu  # _process adds this thread's own time
        return done

    # ------------------------------------------------------------------ the catalog
    def _commit(self, results: list[ItemResult], wait_for_it: bool = False) -> None:
        """Record ``results`` in one writer call. It runs while the next items are processed (the previous
        batch's call is waited for first, so its errors surface and batches stay in order)."""
        if self._committing is not None:
            self._committing.result()
            self._committing = None
        if not results:
            return
        task_id = self.task_id

        def _write() -> None:
            # one query to see which items are still pending (another worker may have finished one), one
            # executemany for their rows: per-item queries would cap cache hits near 100 photos/s
            ids = [r.item_id for r in results]
            pending = {
                int(i)
                for (i,) in database.execute_sql(
                    f"SELECT id FROM task_item WHERE state = 'pending' AND id IN ({','.join('?' * len(ids))})",
                    ids,
                )
            }
            mine = [r for r in results if r.item_id in pending]
            database.cursor().executemany(
                "UPDATE task_item SET state = ?, outputs = ?, code = ?, message = ?, cache_hit = ? WHERE id = ?",
                [(r.state, json.dumps(r.outputs), r.code, r.message, r.cache_hit, r.item_id) for r in mine],
            )
            Task.update(
                done=Task.done + sum(r.state == "done" for r in mine),
                failed=Task.failed + sum(r.state == "failed" for r in mine),
                cache_hits=Task.cache_hits + sum(r.cache_hit for r in mine),
                cpu_seconds=Task.cpu_seconds + sum(r.cpu_seconds for r in results),
                megapixels=Task.megapixels + sum(r.megapixels for r in results),
                heartbeat=time.time(),
            ).where(Task.id == task_id).execute()
            lineage.record(self.lib, [row for r in mine for row in r.lineage])  # inline: on the writer thread

        self._committing = self.lib.writer.submit(_write)
        if wait_for_it:
            self._committing.result()
            self._committing = None

    def _finish(self, stop: str | None) -> None:
        task_id, worker = self.task_id, self.worker

        def _write() -> str | None:
            task = Task.get_or_none(Task.id == task_id)
            if task is None:
                return None
            mine = task.worker == worker
            if stop is None and task.state == "running" and mine:
                state = "failed" if task.failed else "done"
                Task.update(state=state, finished_at=dt.datetime.now(), worker=None).where(
                    Task.id == task_id
                ).execute()
                return state
            if stop == "released" and task.state == "running" and mine:
                Task.update(state="queued", worker=None).where(Task.id == task_id).execute()
            elif stop == "interrupted" and task.state == "running" and mine:
                Task.update(state="paused", worker=None).where(Task.id == task_id).execute()
            elif mine:
                Task.update(worker=None).where(Task.id == task_id).execute()
            return None

        finished = self.lib.writer.call(_write)
        if finished is not None:
            notify.deliver(self.lib, task_id)

    def _fail_task(self, message: str) -> None:
        task_id = self.task_id

        def _write() -> None:
            Task.update(state="failed", error=message, finished_at=dt.datetime.now(), worker=None).where(
                Task.id == task_id
            ).execute()

        self.lib.writer.call(_write)
        notify.deliver(self.lib, task_id)

    # ------------------------------------------------------------------ the task
    def run(self) -> None:
        """Process the task's pending items until none is left, or it is paused or cancelled."""
        task = Task.get_by_id(self.task_id)
        try:
            self.recipe = Recipe.from_dict(json.loads(task.recipe))
            self.steps: list[Step] = operations.validate_steps(
                self.recipe.steps, f"recipe '{self.recipe.slug}'"
            )
        except RecipeError as exc:
            self._fail_task(exc.message)
            return
        self.canonical = operations.canonical(self.steps)
        self.raw_steps = [s.as_dict() for s in self.steps]
        self.out_dir = Path(task.output_dir)
        self._reserved = tasks.done_output_paths(self.task_id)
        total, done = int(task.total), int(task.done) + int(task.failed)
        items: Iterator[PendingItem] = self._with_records(tasks.pending_items(self.task_id))
        stop: str | None = None
        buffer: list[ItemResult] = []
        inflight: set[Future[ItemResult]] = set()
        last_check = last_commit = time.monotonic()
        interrupted = False
        with ThreadPoolExecutor(self.threads, thread_name_prefix="process") as pool:
            try:
                while True:
                    while stop is None and len(inflight) < self.threads * 4:
                        item = next(items, None)
                        if item is None:
                            break
                        inflight.add(pool.submit(self._process, item))
                    if not inflight:
                        break
                    finished, _ = wait(inflight, timeout=COMMIT_EVERY_S, return_when=FIRST_COMPLETED)
                    buffer.extend(f.result() for f in finished if not f.cancelled())
                    inflight -= finished  # only now: a Ctrl-C before this line loses no finished item
                    now = time.monotonic()
                    if buffer and (
                        len(buffer) >= COMMIT_ITEMS or now - last_commit >= COMMIT_EVERY_S or not inflight
                    ):
                        self._commit(buffer)
                        done += len(buffer)
                        buffer = []
                        last_commit = now
                        if self.control is not None:
                            self.control.report(done, total)
                    if now - last_check >= STATE_CHECK_S:
                        last_check = now
                        state = tasks.state(self.task_id)
                        if state != "running":
                            stop = state or "cancelled"  # paused or cancelled from anywhere
                        else:
                            tasks.heartbeat(self.lib, self.task_id, self.worker)
                    if stop is None and self.control is not None and self.control.cancelled:
                        stop = (
                            "released"  # the app is closing: the task waits in the queue for the next start
                        )
                    if stop is not None:
                        # items not started yet stay pending; those being processed finish and are kept
                        for f in list(inflight):
                            if f.cancel():
                                inflight.discard(f)
            except KeyboardInterrupt:
                # Ctrl-C on a waiting ``process``: the items being processed finish (the render children
                # ignore it), the rest stay pending and the task is paused, not left 'running' for good
                interrupted = True
                for f in list(inflight):
                    if f.cancel():
                        inflight.discard(f)
        if interrupted:
            buffer.extend(f.result() for f in inflight if not f.cancelled())  # the pool waited for them
            stop = "interrupted"
        self._commit(buffer, wait_for_it=True)
        if self.control is not None and buffer:
            self.control.report(done + len(buffer), total, force=True)
        if stop is None and tasks.pending_items(self.task_id):
            stop = "released"  # items another worker holds: leave them to it
        self._finish(stop)
        if interrupted:
            raise Interrupted(self.task_id)


def run_task(
    lib: Library, task_id: int, worker: str | None = None, control: JobControl | None = None
) -> None:
    """Run the task ``task_id`` (already claimed by ``worker``) in this process."""
    TaskRunner(lib, task_id, worker or tasks.this_worker(), control).run()


def run_next(lib: Library, control: JobControl | None = None) -> bool:
    """Claim the next queued task and run it here; False when the queue was empty.

    What the app calls from a background thread (with its ``JobControl``: cancelling it
    stops between items and puts the task back in the queue for the next start).
    """
    worker = tasks.this_worker()
    task_id = tasks.claim_next(lib, worker)
    if task_id is None:
        return False
    run_task(lib, task_id, worker, control)
    return True


# ---------------------------------------------------------------------------- the worker process
class WorkerLock:
    """Held by the process draining the queue, so ``process --async`` starts a worker only when none runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # noqa: SIM115 - held open while the lock is held
        try:
            if sys.platform == "win32":
                import msvcrt

                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return False
        self._fh = fh
        return True

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()  # closing the file lets go of the lock
            self._fh = None


def worker_lock(lib: Library) -> WorkerLock:
    return WorkerLock(lib.paths.data / "processing-worker.lock")


def worker_running(lib: Library) -> bool:
    """Whether another process is draining the queue now."""
    lock = worker_lock(lib)
    if lock.acquire():
        lock.release()
        return False
    return True


@contextmanager
def _held(lock: WorkerLock) -> Iterator[bool]:
    got = lock.acquire()
    try:
        yield got
    finally:
        if got:
            lock.release()


def work(
    lib: Library,
    until_empty: bool = True,
    control: JobControl | None = None,
    idle_s: float = 1.0,
) -> int:
    """Drain the queue (the detached worker of ``process --async``); the number of tasks run.

    ``until_empty``: return when nothing is queued, else wait for more until cancelled.
    """
    lock = worker_lock(lib)
    ran = 0
    while True:
        with _held(lock) as got:
            if not got:
                return ran  # another worker drains the queue
            while control is None or not control.cancelled:
                if run_next(lib, control):
                    ran += 1
                    continue
                if until_empty:
                    break
                time.sleep(idle_s)
        # let go of the lock, then look once more: a task queued just before it was let go would
        # otherwise wait, as its submitter saw a worker running and started none
        if control is not None and control.cancelled or not tasks.queued_count():
            return ran
