"""JobControl's progress: no estimate of the time left until the rate means something, then a smooth one."""

from __future__ import annotations

from desktop.core.runtime.jobs import JobControl, Progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _control(clock: Clock) -> tuple[JobControl, list[Progress]]:
    seen: list[Progress] = []
    return JobControl("scan", seen.append, min_interval=0, clock=clock), seen


def test_a_slow_first_second_gives_no_estimate() -> None:
    """The issue's 2 s job: 1 of 700 after a second (workers starting) said "11m41s left"."""
    clock = Clock()
    control, seen = _control(clock)
    control.report(0, 700)
    clock.now += 1.0
    control.report(1, 700)
    assert seen[-1].eta_s is None
    for done in range(50, 701, 50):  # then the whole job in well under a second more
        clock.now += 0.05
        control.report(done, 700)
    assert all(p.eta_s is None for p in seen)


def test_a_steady_job_gets_an_estimate_after_two_seconds_and_a_few_percent() -> None:
    clock = Clock()
    control, seen = _control(clock)
    for step in range(0, 41):  # 10 units a second for 4 s, of 1,000
        control.report(step * 10 // 4, 1000)
        clock.now += 0.25
    with_eta = [p for p in seen if p.eta_s is not None]
    assert with_eta, "a steady 10/s job should have an estimate after 4 s"
    first = with_eta[0]
    assert first.done >= 30  # 3% of the work
    assert abs(seen[-1].eta_s - (1000 - seen[-1].done) / 10) < 5  # type: ignore[operator]


def test_the_estimate_does_not_jump_with_one_fast_batch() -> None:
    """A batch committed at once (200 units in a tick) moves the estimate a little, not to a third."""
    clock = Clock()
    control, seen = _control(clock)
    done = 0
    for _ in range(40):  # 10 s at 20/s
        done += 5
        clock.now += 0.25
        control.report(done, 5000)
    before = seen[-1].eta_s
    assert before is not None
    clock.now += 0.25
    done += 200
    control.report(done, 5000)
    after = seen[-1].eta_s
    assert after is not None
    raw = (5000 - done) / seen[-1].rate
    assert after > raw * 1.5  # smoothed: far from what the burst alone says
    assert after < before  # yet it does go down


def test_a_resumed_run_estimates_from_its_own_work_only() -> None:
    clock = Clock()
    control, seen = _control(clock)
    control.resume_from(10)  # 10 of 40 were done before a quit
    clock.now += 1.0
    control.report(10, 40, force=True)
    assert seen[-1].rate == 0.0 and seen[-1].eta_s is None  # nothing done by this run yet
    for _ in range(30):  # then one unit a second
        clock.now += 1.0
        control.report(seen[-1].done + 1, 40)
        if seen[-1].done == 25:
            break
    assert 0.8 < seen[-1].rate < 1.2
    assert seen[-1].eta_s is not None and 12 < seen[-1].eta_s < 18  # 15 left at one a second
