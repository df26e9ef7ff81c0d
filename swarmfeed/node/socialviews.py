"""What the node shows of threads, notifications, profiles and blocks (JSON and pages alike)."""

from __future__ import annotations

from urllib.parse import quote

from pydantic import BaseModel

from swarmfeed.core.identity import author_address
from swarmfeed.node.node import Node
from swarmfeed.node.socialactions import Thread
from swarmfeed.node.views import PostView, post_view
from swarmfeed.store.blocks import BlockRow
from swarmfeed.store.notifications import NotificationRow


class ThreadView(BaseModel):
    """A post with the ancestors (root first) and the replies (breadth first) held here."""

    post: PostView
    ancestors: list[PostView]
    replies: list[PostView]


class NotificationView(BaseModel):
    """Another author replied to, reposted, mentioned or liked one of our posts."""

    id: int
    kind: str
    sender: str
    sender_address: str
    sender_name: str | None
    post_id: str
    """Our post it concerns (a mention: the sender's post)."""
    entry_id: str
    """The sender's entry (empty for a like that came as a notice)."""
    created: int
    received: int
    read: bool


class NotificationsView(BaseModel):
    """Notifications, newest first, and how many are unread."""

    notifications: list[NotificationView]
    unread: int


class PayView(BaseModel):
    """Where to send an author money: a kind (``lightning``, ``iban``, ...) and an address."""

    kind: str
    address: str


class ProfileView(BaseModel):
    """An author's newest profile."""

    author: str
    address: str
    name: str
    bio: str
    links: list[str]
    pay: PayView | None
    avatar_url: str | None
    """The avatar image (the profile entry's media)."""
    block: str | None
    """``block`` or ``mute`` when this node blocks or mutes the author."""


class BlockView(BaseModel):
    """A blocked or muted author."""

    author: str
    kind: str
    added: int


def thread_view(node: Node, thread: Thread) -> ThreadView:
    """Describe a thread."""
    return ThreadView(
        post=post_view(node, thread.post),
        ancestors=[post_view(node, p) for p in thread.ancestors],
        replies=[post_view(node, p) for p in thread.replies],
    )


def notification_view(node: Node, row: NotificationRow) -> NotificationView:
    """Describe a notification."""
    profile = node.db.feeds.profile(row.sender)
    return NotificationView(
        id=row.id,
        kind=row.kind,
        sender=row.sender,
        sender_address=author_address(bytes.fromhex(row.sender)),
        sender_name=profile[0] if profile and profile[0] else None,
        post_id=row.post_id,
        entry_id=row.entry_id,
        created=row.created,
        received=row.received,
        read=row.read,
    )


def notifications_view(node: Node, rows: list[NotificationRow]) -> NotificationsView:
    """Describe a page of notifications with the unread count."""
    return NotificationsView(
        notifications=[notification_view(node, row) for row in rows],
        unread=node.db.notifications.unread(),
    )


def profile_view(node: Node, author: str) -> ProfileView:
    """Describe ``author``'s newest profile (empty when none is known)."""
    row = node.db.profiles.get(author)
    avatar_url = None
    if row is not None and row.avatar_post:
        held = node.db.find_post(row.avatar_post)
        media = held.signed.post.media if held else None
        if media is not None and media.files:
            avatar_url = f"/api/media/{media.infohash.hex()}/{quote(media.files[0].path)}"
    pay = None
    if row is not None and row.pay_address:
        pay = PayView(kind=row.pay_kind or "other", address=row.pay_address)
    return ProfileView(
        author=author,
        address=author_address(bytes.fromhex(author)),
        name=row.name if row else "",
        bio=row.bio if row else "",
        links=list(row.links) if row else [],
        pay=pay,
        avatar_url=avatar_url,
        block=node.db.blocks.kind(author),
    )


def block_view(row: BlockRow) -> BlockView:
    """Describe a block."""
    return BlockView(author=row.author, kind=row.kind, added=row.added)
