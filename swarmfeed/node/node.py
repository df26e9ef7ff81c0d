"""A running node: its lifecycle and the services the API, the pages and the CLI use.

Its parts are built in one place, node/assembly.py.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from swarmfeed.core.followfile import FollowKind, ListEntry
from swarmfeed.core.health import CRASH_LOOP, Health, HealthFacts, judge_health
from swarmfeed.core.identity import KeyPair, author_address
from swarmfeed.core.posts import SignedPost
from swarmfeed.core.reachability import HeadPut, Verdict
from swarmfeed.engine.types import (
    EngineEvent,
    FileEntry,
    MetadataRefused,
    SessionStatus,
    TorrentFinished,
    TorrentStatus,
)
from swarmfeed.errors import InvalidInput, NotFound
from swarmfeed.node.assembly import assemble
from swarmfeed.node.config import Settings
from swarmfeed.node.events import FollowChanged, MediaComplete
from swarmfeed.node.export import ExportedTorrent
from swarmfeed.node.following import ImportReport, import_follows
from swarmfeed.node.layout import HomeLayout
from swarmfeed.node.listing import DEFAULT_LIMIT, TorrentEntry, TorrentListing, select_torrents
from swarmfeed.node.publisher import Upload
from swarmfeed.node.torrents import Progress
from swarmfeed.push.types import LiveStatus, PushStats
from swarmfeed.store import keystore
from swarmfeed.store.database import (
    Cursor,
    FollowRow,
    StoredPost,
)
from swarmfeed.supervisor import TaskHealth

log = logging.getLogger("swarmfeed.node")


@dataclass(frozen=True)
class NodeStatus:
    """A snapshot of what the node is doing."""

    author: str
    address: str
    session: SessionStatus
    torrents: int
    seeding: int
    follows: int
    posts: int
    publishing: str = "ready"
    """``ready``, or why publishing waits or is refused."""
    tasks: tuple[TaskHealth, ...] = ()
    """Supervised tasks that crashed at least once (running again, or stopped)."""
    reachability: Verdict | None = None
    """Whether other nodes can find and reach this one, with advice when they cannot."""
    head_put: HeadPut | None = None
    """The latest put of our own head into the DHT."""
    push_endpoint: tuple[str, int] | None = None
    """The push channel's UDP endpoint."""
    push_own_messages: int = 0
    """Push messages sent for heads our own author signed (the fan-out at work)."""
    unread_notifications: int = 0
    """Notifications (replies, reposts, mentions, likes) not seen yet."""


