"""The one place a node's parts are built and wired together (dependencies by constructor)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from swarmfeed.core import bencoding
from swarmfeed.core.bep44 import MutableItem
from swarmfeed.core.feed import Profile
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.push.children import ChildLimits
from swarmfeed.core.sync import WalkLimits
from swarmfeed.dht.client import DhtClient
from swarmfeed.engine.engine import Engine
from swarmfeed.engine.types import EngineConfig
from swarmfeed.node.authorpeers import AuthorPeers
from swarmfeed.node.config import Settings
from swarmfeed.node.counters import Counters
from swarmfeed.node.events import EventBus
from swarmfeed.node.export import TorrentExporter
from swarmfeed.node.faults import Faults
from swarmfeed.node.feedsync import FeedSync
from swarmfeed.node.follower import Follower, FollowTimings
from swarmfeed.node.followlist import FollowList
from swarmfeed.node.inbox import NoticeInbox
from swarmfeed.node.layout import HomeLayout
from swarmfeed.node.mediaqueue import MediaQueue
from swarmfeed.node.notices import NoticeOutbox
from swarmfeed.node.pagereader import PageReader
from swarmfeed.node.publisher import Publisher
from swarmfeed.node.reachability import Reachability
from swarmfeed.node.rebuild import IndexRebuilder
from swarmfeed.node.reconcile import Reconciler
from swarmfeed.node.signatures import SignatureCache
from swarmfeed.node.social import SocialEffects
from swarmfeed.node.socialactions import SocialActions
from swarmfeed.node.socialservice import Social
from swarmfeed.node.storage import StorageKeeper
from swarmfeed.node.torrents import TorrentShelf
from swarmfeed.node.watch import OriginWatch
from swarmfeed.push.rendezvous import DhtRendezvous
from swarmfeed.push.service import PushService
from swarmfeed.push.types import PushConfig
from swarmfeed.store.database import Database
from swarmfeed.supervisor import Supervisor

Endpoint = tuple[str, int]


@dataclass
class Parts:
    """Every long-lived part of a node."""

    supervisor: Supervisor
    signatures: SignatureCache
    faults: Faults
    db: Database
    events: EventBus
    engine: Engine
    dht: DhtClient
    shelf: TorrentShelf
    publisher: Publisher
    reach: Reachability
    exporter: TorrentExporter
    media: MediaQueue
    feeds: FeedSync
    follower: Follower
    reconciler: Reconciler
    rebuilder: IndexRebuilder
    push: PushService
    counters: Counters
    storage: StorageKeeper
    peers: AuthorPeers
    social: Social
    inbox: NoticeInbox
    outbox: NoticeOutbox
    watch: OriginWatch


def assemble(
    settings: Settings, keys: KeyPair, clock: Callable[[], float], *, fresh: bool
) -> Parts:
    """Build every part of the node of ``keys`` from ``settings``.

    ``fresh`` marks an identity made just now: nothing was ever published under it.
    """
    author = keys.public_key.hex()
    layout = HomeLayout(settings.home)
    supervisor = Supervisor()
    faults = Faults(settings.fault_point)
    db = Database(layout.database)
    events = EventBus()
    engine = Engine(
        EngineConfig(
            listen_interface=settings.listen,
            bootstrap_nodes=settings.bootstrap_nodes,
            public_dht=settings.public_dht,
            local_only=not settings.public_dht,
            upload_rate_limit=settings.upload_rate_limit,
            download_rate_limit=settings.download_rate_limit,
            rate_limit_local_peers=settings.rate_limit_local_peers,
            seed_policy=settings.effective_seed_policy,
            serve_scarce_first=settings.serve_scarce_first,
            # Old posts' peers come from their author's rendezvous (node/authorpeers.py).
            dht_fresh_only=True,
        ),
        layout.engine_state,
    )
    listen_host = settings.listen_endpoint[0]
    dht = DhtClient(
        "0.0.0.0" if listen_host in ("", "0.0.0.0", "::") else listen_host,  # noqa: S104
        lambda: [*engine.dht_nodes(), *settings.bootstrap_nodes],
    )
    shelf = TorrentShelf(layout, engine)

    peers = AuthorPeers(engine, supervisor, db.torrents.recent, clock)
    counters = Counters()
    storage = StorageKeeper(author, db, engine, shelf, settings.fetch_budget, clock, faults)
    media = MediaQueue(
        db,
        engine,
        layout,
        settings.fetch_budget,
        clock,
        supervisor,
        peers.peers,
        storage,
        counters,
    )
    feeds = FeedSync(
        layout,
        db,
        engine,
        shelf,
        events,
        media,
        clock,
        peers.peers,
        limits=WalkLimits(max_posts=settings.max_posts_per_author),
        faults=faults,
    )

    async def fetch_own_log(item: MutableItem) -> None:
        while not await feeds.accept_head(author, item):
            pass  # each run stores a bounded number of pages; continue until whole

    profile = (
        Profile(settings.profile_name, settings.profile_bio)
        if settings.profile_name or settings.profile_bio
        else None
    )
    publisher = Publisher(
        keys,
        layout,
        db,
        shelf,
        dht,
        events,
        clock,
        supervisor,
        profile=profile,
        max_upload_bytes=settings.max_upload_bytes,
        faults=faults,
        fetch_own_log=fetch_own_log,
    )
    if fresh:
        publisher.log_files.mark_fresh()
    reach = Reachability(settings, engine, dht, clock)
    publisher.on_head_put(reach.put_done)
    follower = Follower(
        layout,
        db,
        shelf,
        dht,
        events,
        clock,
        FollowTimings(
            poll_interval=settings.poll_interval,
            poll_jitter=settings.poll_jitter,
            republish_interval=settings.republish_interval,
        ),
        supervisor,
        media,
        FollowList(layout.follow_list),
        feeds,
        faults=faults,
        counters=counters,
    )

    def stored_head(of: str) -> MutableItem | None:
        if of == author:
            return publisher.own_head()
        head = db.feeds.head(of)
        if head is None:
            return None
        return MutableItem.from_bencodable(bencoding.decode(head.item, max_size=4096))

    push_host, push_port = settings.push_endpoint
    push = PushService(
        keys.public_key,
        PushConfig(
            host=push_host,
            port=push_port,
            fallback=settings.push_port is None,
            children=ChildLimits(per_author=settings.push_max_children),
        ),
        DhtRendezvous(dht),
        offer_head=follower.offer_head,
        stored_head=stored_head,
    )
    feeds.on_head_accepted(push.on_head_stored)
    effects = SocialEffects(keys, db, shelf, media, clock)
    feeds.on_posts_stored(effects.posts_stored)
    publisher.on_posts_indexed(lambda posts: effects.posts_stored(author, posts))
    outbox = NoticeOutbox(keys, db, push.rpc, push.rendezvous, clock)
    pages = PageReader(engine, shelf, layout, peers.peers)
    inbox = NoticeInbox(keys, db, effects, pages, dht, clock, policy=settings.notices_from)
    watch = OriginWatch(db, effects, pages, dht, settings.poll_interval)

    def take_notice(data: bytes, host: str) -> bytes | tuple[int, str]:
        verdict = inbox.take(data, host)
        return verdict if isinstance(verdict, bytes) else (verdict.code, verdict.reason)

    push.notice_handler = take_notice
    social = Social(
        db, SocialActions(keys, layout, db, clock), effects, publisher, outbox, follower.unfollow
    )
    publisher.on_head_signed(push.on_own_head)
    return Parts(
        supervisor=supervisor,
        signatures=SignatureCache(),
        faults=faults,
        db=db,
        events=events,
        engine=engine,
        dht=dht,
        shelf=shelf,
        publisher=publisher,
        reach=reach,
        exporter=TorrentExporter(engine),
        media=media,
        feeds=feeds,
        follower=follower,
        reconciler=Reconciler(author, layout, db, engine, shelf, publisher.pages, media, clock),
        rebuilder=IndexRebuilder(author, layout, db, shelf, media, clock, publisher.index_media),
        push=push,
        counters=counters,
        storage=storage,
        peers=peers,
        social=social,
        inbox=inbox,
        outbox=outbox,
        watch=watch,
    )
