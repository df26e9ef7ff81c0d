"""Protocol version 2 socially, end to end: real node processes on 127.0.5.x, a private DHT.

One swarm of four nodes is built once for the module: A posts a video and a clip; B and D follow
A and hold the video, B reposts both; C follows only B and seeds both originals through the
reposts. A follows nobody. Every test starts from that state, changes only what it owns (its own
posts, likes, a node of its own) and runs alone or in any order.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from swarmfeed.cli.main import main
from swarmfeed.core import notices
from swarmfeed.core.identity import KeyPair
from swarmfeed.core.push import wire
from swarmfeed.localswarm import LocalNode, LocalSwarm

pytestmark = pytest.mark.integration

MEDIA_SIZE = 1024 * 1024
NOTICE_TIMEOUT = 120
"""A sender's first post: its notice may wait up to a minute for the sender's head in the DHT."""


@dataclass(frozen=True)
class Social:
    """The module's swarm and what every test may rely on."""

    swarm: LocalSwarm
    a: LocalNode
    b: LocalNode
    c: LocalNode
    d: LocalNode
    video: dict[str, Any]
    """A's video, liked and replied to by the tests, never deleted."""
    repost: dict[str, Any]
    """B's repost of the video, held by C."""
    clip: dict[str, Any]
    """A's clip, deleted by the delete test only."""
    clip_repost: dict[str, Any]
    """B's repost of the clip, held by C."""


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("social-media") / "clip.mp4"
    path.write_bytes(os.urandom(MEDIA_SIZE))
    return path


def post_media(node: LocalNode, text: str, media: Path, name: str) -> dict[str, Any]:
    with media.open("rb") as handle:
        posted: dict[str, Any] = node.api(
            "POST",
            "/api/posts",
            data={"text": text},
            files=[("files", (name, handle, "video/mp4"))],
        )
    return posted


def seeds_original(node: LocalNode, post_id: str) -> bool:
    original = get_post(node, post_id)
    return bool(original and original["media"] and original["media"]["seeding"])


@pytest.fixture(scope="module")
def social(tmp_path_factory: pytest.TempPathFactory, media: Path) -> Iterator[Social]:
    root = tmp_path_factory.mktemp("social")
    swarm = LocalSwarm(
        root, poll_interval=1.0, republish_interval=60.0, first_ip=2, subnet="127.0.5"
    )
    with swarm.running():
        a, b, c, d = (swarm.add(name) for name in ("a", "b", "c", "d"))
        video = post_media(a, "a video", media, media.name)
        clip = post_media(a, "a clip", media, "doomed.mp4")  # other name: another torrent
        b.api("POST", "/api/follows", json={"author": key_of(a)})
        d.api("POST", "/api/follows", json={"author": key_of(a)})
        c.api("POST", "/api/follows", json={"author": key_of(b)})
        reposts = {}
        # The video's repost last: its notice then names B's newest page, which B keeps (a
        # notice whose page B replaced meanwhile waits out the page timeout before asking again).
        for original in (clip, video):
            swarm.wait_for(
                "B to hold A's media posts", lambda o=original: get_post(b, o["id"]), timeout=120
            )
            reposts[original["id"]] = b.api(
                "POST", "/api/posts", data={"repost_of": original["id"]}
            )
        for original in (video, clip):
            swarm.wait_for(
                "C to fetch and seed A's media",
                lambda o=original: seeds_original(c, o["id"]),
                timeout=120,
            )
        swarm.wait_for("D to hold A's video", lambda: get_post(d, video["id"]), timeout=120)
        yield Social(swarm, a, b, c, d, video, reposts[video["id"]], clip, reposts[clip["id"]])


def key_of(node: LocalNode) -> str:
    return str(node.api("GET", "/api/status")["author"])


def get_post(node: LocalNode, post_id: str) -> dict[str, Any] | None:
    response = node.client.get(f"/api/posts/{post_id}")
    return dict(response.json()) if response.status_code == 200 else None


def timeline_ids(node: LocalNode) -> list[str]:
    return [p["id"] for p in node.api("GET", "/api/timeline")["posts"]]


def notifications(node: LocalNode) -> list[dict[str, Any]]:
    return list(node.api("GET", "/api/notifications")["notifications"])


