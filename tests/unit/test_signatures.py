"""Signature results for display are remembered per post id and signature (bounded)."""

from __future__ import annotations

from swarmfeed.core.identity import KeyPair
from swarmfeed.core.posts import Post, SignedPost, sign_post
from swarmfeed.node.signatures import SignatureCache

KEYS = KeyPair.from_seed(b"\x05" * 32)


def test_valid_and_forged_posts_are_told_apart_and_remembered() -> None:
    cache = SignatureCache(size=2)
    good = sign_post(Post(KEYS.public_key, 0, 1_700_000_000, "hello"), KEYS)
    forged = SignedPost(good.post, bytes(64))
    assert cache.check(good) is None
    assert cache.check(forged) is not None
    # The same id with another signature is checked on its own, never taken from the cache.
    assert cache.check(good) is None
    third = sign_post(Post(KEYS.public_key, 1, 1_700_000_000, "again"), KEYS)
    assert cache.check(third) is None
    assert len(cache._results) == 2
