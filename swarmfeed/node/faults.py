"""Fault injection for crash-consistency tests: die at a named step, as ``kill -9`` would.

Every change to disk that takes several steps names its steps (``publish:post-written``, ...).
A node started with the ``fault_point`` setting (``SWARMFEED_FAULT_POINT``) kills its own
process with SIGKILL when it reaches that step: no cleanup, no flush, no saved resume data.
The tests restart the node and check that nothing acknowledged was lost.
"""

from __future__ import annotations

import logging
import os
import signal

log = logging.getLogger("swarmfeed.faults")

PUBLISH_STEPS = (
    "publish:media-bundled",
    "publish:post-written",
    "publish:page-seeded",
    "publish:index-updated",
    "publish:seq-reserved",
    "publish:head-signed",
    "publish:old-page-dropped",
)
"""The steps of a publication, in order (node/publisher.py)."""

FOLLOW_STEPS = ("follow:listed", "unfollow:listed", "unfollow:torrents-removed")
"""The steps of following and unfollowing (node/follower.py)."""

SYNC_STEPS = ("sync:page-stored", "sync:head-stored")
"""The steps of taking in a followed author's new pages (node/follower.py)."""

EVICT_STEPS = ("evict:marked", "evict:removed")
"""The steps of evicting a bundle to stay within a storage budget (node/storage.py)."""

ALL_STEPS = PUBLISH_STEPS + FOLLOW_STEPS + SYNC_STEPS + EVICT_STEPS


class Faults:
    """Kills the process at the configured step (nothing happens when none is configured)."""

    def __init__(self, crash_at: str | None = None) -> None:
        if crash_at is not None and crash_at not in ALL_STEPS:
            raise ValueError(f"unknown fault point {crash_at!r} (one of {', '.join(ALL_STEPS)})")
        self.crash_at = crash_at

    def reached(self, step: str) -> None:
        """Mark that ``step`` is done; die here if it is the configured fault point."""
        if step == self.crash_at:
            log.critical("fault injection: killing the process after %s", step)
            for handler in logging.getLogger().handlers:
                handler.flush()
            os.kill(os.getpid(), signal.SIGKILL)
