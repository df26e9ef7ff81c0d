"""The seeding-policy adapter: facts from libtorrent in, core/policy.py's decisions applied.

The policy only ever concerns fresh torrents (a fresh post's swarm): each round looks at the
fresh torrents' cached statuses (status.py), and once at the torrents that just stopped being
fresh, to put them back to plain seeding. Rounds cost nothing for the torrents held beyond.
"""

from __future__ import annotations

import time
from dataclasses import replace

import libtorrent as lt

from swarmfeed.core.policy import (
    FRESH_SECONDS,
    NO_LIMIT,
    SeedPolicy,
    SessionTuning,
    TorrentFacts,
    is_fresh_media,
    is_fresh_own_media,
    least_held,
    session_tuning,
    torrent_tuning,
)
from swarmfeed.engine.settings import tuning_settings
from swarmfeed.engine.status import StatusCache
from swarmfeed.engine.table import EngineState, Torrent


class SeedingAdapter:
    """Gathers each fresh torrent's facts, applies the torrent and session tuning decided."""

    def __init__(self, state: EngineState, statuses: StatusCache) -> None:
        self.state = state
        self.statuses = statuses
        self.tuning: SessionTuning = session_tuning(state.config.seed_policy)
        """The session tuning in force."""
        self._stepping_back_soon = False

    def interval(self) -> float:
        """Return the pause before the next round.

        Quicker while our fresh post is being fetched and we have not stepped back yet, when a
        second's delay costs a second of our upload.
        """
        interval = self.state.config.policy_interval
        return interval / 4 if self._stepping_back_soon else interval

    def apply(self, retired: list[Torrent]) -> None:
        """Re-decide the tuning of the fresh torrents, the ``retired`` ones and the session."""
        session = self.state.session
        if session is None:
            return
        now = time.time()
        for torrent in retired:
            self._tune(torrent, now)
        policy = self.state.config.seed_policy
        fresh_swarm = serving_fresh_post = stepping_back_soon = False
        for torrent in self.state.table.fresh():
            facts = self._tune(torrent, now)
            fresh_swarm = fresh_swarm or is_fresh_media(facts)
            if is_fresh_own_media(facts):
                serving_fresh_post = True
                held_back = torrent.tuning.upload_limit != NO_LIMIT
                adaptive = policy is SeedPolicy.ADAPTIVE
                stepping_back_soon = stepping_back_soon or (adaptive and not held_back)
        self._stepping_back_soon = stepping_back_soon
        tuning = session_tuning(
            policy, fresh_swarm=fresh_swarm, serving_fresh_post=serving_fresh_post
        )
        if tuning != self.tuning:
            session.apply_settings(tuning_settings(tuning))
            self.tuning = tuning
            self.state.log.debug("session tuned %s", tuning)

    def tune_added(self, torrent: Torrent) -> None:
        """Tune a torrent just added; a fresh post's media re-tunes the session as well.

        Decided at once: the first followers connect within a second of a post.
        """
        if is_fresh_media(self._tune(torrent, time.time())):
            self.apply([])

    def _facts(self, torrent: Torrent, now: float, *, current: bool = False) -> TorrentFacts:
        status = torrent.status
        if current or status is None:
            status = self.statuses.refresh(torrent)
        fresh = self.state.table.is_fresh(torrent.key)
        return TorrentFacts(
            authored=torrent.authored,
            hybrid=torrent.hybrid,
            age=now - torrent.added_at if fresh else max(FRESH_SECONDS, now - torrent.added_at),
            # Our own torrents are made from complete local files (added in seed mode, so
            # libtorrent may not report them seeding yet when the policy first looks).
            seeding=status.is_seeding or torrent.authored,
            peers=status.num_peers,
            least_held=-1,
            session_upload_limit=self.state.config.upload_rate_limit,
            uploaded_copies=status.total_upload / status.total_wanted if status.total_wanted else 0,
            stepped_back=torrent.tuning.upload_limit != NO_LIMIT,
        )

    def _tune(self, torrent: Torrent, now: float) -> TorrentFacts:
        policy = self.state.config.seed_policy
        facts = self._facts(torrent, now)
        if policy is SeedPolicy.ADAPTIVE and is_fresh_own_media(facts):
            # The step back is decided on this second's counts, not the last state update's.
            facts = self._facts(torrent, now, current=True)
        handle = torrent.handle
        if policy is SeedPolicy.ADAPTIVE and is_fresh_own_media(facts):
            # libtorrent reports no availability for a seed: count the bitfields of the
            # connected downloaders, plus every seed in the peer list (connected or not: two
            # seeds drop their redundant connection, and a follower that finished is one).
            seed = lt.peer_info.seed
            peers = handle.get_peer_info()
            bitfields = [list(peer.pieces) for peer in peers if not peer.flags & seed]
            info = handle.torrent_file()
            pieces = info.num_pieces() if info is not None else 0
            held = least_held(bitfields, pieces) + torrent.seeds_known
            facts = replace(facts, least_held=held, downloaders=len(bitfields))
        tuning = torrent_tuning(policy, facts)
        if torrent.tuning == tuning:
            return facts
        # BEP 16 super seeding: the seed advertises pieces one at a time per peer.
        if tuning.super_seeding:
            handle.set_flags(lt.torrent_flags.super_seeding)
        else:
            handle.unset_flags(lt.torrent_flags.super_seeding)
        handle.set_max_uploads(tuning.max_uploads)
        handle.set_upload_limit(tuning.upload_limit)
        torrent.tuning = tuning
        self.state.log.debug("torrent %s tuned %s (%s)", torrent.key[:16], tuning, facts)
        return facts
