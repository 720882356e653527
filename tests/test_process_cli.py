"""``process`` and ``tasks`` from the command line: waiting mode, --async with the detached worker, a killed
worker's task resumed, the cache seen in ``tasks show``, request files and callbacks."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import MakeJpeg, run_cli


def _photos(make_jpeg: MakeJpeg, folder: Path, n: int, size: tuple[int, int] = (120, 90)) -> list[Path]:
    return [make_jpeg(folder / f"p{i:03}.jpg", size=size, color=(i * 7 % 256, 90, 40)) for i in range(n)]


def _save_recipe(home: Path, steps: list[dict[str, Any]]) -> None:
    from desktop.core.library import Library
    from desktop.core.processing import recipes
    from desktop.core.runtime.paths import resolve_paths

    lib = Library(resolve_paths(home))
    try:
        recipes.save(lib, "Small", steps)
    finally:
        lib.close()


def _show(home: Path, task: int) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(run_cli(home, "tasks", "show", str(task), "--json", check=True).stdout)
    return out


def _wait_for(
    home: Path, task: int, states: tuple[str, ...] = ("done", "failed"), limit: float = 60
) -> dict[str, Any]:
    end = time.monotonic() + limit
    while True:
        info = _show(home, task)
        if info["state"] in states:
            return info
        if time.monotonic() > end:
            raise AssertionError(f"task {task} is still {info['state']} after {limit} s: {info}")
        time.sleep(0.3)


def test_waiting_mode_prints_each_output_and_exits_1_when_an_item_failed(
    tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    home = tmp_path / "home"
    files = _photos(make_jpeg, tmp_path / "in", 2)
    broken = tmp_path / "in" / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff" + b"junk" * 40)
    out = tmp_path / "out"
    proc = run_cli(
        home, "process", "jpeg", *map(str, files), str(broken), "--out", str(out), "--set", "jpeg.quality=70"
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{out / 'p000_jpeg.jpg'}  ") and lines[0].endswith(f"<- {files[0]}")
    assert f"error: {broken}: broken.jpg cannot be decoded: " in proc.stderr
    assert "1 of 3 items failed" in proc.stderr

    again = run_cli(home, "process", "jpeg", *map(str, files), "--out", str(out), "--json", "--msg-id", "m7")
    assert again.returncode == 0, again.stderr
    cb = json.loads(again.stdout)
    assert cb["msg_id"] == "m7" and cb["success"] is True
    assert [Path(f["path"]).name for f in cb["output_files"]] == ["p000_jpeg (2).jpg", "p001_jpeg (2).jpg"]
    assert not any(f["cache_hit"] for f in cb["output_files"])  # quality 85 this time: not the same request
    listed = json.loads(run_cli(home, "tasks", "list", "--json", check=True).stdout)
    assert [(t["id"], t["state"]) for t in listed] == [(2, "done"), (1, "failed")]


def test_async_queues_a_task_a_detached_worker_runs_and_a_repeat_comes_from_the_cache(
    tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    home = tmp_path / "home"
    _save_recipe(home, [{"op": "resize", "params": {"long_edge": 48}}, {"op": "jpeg"}])
    files = _photos(make_jpeg, tmp_path / "in", 6)
    proc = run_cli(
        home, "process", "small", *map(str, files), "--out", str(tmp_path / "a"), "--async", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    response = json.loads(proc.stdout)
    assert response["success"] is True and response["error_code"] is None
    info = _wait_for(home, response["task"])
    assert info["state"] == "done" and info["done"] == 6 and info["cache_hits"] == 0
    assert info["worker"] is None and info["started_at"] and info["finished_at"] and info["megapixels"] > 0
    assert [Path(o["path"]).name for i in info["items"] for o in i["outputs"]] == [
        f"p{i:03}_small.jpg" for i in range(6)
    ]

    repeat = run_cli(home, "process", "small", *map(str, files), "--out", str(tmp_path / "b"), "--json")
    cb = json.loads(repeat.stdout)
    assert all(f["cache_hit"] for f in cb["output_files"])
    shown = _show(home, cb["task"])
    assert shown["cache_hits"] == 6 and all(i["cache_hit"] for i in shown["items"])
    text = run_cli(home, "tasks", "show", str(cb["task"]), check=True).stdout
    assert "6 cached" in text and "cached  " in text


def test_a_killed_worker_s_task_resumes_without_redoing_finished_items(
    tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    home = tmp_path / "home"
    # big enough that the worker is still busy when it is killed, and no DCT shortcut when shrinking
    _save_recipe(
        home, [{"op": "resize", "params": {"long_edge": 1500}}, {"op": "jpeg", "params": {"quality": 95}}]
    )
    files = _photos(make_jpeg, tmp_path / "in", 40, size=(1600, 1200))
    proc = run_cli(
        home,
        "process",
        "small",
        *map(str, files),
        "--out",
        str(tmp_path / "out"),
        "--json",
        "--async",
        "--priority",
        "-1",
    )
    task = json.loads(proc.stdout)["task"]
    # the detached worker may already be running it: take it over by killing whichever worker holds it
    db = home / "catalog.sqlite3"

    def row() -> tuple[str, int, str | None]:
        with sqlite3.connect(db) as con:
            state, done, worker = con.execute(
                "SELECT state, done, worker FROM task WHERE id=?", (task,)
            ).fetchone()
        return state, done, worker

    end = time.monotonic() + 60
    while True:
        state, done, worker = row()
        if state == "running" and done >= 3 and worker:
            break
        assert state not in ("done", "failed") and time.monotonic() < end, (state, done)
        time.sleep(0.01)
    os.kill(int(worker.split("@")[0]), signal.SIGKILL)
    time.sleep(0.2)
    with sqlite3.connect(db) as con:
        before = dict(
            con.execute("SELECT seq, outputs FROM task_item WHERE task_id=? AND state='done'", (task,))
        )
        lineage_before = con.execute("SELECT count(*) FROM lineage WHERE task=?", (task,)).fetchone()[0]
    assert 3 <= len(before) < 40 and lineage_before == len(before)
    leftovers = [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
    assert all(n.endswith(".shoebox-partial") for n in leftovers)

    run_cli(home, "tasks", "work", "--until-empty", check=True)
    info = _show(home, task)
    assert info["state"] == "done" and info["done"] == 40 and info["failed"] == 0
    for item in info["items"]:
        if item["seq"] in before:
            assert json.dumps(item["outputs"]) == before[item["seq"]]  # kept, not redone
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM lineage WHERE task=?", (task,)).fetchone()[0] == 40
        per_source = con.execute(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM lineage WHERE task=? GROUP BY source_path)",
            (task,),
        ).fetchone()[0]
    assert per_source == 1


def test_request_files_bad_and_good_with_a_callback_file(tmp_path: Path, make_jpeg: MakeJpeg) -> None:
    home = tmp_path / "home"
    files = _photos(make_jpeg, tmp_path / "in", 2)
    bad = tmp_path / "bad.json"
    bad.write_text('{"cmd": "jpeg", "input_files": [')
    proc = run_cli(home, "process", "--request", str(bad))
    assert proc.returncode == 1 and "shoebox: The request is not valid JSON" in proc.stderr
    bad.write_text(
        json.dumps({"cmd": "jpeg", "input_files": [str(files[0])], "output_dir": "o", "urgent": True})
    )
    proc = run_cli(home, "process", "--request", str(bad))
    assert proc.returncode == 1 and "The request has an unknown field 'urgent'" in proc.stderr
    bad.write_text(json.dumps({"msg_id": "m7", "cmd": "jpeg", "input_files": "x", "output_dir": "o"}))
    proc = run_cli(home, "process", "--request", str(bad), "--json")  # every refusal is a response
    assert proc.returncode == 1 and json.loads(proc.stdout) == {
        "msg_id": "m7",
        "success": False,
        "error_code": "bad_request",
        "error_msg": "The request's 'input_files' must be a list of file paths.",
    }
    callback = tmp_path / "callback.json"
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps(
            {
                "msg_id": "req-1",
                "priority": 3,
                "cmd": "jpeg",
                "params": {"jpeg.quality": 60},
                "input_files": [str(f) for f in files],
                "output_dir": str(tmp_path / "out"),
                "notify": {"file": str(callback)},
            }
        )
    )
    proc = run_cli(home, "process", "--request", str(good), "--json")
    assert proc.returncode == 0, proc.stderr
    body = json.loads(callback.read_text())
    assert body["msg_id"] == "req-1" and body["success"] is True
    assert [f["mime"] for f in body["output_files"]] == ["image/jpeg", "image/jpeg"]
    assert body["output_files"][0]["size"] == (tmp_path / "out" / "p000_jpeg.jpg").stat().st_size
    shown = _show(home, body["task"])
    assert shown["notified"] is True and shown["priority"] == 3


def test_on_done_runs_the_command_with_each_placeholder_as_one_argument(
    tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    home = tmp_path / "home"
    files = _photos(make_jpeg, tmp_path / "in", 1)
    script = tmp_path / "hook.py"
    script.write_text("import json, sys\nopen(sys.argv[1], 'w').write(json.dumps(sys.argv[2:]))\n")
    seen = tmp_path / "seen.json"
    out = tmp_path / "my exports"
    cmd = f"{sys.executable} {script} {seen} {{msg_id}} {{out}} 'done: {{msg_id}}'"
    run_cli(
        home,
        "process",
        "jpeg",
        str(files[0]),
        "--out",
        str(out),
        "--on-done",
        cmd,
        "--msg-id",
        "x 1",
        check=True,
    )
    assert json.loads(seen.read_text()) == ["x 1", str(out), "done: x 1"]


def test_album_inputs_and_task_control_sentences(tmp_path: Path, make_jpeg: MakeJpeg) -> None:
    home = tmp_path / "home"
    files = _photos(make_jpeg, tmp_path / "lib", 3)
    run_cli(home, "add", "--no-watch", str(tmp_path / "lib"), check=True)
    run_cli(home, "album", "add", "Trip", str(files[0]), str(files[2]), check=True)
    proc = run_cli(home, "process", "jpeg", "--album", "Trip", "--out", str(tmp_path / "out"), check=True)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p000_jpeg.jpg", "p002_jpeg.jpg"]
    assert proc.stdout.count("<- ") == 2
    missing = run_cli(home, "process", "jpeg", "--album", "Nope", "--out", str(tmp_path / "out"))
    assert missing.returncode == 1 and "There is no album 'Nope'" in missing.stderr
    assert "There is no task 99" in run_cli(home, "tasks", "pause", "99").stderr
    done = run_cli(home, "tasks", "cancel", "1")
    assert done.returncode == 1 and "Task 1 is done, so it cannot be cancelled." in done.stderr


def test_tasks_work_is_hidden_and_config_sets_the_cache_size(tmp_path: Path) -> None:
    home = tmp_path / "home"
    helptext = run_cli(home, "tasks", "--help", check=True).stdout
    assert "show" in helptext and "work" not in helptext
    run_cli(home, "config", "set", "processing.cache_mb", "512", check=True)
    assert run_cli(home, "config", "get", "processing.cache_mb", check=True).stdout.strip() == "512"
    bad = run_cli(home, "config", "set", "processing.cache_mb", "-3")
    assert bad.returncode == 1 and "processing.cache_mb is a whole number from 0" in bad.stderr


def test_recipes_can_be_listed_shown_saved_as_a_new_version_and_deleted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    listed = json.loads(run_cli(home, "recipes", "--json", check=True).stdout)
    slugs = [r["slug"] for r in listed]
    assert {"original", "web-2048", "email-1280", "print-tiff", "square-1080", "video-frames"} <= set(slugs)

    web = json.loads(run_cli(home, "recipes", "show", "Web 2048 px", "--json", check=True).stdout)
    web["steps"][-1]["params"]["quality"] = 70
    src = tmp_path / "blog.json"
    src.write_text(json.dumps(web))
    first = json.loads(
        run_cli(home, "recipes", "save", "Blog 70", "--from", str(src), "--json", check=True).stdout
    )
    again = json.loads(
        run_cli(home, "recipes", "save", "Blog 70", "--from", str(src), "--json", check=True).stdout
    )
    assert (first["slug"], first["version"], again["version"]) == ("blog-70", 1, 2)
    assert again["steps"][-1]["params"]["quality"] == 70

    web["steps"][-1]["params"]["quality"] = 101
    src.write_text(json.dumps(web))
    bad = run_cli(home, "recipes", "save", "Blog 101", "--from", str(src))
    assert bad.returncode == 1 and "'quality' is 101" in bad.stderr

    refused = run_cli(home, "recipes", "delete", "web-2048")
    assert refused.returncode == 1 and "presets cannot be deleted" in refused.stderr
    run_cli(home, "recipes", "delete", "Blog 70", check=True)
    assert "blog-70" not in [r["slug"] for r in json.loads(run_cli(home, "recipes", "--json").stdout)]
    ops = json.loads(run_cli(home, "recipes", "ops", "--json", check=True).stdout)
    assert {"resize", "jpeg", "watermark_text", "video_frames"} <= {o["op"] for o in ops}


def test_a_task_whose_worker_was_killed_is_queued_again_and_resumed_by_tasks_list(
    tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    """After a kill -9 nothing beats the task's heartbeat: looking at the tasks must not show it 'running'
    for good, and it must not take another export to get it going."""
    home = tmp_path / "home"
    _save_recipe(home, [{"op": "resize", "params": {"long_edge": 64}}, {"op": "jpeg"}])
    files = _photos(make_jpeg, tmp_path / "in", 3)
    out = tmp_path / "out"
    from desktop.core.library import Library
    from desktop.core.processing import gateway
    from desktop.core.runtime.paths import resolve_paths

    with Library(resolve_paths(home)) as lib:
        request = {"cmd": "small", "input_files": [str(f) for f in files], "output_dir": str(out)}
        task = gateway.submit(lib, gateway.parse_request(request)).task
    with sqlite3.connect(home / "catalog.sqlite3") as con:  # as a killed worker leaves it
        con.execute("UPDATE task SET state='running', worker='999999@gone', heartbeat=1 WHERE id=?", (task,))

    listed = run_cli(home, "tasks", "list", check=True)
    assert f"The worker of task {task} had stopped" in listed.stderr
    end = time.monotonic() + 60
    while _show(home, task)["state"] != "done":
        assert time.monotonic() < end, _show(home, task)["state"]
        time.sleep(0.2)
    assert len(list(out.glob("*.jpg"))) == 3
    resumed = run_cli(home, "tasks", "resume", str(task))
    assert resumed.returncode == 1 and "is done, so it cannot be resumed" in resumed.stderr


def test_options_may_come_before_the_photos(tmp_path: Path, make_jpeg: MakeJpeg) -> None:
    home = tmp_path / "home"
    files = _photos(make_jpeg, tmp_path / "in", 2)
    out = tmp_path / "out"
    run_cli(home, "process", "email-1280", "--out", str(out), "--json", *map(str, files), check=True)
    assert sorted(p.name for p in out.iterdir()) == ["p000_email-1280.jpg", "p001_email-1280.jpg"]
    bad = run_cli(home, "process", "email-1280", "--out", str(out), str(files[0]), "--colour", "red")
    assert bad.returncode == 2 and "unrecognized arguments:" in bad.stderr and "--colour red" in bad.stderr


def test_an_output_folder_that_is_a_file_is_refused_before_anything_runs(
    tmp_path: Path, make_jpeg: MakeJpeg
) -> None:
    home = tmp_path / "home"
    files = _photos(make_jpeg, tmp_path / "in", 1)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    for where in (a_file, a_file / "sub"):
        proc = run_cli(home, "process", "web-2048", str(files[0]), "--out", str(where), "--async", "--json")
        response = json.loads(proc.stdout)
        assert proc.returncode == 1 and response["error_code"] == "output_not_folder"
        assert response["error_msg"] == f"{a_file} is a file, not a folder: choose a folder for the outputs."
    assert "No tasks." in run_cli(home, "tasks", "list").stderr