def test_viral_path_repost_spreads_the_original_media(social: Social, media: Path) -> None:
    a, b, c, video, repost = social.a, social.b, social.c, social.video, social.repost
    assert video["kind"] == "post"
    assert repost["kind"] == "repost"
    assert repost["repost_of"]["id"] == video["id"]
    assert seeds_original(c, video["id"])  # C follows only B: the repost brought the media
    shown = get_post(c, repost["id"])
    assert shown is not None
    assert shown["repost_of"]["id"] == video["id"]
    assert shown["repost_of"]["verified"] is True
    assert shown["repost_of"]["author"] == key_of(a)
    assert repost["id"] in timeline_ids(c)
    original = get_post(c, video["id"])
    assert original is not None
    url = original["media"]["files"][0]["url"]
    got = c.client.get(url)
    assert got.status_code == 200
    assert hashlib.sha256(got.content).digest() == hashlib.sha256(media.read_bytes()).digest()
    # A's node learns of the repost through a notice (A follows nobody).
    social.swarm.wait_for(
        "A to be told of B's repost",
        lambda: any(
            n["kind"] == "repost" and n["entry_id"] == repost["id"] and n["sender"] == key_of(b)
            for n in notifications(a)
        ),
        timeout=NOTICE_TIMEOUT,
    )


def test_reply_from_an_unfollowed_author_reaches_the_author(social: Social) -> None:
    a, d, video = social.a, social.d, social.video
    reply = d.api("POST", "/api/posts", data={"text": "nice one", "reply_to": video["id"]})
    assert reply["kind"] == "reply"
    assert reply["reply_to"] == video["id"]
    social.swarm.wait_for(
        "A to be told of D's reply",
        lambda: any(
            n["kind"] == "reply" and n["entry_id"] == reply["id"] for n in notifications(a)
        ),
        timeout=NOTICE_TIMEOUT,
    )
    thread = a.api("GET", f"/api/posts/{video['id']}/thread")
    assert [r["id"] for r in thread["replies"]] == [reply["id"]]
    assert thread["replies"][0]["verified"] is True
    listed = a.api("GET", "/api/notifications")
    assert listed["unread"] >= 1  # the reply's, and what other tests sent A meanwhile
    assert listed["unread"] == sum(not n["read"] for n in listed["notifications"])


def _ask(sock: socket.socket, to: tuple[str, int], query: wire.Query) -> wire.Message:
    sock.sendto(wire.encode(query), to)
    data, _ = sock.recvfrom(4096)
    return wire.decode(data)


def test_a_forged_reply_notice_is_refused(social: Social) -> None:
    a, d, video = social.a, social.d, social.video
    endpoint = str(a.api("GET", "/api/status")["push_endpoint"])
    host, port = endpoint.rsplit(":", 1)
    forger = KeyPair.generate()
    # Claims to be D (another author) but is signed by the forger: the signature fails.
    genuine = notices.make_notice(
        forger, bytes.fromhex(key_of(a)), "reply", 1, 1, post=bytes.fromhex(video["id"])
    )
    claimed = notices.Notice(
        bytes.fromhex(key_of(d)),
        genuine.recipient,
        genuine.kind,
        genuine.seq,
        genuine.created,
        genuine.post,
        None,
        genuine.signature,
    )
    before = len(notifications(a))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.5.30", 0))
        sock.settimeout(10)
        recipient = bytes.fromhex(key_of(a))
        first = _ask(sock, (host, int(port)), wire.NoticeQuery(b"t1", recipient, claimed.encode()))
        assert isinstance(first, wire.Reply) and first.token is not None
        answer = _ask(
            sock,
            (host, int(port)),
            wire.NoticeQuery(b"t2", recipient, claimed.encode(), first.token),
        )
    assert isinstance(answer, wire.ErrorMessage)
    assert answer.code == wire.ERROR_REFUSED
    assert len(notifications(a)) == before


def test_likes_are_seen_by_the_author_only(social: Social) -> None:
    a, b, c, video = social.a, social.b, social.c, social.video
    liked = b.api("POST", f"/api/posts/{video['id']}/like")
    c.api("POST", f"/api/posts/{video['id']}/like")
    # A like entry is no card: live pages get nothing to insert for its event.
    assert b.client.get(f"/fragments/posts/{liked['entry_id']}").status_code == 204
    expected = {key_of(b), key_of(c)}

    def a_counts_both() -> bool:
        post = get_post(a, video["id"])
        return bool(post and post["likes"] == 2 and set(post["liked_by"]) == expected)

    social.swarm.wait_for("A to count B's and C's likes", a_counts_both, timeout=NOTICE_TIMEOUT)
    for node in (b, c):
        seen = get_post(node, video["id"])
        assert seen is not None
        assert seen["likes"] is None and seen["liked_by"] is None
        assert seen["liked"] is True  # each knows its own like, nobody else's
    assert notifications(c) == []


