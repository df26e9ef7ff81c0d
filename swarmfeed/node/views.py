"""What the node shows: the facts both the JSON API and the web pages present, and cursors.

The API returns these models as JSON and the pages render the same objects, so a browser and
an API client always see the same facts. Field names are part of the HTTP contract
(protocol.md §10) and of the page templates.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from pydantic import BaseModel

from swarmfeed.core.identity import author_address
from swarmfeed.core.magnet import format_peer_address, torrent_magnet
from swarmfeed.errors import InvalidInput
from swarmfeed.node.node import Node, NodeStatus
from swarmfeed.store.database import Cursor, FollowRow, StoredPost

# SQLite integers are signed 64-bit; a cursor outside that range can name no stored post.
_INT64 = 2**63
_CURSOR = re.compile(r"([0-9]{1,19})(?::([0-9]{1,19}):([0-9]{1,19}):([0-9a-f]{0,64}))?", re.ASCII)
MAX_CURSOR_CHARS = 120


class MediaFileView(BaseModel):
    """One file of a media bundle."""

    path: str
    size: int
    mime: str
    url: str


class MediaView(BaseModel):
    """A post's media bundle and how far this node has it."""

    infohash: str
    infohash_v2: str
    name: str
    magnet: str
    total_size: int
    files: list[MediaFileView]
    state: str
    progress: float
    seeding: bool
    peers: int
    seeds: int
    upload_rate: int
    download_rate: int
    total_upload: int
    distributed_copies: float
    torrent_url: str
    """Where the .torrent file is exported (GET)."""
    fetch: str
    """Where this node's fetch of it stands: ``queued``, ``fetching``, ``complete``, ``skipped``
    (not fetched on its own: over the size cap or a budget), ``evicted`` (removed to stay within
    a storage budget; both are fetched when opened), ``refused`` or ``unknown``."""
    fetch_reason: str | None = None
    """Why it was skipped or refused."""
    fetch_url: str
    """Where to ``POST`` to fetch it now."""


class PostView(BaseModel):
    """A post, its verification result and its media."""

    id: str
    author: str
    address: str
    author_name: str | None
    seq: int
    created: int
    received: int
    kind: str
    text: str
    verified: bool
    verification: str
    media: MediaView | None
    reply_to: str | None = None
    """The id of the post this one replies to."""
    reply_author: str | None = None
    repost_of: PostView | None = None
    """The original a repost (or quote) shows, verified under its own author."""
    likes: int | None = None
    """How many liked it: our own posts only (likes are sealed to the author)."""
    liked_by: list[str] | None = None
    """Who liked it (our own posts only)."""
    liked: bool = False
    """Whether our author liked it."""
    deleted: bool = False
    """Its author deleted it (shown only where it is asked for by id)."""
    unsupported: str | None = None
    """Why this node shows it without acting on it (a kind or version it does not know)."""
    replies: int = 0
    """Replies this node holds."""


class TimelineView(BaseModel):
    """A page of posts, newest first, with the cursor for the next page."""

    posts: list[PostView]
    next_before: str | None


class FollowView(BaseModel):
    """A followed author and how its sync stands."""

    author: str
    address: str
    name: str | None
    state: str
    last_error: str | None
    last_checked: int | None
    last_synced: int | None
    last_seen_seq: int | None
    posts: int
    live: bool = False
    """New heads are pushed to this node (protocol.md §11); otherwise they are polled."""
    path_length: int | None = None
    """Hops between the author's node and this one on the push tree (1: pushed directly)."""
    kind: str = "follow"
    """``follow`` (media within the budgets) or ``mirror`` (the whole history, never evicted)."""


class TaskView(BaseModel):
    """A supervised background task that crashed."""

    name: str
    state: str
    crashes: int
    last_error: str | None
    last_crash: float | None


class ReachabilityView(BaseModel):
    """Whether other nodes can find and reach this one (core/reachability), and what to do."""

    state: str
    """``starting``, ``online``, ``limited`` or ``offline``."""
    summary: str
    advice: list[str]
    dht_nodes: int
    head_seq: int | None
    """Seq of our head at its latest put into the DHT (None: nothing put since start)."""
    head_stored_on: int | None
    """DHT nodes that stored it."""
    head_put_at: float | None
    """When that put ended (POSIX seconds)."""
    incoming_connections: int
    """Peer connections accepted since start."""
    addresses: list[str]
    """Addresses handed out as ``x.pe`` peer hints with this node's magnet links."""


