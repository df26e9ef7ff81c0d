"""Send pacing per destination: at most one packet per interval to each IP address, in order.

libtorrent drops everything from an IP that sends it too many packets (see transport.py), so
queries to one address are spaced ``interval`` apart. Each address has its own line: queries
to other addresses never wait behind it. A query waits for a slot only while it is alive: one
cancelled before its turn (a lookup that ended, a put replaced by a newer one) leaves the line
without having reserved anything, and the next query takes the slot.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

MAX_IDLE_LANES = 4096
"""Lanes kept before idle ones (nobody waiting, slot free) are dropped."""


@dataclass
class _Lane:
    """One destination address: when it may next receive a packet, and who waits for that."""

    next_free: float = 0.0
    waiting: deque[asyncio.Future[None]] = field(default_factory=deque)
    timer: asyncio.TimerHandle | None = None


class Pacer:
    """Hands out send slots per destination host, first come first served."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lanes: dict[str, _Lane] = {}

    async def wait(self, host: str) -> None:
        """Return when a packet may be sent to ``host`` now (the caller sends it at once)."""
        loop = asyncio.get_running_loop()
        lane = self._lane(host, loop.time())
        now = loop.time()
        if not lane.waiting and now >= lane.next_free:
            lane.next_free = now + self.interval
            return
        future: asyncio.Future[None] = loop.create_future()
        lane.waiting.append(future)
        self._arm(host, lane)
        await future

    def estimate(self, host: str) -> float:
        """Return the loop time at which a packet to ``host`` queued now would leave."""
        now = asyncio.get_running_loop().time()
        lane = self._lanes.get(host)
        if lane is None:
            return now
        alive = sum(1 for future in lane.waiting if not future.done())
        return max(now, lane.next_free) + alive * self.interval

    def close(self) -> None:
        """Cancel every wait and timer."""
        for lane in self._lanes.values():
            if lane.timer is not None:
                lane.timer.cancel()
            for future in lane.waiting:
                future.cancel()
        self._lanes.clear()

    def _lane(self, host: str, now: float) -> _Lane:
        lane = self._lanes.get(host)
        if lane is not None:
            return lane
        if len(self._lanes) >= MAX_IDLE_LANES:
            self._lanes = {
                h: ln for h, ln in self._lanes.items() if ln.waiting or ln.next_free > now
            }
        lane = self._lanes[host] = _Lane()
        return lane

    def _arm(self, host: str, lane: _Lane) -> None:
        """Wake the first live waiter of ``lane`` when its next slot is free."""
        if lane.timer is not None:
            return
        loop = asyncio.get_running_loop()
        lane.timer = loop.call_at(lane.next_free, self._release, host, lane)

    def _release(self, host: str, lane: _Lane) -> None:
        lane.timer = None
        while lane.waiting:
            future = lane.waiting.popleft()
            if not future.done():  # a cancelled waiter costs no slot
                future.set_result(None)
                lane.next_free = asyncio.get_running_loop().time() + self.interval
                break
        if lane.waiting:
            self._arm(host, lane)
