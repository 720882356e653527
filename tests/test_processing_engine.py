"""The processing engine around the operations: recipes, naming, the queue, the runner, the cache, the gateway."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from PIL import Image

from desktop.core.catalog.schema import Lineage, Task, TaskItem
from desktop.core.processing import cache as cache_mod
from desktop.core.processing import gateway, naming, notify, operations, recipes, render, runner, tasks
from desktop.core.processing.params import RecipeError
from tests.conftest import MakeJpeg

STEPS = [{"op": "resize", "params": {"long_edge": 64}}, {"op": "jpeg", "params": {"quality": 80}}]


def _photos(make_jpeg: MakeJpeg, folder: Path, n: int, size: tuple[int, int] = (160, 120)) -> list[Path]:
    return [make_jpeg(folder / f"p{i:03}.jpg", size=size, color=(i * 7 % 256, 90, 40)) for i in range(n)]


def _request(files: list[Path], out: Path, cmd: str = "small", **more: Any) -> dict[str, Any]:
    return {"cmd": cmd, "input_files": [str(f) for f in files], "output_dir": str(out), **more}


@pytest.fixture
def small(library: Any) -> recipes.Recipe:
    return recipes.save(library, "Small", STEPS)


# ---------------------------------------------------------------------------- recipes
def test_saved_recipe_versions_slug_and_resolve_with_overrides(library: Any) -> None:
    first = recipes.save(library, "My Web 1600!", STEPS)
    assert (first.slug, first.version) == ("my-web-1600", 1)
    assert first.steps[0].params["enlarge"] is False  # completed with the defaults
    again = recipes.save(library, "My Web 1600!", [*STEPS[:1], {"op": "jpeg", "params": {"quality": 60}}])
    assert again.version == 2
    by_name = recipes.resolve("my web 1600!")
    assert by_name.slug == "my-web-1600" and by_name.version == 2
    assert by_name.steps[1].params["quality"] == 60
    dotted = recipes.resolve("my-web-1600", {"jpeg.quality": 70, "naming": "{n:04}.{ext}"})
    assert dotted.steps[1].params["quality"] == 70 and dotted.naming == "{n:04}.{ext}"
    nested = recipes.resolve("my-web-1600", {"resize": {"long_edge": 32}})
    assert nested.steps[0].params["long_edge"] == 32
    assert "my-web-1600" in [r.slug for r in recipes.all_recipes()]
    recipes.delete(library, "my-web-1600")
    with pytest.raises(RecipeError, match="There is no recipe 'my-web-1600'"):
        recipes.resolve("my-web-1600")


@pytest.mark.parametrize(
    ("steps", "kwargs", "sentence"),
    [
        ([{"op": "blur"}, {"op": "jpeg"}], {}, "There is no operation 'blur'"),
        ([{"op": "resize", "params": {"long_edge": 5}}, {"op": "jpeg"}], {}, "'long_edge' is 5, outside"),
        ([{"op": "jpeg", "params": {"qualty": 5}}], {}, "there is no parameter 'qualty'"),
        ([{"op": "resize"}], {}, "the last step must write the output"),
        (STEPS, {"template": "{stem}_{colour}.{ext}"}, "unknown field {colour}"),
        (STEPS, {"collision": "replace"}, "'collision' is 'replace'"),
    ],
)
def test_a_bad_recipe_is_refused_with_a_sentence_naming_the_field(
    library: Any, steps: list[dict[str, Any]], kwargs: dict[str, Any], sentence: str
) -> None:
    with pytest.raises(RecipeError, match=sentence):
        recipes.save(library, "Broken", steps, **kwargs)
    assert "broken" not in [r.slug for r in recipes.all_recipes()]


def test_overrides_naming_a_step_the_recipe_lacks_are_refused(small: recipes.Recipe) -> None:
    with pytest.raises(RecipeError, match="names the step 'crop', which the recipe 'small' does not have"):
        recipes.resolve("small", {"crop.aspect": "1:1"})
    with pytest.raises(RecipeError, match="'quality' is 500, outside"):
        recipes.resolve("small", {"jpeg.quality": 500})


def test_presets_cannot_be_deleted_nor_shadowed(library: Any) -> None:
    with pytest.raises(RecipeError, match="presets cannot be deleted"):
        recipes.delete(library, "web-2048")
    with pytest.raises(RecipeError, match="name of a preset"):
        recipes.save(library, "Web 2048 px", STEPS)


def test_the_presets_are_listed_and_validate_once_their_operations_exist(library: Any) -> None:
    listed = {r.slug: r.name for r in recipes.all_recipes() if r.preset}
    assert listed == {
        "original": "Original",
        "web-2048": "Web 2048 px",
        "email-1280": "Email 1280 px without location",
        "print-tiff": "Print TIFF",
        "square-1080": "Square 1080 crop",
        "video-frames": "Contact frames from a video",
    }
    needed = {s.op for r in recipes.PRESETS.values() for s in r.steps}
    operations.all_operations()
    missing = needed - set(operations.REGISTRY)
    if missing:
        pytest.skip(f"operations not on this branch yet: {', '.join(sorted(missing))}")
    for slug in recipes.PRESETS:
        assert recipes.resolve(slug).steps[-1].op in operations.REGISTRY
    assert recipes.resolve("Web 2048 px").slug == "web-2048"


# ---------------------------------------------------------------------------- naming
def _fields(**kw: Any) -> naming.NameFields:
    base: dict[str, Any] = {
        "stem": "IMG_1",
        "ext": "jpg",
        "recipe": "web",
        "name": "Web",
        "date": dt.datetime(2024, 7, 3, 10, 0),
    }
    return naming.NameFields(**(base | kw))


def test_naming_fills_every_field_and_keeps_values_inside_the_output_folder() -> None:
    tpl = "{date:%Y/%m}/{album}/{n:04}_{stem}_{camera}_{recipe}{index}.{ext}"
    naming.check_template(tpl)
    got = naming.render(tpl, _fields(album="Places/Paris", camera="Canon EOS", n=7, index="003"))
    assert got == PurePosixPath("2024/07/Places_Paris/0007_IMG_1_Canon EOS_web003.jpg")
    assert naming.render("/etc/{stem}.{ext}", _fields()) == PurePosixPath("etc/IMG_1.jpg")
    climbing = naming.render("../{stem}/{album}.{ext}", _fields(stem="..", album=".."))
    assert ".." not in climbing.parts and not climbing.is_absolute()
    assert naming.render("{stem}.{ext}", _fields(stem='a:b*c?"')) == PurePosixPath("a_b_c__.jpg")


def test_naming_refuses_unknown_fields_and_bad_formats() -> None:
    with pytest.raises(RecipeError, match=r"unknown field \{colour\}"):
        naming.check_template("{colour}.{ext}")
    with pytest.raises(RecipeError, match="cannot be filled in"):
        naming.check_template("{n:%Y}.{ext}")
    with pytest.raises(RecipeError, match=r"must contain \{ext\}"):
        naming.check_template("{stem}.jpg")
    first = list(zip(range(3), naming.candidates(Path("/o/a.jpg")), strict=False))
    assert [str(p) for _i, p in first] == ["/o/a.jpg", "/o/a (2).jpg", "/o/a (3).jpg"]


# ---------------------------------------------------------------------------- running
def test_waiting_mode_writes_outputs_lineage_and_a_repeat_is_served_from_the_cache(
    library: Any, small: recipes.Recipe, make_jpeg: MakeJpeg, tmp_path: Path
) -> None:
    files = _photos(make_jpeg, tmp_path / "in", 4)
    cb = gateway.run_now(library, _request(files, tmp_path / "out", msg_id="m1"))
    assert cb["success"] and cb["msg_id"] == "m1" and cb["code"] is None
    outs = cb["output_files"]
    assert [Path(o["path"]).name for o in outs] == [f"p{i:03}_small.jpg" for i in range(4)]
    for o in outs:
        with Image.open(o["path"]) as im:
            assert max(im.size) == 64 and im.format == "JPEG"
        assert (
            o["mime"] == "image/jpeg" and o["size"] == Path(o["path"]).stat().st_size and not o["cache_hit"]
        )
    assert not list((tmp_path / "out").glob(".*"))  # no partial file left
    assert Lineage.select().count() == 4
    row = Lineage.get(Lineage.output_path == outs[0]["path"])
    assert row.recipe == "small" and row.source_path == str(files[0]) and row.task == cb["task"]

    again = gateway.run_now(library, _request(files, tmp_path / "again"))
    info = tasks.task_info(again["task"])
    assert info is not None and info.cache_hits == 4 and info.state == "done"
    assert all(o["cache_hit"] for o in again["output_files"])
    assert Path(again["output_files"][0]["path"]).read_bytes() == Path(outs[0]["path"]).read_bytes()


def test_a_changed_source_is_computed_again_and_a_vanished_one_fails_alone(
    library: Any, small: recipes.Recipe, make_jpeg: MakeJpeg, tmp_path: Path
) -> None:
    files = _photos(make_jpeg, tmp_path / "in", 3)
    gateway.run_now(library, _request(files, tmp_path / "first"))
    make_jpeg(files[0], size=(160, 120), color=(0, 255, 0))  # same name, other content
    response = gateway.submit(library, _request(files, tmp_path / "out"))
    assert response.success and response.task is not None
    files[2].unlink()  # vanished after it was queued
    assert runner.run_next(library)
    info = tasks.task_info(response.task)
    assert (
        info is not None and info.state == "failed" and (info.done, info.failed, info.cache_hits) == (2, 1, 1)
    )
    assert info.items is not None
    changed, same, gone = info.items
    assert changed.state == "done" and not changed.cache_hit
    with Image.open(changed.outputs[0]["path"]) as im:
        assert im.convert("RGB").getpixel((63, 47))[1] > 200  # the new green picture, not the cached one
    assert same.cache_hit
    assert gone.state == "failed" and gone.code == "source_missing"
    assert gone.message == f"{files[2]} no longer exists; it was moved or deleted after the task was queued."


def test_a_read_only_output_folder_is_one_sentence_per_item(
    library: Any, small: recipes.Recipe, make_jpeg: MakeJpeg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _photos(make_jpeg, tmp_path / "in", 2)
    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(0o500)
    if os.name != "posix" or os.geteuid() == 0:
        # root writes into read-only folders: the file system's refusal is made here instead
        def refuse(self: Any, partial: Path) -> None:
            raise PermissionError(errno.EACCES, "Permission denied", str(partial))

        monkeypatch.setattr(runner._Output, "write_to", refuse)
    try:
        cb = gateway.run_now(library, _request(files, out))
    finally:
        out.chmod(0o700)
    assert not cb["success"] and cb["code"] == "items_failed"
    assert {o["code"] for o in cb["output_files"]} == {"read_only"}
    assert cb["output_files"][0]["message"] == (
        f"The output folder {out} is read-only; choose another folder or allow writing to it."
    )
    assert not list(out.iterdir())


def test_an_undecodable_source_fails_with_its_reason(
    library: Any, small: recipes.Recipe, make_jpeg: MakeJpeg, tmp_path: Path
) -> None:
    good = _photos(make_jpeg, tmp_path / "in", 1)[0]
    bad = tmp_path / "in" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff" + b"nonsense" * 50)
    cb = gateway.run_now(library, _request([good, bad], tmp_path / "out"))
    failed = [o for o in cb["output_files"] if o["code"]]
    assert len(failed) == 1 and failed[0]["code"] == "undecodable"
    assert failed[0]["message"].startswith("broken.jpg cannot be decoded: ")


def test_two_tasks_writing_the_same_names_get_a_counter(
    library: Any, small: recipes.Recipe, make_jpeg: MakeJpeg, tmp_path: Path
) -> None:
    files = _photos(make_jpeg, tmp_path / "in", 2)
    a = gateway.submit(library, _request(files, tmp_path / "out"))
    b = gateway.submit(library, _request(files, tmp_path / "out"))
    same = gateway.submit(library, _request([files[0], files[0]], tmp_path / "twice"))
    while runner.run_next(library):
        pass
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["p000_small (2).jpg", "p000_small.jpg", "p001_small (2).jpg", "p001_small.jpg"]
    assert sorted(p.name for p in (tmp_path / "twice").iterdir()) == ["p000_small (2).jpg", "p000_small.jpg"]
    for r in (a, b, same):
        assert r.task is not None and tasks.task_info(r.task).state == "done"  # type: ignore[union-attr]


def test_skip_and_overwrite_policies(
    library: Any, small: recipes.Recipe, make_jpeg: MakeJpeg, tmp_path: Path
) -> None:
    files = _photos(make_jpeg, tmp_path / "in", 1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "p000_small.jpg").write_bytes(b"mine")
    skipped = gateway.run_now(library, _request(files, out, params={"collision": "skip"}))
    assert (
        skipped["output_files"][0]["code"] == "skipped" and (out / "p000_small.jpg").read_bytes() == b"mine"
    )
    gateway.run_now(library, _request(files, out, params={"collision": "overwrite"}))
    assert (out / "p000_small.jpg").read_bytes()[:2] == b"\xff\xd8"
    assert sorted(p.name for p in out.iterdir()) == ["p000_small.jpg"]


# ---------------------------------------------------------------------------- the queue
def test_claim_order_pause_resume_cancel_retry(
    library: Any, small: recipes.Recipe, make_jpeg: MakeJpeg, tmp_path: Path
) -> None:
    files = _photos(make_jpeg, tmp_path / "in", 1)
    low = gateway.submit(library, _request(files, tmp_path / "a")).task
    high = gateway.submit(library, _request(files, tmp_path / "b", priority=5)).task
    later = gateway.submit(library, _request(files, tmp_path / "c", priority=5)).task
    assert low and high and later
    assert tasks.claim_next(library, "w1") == high
    assert tasks.claim_next(library, "w1") == later
    assert tasks.pause(library, low).state == "paused"
    assert tasks.claim_next(library, "w1") is None
    assert tasks.resume(library, low).state == "queued"
    assert tasks.cancel(library, low).state == "cancelled"
    with pytest.raises(tasks.TaskError, match=f"Task {low} is cancelled, so it cannot be paused"):
        tasks.pause(library, low)
    assert tasks.retry(library, low).state == "queued"
    with pytest.raises(tasks.TaskError, match="There is no task 999"):
        tasks.task_info(999) or tasks.cancel(library, 999)


def test_a_task_whose_worker_died_is_queued_again_and_keeps_its_finished_items(
    library: Any, small: recipes.Recipe, make_jpeg: MakeJpeg, tmp_path: Path
) -> None:
    files = _photos(make_jpeg, tmp_path / "in", 3)
    task_id = gateway.submit(library, _request(files, tmp_path / "out")).task
    assert task_id is not None
    dead = f"{2**22 + 12345}@{socket.gethostname()}"  # above pid_max on a default Linux: never alive
    assert tasks.claim(library, task_id, dead)
    first = TaskItem.get((TaskItem.task == task_id) & (TaskItem.seq == 1))
    library.writer.call(
        lambda: (
            TaskItem.update(state="done", outputs=json.dumps([{"path": "/kept"}]))
            .where(TaskItem.id == first.id)
            .execute()
        )
    )
    library.writer.call(lambda: Task.update(done=1).where(Task.id == task_id).execute())
    assert tasks.requeue_stale(library) == [task_id]
    silent = gateway.submit(library, _request(files[:1], tmp_path / "x")).task
    assert silent is not None and tasks.claim(library, silent, tasks.this_worker())
    library.writer.call(lambda: Task.update(heartbeat=time.time() - 120).where(Task.id == silent).execute())
    assert tasks.requeue_stale(library) == [silent]
    assert runner.run_next(library)
    info = tasks.task_info(task_id)
    assert info is not None and info.state == "done" and info.done == 3
    assert info.items is not None and info.items[0].outputs == [{"path": "/kept"}]  # not redone
    assert Lineage.select().where(Lineage.task == task_id).count() == 2


def test_pause_from_the_catalog_stops_between_items(
    library: Any, small: recipes.Recipe, make_jpeg: MakeJpeg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _photos(make_jpeg, tmp_path / "in", 12)
    task_id = gateway.submit(library, _request(files, tmp_path / "out")).task
    assert task_id is not None
    slow_render = render.render

    def slow(source: render.Source, steps: list[operations.Step]) -> list[render.Rendered]:
        time.sleep(0.15)
        return slow_render(source, steps)

    monkeypatch.setattr(runner, "RENDER_IN_CHILDREN", False)  # the replaced render runs here
    monkeypatch.setattr(render, "render", slow)
    threading.Timer(0.3, lambda: tasks.pause(library, task_id)).start()
    assert runner.run_next(library)
    info = tasks.task_info(task_id)
    assert info is not None and info.state == "paused" and info.worker is None
    assert 0 < info.done < 12
    tasks.resume(library, task_id)
    monkeypatch.setattr(render, "render", slow_render)
    assert runner.run_next(library)
    done = tasks.task_info(task_id)
    assert done is not None and done.state == "done" and done.done == 12
    assert len(list((tmp_path / "out").iterdir())) == 12


# ---------------------------------------------------------------------------- the cache
def _rendered(data: bytes) -> list[render.Rendered]:
    return [render.Rendered(data, "jpg", "image/jpeg", "", 10, 10)]


def test_cache_evicts_the_least_recently_used_and_never_serves_a_changed_file(tmp_path: Path) -> None:
    cache = cache_mod.ResultCache(tmp_path / "results", 3000)
    for name in ("a", "b"):
        assert cache.put(name * 32, "src-" + name, _rendered(b"x" * 1000)) is not None
        time.sleep(0.02)
    old = time.time() - 100
    os.utime(tmp_path / "results" / "bb" / ("b" * 32) / cache_mod.MANIFEST, (old, old))  # b used long ago
    assert cache.get("a" * 32) is not None
    cache.put("c" * 32, "src-c", _rendered(b"y" * 1000))
    assert cache.get("b" * 32) is None and cache.get("a" * 32) is not None and cache.get("c" * 32) is not None
    assert cache.total_bytes() <= 3000
    hit = cache.get("a" * 32)
    assert hit is not None
    hit[0].path.write_bytes(b"edited in place by another program")
    assert cache.get("a" * 32) is None  # dropped, not served
    assert [p.name for p, _size in cache.orphans({"src-c"})] == []
    assert [p.name for p, _size in cache.orphans(set())] == ["c" * 32]


def test_identical_requests_in_flight_compute_once(
    library: Any, small: recipes.Recipe, make_jpeg: MakeJpeg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = _photos(make_jpeg, tmp_path / "in", 1)[0]
    calls: list[Path] = []
    real = render.render

    def counting(source: render.Source, steps: list[operations.Step]) -> list[render.Rendered]:
        calls.append(source.path)
        time.sleep(0.2)
        return real(source, steps)

    monkeypatch.setattr(runner, "RENDER_IN_CHILDREN", False)  # the replaced render runs here
    monkeypatch.setattr(render, "render", counting)
    cb = gateway.run_now(library, _request([photo] * 4, tmp_path / "out"))
    assert len(calls) == 1 and cb["success"], [o["message"] for o in cb["output_files"]]
    info = tasks.task_info(cb["task"])
    assert info is not None and info.cache_hits == 3


def test_cache_off_still_writes_outputs(
    library: Any, small: recipes.Recipe, make_jpeg: MakeJpeg, tmp_path: Path
) -> None:
    library.set_config("processing.cache_mb", "0")
    assert library.config()["processing.cache_mb"] == "0"
    with pytest.raises(Exception, match="whole number from 0"):
        library.set_config("processing.cache_mb", "lots")
    files = _photos(make_jpeg, tmp_path / "in", 2)
    gateway.run_now(library, _request(files, tmp_path / "one"))
    cb = gateway.run_now(library, _request(files, tmp_path / "two"))
    assert cb["success"] and not any(o["cache_hit"] for o in cb["output_files"])
    assert not (library.paths.results).exists() or not any(library.paths.results.iterdir())


# ---------------------------------------------------------------------------- requests and callbacks
@pytest.mark.parametrize(
    ("data", "code", "sentence"),
    [
        ("{not json", "bad_request", "The request is not valid JSON"),
        (
            '{"cmd": "small", "input_files": ["a"], "output_dir": "o", "colour": 1}',
            "bad_request",
            "unknown field 'colour'",
        ),
        ('{"cmd": "small", "input_files": [], "output_dir": "o"}', "no_inputs", "no input files"),
        (
            '{"cmd": "small", "input_files": ["a"], "output_dir": "o", "notify": {"mail": "x"}}',
            "bad_request",
            "'notify' has an unknown field 'mail'",
        ),
        (
            '{"cmd": "small", "input_files": ["/nowhere/a.jpg"], "output_dir": "o"}',
            "input_missing",
            "do not exist: /nowhere/a.jpg",
        ),
        (
            '{"cmd": "nope", "input_files": ["/nowhere/a.jpg"], "output_dir": "o"}',
            "bad_recipe",
            "There is no recipe 'nope'",
        ),
    ],
)
def test_bad_requests_are_refused_naming_the_problem(
    library: Any, small: recipes.Recipe, data: str, code: str, sentence: str
) -> None:
    response = gateway.submit(library, data)
    assert not response.success and response.error_code == code and sentence in (response.error_msg or "")
    assert Task.select().count() == 0


def test_the_callback_file_is_written_when_the_task_finishes(
    library: Any, small: recipes.Recipe, make_jpeg: MakeJpeg, tmp_path: Path
) -> None:
    files = _photos(make_jpeg, tmp_path / "in", 2)
    target = tmp_path / "cb" / "done.json"
    response = gateway.submit(
        library, _request(files, tmp_path / "out", msg_id="abc", notify={"file": str(target)})
    )
    assert response.as_dict() == {
        "msg_id": "abc",
        "success": True,
        "error_code": None,
        "error_msg": None,
        "task": response.task,
    }
    runner.run_next(library)
    body = json.loads(target.read_text())
    assert body["msg_id"] == "abc" and body["success"] is True and body["code"] is None
    assert [Path(f["path"]).name for f in body["output_files"]] == ["p000_small.jpg", "p001_small.jpg"]
    assert set(body["output_files"][0]) == {
        "source",
        "path",
        "size",
        "mime",
        "cache_hit",
        "ssim",
        "flagged",
        "problems",
        "code",
        "message",
    }
    assert tasks.task_info(response.task).notified  # type: ignore[arg-type, union-attr]
    desktop = gateway.submit(library, _request(files, tmp_path / "out2", notify="desktop")).task
    runner.run_next(library)
    assert [t.id for t in notify.pending_desktop()] == [desktop]
    notify.mark_notified(library, desktop)  # type: ignore[arg-type]
    assert notify.pending_desktop() == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="zombies are read from /proc")
def test_a_killed_worker_nobody_reaped_counts_as_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    me = f"{child.pid}@{socket.gethostname()}"
    try:
        assert tasks.worker_alive(me, time.time())
        child.kill()
        time.sleep(0.3)  # not waited for: a zombie, which still answers signal 0
        assert not tasks.worker_alive(me, time.time())
    finally:
        child.kill()
        child.wait()


def test_a_derived_video_carries_the_hash_the_scanner_gives_it(
    library: Any, make_video: Any, tmp_path: Path
) -> None:
    from desktop.core.ingest.scan_worker import hash_bytes
    from desktop.core.processing import lineage

    clip = make_video(tmp_path / "in" / "clip.mp4", seconds=1)
    recipes.save(library, "Clip", [{"op": "video", "params": {"end_s": 0.5}}])
    cb = gateway.run_now(library, _request([clip], tmp_path / "out", cmd="clip"))
    assert cb["success"], cb
    out = Path(cb["output_files"][0]["path"])
    row = Lineage.get(Lineage.output_path == str(out))
    # the scanner and lineage.file_hash hash a video by its size and edges, not its whole bytes
    assert row.output_hash == lineage.file_hash(out) != hash_bytes(out.read_bytes())
    moved = out.rename(tmp_path / "moved.mp4")  # recognised by its content, wherever it went
    found = lineage.for_path(library, moved)
    assert [d["path"] for d in found["derived_from"]] == [str(clip)]


def test_ctrl_c_on_a_waiting_process_pauses_its_task_and_resume_finishes_it(
    library: Any, small: recipes.Recipe, make_jpeg: MakeJpeg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _photos(make_jpeg, tmp_path / "in", 24)
    real_render, real_wait = render.render, runner.wait
    waits: list[int] = []

    def slow(source: render.Source, steps: list[operations.Step]) -> list[render.Rendered]:
        time.sleep(0.05)
        return real_render(source, steps)

    def interrupted_wait(*args: Any, **kwargs: Any) -> Any:
        waits.append(1)
        if len(waits) == 2:
            raise KeyboardInterrupt  # where the main thread is when Ctrl-C arrives
        return real_wait(*args, **kwargs)

    monkeypatch.setattr(runner, "RENDER_IN_CHILDREN", False)
    monkeypatch.setattr(render, "render", slow)
    monkeypatch.setattr(runner, "wait", interrupted_wait)
    with pytest.raises(runner.Interrupted) as caught:
        gateway.run_now(library, _request(files, tmp_path / "out"))
    task_id = caught.value.task_id
    info = tasks.task_info(task_id)
    assert info is not None and info.state == "paused" and info.worker is None
    assert 0 < info.done < 24
    assert f"'tasks resume {task_id}'" in caught.value.sentence()
    monkeypatch.setattr(runner, "wait", real_wait)
    tasks.resume(library, task_id)
    assert runner.run_next(library)
    finished = tasks.task_info(task_id)
    assert finished is not None and finished.state == "done" and finished.done == 24
    assert len(list((tmp_path / "out").iterdir())) == 24  # nothing written twice


def test_a_library_photo_exported_again_is_served_from_the_cache(
    library: Any, small: recipes.Recipe, make_jpeg: MakeJpeg, tmp_path: Path
) -> None:
    files = _photos(make_jpeg, tmp_path / "in", 3)
    library.add_root(tmp_path / "in")
    library.scan()
    first = gateway.run_now(library, _request(files, tmp_path / "one"))
    assert first["success"] and not any(o["cache_hit"] for o in first["output_files"])
    # the first export is now in each photo's record (its lineage): that must not change the cache key
    again = gateway.run_now(library, _request(files, tmp_path / "two"))
    assert [o["cache_hit"] for o in again["output_files"]] == [True] * 3


def _crash_on_bad(job: Any) -> Any:
    """Runs in a render child: dies the way a decoder crash kills a process, for sources named bad*."""
    from desktop.core.processing import render_pool

    if Path(job.path).name.startswith("bad"):
        os._exit(3)
    return render_pool.render_job(job)


def test_a_render_child_that_dies_fails_only_its_item_and_the_pool_comes_back(
    library: Any, small: recipes.Recipe, make_jpeg: MakeJpeg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desktop.core.processing import render_pool

    files = _photos(make_jpeg, tmp_path / "in", 3)
    bad = make_jpeg(tmp_path / "in" / "bad.jpg", size=(160, 120))
    task_id = gateway.submit(library, _request([files[0], bad, *files[1:]], tmp_path / "out")).task
    assert task_id is not None and tasks.claim(library, task_id, tasks.this_worker())
    monkeypatch.setattr(render_pool, "render_job", _crash_on_bad)  # what the pool hands its children
    runner.TaskRunner(library, task_id, tasks.this_worker(), threads=1).run()  # one item at a time
    info = tasks.task_info(task_id)
    assert info is not None and info.items is not None
    assert [(i.state, i.code) for i in info.items] == [
        ("done", None),
        ("failed", "crashed"),
        ("done", None),
        ("done", None),
    ]
    assert info.items[1].message is not None and info.items[1].message.startswith(
        "bad.jpg made the rendering process stop unexpectedly"
    )


def test_photo_records_read_many_photos_as_photo_info_reads_one(
    library: Any, make_jpeg: MakeJpeg, tmp_path: Path
) -> None:
    """The runner reads its items' records in one go; each must be exactly what ``photo_info`` gives."""
    files = _photos(make_jpeg, tmp_path / "in", 3)
    library.add_root(tmp_path / "in")
    library.scan()
    ids = library.photo_ids_for_paths(files)[0]
    library.add_tag("Trips/Lisbon", ids[:2])
    library.add_to_album("Best", ids[1:])
    records = library.photo_records([*ids, 99999])
    assert sorted(records) == sorted(ids)
    for pid in ids:
        assert records[pid] == library.photo_info(pid, lineage=False)
    assert records[ids[0]]["tags"] == ["Trips/Lisbon"] and records[ids[2]]["albums"] == ["Best"]