class StatusView(BaseModel):
    """What the node is doing."""

    author: str
    address: str
    dht_nodes: int
    torrents: int
    seeding: int
    peers: int
    upload_rate: int
    download_rate: int
    bytes_up: int
    bytes_down: int
    follows: int
    posts: int
    listen_port: int
    publishing: str = "ready"
    """``ready``, or why publishing waits or is refused (e.g. a lost seq record being checked
    against the DHT)."""
    tasks: list[TaskView] = []
    """Background tasks that crashed at least once: restarted, or stopped."""
    reachability: ReachabilityView | None = None
    push_endpoint: str | None = None
    """The push channel's UDP endpoint ``host:port``."""
    push_own_messages: int = 0
    """Push messages sent for heads this node's author signed."""
    restoring: bool = False
    """Torrents are still coming back from resume data (``restored`` of ``to_restore``)."""
    restored: int = 0
    to_restore: int = 0
    dht_packets_out: int = 0
    """DHT packets the BitTorrent session sent since the node started."""
    unread_notifications: int = 0
    """Notifications not seen yet (the web UI's badge)."""


def reachability_view(status: NodeStatus) -> ReachabilityView | None:
    """Describe the node's reachability verdict and the facts behind it."""
    verdict = status.reachability
    if verdict is None:
        return None
    put = status.head_put
    return ReachabilityView(
        state=verdict.level.value,
        summary=verdict.summary,
        advice=list(verdict.advice),
        dht_nodes=status.session.dht_nodes,
        head_seq=put.seq if put else None,
        head_stored_on=put.stored if put else None,
        head_put_at=put.at if put else None,
        incoming_connections=status.session.incoming_connections,
        addresses=[format_peer_address(host, port) for host, port in verdict.addresses],
    )


def status_view(status: NodeStatus) -> StatusView:
    """Describe a node status snapshot."""
    session = status.session
    return StatusView(
        author=status.author,
        address=status.address,
        dht_nodes=session.dht_nodes,
        torrents=status.torrents,
        seeding=status.seeding,
        peers=session.num_peers,
        upload_rate=session.upload_rate,
        download_rate=session.download_rate,
        bytes_up=session.total_upload,
        bytes_down=session.total_download,
        follows=status.follows,
        posts=status.posts,
        listen_port=session.listen_port,
        publishing=status.publishing,
        tasks=[
            TaskView(
                name=t.name,
                state=t.state,
                crashes=t.crashes,
                last_error=t.last_error,
                last_crash=t.last_crash,
            )
            for t in status.tasks
        ],
        reachability=reachability_view(status),
        push_endpoint="{}:{}".format(*status.push_endpoint) if status.push_endpoint else None,
        push_own_messages=status.push_own_messages,
        restoring=session.restoring,
        restored=session.restored,
        to_restore=session.to_restore,
        dht_packets_out=session.dht_packets_out,
        unread_notifications=status.unread_notifications,
    )


class AuthorStorageView(BaseModel):
    """One author's media on this node against its budget."""

    author: str
    kind: str
    """``own``, ``mirror`` or ``follow``."""
    name: str | None
    held_bytes: int
    pending_bytes: int
    bundles: int
    evicted: int
    skipped: int
    budget_bytes: int | None
    """None: never evicted (own and mirrored media)."""


class StorageView(BaseModel):
    """Media held against the storage budgets (pages are always kept and not counted)."""

    used_bytes: int
    """Media held or on its way, of every author."""
    budget_bytes: int
    """The total budget; 0: none."""
    author_budget_bytes: int
    """The default per-author budget of followed authors."""
    evicted: int
    authors: list[AuthorStorageView]


def storage_view(node: Node) -> StorageView:
    """Describe what media the node holds against its budgets."""
    report = node.storage.report()
    authors = []
    for usage in report.authors:
        profile = node.db.feeds.profile(usage.author)
        authors.append(
            AuthorStorageView(
                author=usage.author,
                kind=usage.kind,
                name=profile[0] if profile and profile[0] else None,
                held_bytes=usage.held_bytes,
                pending_bytes=usage.pending_bytes,
                bundles=usage.bundles,
                evicted=usage.evicted,
                skipped=usage.skipped,
                budget_bytes=usage.budget,
            )
        )
    return StorageView(
        used_bytes=report.used_bytes,
        budget_bytes=report.budget_bytes,
        author_budget_bytes=node.storage.budget.author_bytes,
        evicted=report.evicted,
        authors=authors,
    )


class HealthView(BaseModel):
    """Whether the node is healthy (``swarmfeed health``, container probes), and why not."""

    ok: bool
    reasons: list[str]
    uptime: float


def health_view(node: Node) -> HealthView:
    """Judge the node's health now."""
    health = node.health()
    return HealthView(ok=health.ok, reasons=list(health.reasons), uptime=node.uptime())


