"""JSON shapes of the API and the conversions from swarmfeed's own types."""

from __future__ import annotations

from urllib.parse import quote

from pydantic import BaseModel

from swarmfeed.core.identity import author_address
from swarmfeed.core.magnet import torrent_magnet
from swarmfeed.core.posts import verify_post
from swarmfeed.errors import InvalidInput
from swarmfeed.node.node import Node, NodeStatus
from swarmfeed.store.database import Cursor, FollowRow, StoredPost


class ErrorOut(BaseModel):
    """Every error response: a human-readable message."""

    detail: str


class MediaFileOut(BaseModel):
    """One file of a media bundle."""

    path: str
    size: int
    mime: str
    url: str


class MediaOut(BaseModel):
    """A post's media bundle and how far this node has it."""

    infohash: str
    infohash_v2: str
    name: str
    magnet: str
    total_size: int
    files: list[MediaFileOut]
    state: str
    progress: float
    seeding: bool
    peers: int
    seeds: int
    upload_rate: int
    download_rate: int
    total_upload: int
    distributed_copies: float


class PostOut(BaseModel):
    """A post as the API shows it."""

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
    media: MediaOut | None


class TimelineOut(BaseModel):
    """A page of posts, newest first, with the cursor for the next page."""

    posts: list[PostOut]
    next_before: str | None


class FollowIn(BaseModel):
    """The author to follow: a BEP 46 magnet link or 64 hex digits."""

    author: str


class FollowOut(BaseModel):
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


class StatusOut(BaseModel):
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


class UploadOut(BaseModel):
    """Progress of a post being created."""

    phase: str
    done: int
    total: int
    post_id: str | None
    error: str | None


def status_out(status: NodeStatus) -> StatusOut:
    """Convert a node status snapshot."""
    session = status.session
    return StatusOut(
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
    )


def post_out(node: Node, stored: StoredPost) -> PostOut:
    """Convert a stored post, re-verifying its signature and adding media progress."""
    signed = stored.signed
    post = signed.post
    try:
        verify_post(signed, post.author)
        verified, verification = True, "signature valid for the author key"
    except InvalidInput as exc:
        verified, verification = False, f"signature invalid: {exc}"
    profile = node.db.feeds.profile(post.author.hex())
    return PostOut(
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
        media=media_out(node, stored),
    )


def media_out(node: Node, stored: StoredPost) -> MediaOut | None:
    """Describe a post's media bundle with this node's progress on it."""
    media = stored.signed.post.media
    if media is None:
        return None
    infohash = media.infohash.hex()
    status = node.torrent_status(infohash)
    return MediaOut(
        infohash=infohash,
        infohash_v2=media.infohash_v2.hex(),
        name=media.name,
        magnet=torrent_magnet(media.infohash, media.infohash_v2, media.name),
        total_size=media.total_size,
        files=[
            MediaFileOut(
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
    )


def follow_out(node: Node, row: FollowRow) -> FollowOut:
    """Convert a follow row."""
    profile = node.db.feeds.profile(row.author)
    return FollowOut(
        author=row.author,
        address=author_address(bytes.fromhex(row.author)),
        name=profile[0] if profile and profile[0] else None,
        state=row.state,
        last_error=row.last_error,
        last_checked=row.last_checked,
        last_synced=row.last_synced,
        last_seen_seq=row.head_seq,
        posts=row.post_count,
    )


def timeline_out(node: Node, posts: list[StoredPost], limit: int) -> TimelineOut:
    """Convert a page of posts and compute the cursor of the next page."""
    cursor = None
    if len(posts) == limit and posts:
        cursor = ":".join(str(part) for part in posts[-1].cursor)
    return TimelineOut(posts=[post_out(node, p) for p in posts], next_before=cursor)


def parse_cursor(before: str | None) -> Cursor | None:
    """Parse a ``time:created:seq:id`` cursor (or a bare Unix time) from ``?before=``."""
    if not before:
        return None
    parts = before.split(":")
    numbers = parts[:3]
    if len(parts) not in (1, 4) or not all(
        p.isascii() and p.isdigit() and len(p) <= 19 for p in numbers
    ):
        raise InvalidInput("before must be a cursor from next_before or a Unix time")
    if len(parts) == 1:
        return int(parts[0]), -1, -1, ""
    return int(parts[0]), int(parts[1]), int(parts[2]), parts[3]
