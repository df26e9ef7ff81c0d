"""Supervised long-lived asyncio tasks: a crash is logged, shown, and restarted with back-off."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

TaskFactory = Callable[[], Awaitable[None]]
FailureHook = Callable[[str, BaseException], None]

FIRST_BACKOFF = 1.0
"""Seconds before a crashed task is started again the first time."""
MAX_BACKOFF = 60.0
"""Longest pause between restarts (the pause doubles after each crash)."""
HEALTHY_AFTER = 60.0
"""A task that ran this long before crashing starts again after FIRST_BACKOFF."""


@dataclass(frozen=True)
class TaskHealth:
    """How one supervised task is doing, for /api/status and logs."""

    name: str
    state: str
    """``running``, ``restarting`` (waiting out its back-off) or ``stopped``."""
    crashes: int
    last_error: str | None
    last_crash: float | None
    """Wall-clock time (POSIX seconds) of the last crash."""


@dataclass
class _Entry:
    factory: TaskFactory
    restart: bool
    on_failure: FailureHook | None
    task: asyncio.Task[None] | None = None
    state: str = "running"
    crashes: int = 0
    last_error: str | None = None
    last_crash: float | None = None


class Supervisor:
    """Runs named tasks; an exception is logged with its traceback, recorded and restarted."""

    def __init__(
        self,
        logger: logging.Logger | None = None,
        *,
        first_backoff: float = FIRST_BACKOFF,
        max_backoff: float = MAX_BACKOFF,
    ) -> None:
        self.log = logger or logging.getLogger("swarmfeed.tasks")
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self._entries: dict[str, _Entry] = {}
        self._closed = False

    def spawn(
        self,
        name: str,
        factory: TaskFactory,
        *,
        restart: bool = True,
        on_failure: FailureHook | None = None,
    ) -> None:
        """Run ``factory()`` as task ``name`` (replacing a finished one of that name).

        With ``restart`` a crash starts it again after a back-off; a normal return ends it.
        ``on_failure(name, exc)`` is called after each crash is logged.
        """
        if self._closed:
            return
        current = self._entries.get(name)
        if current is not None and current.task is not None and not current.task.done():
            return
        entry = _Entry(factory, restart, on_failure)
        self._entries[name] = entry
        entry.task = asyncio.create_task(self._run(name, entry), name=name)

    def running(self, name: str) -> bool:
        """Return True while task ``name`` runs or waits to be restarted."""
        entry = self._entries.get(name)
        return entry is not None and entry.task is not None and not entry.task.done()

    async def cancel(self, name: str) -> None:
        """Stop task ``name`` and wait until it has ended."""
        entry = self._entries.pop(name, None)
        if entry is None or entry.task is None:
            return
        entry.task.cancel()
        await asyncio.gather(entry.task, return_exceptions=True)

    async def close(self) -> None:
        """Stop every task and wait until all have ended."""
        self._closed = True
        tasks = [e.task for e in self._entries.values() if e.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._entries.clear()

    def health(self) -> list[TaskHealth]:
        """Return the state of every task, crashed ones first."""
        items = [
            TaskHealth(name, e.state, e.crashes, e.last_error, e.last_crash)
            for name, e in self._entries.items()
        ]
        return sorted(items, key=lambda h: (-h.crashes, h.name))

    async def _run(self, name: str, entry: _Entry) -> None:
        loop = asyncio.get_running_loop()
        backoff = self.first_backoff
        while True:
            entry.state = "running"
            started = loop.time()
            try:
                await entry.factory()
            except asyncio.CancelledError:
                entry.state = "stopped"
                raise
            except Exception as exc:
                entry.crashes += 1
                entry.last_error = f"{type(exc).__name__}: {exc}"
                entry.last_crash = time.time()
                self.log.exception("task %s crashed (%d so far)", name, entry.crashes)
                if entry.on_failure is not None:
                    try:
                        entry.on_failure(name, exc)
                    except Exception:  # the hook must not take the supervisor down
                        self.log.exception("failure hook of task %s failed", name)
                if not entry.restart:
                    entry.state = "stopped"
                    return
                if loop.time() - started >= HEALTHY_AFTER:
                    backoff = self.first_backoff
                entry.state = "restarting"
                self.log.info("restarting task %s in %.0f s", name, backoff)
                await asyncio.sleep(backoff)  # restart back-off, not a wait for an event
                backoff = min(backoff * 2, self.max_backoff)
            else:
                entry.state = "stopped"
                return