def post_view(node: Node, stored: StoredPost, depth: int = 0) -> PostView:
    """Describe a stored post, re-verifying its signature and adding media progress."""
    signed = stored.signed
    post = signed.post
    problem = node.signatures.check(signed)
    verified = problem is None
    verification = (
        "signature valid for the author key" if verified else f"signature invalid: {problem}"
    )
    profile = node.db.feeds.profile(post.author.hex())
    author = post.author.hex()
    own = author == node.author
    likes = node.db.likes.of(signed.id) if own else []
    original = post.original
    repost_of = None
    if original is not None and depth < 2:
        held = node.db.find_post(original.id) or StoredPost(original, stored.received)
        if not node.db.blocks.blocked(original.post.author.hex()):
            repost_of = post_view(node, held, depth + 1)
    return PostView(
        id=signed.id,
        author=post.author.hex(),
        address=author_address(post.author),
        author_name=profile[0] if profile and profile[0] else None,
        seq=post.seq,
        created=post.created,
        received=stored.received,
        kind=post.kind,
        text=post.text,
        verified=verified,
        verification=verification,
        media=media_view(node, stored),
        reply_to=post.reply_to.hex_id if post.reply_to else None,
        reply_author=post.reply_to.author.hex() if post.reply_to else None,
        repost_of=repost_of,
        likes=len(likes) if own else None,
        liked_by=[like.liker for like in likes] if own else None,
        liked=node.db.likes.own(signed.id) is not None,
        deleted=node.db.tombstones.deleted(signed.id, author),
        unsupported=post.unsupported,
        replies=node.db.count_replies(signed.id),
    )


def media_view(node: Node, stored: StoredPost) -> MediaView | None:
    """Describe a post's media bundle with this node's progress on it."""
    media = stored.signed.post.media
    if media is None:
        return None
    infohash = media.infohash.hex()
    status = node.torrent_status(infohash)
    row = node.db.media.get(infohash)
    return MediaView(
        infohash=infohash,
        infohash_v2=media.infohash_v2.hex(),
        name=media.name,
        magnet=torrent_magnet(
            media.infohash, media.infohash_v2, media.name, node.peer_addresses() if status else ()
        ),
        total_size=media.total_size,
        files=[
            MediaFileView(
                path=f.path,
                size=f.size,
                mime=f.mime,
                url=f"/api/media/{infohash}/{quote(f.path)}",
            )
            for f in media.files
        ],
        state=status.state if status else "not held",
        progress=status.progress if status else 0.0,
        seeding=status.is_seeding if status else False,
        peers=status.num_peers if status else 0,
        seeds=status.num_seeds if status else 0,
        upload_rate=status.upload_rate if status else 0,
        download_rate=status.download_rate if status else 0,
        total_upload=status.all_time_upload if status else 0,
        distributed_copies=status.distributed_copies if status else 0.0,
        torrent_url=f"/api/torrents/{infohash}.torrent",
        fetch=row.state.value if row else "unknown",
        fetch_reason=row.reason if row else None,
        fetch_url=f"/api/media/{infohash}/fetch",
    )


def follow_view(node: Node, row: FollowRow) -> FollowView:
    """Describe a followed author."""
    profile = node.db.feeds.profile(row.author)
    push = node.push_status(row.author)
    return FollowView(
        author=row.author,
        address=author_address(bytes.fromhex(row.author)),
        name=profile[0] if profile and profile[0] else None,
        state=row.state,
        last_error=row.last_error,
        last_checked=row.last_checked,
        last_synced=row.last_synced,
        last_seen_seq=row.head_seq,
        posts=row.post_count,
        live=push.live,
        path_length=push.path_length,
        kind=row.kind,
    )


def find_follow(node: Node, author: str) -> FollowView | None:
    """Describe the follow of ``author`` (hex key), or None when it is not followed."""
    row = node.db.follows.row(author)
    return follow_view(node, row) if row is not None else None


def timeline_view(node: Node, posts: list[StoredPost], limit: int) -> TimelineView:
    """Describe a page of posts and compute the cursor of the next page."""
    cursor = None
    if len(posts) == limit and posts:
        cursor = ":".join(str(part) for part in posts[-1].cursor)
    return TimelineView(posts=[post_view(node, p) for p in posts], next_before=cursor)


def parse_cursor(before: str | None) -> Cursor | None:
    """Parse a ``time:created:seq:id`` cursor (or a bare Unix time) from ``?before=``.

    Only ASCII digits count (``int`` would also take "²" or "٣"), and every number must fit
    the index's signed 64-bit integers, so a hostile cursor is a 400, never a crash.
    """
    if not before:
        return None
    match = _CURSOR.fullmatch(before) if len(before) <= MAX_CURSOR_CHARS else None
    if match is None:
        raise InvalidInput("before must be a cursor from next_before or a Unix time")
    time_text, created_text, seq_text, post_id = match.groups()
    numbers = [int(time_text)]
    if created_text is not None:
        numbers += [int(created_text), int(seq_text)]
    if any(number >= _INT64 for number in numbers):
        raise InvalidInput("before is out of range")
    if created_text is None:
        return numbers[0], -1, -1, ""
    return numbers[0], numbers[1], numbers[2], post_id or ""
