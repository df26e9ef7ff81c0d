"""The social index and the judging of notices: what listings show, likes, profiles, refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from swarmfeed.core import kinds
from swarmfeed.core import notices as n
from swarmfeed.core.drafts import Draft
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.kinds import ProfileInfo
from swarmfeed.core.likes import seal_like
from swarmfeed.core.posts import SignedPost, sign_post
from swarmfeed.core.push import wire
from swarmfeed.node.inbox import FOLLOWED, NoticeInbox, Refusal
from swarmfeed.node.notices import NoticeOutbox
from swarmfeed.node.social import SocialEffects
from swarmfeed.node.watch import OriginWatch
from swarmfeed.push.rendezvous import Found
from swarmfeed.store.blocks import BLOCK, MUTE, BlockRow
from swarmfeed.store.database import Database
from swarmfeed.store.likes import LikeRow
from swarmfeed.store.notifications import MAX_KEPT
from swarmfeed.store.outbox import ACKED, PENDING

NOW = 1_700_000_000


def entry(keys: KeyPair, seq: int, draft: Draft) -> SignedPost:
    return sign_post(draft.post(keys.public_key, seq, NOW + seq, None), keys)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(tmp_path / "index.db")


def shown(db: Database, *authors: KeyPair) -> list[str]:
    return [s.signed.id for s in db.posts.timeline([k.public_key.hex() for k in authors], 50)]


def effects(db: Database, keys: KeyPair) -> SocialEffects:
    class Media:
        def cancel(self, _infohash: str) -> None: ...

        def offer(self, *_args: object) -> None: ...

    class Shelf:
        def discard(self, _infohash: str) -> None: ...

    return SocialEffects(keys, db, cast(Any, Shelf()), cast(Any, Media()), lambda: NOW)


def test_deletes_hide_the_post_and_plain_reposts_of_it_but_not_quotes(db: Database) -> None:
    alice, bob = KeyPair.generate(), KeyPair.generate()
    post = entry(alice, 0, Draft("hello"))
    plain = entry(bob, 0, Draft(kind=kinds.REPOST, repost=post))
    quote = entry(bob, 1, Draft("look", kinds.REPOST, repost=post))
    # The delete is stored first: a follower walks a log newest first.
    delete = entry(alice, 1, Draft(kind=kinds.DELETE, target=post.raw_id))
    db.posts.add([delete], NOW)
    db.posts.add([post, plain, quote], NOW)
    assert set(shown(db, alice, bob)) == {post.id, plain.id, quote.id}  # nothing applied yet
    effects(db, alice).apply_pending()
    assert shown(db, alice, bob) == [quote.id]
    assert db.posts.pending() == []


def test_blocked_authors_are_hidden_also_inside_reposts_and_muted_ones_from_listings(
    db: Database,
) -> None:
    alice, bob = KeyPair.generate(), KeyPair.generate()
    post = entry(alice, 0, Draft("hello"))
    repost = entry(bob, 0, Draft(kind=kinds.REPOST, repost=post))
    own = entry(bob, 1, Draft("mine"))
    db.posts.add([post, repost, own], NOW)
    db.blocks.set(BlockRow(alice.public_key.hex(), BLOCK, NOW))
    assert shown(db, alice, bob) == [own.id]
    db.blocks.set(BlockRow(bob.public_key.hex(), MUTE, NOW))
    assert shown(db, bob) == []


def test_a_like_counts_once_per_liker_and_only_for_our_own_posts(db: Database) -> None:
    alice, bob = KeyPair.generate(), KeyPair.generate()
    post = entry(alice, 0, Draft("hello"))
    db.posts.add([post], NOW)
    social = effects(db, alice)
    liker = bob.public_key.hex()
    assert social.count_like(post.id, liker, NOW, None, "notice", NOW)
    assert not social.count_like(post.id, liker, NOW + 5, None, "notice", NOW)
    # The same like read later from Bob's log remembers its entry (so a delete is an unlike).
    like = entry(
        bob, 0, Draft(kind=kinds.LIKE, sealed=seal_like(bob, alice.public_key, post.raw_id, NOW))
    )
    db.posts.add([like], NOW)
    social.apply_pending()
    (row,) = db.likes.of(post.id)
    assert row == LikeRow(post.id, liker, NOW, like.id, "notice")
    unlike = entry(bob, 1, Draft(kind=kinds.DELETE, target=like.raw_id))
    db.posts.add([unlike], NOW)
    social.apply_pending()
    assert db.likes.of(post.id) == []
    # Bob's node holds Alice's post and Bob's like too, and cannot open it.
    assert not effects(db, bob).count_like(post.id, liker, NOW, None, "notice", NOW)


def test_the_newest_profile_entry_wins(db: Database) -> None:
    alice = KeyPair.generate()
    newer = entry(alice, 5, Draft(kind=kinds.PROFILE, profile=ProfileInfo("New", "bio")))
    older = entry(alice, 2, Draft(kind=kinds.PROFILE, profile=ProfileInfo("Old")))
    db.posts.add([newer, older], NOW)
    effects(db, alice).apply_pending()
    profile = db.profiles.get(alice.public_key.hex())
    assert profile is not None and (profile.name, profile.seq) == ("New", 5)
    # A version 1 page's profile does not win over a newer entry either.
    db.feeds.set_profile(alice.public_key.hex(), "v1 name", "", 3)
    assert db.feeds.profile(alice.public_key.hex()) == ("New", "bio")


def test_notifications_are_kept_once_and_bounded(db: Database) -> None:
    assert db.notifications.add("reply", "b", "p", "e", NOW, NOW)
    assert not db.notifications.add("reply", "b", "p", "e", NOW, NOW)
    assert db.notifications.unread() == 1
    for i in range(MAX_KEPT + 5):
        db.notifications.add("like", f"{i}", "p", "", NOW, NOW)
    assert len(db.notifications.newest(MAX_KEPT + 100)) == MAX_KEPT


def inbox(db: Database, keys: KeyPair, policy: str = "everyone") -> NoticeInbox:
    return NoticeInbox(
        keys, db, effects(db, keys), cast(Any, None), cast(Any, None), lambda: NOW, policy=policy
    )


def test_notices_are_judged_before_anything_is_done(db: Database) -> None:
    alice, bob = KeyPair.generate(), KeyPair.generate()
    post = entry(alice, 0, Draft("hello"))
    db.posts.add([post], NOW)
    taker = inbox(db, alice)
    reply = n.make_notice(bob, alice.public_key, n.REPLY, 3, NOW, post=post.raw_id)
    ack = taker.take(reply.encode(), "127.0.5.9")
    assert isinstance(ack, bytes)
    n.verify_ack(alice.public_key, reply.encode(), ack)
    assert db.inbox.waiting(10) == [reply.encode()]  # kept before the ack: a restart fetches it

    def refused(data: bytes, keeper: NoticeInbox = taker) -> str:
        verdict = keeper.take(data, "127.0.5.9")
        assert isinstance(verdict, Refusal)
        return verdict.reason

    forged = n.Notice(
        bob.public_key, alice.public_key, n.REPLY, 4, NOW, post.raw_id, None, b"\0" * 64
    )
    assert "invalid notice" in refused(forged.encode())
    elsewhere = n.make_notice(bob, KeyPair.generate().public_key, n.REPLY, 3, NOW, post=post.raw_id)
    assert "another author" in refused(elsewhere.encode())
    assert "followed" in refused(reply.encode(), inbox(db, alice, FOLLOWED))
    db.blocks.set(BlockRow(bob.public_key.hex(), BLOCK, NOW))
    assert "blocked" in refused(reply.encode())


def test_a_sealed_like_in_a_notice_is_counted_and_a_flood_is_answered_busy(db: Database) -> None:
    alice, bob = KeyPair.generate(), KeyPair.generate()
    post = entry(alice, 0, Draft("hello"))
    db.posts.add([post], NOW)
    taker = inbox(db, alice)
    sealed = seal_like(bob, alice.public_key, post.raw_id, NOW)
    like = n.make_notice(bob, alice.public_key, n.LIKE, 0, NOW, sealed=sealed)
    assert isinstance(taker.take(like.encode(), "127.0.5.9"), bytes)
    assert [row.liker for row in db.likes.of(post.id)] == [bob.public_key.hex()]
    codes = []
    for seq in range(40):
        notice = n.make_notice(bob, alice.public_key, n.MENTION, seq, NOW)
        verdict = taker.take(notice.encode(), "127.0.5.9")
        codes.append(verdict.code if isinstance(verdict, Refusal) else 0)
    assert codes.count(wire.ERROR_BUSY) == 40 - 29  # 30 per sender per hour, the like included


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeRendezvous:
    def __init__(self, holders: list[tuple[str, int]]) -> None:
        self.holders = holders

    async def meet(self, _author: bytes, _port: int | None) -> Found:
        return Found(tuple(self.holders), False)


class AuthorNode:
    """Answers notices as the recipient author's node would (token first, then the ack)."""

    def __init__(self, keys: KeyPair) -> None:
        self.keys = keys
        self.asked = 0

    async def request(self, _addr: tuple[str, int], build: Any) -> Any:
        self.asked += 1
        query = build(b"tt")
        if query.token is None:
            return wire.Reply(query.tid, token=b"t" * 8)
        return wire.Reply(query.tid, ack=n.sign_ack(self.keys, query.notice))