def test_each_output_is_checked_and_a_poor_one_is_flagged_with_its_reason(
    library: Any, tmp_path: Path
) -> None:
    """quality.check after encoding: SSIM below the flag level, a size budget missed, a broken stream."""
    import io

    import numpy as np

    from desktop.core.processing import quality
    from desktop.core.processing.render import Rendered

    rng = np.random.default_rng(3)
    noisy = tmp_path / "in" / "noisy.jpg"
    noisy.parent.mkdir()
    Image.fromarray((rng.random((240, 320, 3)) * 255).astype("uint8")).save(noisy, quality=95)
    poor = gateway.run_now(
        library, _request([noisy], tmp_path / "poor", cmd="web-2048", params={"jpeg.quality": 2})
    )["output_files"][0]
    good = gateway.run_now(library, _request([noisy], tmp_path / "good", cmd="web-2048"))["output_files"][0]
    assert poor["flagged"] and "SSIM" in poor["problems"] and poor["ssim"] < quality.SSIM_FLAG
    assert not good["flagged"] and good["problems"] is None and good["ssim"] >= quality.SSIM_FLAG
    assert poor["code"] is None  # written all the same: the person judges it

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(buf, "JPEG")
    fine = Rendered(buf.getvalue(), "jpg", "image/jpeg", width=64, height=48)
    assert quality.check(fine, (64, 48)) == []
    assert "not the expected 100×48" in quality.check(fine, (100, 48))[0]
    assert "over its budget of 0.1 KB" in quality.check(fine, (64, 48), budget_kb=0.1)[0]
    broken = Rendered(buf.getvalue()[: len(buf.getvalue()) // 2], "jpg", "image/jpeg")
    assert "does not decode" in quality.check(broken)[-1]


def test_exports_served_from_the_cache_are_independent_copies(
    library: Any, small: recipes.Recipe, make_jpeg: MakeJpeg, tmp_path: Path
) -> None:
    """An export edited in place (a title added by another program) must change neither the cache nor
    any other export of the same photo: outputs are copies, never hard links."""
    files = _photos(make_jpeg, tmp_path / "in", 1)
    one = Path(gateway.run_now(library, _request(files, tmp_path / "one"))["output_files"][0]["path"])
    two = Path(gateway.run_now(library, _request(files, tmp_path / "two"))["output_files"][0]["path"])
    assert one.stat().st_nlink == 1 and two.stat().st_nlink == 1 and one.stat().st_ino != two.stat().st_ino
    original = two.read_bytes()
    with open(one, "r+b") as fh:  # edited in place, as exiftool -overwrite_original_in_place does
        fh.seek(len(original) // 2)
        fh.write(b"\x00" * 16)
    assert two.read_bytes() == original
    three = gateway.run_now(library, _request(files, tmp_path / "three"))["output_files"][0]
    assert three["cache_hit"] and Path(three["path"]).read_bytes() == original


def test_video_frames_of_a_photo_fail_with_a_reason_and_nothing_is_cached(
    library: Any, make_jpeg: MakeJpeg, tmp_path: Path
) -> None:
    files = _photos(make_jpeg, tmp_path / "in", 1)
    for _ in range(2):  # the second time too: an empty result must not have been cached as a success
        cb = gateway.run_now(library, _request(files, tmp_path / "out", cmd="video-frames"))
        assert not cb["success"]
        [failed] = cb["output_files"]
        assert failed["code"] == "undecodable" and failed["path"] is None
        assert failed["message"] == "p000.jpg is a photo: this recipe takes frames from videos."
