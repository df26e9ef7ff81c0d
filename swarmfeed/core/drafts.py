"""What an author asks to publish, before it has a seq, a time and media (pure).

The publisher assigns the seq and ``created`` and bundles the uploads; a draft turns them into
the post of its kind (protocol.md §3.2).
"""

from __future__ import annotations

from dataclasses import dataclass

from swarmfeed.core import kinds
from swarmfeed.core.kinds import PostRef, ProfileInfo
from swarmfeed.core.posts import MediaRef, Post, SignedPost


@dataclass(frozen=True)
class Draft:
    """The fields of a post to publish, by kind."""

    text: str = ""
    kind: str = kinds.POST
    reply_to: PostRef | None = None
    root: PostRef | None = None
    repost: SignedPost | None = None
    sealed: bytes | None = None
    target: bytes | None = None
    profile: ProfileInfo | None = None
    mentions: tuple[bytes, ...] = ()

    def post(self, author: bytes, seq: int, created: int, media: MediaRef | None) -> Post:
        """Return the post this draft becomes at ``seq``."""
        return Post(
            author,
            seq,
            created,
            self.text,
            media,
            kind=self.kind,
            reply_to=self.reply_to,
            root=self.root,
            repost=self.repost,
            sealed=self.sealed,
            target=self.target,
            profile=self.profile,
            mentions=self.mentions,
        )