@pytest.mark.anyio
async def test_a_like_nobody_acknowledged_is_retried_until_the_author_acks(db: Database) -> None:
    alice, bob = KeyPair.generate(), KeyPair.generate()
    post = entry(alice, 0, Draft("hello"))
    like = entry(
        bob, 0, Draft(kind=kinds.LIKE, sealed=seal_like(bob, alice.public_key, post.raw_id, NOW))
    )
    now = [float(NOW)]
    rendezvous = FakeRendezvous([])
    node = AuthorNode(alice)
    outbox = NoticeOutbox(bob, db, cast(Any, node), rendezvous, lambda: now[0])
    assert outbox.queue(alice.public_key, n.LIKE, like, None)
    (row,) = db.outbox.due(now[0], 10)
    assert await outbox.deliver(row) == PENDING  # the author's node is offline
    assert db.outbox.due(now[0] + 59, 10) == []
    now[0] += 60
    (row,) = db.outbox.due(now[0], 10)
    assert row.tries == 1
    rendezvous.holders = [("127.0.5.9", 7000)]
    assert await outbox.deliver(row) == ACKED
    assert node.asked == 2
    stored = db.outbox.get(row.id)
    assert stored is not None and stored.state == ACKED
    assert db.outbox.due(now[0] + 10**6, 10) == []


def test_originals_no_repost_holds_are_pruned(db: Database) -> None:
    alice, bob = KeyPair.generate(), KeyPair.generate()
    post = entry(alice, 0, Draft("hello"))
    repost = entry(bob, 0, Draft(kind=kinds.REPOST, repost=post))
    db.posts.add([repost], NOW)
    db.follows.add(bob.public_key.hex(), NOW)
    social = effects(db, KeyPair.generate())
    social.apply_pending()
    assert db.find_post(post.id) is not None  # kept as a foreign post, verified
    watch = OriginWatch(db, social, cast(Any, None), cast(Any, None), 60.0)
    assert watch.watched() == {alice.public_key.hex()}
    assert watch.prune() == 0
    db.forget_author(bob.public_key.hex())  # unfollowed
    assert watch.prune() == 1
    assert db.find_post(post.id) is None
