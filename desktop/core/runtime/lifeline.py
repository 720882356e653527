"""Child processes die with their parent, however the parent ends (a crash, ``kill -9``).

Without this a scan worker whose app was killed waits for work forever: a
process pool's workers read tasks from a queue whose writing end they hold
themselves, so they never see it close. ``die_with_parent()``, called first
thing in a child, arranges two things:

- a watcher thread that ends the child when the parent is gone: for a
  ``multiprocessing`` child it waits on the pipe from the parent that the
  operating system closes when the parent dies (POSIX and Windows alike);
  for any child it also polls ``os.getppid()``, which changes when the
  parent dies and the child is re-parented (POSIX).
- with ``kernel_signal=True``, on Linux, ``PR_SET_PDEATHSIG``: the kernel
  sends SIGKILL the moment the parent dies, even while the child holds the
  GIL in a long C call. The kernel means the parent *thread* that started
  the child, so this is only for children started by a thread that outlives
  them (a scan's pool, started and shut down by the scanning thread) -- not
  for the model process, which a short-lived thread starts.

Windows: a child started by ``subprocess`` is not covered there (that needs
a job object, which Shoebox does not make); ``multiprocessing`` children are.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time

log = logging.getLogger(__name__)

POLL_S = 0.5
PR_SET_PDEATHSIG = 1
EXIT_CODE = 1  # what a child that outlived its parent exits with


def die_with_parent(parent_pid: int | None = None, *, kernel_signal: bool = False) -> None:
    """End this process as soon as its parent ``parent_pid`` (default: the one that started it) is gone."""
    parent = multiprocessing.parent_process()
    if parent_pid is None:
        parent_pid = parent.pid if parent is not None and parent.pid is not None else os.getppid()
    if kernel_signal:
        _set_parent_death_signal()
    if _gone(parent_pid):  # it died before we got here: the signal above will never come
        os._exit(EXIT_CODE)
    sentinel = parent.sentinel if parent is not None else None
    threading.Thread(target=_watch, args=(parent_pid, sentinel), name="parent-watch", daemon=True).start()


def _gone(parent_pid: int) -> bool:
    if sys.platform == "win32":
        return False  # there the parent id stays the same after the parent died
    return os.getppid() != parent_pid


def _watch(parent_pid: int, sentinel: int | None) -> None:
    while not _gone(parent_pid):
        if sentinel is None:
            time.sleep(POLL_S)
            continue
        try:
            if multiprocessing.connection.wait([sentinel], timeout=POLL_S):
                break  # the pipe from the parent closed: it is gone
        except (OSError, ValueError):  # an unusable sentinel: polling the parent id alone will do
            sentinel = None
    # no clean-up, no atexit handlers: there is nobody left to hand results to
    os._exit(EXIT_CODE)


def _set_parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            log.debug("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    except (OSError, AttributeError):  # no libc prctl (musl without it, a sandbox): the thread still watches
        log.debug("no prctl here; the parent watcher thread alone ends this process")


__all__ = ["die_with_parent"]