def test_delete_hides_the_post_and_its_reposts_and_removes_the_media(social: Social) -> None:
    a, b, c, clip, repost = social.a, social.b, social.c, social.clip, social.clip_repost
    infohash = clip["media"]["infohash"]
    assert seeds_original(c, clip["id"])  # held everywhere before the delete
    a.api("DELETE", f"/api/posts/{clip['id']}")
    for node in (a, b, c):

        def gone(n: LocalNode = node) -> bool:
            post = get_post(n, clip["id"])
            return bool(post and post["deleted"] and post["media"]["fetch"] == "refused")

        social.swarm.wait_for(f"{node.name} to hide A's deleted post", gone, timeout=60)
        assert clip["id"] not in timeline_ids(node)
        torrents = node.api("GET", "/api/torrents")
        assert infohash not in {t["infohash"] for t in torrents}
        post = get_post(node, clip["id"])
        assert post is not None and post["media"]["seeding"] is False
    assert repost["id"] not in timeline_ids(c)
    assert repost["id"] not in timeline_ids(b)


def test_block_keeps_everything_of_the_author_out_even_inside_reposts(social: Social) -> None:
    a, b, video, repost = social.a, social.b, social.video, social.repost
    # A node of this test's own: C and the others keep A's posts for the other tests.
    e = social.swarm.add("e")
    e.api("POST", "/api/blocks", json={"author": key_of(a), "kind": "block"})
    assert [row["author"] for row in e.api("GET", "/api/blocks")] == [key_of(a)]
    e.api("POST", "/api/follows", json={"author": key_of(b)})
    held = social.swarm.wait_for("E to hold B's repost", lambda: get_post(e, repost["id"]))
    assert held["repost_of"] is None  # the embedded original of a blocked author is not shown
    assert repost["id"] not in timeline_ids(e)
    assert get_post(e, video["id"]) is None
    torrents = {t["infohash"] for t in e.api("GET", "/api/torrents")}
    assert video["media"]["infohash"] not in torrents


def cli(node: LocalNode, *args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--api", node.url])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_cli_replies_reposts_likes_deletes_profiles_and_blocks(social: Social) -> None:
    swarm, b, c = social.swarm, social.b, social.c
    post = b.api("POST", "/api/posts", data={"text": "a question"})
    swarm.wait_for("C to hold B's question", lambda: get_post(c, post["id"]), timeout=60)
    assert "replied" in cli(c, "reply", post["id"], "an answer")
    assert "reposted" in cli(c, "repost", post["id"], "--quote", "worth reading")
    assert "liked" in cli(c, "like", post["id"])

    def told_all() -> bool:
        kinds = {(n["kind"], n["sender"]) for n in notifications(b)}
        return {("reply", key_of(c)), ("repost", key_of(c)), ("like", key_of(c))} <= kinds

    swarm.wait_for("B to be told of the reply, the quote and the like", told_all, timeout=120)
    listed = cli(b, "notifications", "--read")
    assert "reply" in listed and "like" in listed and "repost" in listed
    assert b.api("GET", "/api/notifications")["unread"] == 0
    cli(b, "profile", "--name", "Bee", "--pay-kind", "lightning", "--pay-address", "bee@ln.example")

    def profile_arrived() -> bool:
        shown = c.api("GET", f"/api/profiles/{key_of(b)}")
        return bool(shown["name"] == "Bee" and shown["pay"])

    swarm.wait_for("C to hold B's profile", profile_arrived, timeout=60)
    assert c.api("GET", f"/api/profiles/{key_of(b)}")["pay"]["address"] == "bee@ln.example"
    assert "muted" in cli(c, "block", key_of(b), "--mute")
    assert post["id"] not in timeline_ids(c)
    assert "mute" in cli(c, "block")
    assert "unblocked" in cli(c, "block", key_of(b), "--remove")
    assert post["id"] in timeline_ids(c)
    assert "deleted" in cli(b, "delete", post["id"])
    swarm.wait_for("C to hide the deleted question", lambda: post["id"] not in timeline_ids(c))
