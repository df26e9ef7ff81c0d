"""Seedbox operators: mirrors, storage budgets, metrics, follow lists, eviction crashes.

Real node processes on 127.0.2.10 and up with a private DHT. Authors with a long history are
generated in the test process (swarmfeed.feedgen) as a node's own log and started as real
nodes on it: they rebuild their index and seed every page and bundle, as if they had
published each post.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from swarmfeed.cli.main import main
from swarmfeed.core.identity import author_address
from swarmfeed.engine.types import EngineConfig
from swarmfeed.feedgen import generate_feed, keys_for, write_author_home
from swarmfeed.localswarm import LocalNode, LocalSwarm
from swarmfeed.node.faults import EVICT_STEPS

pytestmark = pytest.mark.integration

KiB = 1024
KILLED = -9
_names = itertools.count()


@pytest.fixture(scope="module")
def swarm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSwarm]:
    root = tmp_path_factory.mktemp("operators")
    swarm = LocalSwarm(
        root, poll_interval=1.0, republish_interval=60.0, subnet="127.0.2", first_ip=10
    )
    with swarm.running():
        swarm.add("anchor")  # a DHT node every later node bootstraps from; it holds nothing
        yield swarm


def generated_author(
    swarm: LocalSwarm, posts: int, media: int, *, start: bool = True, **kwargs: Any
) -> LocalNode:
    """Add an author node whose own log holds ``posts`` posts with ``media`` bytes each."""
    name = f"author-{next(_names)}"
    home = swarm.root / name
    feed = generate_feed(
        home, keys_for(next(_names), b"operators"), posts, media, int(time.time()) - 86400
    )
    write_author_home(home, feed)
    return swarm.add(name, start=start, **kwargs)


def address(node: LocalNode) -> str:
    return str(node.api("GET", "/api/status")["address"])


def key_of(node: LocalNode) -> str:
    return str(node.api("GET", "/api/status")["author"])


def posts_of(node: LocalNode, author: str) -> list[dict[str, Any]]:
    posts: list[dict[str, Any]] = []
    before = None
    while True:
        params: dict[str, Any] = {"limit": 200}
        if before:
            params["before"] = before
        page = node.api("GET", f"/api/authors/{author}/posts", params=params)
        posts += page["posts"]
        before = page["next_before"]
        if not before:
            return posts


def bundles(node: LocalNode, author: str) -> dict[str, str]:
    """Return each post's media infohash -> this node's fetch state of it."""
    return {
        p["media"]["infohash"]: p["media"]["fetch"] for p in posts_of(node, author) if p["media"]
    }


def seeding(node: LocalNode) -> set[str]:
    return {t["infohash"] for t in node.api("GET", "/api/torrents") if t["seeding"]}


def holds_whole_feed(node: LocalNode, author: str, count: int) -> bool:
    media = bundles(node, author)
    if len(posts_of(node, author)) != count or len(media) != count:
        return False
    return set(media) <= seeding(node) and set(media.values()) == {"complete"}


def post(node: LocalNode, text: str, media: bytes) -> dict[str, Any]:
    files = {"files": ("clip.bin", media, "application/octet-stream")}
    result: dict[str, Any] = node.api("POST", "/api/posts", data={"text": text}, files=files)
    return result


def storage(node: LocalNode) -> dict[str, Any]:
    body: dict[str, Any] = node.api("GET", "/api/storage")
    return body


def author_usage(node: LocalNode, author: str) -> dict[str, Any]:
    return next(a for a in storage(node)["authors"] if a["author"] == author)


def content_bytes(node: LocalNode, infohashes: set[str]) -> int:
    total = 0
    for ih in infohashes:
        folder = node.home / "content" / ih
        total += sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return total


# --- mirrors ---------------------------------------------------------------------------------

# Catching up on a few hundred bundles stalls on an engine that keeps one idle connection per
# finished torrent (about 110 of the 200 bundles arrive, then the author's connection limit is
# full): the engine rework of the scale issue (peer connections closed between seeds, a higher
# limit, EngineConfig.connections_limit) fixes it, and this test runs from then on.
CATCH_UP_ENGINE = "connections_limit" in EngineConfig.__dataclass_fields__


@pytest.mark.skipif(
    not CATCH_UP_ENGINE, reason="needs the engine that catches up on hundreds of bundles"
)
def test_a_mirror_alone_serves_an_offline_authors_whole_history(swarm: LocalSwarm) -> None:
    author = generated_author(swarm, 200, 1 * KiB)
    key = key_of(author)
    mirror = swarm.add("mirror", extra_args=["--storage-budget", "64KiB"])
    follower = swarm.add("follower", extra_args=["--author-budget", "4KiB"])
    # The mirror keeps everything even with a budget smaller than the author's media.
    mirror.api("POST", "/api/mirrors", json={"author": address(author)})
    follower.api("POST", "/api/follows", json={"author": address(author)})
    swarm.wait_for(
        "the mirror to hold all 200 posts and bundles",
        lambda: holds_whole_feed(mirror, key, 200),
        timeout=240,
    )
    assert [m["author"] for m in mirror.api("GET", "/api/mirrors")] == [key]
    assert author_usage(mirror, key)["kind"] == "mirror"
    author_address = address(author)
    author.stop()
    follower.stop()
    newcomer = swarm.add("newcomer")
    newcomer.api("POST", "/api/follows", json={"author": author_address})
    swarm.wait_for(
        "the newcomer to get every post and bundle from the mirror",
        lambda: holds_whole_feed(newcomer, key, 200),
        timeout=240,
    )
    served = {t["infohash"]: t for t in mirror.api("GET", "/api/torrents")}
    assert sum(t["total_upload"] for t in served.values()) >= 200 * KiB
    newcomer.stop()
    mirror.stop()


# --- budgets ---------------------------------------------------------------------------------


def test_a_budget_keeps_pages_and_mirrors_whole_and_evicted_media_comes_back(
    swarm: LocalSwarm,
) -> None:
    followed = generated_author(swarm, 8, 32 * KiB)
    mirrored = generated_author(swarm, 4, 32 * KiB)
    followed_key, mirrored_key = key_of(followed), key_of(mirrored)
    budget = 224 * KiB  # the mirror's 128 KiB + 3 of the followed author's 32 KiB bundles
    box = swarm.add("budget-box", extra_args=["--storage-budget", str(budget)])
    box.api("POST", "/api/mirrors", json={"author": address(mirrored)})
    box.api("POST", "/api/follows", json={"author": address(followed)})
    swarm.wait_for("the mirrored author whole", lambda: holds_whole_feed(box, mirrored_key, 4), 120)

    def settled() -> bool:
        states = bundles(box, followed_key)
        return (
            len(states) == 8
            and "queued" not in states.values()
            and ("fetching" not in states.values())
        )

    swarm.wait_for("the followed author's media to settle", settled, timeout=120)
    states = bundles(box, followed_key)
    held = {ih for ih, state in states.items() if state == "complete"}
    assert len(held) == 3, states  # the newest three; the older ones wait to be opened
    assert storage(box)["used_bytes"] <= budget
    assert len(posts_of(box, followed_key)) == 8  # every page is kept

    # Two new posts: they are worth more than the oldest held media, which is evicted.
    newest = [post(followed, f"new {i}", bytes([i]) * 32 * KiB) for i in range(2)]
    new_ih = {p["media"]["infohash"] for p in newest}

    def took_the_new_posts() -> bool:
        states = bundles(box, followed_key)
        return all(states.get(ih) == "complete" for ih in new_ih)

    swarm.wait_for("the new posts' media", took_the_new_posts, timeout=120)
    states = bundles(box, followed_key)
    kept = {ih for ih, state in states.items() if state == "complete"}
    evicted = held - kept
    assert kept == new_ih | (held - evicted) and len(evicted) == 2, states
    assert {states[ih] for ih in evicted} == {"evicted"}
    oldest_first = [p["media"]["infohash"] for p in reversed(posts_of(box, followed_key))]
    assert sorted(evicted, key=oldest_first.index) == [ih for ih in oldest_first if ih in held][:2]
    assert storage(box)["used_bytes"] <= budget
    assert content_bytes(box, kept | set(bundles(box, mirrored_key))) <= budget
    assert not any((box.home / "content" / ih).exists() for ih in evicted)
    assert holds_whole_feed(box, mirrored_key, 4)
    assert len(posts_of(box, followed_key)) == 10

    # Opening an evicted bundle fetches it again.
    gone = sorted(evicted)[0]
    item = next(p for p in posts_of(box, followed_key) if p["media"]["infohash"] == gone)
    url = item["media"]["files"][0]["url"]
    body = box.client.get(url, timeout=60).content
    assert body == (followed.client.get(url, timeout=60).content)
    assert len(body) == 32 * KiB
    swarm.wait_for(
        "the opened bundle to be held again",
        lambda: bundles(box, followed_key)[gone] == "complete",
        timeout=60,
    )
    swarm.wait_for(
        "the box back within its budget", lambda: storage(box)["used_bytes"] <= budget, timeout=30
    )
    box.stop()


@pytest.fixture(scope="module")
def evicting(swarm: LocalSwarm) -> dict[str, tuple[LocalNode, LocalNode]]:
    """Per eviction step: an author of two 16 KiB bundles and a box holding both, stopped.

    Started together and synced at once; each case then restarts its box with the fault.
    """
    authors = [generated_author(swarm, 2, 16 * KiB, start=False) for _ in EVICT_STEPS]
    boxes = [
        swarm.add(f"evict-{next(_names)}", extra_args=["--author-budget", "32KiB"], start=False)
        for _ in EVICT_STEPS
    ]
    swarm.start_many([*authors, *boxes])
    for author, box in zip(authors, boxes, strict=True):
        box.api("POST", "/api/follows", json={"author": address(author)})
    for author, box in zip(authors, boxes, strict=True):
        key = key_of(author)
        swarm.wait_for(
            "both bundles held", lambda b=box, k=key: set(bundles(b, k).values()) == {"complete"}
        )
        box.stop()
    return dict(zip(EVICT_STEPS, zip(authors, boxes, strict=True), strict=True))


@pytest.mark.parametrize("step", EVICT_STEPS)
def test_a_crash_while_evicting_leaves_a_whole_state(
    swarm: LocalSwarm, evicting: dict[str, tuple[LocalNode, LocalNode]], step: str
) -> None:
    author, box = evicting[step]
    key = key_of(author)
    box.env = {"SWARMFEED_FAULT_POINT": step}
    swarm.start(box)
    post(author, "newer", b"n" * 16 * KiB)  # the box evicts its oldest bundle to take it
    assert box.wait_exit() == KILLED, box.log_text()[-3000:]
    box.env = {}
    swarm.start(box)
    swarm.wait_for(
        "the new post held", lambda: list(bundles(box, key).values()).count("complete") == 2
    )
    states = bundles(box, key)
    assert list(states.values()).count("evicted") == 1, states
    held = {t["infohash"] for t in box.api("GET", "/api/torrents")}
    folders = {p.name for p in (box.home / "content").iterdir()}
    assert folders == held  # nothing orphaned, nothing referenced missing
    evicted = next(ih for ih, state in states.items() if state == "evicted")
    assert evicted not in held
    item = next(p for p in posts_of(box, key) if p["media"]["infohash"] == evicted)
    assert len(box.client.get(item["media"]["files"][0]["url"], timeout=60).content) == 16 * KiB
    box.stop()
    author.stop()


# --- metrics ---------------------------------------------------------------------------------


def scrape(node: LocalNode, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{node.url}/metrics", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_move_when_a_post_is_fetched_and_served(swarm: LocalSwarm) -> None:
    author = swarm.add(f"metered-{next(_names)}")
    reader = swarm.add(f"reader-{next(_names)}", extra_args=["--require-token"])
    token = reader.web_token
    assert token
    assert httpx.get(f"{reader.url}/metrics", timeout=30).status_code == 401
    auth = {"authorization": f"Bearer {token}"}
    key = key_of(author)
    author.api("POST", "/api/posts", data={"text": "first"})
    reader.api("POST", "/api/follows", json={"author": address(author)})
    swarm.wait_for(
        "the follow to sync", lambda: reader.api("GET", "/api/follows")[0]["state"] == "synced"
    )
    before_reader, before_author = scrape(reader, **auth), scrape(author)
    created = post(author, "counted", b"m" * 48 * KiB)
    swarm.wait_for(
        "the media at the reader",
        lambda: bundles(reader, key).get(created["media"]["infohash"]) == "complete",
    )
    # Byte counters come from the engine's status cache, refreshed every second: a scrape
    # right after the transfer may still show the last update.
    down_before = value(before_reader, "swarmfeed_author_bytes_down_total", author=key)
    up_before = value(before_author, "swarmfeed_author_bytes_up_total", author=key)
    swarm.wait_for(
        "the transfer in both nodes' byte counters",
        lambda: (
            value(scrape(reader, **auth), "swarmfeed_author_bytes_down_total", author=key)
            - down_before
            >= 48 * KiB
            and value(scrape(author), "swarmfeed_author_bytes_up_total", author=key) - up_before
            >= 48 * KiB
        ),
        timeout=30,
    )
    after_reader = scrape(reader, **auth)
    after_author = scrape(author)
    complete = ("swarmfeed_torrents", {"kind": "media", "state": "complete"})
    assert (
        value(after_reader, complete[0], **complete[1])
        == value(before_reader, complete[0], **complete[1]) + 1
    )
    polls = sum(v for (name, _), v in after_reader.items() if name == "swarmfeed_head_polls_total")
    assert polls > sum(
        v for (name, _), v in before_reader.items() if name == "swarmfeed_head_polls_total"
    )
    assert value(after_reader, "swarmfeed_follows", kind="follow", state="synced") == 1
    assert value(after_reader, "swarmfeed_healthy") == 1
    assert value(after_reader, "swarmfeed_dht_nodes") >= 1
    assert value(after_reader, "swarmfeed_head_posts", author=key) == 2
    assert ("swarmfeed_sync_lag_seconds", (("author", key), ("kind", "follow"))) in after_reader
    assert value(after_author, "swarmfeed_dht_operations_total", operation="put") >= 1
    reader.stop()
    author.stop()


# --- follow lists ----------------------------------------------------------------------------


def test_a_follow_list_moves_between_boxes_and_bad_lines_are_named(
    swarm: LocalSwarm, tmp_path: Path
) -> None:
    first = swarm.add(f"list-a-{next(_names)}")
    second = swarm.add(f"list-b-{next(_names)}")
    keys = [hashlib.sha256(bytes([i])).hexdigest() for i in range(3)]
    listed = tmp_path / "list.txt"
    listed.write_text(
        f"# three authors\n{author_address(bytes.fromhex(keys[0]))}\nnot-an-author\n"
        f"{keys[1]} mirror\n{keys[2]} hoard\n{keys[2]}\n"
    )
    runner = CliRunner()
    result = runner.invoke(main, ["follows", "--api", first.url, "import", str(listed)])
    assert result.exit_code == 1, result.output  # some lines were bad; the rest is imported
    assert f"{listed}:3:" in result.stderr and f"{listed}:5:" in result.stderr
    assert "imported 3 authors: 3 new" in result.stdout
    kinds = {row["author"]: row["kind"] for row in first.api("GET", "/api/follows")}
    assert kinds == {keys[0]: "follow", keys[1]: "mirror", keys[2]: "follow"}

    exported = runner.invoke(main, ["follows", "--api", first.url, "export", "--format", "json"])
    assert exported.exit_code == 0
    (tmp_path / "list.json").write_text(exported.stdout)
    assert json.loads(exported.stdout)["version"] == 2
    moved = runner.invoke(
        main, ["follows", "--api", second.url, "import", str(tmp_path / "list.json")]
    )
    assert moved.exit_code == 0, moved.output
    assert {row["author"]: row["kind"] for row in second.api("GET", "/api/follows")} == kinds
    lines = runner.invoke(main, ["follows", "--api", second.url, "export"]).stdout
    assert lines == runner.invoke(main, ["follows", "--api", first.url, "export"]).stdout
    again = runner.invoke(
        main, ["follows", "--api", second.url, "import", str(tmp_path / "list.json")]
    )
    assert "0 new, 0 changed kind, 3 unchanged" in again.stdout
    # The mirror command and unmirror change the kind in place.
    assert runner.invoke(main, ["mirror", "--api", second.url, keys[0]]).exit_code == 0
    assert runner.invoke(main, ["unmirror", "--api", second.url, keys[1]]).exit_code == 0
    kinds = {row["author"]: row["kind"] for row in second.api("GET", "/api/follows")}
    assert kinds == {keys[0]: "mirror", keys[1]: "follow", keys[2]: "follow"}
    saved = json.loads((second.home / "follows.json").read_text())
    assert {e["author"]: e["kind"] for e in saved["follows"]} == kinds
    first.stop()
    second.stop()
