"""gateway/runtime/scheduler.py: Periodic runs its job on its own thread, at once, on trigger()
and every interval, with the clock's `now`; a failing job is logged (a database failure in few
lines) and the loop goes on; shutdown() stops the thread and may be called again."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator

import pytest

from gateway.errors import StorageUnavailable
from gateway.runtime.scheduler import Periodic
from testkit.clock import FakeClock
from tests.builders import T0

S = 1_000_000_000
HOUR = 3600.0  # an interval no test waits for: only trigger() wakes the loop
WAIT_S = 10.0  # how long a test waits for a run before failing
SCHEDULER_LOG = "logsieve.scheduler"
NAME = "scheduler-under-test"  # a name no gateway job has, so its thread is this test's
THREAD = f"logsieve-{NAME}"


class Job:
    """A job that hands each run's `now` to the test, then does what `outcomes` says."""

    def __init__(self, *outcomes: Callable[[], None]) -> None:
        self.runs: queue.Queue[int] = queue.Queue()
        self._outcomes = list(outcomes)

    def __call__(self, now: int) -> None:
        self.runs.put(now)
        if self._outcomes:
            self._outcomes.pop(0)()

    def next_run(self) -> int:
        return self.runs.get(timeout=WAIT_S)


def succeed() -> None:
    return None


def fail_on_storage() -> None:
    raise StorageUnavailable("database is locked")


def fail_with_a_bug() -> None:
    raise ZeroDivisionError("a bug")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def started() -> Iterator[list[Periodic]]:
    """Periodics a test starts, shut down whatever happens to it."""
    periodics: list[Periodic] = []
    yield periodics
    for periodic in periodics:
        periodic.shutdown(timeout=WAIT_S)


def start(started: list[Periodic], job: Job, clock: FakeClock, interval: float = HOUR) -> Periodic:
    periodic = Periodic(NAME, interval, job, clock)
    started.append(periodic)
    periodic.start()
    return periodic


def scheduler_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == SCHEDULER_LOG]


def thread_alive(name: str) -> bool:
    return any(thread.name == name for thread in threading.enumerate())


def test_it_runs_at_start_and_on_each_trigger_with_the_clocks_now(
    started: list[Periodic], clock: FakeClock
) -> None:
    job = Job()
    periodic = start(started, job, clock)
    assert job.next_run() == T0  # at once, not an interval later
    clock.advance(5)
    periodic.trigger()
    assert job.next_run() == T0 + 5 * S
    clock.advance(0.25)
    periodic.trigger()
    assert job.next_run() == T0 + 5 * S + S // 4
    periodic.shutdown()
    assert job.runs.empty()  # one run per trigger, none of its own within the hour


def test_it_runs_again_every_interval_without_a_trigger(
    started: list[Periodic], clock: FakeClock
) -> None:
    job = Job()
    start(started, job, clock, interval=0.01)
    assert [job.next_run() for _ in range(3)] == [T0] * 3


def test_a_database_failure_is_said_once_then_counted_and_the_loop_goes_on(
    started: list[Periodic], clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    job = Job(fail_on_storage, fail_on_storage, fail_on_storage, succeed)
    periodic = start(started, job, clock)
    job.next_run()
    for seconds in (1, 60):  # the second failure is within the minute, the third past it
        clock.advance(seconds)
        periodic.trigger()
        job.next_run()
    periodic.trigger()
    job.next_run()  # the fourth run works
    periodic.shutdown()  # joins the thread: every line of those runs is written
    lines = scheduler_lines(caplog)
    assert [r.getMessage() for r in lines] == [
        f"{NAME} failed: database is locked (next: one line a minute while it fails)",
        f"{NAME} failed 2 times in the last minute (3 since it last worked): database is locked",
        f"{NAME} works again after 3 failures",
    ]
    assert all(r.exc_info is None for r in lines)  # no traceback for a database failure


def test_any_other_exception_is_logged_with_its_traceback_and_the_loop_goes_on(
    started: list[Periodic], clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    job = Job(fail_with_a_bug, fail_with_a_bug)
    periodic = start(started, job, clock)
    job.next_run()
    periodic.trigger()
    job.next_run()
    periodic.trigger()
    assert job.next_run() == T0  # a third run: the bug did not end the loop
    periodic.shutdown()
    lines = scheduler_lines(caplog)
    assert [r.getMessage() for r in lines] == [f"{NAME} failed; retrying in 3600.0 s"] * 2
    assert all(r.exc_info is not None and r.exc_info[0] is ZeroDivisionError for r in lines)


def test_run_once_runs_the_job_on_the_callers_thread(clock: FakeClock) -> None:
    seen: list[tuple[int, str]] = []
    periodic = Periodic(NAME, HOUR, lambda now: seen.append((now, "ran")), clock)
    periodic.run_once()
    clock.advance(1)
    periodic.run_once()
    assert seen == [(T0, "ran"), (T0 + S, "ran")]
    assert not thread_alive(THREAD)  # never started


def test_shutdown_stops_the_thread_and_is_idempotent(
    started: list[Periodic], clock: FakeClock
) -> None:
    job = Job()
    periodic = start(started, job, clock)
    job.next_run()
    assert thread_alive(THREAD)
    periodic.shutdown()
    assert not thread_alive(THREAD)
    periodic.shutdown()  # again: nothing left to stop, no error
    periodic.trigger()  # after shutdown: no thread to run it
    assert job.runs.empty()


def test_shutdown_of_a_periodic_never_started_returns_at_once(clock: FakeClock) -> None:
    periodic = Periodic(NAME, HOUR, Job(), clock)
    periodic.shutdown()
    periodic.shutdown()
    assert not thread_alive(THREAD)


def test_shutdown_waits_for_the_run_in_progress(started: list[Periodic], clock: FakeClock) -> None:
    release = threading.Event()
    order: list[str] = []

    def finish_when_released() -> None:
        assert release.wait(WAIT_S)
        order.append("run ended")

    job = Job(finish_when_released)
    periodic = start(started, job, clock)
    job.next_run()  # the run is in progress, held

    def stop() -> None:
        periodic.shutdown()
        order.append("stopped")

    stopper = threading.Thread(target=stop)
    stopper.start()
    release.set()
    stopper.join(WAIT_S)
    assert order == ["run ended", "stopped"]
    assert not thread_alive(THREAD)
    assert job.runs.empty()  # and no run after it


def test_a_job_that_shuts_its_periodic_down_ends_the_loop_after_its_run(
    started: list[Periodic], clock: FakeClock
) -> None:
    job = Job(succeed, lambda: periodic.shutdown())  # on its own thread: no join of itself
    periodic = start(started, job, clock)
    job.next_run()
    periodic.trigger()
    job.next_run()
    periodic.trigger()  # the loop is ending: this one is not taken
    periodic.shutdown(timeout=WAIT_S)
    assert not thread_alive(THREAD)
    assert job.runs.empty()
