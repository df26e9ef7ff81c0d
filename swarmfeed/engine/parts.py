"""The engine's parts, built once and wired together: who gets which part, who hears what.

Each part owns one concept and receives the parts it calls through its constructor; the ones
that react to libtorrent register their handlers with the one ``AlertLoop``. A removed torrent
reaches every part that keeps something per torrent through the ``forget`` hooks of
``Torrents``. This is the one place that knows the whole graph; ``Engine`` (engine.py) is the
front over it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from swarmfeed.engine.alerts import AlertLoop
from swarmfeed.engine.completion import Completion
from swarmfeed.engine.dht import DhtUpkeep
from swarmfeed.engine.flushes import DiskFlushes
from swarmfeed.engine.metadata import MetadataGate
from swarmfeed.engine.peers import PeerBook
from swarmfeed.engine.rendezvous import Rendezvous
from swarmfeed.engine.restore import Restorer
from swarmfeed.engine.resume import ResumeFiles, ResumeSaver
from swarmfeed.engine.seeding import SeedingAdapter
from swarmfeed.engine.serving import ServingAdapter
from swarmfeed.engine.stats import SessionStats
from swarmfeed.engine.status import StatusCache
from swarmfeed.engine.streaming import Streaming
from swarmfeed.engine.table import EngineState, Torrent
from swarmfeed.engine.torrents import Torrents


@dataclass(frozen=True)
class EngineParts:
    """Every part of one engine, wired to the others and to the alert loop."""

    alerts: AlertLoop
    stats: SessionStats
    statuses: StatusCache
    flushes: DiskFlushes
    peers: PeerBook
    files_queue: ResumeFiles
    saver: ResumeSaver
    completion: Completion
    gate: MetadataGate
    streaming: Streaming
    seeding: SeedingAdapter
    restorer: Restorer
    torrents: Torrents
    dht: DhtUpkeep
    serving: ServingAdapter
    rendezvous: Rendezvous

    def fail_waiters(self, error: BaseException) -> None:
        """Fail every wait still open (finished, metadata, ranges, flushes, DHT, rendezvous)."""
        for waiters in (
            self.completion.waiters,
            self.gate.waiters,
            self.streaming.pieces,
            self.flushes.waiters,
            self.dht.nodes_waiters,
            self.rendezvous.replies,
        ):
            waiters.fail_all(error)


def build_parts(
    state: EngineState, resume_dir: Path, restored: Callable[[Torrent], None]
) -> EngineParts:
    """Build the parts over ``state``; ``restored`` takes each torrent back from resume data."""
    alerts = AlertLoop(state.log)
    stats = SessionStats(state.config.stats_interval)
    statuses = StatusCache(state)
    flushes = DiskFlushes(state)
    peers = PeerBook(state)
    files_queue = ResumeFiles(resume_dir, state)
    saver = ResumeSaver(state, statuses, files_queue)
    completion = Completion(state, statuses, flushes, peers, saver.save)
    # Torrents and ServingAdapter come later; the lambdas find them when they are called.
    gate = MetadataGate(state, peers, lambda t, e: torrents.drop(t, e), completion.notice)
    streaming = Streaming(state, flushes, completion, gate.wait_metadata)
    seeding = SeedingAdapter(state, statuses)
    restorer = Restorer(state, resume_dir, restored)
    torrents = Torrents(state, statuses, gate, peers, seeding, saver, restorer)
    torrents.forgetters += [
        gate.forget,
        completion.forget,
        flushes.forget,
        streaming.forget,
        lambda key, _error: serving.forget(key),
    ]
    dht = DhtUpkeep(state, stats)
    serving = ServingAdapter(state, statuses)
    rendezvous = Rendezvous(state)
    for part in (
        stats,
        statuses,
        flushes,
        saver,
        completion,
        gate,
        streaming,
        restorer,
        torrents,
        rendezvous,
    ):
        part.attach(alerts)
    return EngineParts(
        alerts=alerts,
        stats=stats,
        statuses=statuses,
        flushes=flushes,
        peers=peers,
        files_queue=files_queue,
        saver=saver,
        completion=completion,
        gate=gate,
        streaming=streaming,
        seeding=seeding,
        restorer=restorer,
        torrents=torrents,
        dht=dht,
        serving=serving,
        rendezvous=rendezvous,
    )
