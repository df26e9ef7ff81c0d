"""Supervised tasks: a crash is logged, recorded, reported and restarted; cancel ends it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from swarmfeed.supervisor import Supervisor

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_crash_is_logged_reported_and_restarted(caplog: pytest.LogCaptureFixture) -> None:
    supervisor = Supervisor(first_backoff=0.01, max_backoff=0.02)
    runs = 0
    second_run = asyncio.Event()
    failures: list[str] = []

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("boom")
        second_run.set()
        await asyncio.Event().wait()

    with caplog.at_level(logging.ERROR):
        supervisor.spawn("flaky", flaky, on_failure=lambda name, exc: failures.append(str(exc)))
        await asyncio.wait_for(second_run.wait(), 5)
    assert failures == ["boom"]
    assert "task flaky crashed" in caplog.text and "RuntimeError: boom" in caplog.text
    (health,) = supervisor.health()
    assert (health.state, health.crashes) == ("running", 1)
    assert health.last_error == "RuntimeError: boom"
    assert supervisor.running("flaky")
    await supervisor.cancel("flaky")
    assert not supervisor.running("flaky")
    await supervisor.close()


async def test_a_task_without_restart_stays_stopped_and_a_normal_return_ends_it() -> None:
    supervisor = Supervisor(first_backoff=0.01)

    async def fails() -> None:
        raise ValueError("once")

    async def finishes() -> None:
        return None

    supervisor.spawn("once", fails, restart=False)
    supervisor.spawn("done", finishes)
    for _ in range(100):
        if not supervisor.running("once") and not supervisor.running("done"):
            break
        await asyncio.sleep(0)  # let both tasks run to their end
    states = {h.name: (h.state, h.crashes) for h in supervisor.health()}
    assert states == {"once": ("stopped", 1), "done": ("stopped", 0)}
    await supervisor.close()


async def test_a_failing_hook_does_not_stop_the_restart() -> None:
    supervisor = Supervisor(first_backoff=0.01)
    restarted = asyncio.Event()
    runs = 0

    async def task() -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise RuntimeError(f"crash {runs}")
        restarted.set()

    def bad_hook(name: str, exc: BaseException) -> None:
        raise KeyError(name)

    supervisor.spawn("t", task, on_failure=bad_hook)
    await asyncio.wait_for(restarted.wait(), 5)
    assert runs == 3
    await supervisor.close()


async def test_spawning_a_running_name_again_keeps_the_running_task() -> None:
    supervisor = Supervisor()
    started = 0
    gate = asyncio.Event()

    async def task() -> None:
        nonlocal started
        started += 1
        await gate.wait()

    supervisor.spawn("x", task)
    supervisor.spawn("x", task)
    await asyncio.sleep(0)  # let the task start
    assert started == 1
    await supervisor.close()
    supervisor.spawn("x", task)  # closed: ignored
    assert not supervisor.running("x")