class Node:
    """A running swarmfeed node: one engine, one DHT client, one index, two roles."""

    def __init__(
        self,
        settings: Settings,
        keys: KeyPair,
        *,
        clock: Callable[[], float] = time.time,
        fresh: bool = False,
    ) -> None:
        """Build a node; ``fresh`` marks an identity made just now (nothing published yet)."""
        self.settings = settings
        self.keys = keys
        self.author = keys.public_key.hex()
        self.address = author_address(keys.public_key)
        self.clock = clock
        self.layout = HomeLayout(settings.home)
        self.layout.home.mkdir(parents=True, exist_ok=True)
        self.web_token = settings.web_token or (
            secrets.token_urlsafe(24) if settings.needs_token else None
        )
        parts = assemble(settings, keys, clock, fresh=fresh)
        self.supervisor = parts.supervisor
        self.signatures = parts.signatures
        self.faults = parts.faults
        self.db = parts.db
        self.events = parts.events
        self.engine = parts.engine
        self.dht = parts.dht
        self.shelf = parts.shelf
        self.publisher = parts.publisher
        self.reach = parts.reach
        self.exporter = parts.exporter
        self.media = parts.media
        self.feeds = parts.feeds
        self.follower = parts.follower
        self.reconciler = parts.reconciler
        self.rebuilder = parts.rebuilder
        self.push = parts.push
        self.counters = parts.counters
        self.storage = parts.storage
        self.peers = parts.peers
        self.social = parts.social
        self.inbox = parts.inbox
        self.outbox = parts.outbox
        self.watch = parts.watch
        self.started_at = 0.0

    @classmethod
    def from_settings(cls, settings: Settings, passphrase: str | None = None) -> Node:
        """Load (or create) the identity in ``settings.home`` and build the node."""
        keys, created = keystore.load_or_create(HomeLayout(settings.home).key_file, passphrase)
        if created:
            log.info("created a new identity in %s", settings.home)
        return cls(settings, keys, fresh=created)

    # lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the engine and DHT client, reconcile with the logs, then publish and sync."""
        self.started_at = self.clock()
        shutil.rmtree(self.layout.staging, ignore_errors=True)
        self.layout.staging.mkdir(parents=True, exist_ok=True)
        self.engine.subscribe(self._on_engine_event)
        await self.engine.start()
        await self.dht.start()
        self.reach.started()
        if self.db.is_empty():
            self.rebuild_index()
        self.publisher.merge_index()
        self.follower.load_follow_list()
        self.media.offer_missing(self.db.follows.authors())
        await self.reconciler.run()
        await self.publisher.prepare()
        self.social.start()
        self.storage.enforce()
        self.peers.hold(self.author)
        self.media.start()
        self.follower.start()
        await self.push.start()
        self.supervisor.spawn("notice-outbox", self.outbox.run)
        self.supervisor.spawn("notice-inbox", self.inbox.run)
        self.supervisor.spawn("origin-watch", self.watch.run)
        self.supervisor.spawn("push-follows", self._track_follows)
        self.peers.start()
        self.supervisor.spawn("own-head-republish", self._own_head_loop)
        log.info("node %s listening on %s", self.address, self.settings.listen)

    async def stop(self) -> None:
        """Flush and stop everything; safe to call once after start."""
        await self.supervisor.close()
        await self.push.close()
        await self.media.close()
        await self.publisher.close()
        await self.dht.close()
        await self.engine.stop()
        self.db.close()
        log.info("node stopped")

    async def _own_head_loop(self) -> None:
        """Keep our head alive in the DHT (items expire after about two hours, BEP 44)."""
        while True:
            await asyncio.sleep(self.settings.republish_interval)  # periodic timer
            await self.publisher.republish()

    async def _track_follows(self) -> None:
        """Keep the push channel and the rendezvous announces to exactly the followed authors."""
        events = self.events.subscribe()
        try:
            for author in self.db.follows.authors():
                self.push.track(author)
                self.peers.hold(author)
            while (event := await events.get()) is not None:
                if not isinstance(event, FollowChanged):
                    continue
                if event.state == "unfollowed":
                    self.push.untrack(event.author)
                    self.peers.release(event.author)
                elif self.db.follows.contains(event.author):
                    self.push.track(event.author)
                    self.peers.hold(event.author)
        finally:
            self.events.unsubscribe(events)

    def _on_engine_event(self, event: EngineEvent) -> None:
        if isinstance(event, MetadataRefused):
            self.media.refused(event.infohash, event.reason)
        elif isinstance(event, TorrentFinished):
            row = self.db.torrents.get(event.infohash)
            if row is not None and row.kind == "media":
                self.events.publish(MediaComplete(event.infohash))

    # the index is a view of the logs ---------------------------------------------------------

    def rebuild_index(self) -> None:
        """Recreate the database from the signed logs on disk (own log and followed heads)."""
        self.rebuilder.rebuild(self.publisher.own_head())

    # services used by the API and the web UI -------------------------------------------------

    async def create_post(
        self,
        text: str,
        uploads: Sequence[Upload] = (),
        progress: Progress | None = None,
        *,
        reply_to: str | None = None,
        repost_of: str | None = None,
    ) -> SignedPost:
        """Publish a post (a reply to ``reply_to``, a repost of ``repost_of``) by our author."""
        return await self.social.post(
            text, uploads, progress, reply_to=reply_to, repost_of=repost_of
        )

    def post(self, post_id: str) -> StoredPost:
        """Return a stored post (of a followed, our own or a foreign log) or raise NotFound."""
        stored = self.db.find_post(post_id.lower())
        if stored is None:
            raise NotFound(f"no post with id {post_id}")
        return stored

    def timeline(self, limit: int = 50, before: Cursor | None = None) -> list[StoredPost]:
        """Return own and followed posts, newest first."""
        return self.db.posts.timeline([self.author, *self.db.follows.authors()], limit, before)

    def author_posts(
        self, author: str, limit: int = 50, before: Cursor | None = None
    ) -> list[StoredPost]:
        """Return the stored posts of ``author``, newest first (muting hides from timelines)."""
        return self.db.posts.timeline([author], limit, before, hide_muted=False)

    def follow(self, author: bytes, kind: FollowKind = FollowKind.FOLLOW) -> bool:
        """Follow ``author`` as ``kind``; return False if already followed (its kind is set)."""
        hex_key = author.hex()
        if hex_key == self.author:
            raise InvalidInput("a node cannot follow its own author")
        return self.follower.follow(hex_key, kind)

    def import_follows(self, entries: Sequence[ListEntry]) -> ImportReport:
        """Follow or mirror every author of ``entries`` (a follow list taken over)."""
        return import_follows(self.follower, self.db, self.author, entries)

    def follow_entries(self) -> list[ListEntry]:
        """Return the follow list: every followed author with its kind, oldest first."""
        return self.follower.follow_list.entries()

    async def unfollow(self, author: bytes) -> None:
        """Unfollow ``author`` (its torrents, files and posts go) or raise NotFound."""
        if not await self.follower.unfollow(author.hex()):
            raise NotFound(f"not following {author.hex()}")

    def follows(self) -> list[FollowRow]:
        """Return every followed author with its sync state."""
        return self.db.follows.rows()

    def push_status(self, author: str) -> LiveStatus:
        """Return whether new heads of the followed ``author`` are pushed to us, and how."""
        return self.push.status(author)

    def push_stats(self) -> PushStats:
        """Return the push channel's counters."""
        return self.push.stats()

    def torrent_status(self, infohash: str) -> TorrentStatus | None:
        """Return the engine's latest status of a torrent (None if not held), for display."""
        return self.engine.status(infohash, cached=True) if self.engine.has(infohash) else None

    def torrent_listing(
        self, *, limit: int = DEFAULT_LIMIT, offset: int = 0, active: bool = False
    ) -> TorrentListing:
        """Return one page of the torrents in the engine (listing.py), joined for that page."""
        chosen = select_torrents(
            self.engine.list_status(), limit=limit, offset=offset, active=active
        )
        entries = [(self.db.torrents.get(s.infohash), s) for s in chosen.statuses]
        return TorrentListing(chosen.total, entries)

    def torrent_entry(self, infohash: str) -> TorrentEntry:
        """Return one torrent in the engine with what it is to swarmfeed, or raise NotFound."""
        status = self.torrent_status(infohash.lower())
        if status is None:
            raise NotFound(f"this node holds no torrent {infohash.lower()}")
        return self.db.torrents.get(status.infohash), status

    def status(self) -> NodeStatus:
        """Return a snapshot of the node."""
        session = self.engine.session_status()
        return NodeStatus(
            author=self.author,
            address=self.address,
            session=session,
            torrents=session.num_torrents,
            seeding=session.seeding,
            follows=len(self.db.follows.authors()),
            posts=self.db.posts.count(self.author),
            publishing=self.publisher.state,
            tasks=tuple(h for h in self.supervisor.health() if h.crashes),
            reachability=self.reach.verdict(session),
            head_put=self.reach.head_put,
            push_endpoint=self.push.endpoint,
            push_own_messages=self.push.stats().own_pushes,
            unread_notifications=self.db.notifications.unread(),
        )

    def peer_addresses(self) -> tuple[tuple[str, int], ...]:
        """Return where other clients can reach this node (``x.pe`` hints of its magnets)."""
        return self.reach.addresses()

    async def export_torrent(self, infohash: str) -> ExportedTorrent:
        """Return a torrent this node holds as a .torrent file (piece layers included)."""
        return await self.exporter.export(infohash)

    def fetch_media(self, infohash: str) -> None:
        """Fetch a followed post's media now (a person asked), or raise NotFound."""
        if not self.media.request(infohash.lower()):
            raise NotFound(f"no media torrent {infohash}")

    def uptime(self) -> float:
        """Return the seconds since start."""
        return max(0.0, self.clock() - self.started_at) if self.started_at else 0.0

    def health(self) -> Health:
        """Judge whether the node can do its job (core/health)."""
        running = self.engine.running
        return judge_health(
            HealthFacts(
                engine_running=running,
                uptime=self.uptime(),
                dht_nodes=self.engine.counter("dht.dht_nodes") if running else 0,
                failing_tasks=tuple(
                    h.name
                    for h in self.supervisor.health()
                    if h.crashes and (h.state == "stopped" or h.crashes >= CRASH_LOOP)
                ),
            )
        )

    async def media_file(self, infohash: str, path: str, timeout: float = 60.0) -> FileEntry:
        """Return the file ``path`` of media torrent ``infohash`` or raise NotFound.

        Media not fetched yet (over the automatic fetch limits, or just arrived) is fetched now
        and waited for, up to ``timeout`` seconds for its metadata.
        """
        infohash = infohash.lower()
        known = self.media.request(infohash)  # counts the open; queues it when not held
        if not self.engine.has(infohash):
            if not known:
                raise NotFound(f"no media torrent {infohash}")
            try:
                await self.media.wait_started(infohash, timeout)
            except TimeoutError:
                raise NotFound(f"media torrent {infohash} could not be started yet") from None
        try:
            await self.engine.wait_metadata(infohash, timeout)
        except TimeoutError:
            raise NotFound(f"media torrent {infohash} has no metadata yet") from None
        for entry in self.engine.files(infohash):
            if entry.path == path:
                return entry
        raise NotFound(f"media torrent {infohash} has no file {path!r}")

    def media_path_root(self, infohash: str) -> Path:
        """Return the save path of torrent ``infohash``."""
        return self.layout.save_path(infohash)


__all__ = ["Node", "NodeStatus", "Upload"]
