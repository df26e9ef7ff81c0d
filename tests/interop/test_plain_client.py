"""A plain libtorrent client reads a swarmfeed feed with docs/protocol.md alone.

Ana is a swarmfeed node (Ben, another, makes the private DHT bigger than one); she posts a text
with a clip and a note. The client (plainclient.py, no swarmfeed code) resolves her address
through BEP 46, fetches her newest page by its infohash, decodes it with bencode.py, checks a
post's signature with pynacl, and downloads the post's media: by a v1-only magnet through the
DHT, by the magnet Ana's node hands out (x.pe hints, no DHT), and by the .torrent she exports.
"""

from __future__ import annotations

import ast
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bencodepy
import httpx
import libtorrent as lt
import pytest
from plainclient import Head, PlainClient, author_key, verify_head, verify_post

from swarmfeed.localswarm import LocalNode, LocalSwarm

pytestmark = pytest.mark.integration

SUBNET = "127.0.1"
CLIP = os.urandom(3 * 1024 * 1024 + 4321)
NOTE = b"field notes\n" * 10


@dataclass
class Feed:
    swarm: LocalSwarm
    ana: LocalNode
    ben: LocalNode
    address: str
    post: dict[str, Any]
    """Ana's post as her node's API shows it."""


def endpoint(node: LocalNode) -> tuple[str, int]:
    return node.ip, node.bt_port


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Feed]:
    root = tmp_path_factory.mktemp("interop")
    swarm = LocalSwarm(root, poll_interval=1.0, republish_interval=30.0, first_ip=10, subnet=SUBNET)
    with swarm.running():
        # Each client below fetches the clip from Ana alone. Under the default adaptive policy
        # she steps back to a trickle once one copy is out (tests/engine covers that), and
        # every later download would take its 3 MiB at 128 KiB/s.
        ana = swarm.add("ana", extra_args=["--name", "Ana", "--seed-policy", "plain"])
        ben = swarm.add("ben")
        (root / "clip.webm").write_bytes(CLIP)
        (root / "note.txt").write_bytes(NOTE)
        with (root / "clip.webm").open("rb") as clip, (root / "note.txt").open("rb") as note:
            post = ana.api(
                "POST",
                "/api/posts",
                data={"text": "hello from swarmfeed"},
                files=[("files", clip), ("files", note)],
            )
        swarm.wait_for(
            "ana's head in the DHT",
            lambda: (ana.api("GET", "/api/status")["reachability"]["head_stored_on"] or 0) > 0,
        )
        address = ana.api("GET", "/api/status")["address"]
        yield Feed(swarm, ana, ben, address, post)


@pytest.fixture(scope="module")
def client(feed: Feed) -> Iterator[PlainClient]:
    """One client session for the module, as a person would run one."""
    plain = PlainClient(f"{SUBNET}.20", [endpoint(feed.ana), endpoint(feed.ben)])
    yield plain
    plain.close()


@pytest.fixture(scope="module")
def head(client: PlainClient, feed: Feed) -> Head:
    """Ana's head, looked up by her address (BEP 46)."""
    return client.get_head(author_key(feed.address))


@pytest.fixture(scope="module")
def page(client: PlainClient, head: Head, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Ana's newest page, fetched by the infohash her head names, through the DHT only."""
    folder = tmp_path_factory.mktemp("page")
    handle = client.add_magnet(f"magnet:?xt=urn:btih:{head.value[b'ih'].hex()}", folder)
    client.wait_finished(handle)
    [file] = folder.iterdir()
    return bencodepy.decode(file.read_bytes())


@pytest.fixture
def offline_client() -> Iterator[PlainClient]:
    """A client without the DHT: it can only use peers a magnet or the user names."""
    plain = PlainClient(f"{SUBNET}.21", [], dht=False)
    yield plain
    plain.close()


def test_the_plain_client_uses_no_swarmfeed_code() -> None:
    tree = ast.parse((Path(__file__).parent / "plainclient.py").read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "swarmfeed" not in imported
    assert {"libtorrent", "bencodepy", "nacl"} <= imported


def test_author_address_resolves_to_a_signed_head_through_bep46(head: Head, feed: Feed) -> None:
    verify_head(author_key(feed.address), head)  # pynacl, over 3:seqi<seq>e1:v<v> (protocol.md §6)
    assert head.seq >= 1
    assert set(head.value) >= {b"ih", b"n"}
    assert len(head.value[b"ih"]) == 20
    assert head.value[b"n"] == 2  # the post and the profile entry (--name)
    assert len(head.value[b"h"]) == 32  # SHA-256 of the newest page (protocol version 2)


def test_newest_page_by_infohash_decodes_and_its_post_verifies(
    page: Any, head: Head, feed: Feed
) -> None:
    key = author_key(feed.address)
    assert hashlib.sha256(bencodepy.encode(page)).digest() == head.value[b"h"]
    assert page[b"version"] == 2
    assert page[b"author"] == key
    assert (page[b"index"], page[b"first"], page[b"capacity"]) == (0, 0, 64)
    assert b"prev" not in page and b"prevh" not in page
    [post, profile] = page[b"posts"]
    assert profile[b"kind"] == b"profile" and profile[b"profile"][b"name"] == b"Ana"
    verify_post(profile)
    assert post[b"author"] == key
    assert post[b"seq"] == 0
    assert post[b"text"] == b"hello from swarmfeed"
    assert verify_post(post) == feed.post["id"]  # the post id is SHA-256 of the signed bytes
    media = post[b"media"]
    assert media[b"ih"].hex() == feed.post["media"]["infohash"]
    assert [(f[b"path"], f[b"size"]) for f in media[b"files"]] == [
        (b"clip.webm", len(CLIP)),
        (b"note.txt", len(NOTE)),
    ]

    forged = {**post, b"text": b"hello from someone else"}
    with pytest.raises(AssertionError, match="bad signature"):
        verify_post(forged)


def check_media(folder: Path, handle: Any, media: dict[str, Any]) -> None:
    """The files are the post's, byte for byte, and the info dict hashes to its v2 infohash."""
    root = folder / media["name"]
    assert (root / "clip.webm").read_bytes() == CLIP
    assert (root / "note.txt").read_bytes() == NOTE
    info = bytes(handle.torrent_file().info_section())
    assert hashlib.sha1(info).hexdigest() == media["infohash"]
    assert hashlib.sha256(info).hexdigest() == media["infohash_v2"]


def test_media_downloads_from_a_v1_only_magnet(
    client: PlainClient, page: Any, feed: Feed, tmp_path: Path
) -> None:
    # The post names the hybrid torrent's v1 infohash; a plain client asks the DHT for it.
    infohash = page[b"posts"][0][b"media"][b"ih"].hex()

    handle = client.add_magnet(f"magnet:?xt=urn:btih:{infohash}", tmp_path / "media")
    client.wait_finished(handle)

    check_media(tmp_path / "media", handle, feed.post["media"])
    assert handle.torrent_file().info_hashes().has_v2()  # the hybrid torrent, v2 part included


def test_the_nodes_magnet_names_it_as_a_peer(
    offline_client: PlainClient, feed: Feed, tmp_path: Path
) -> None:
    status = feed.ana.api("GET", "/api/status")
    assert status["reachability"]["addresses"] == [f"{feed.ana.ip}:{feed.ana.bt_port}"]
    magnet = feed.ana.api("GET", f"/api/posts/{feed.post['id']}")["media"]["magnet"]
    assert f"&x.pe={feed.ana.ip}:{feed.ana.bt_port}" in magnet

    # No DHT: the x.pe hint is the only way to a peer.
    handle = offline_client.add_magnet(magnet, tmp_path / "media")
    offline_client.wait_finished(handle)

    check_media(tmp_path / "media", handle, feed.post["media"])


def test_the_exported_torrent_is_a_hybrid_with_piece_layers(
    offline_client: PlainClient, feed: Feed, tmp_path: Path
) -> None:
    media = feed.post["media"]
    response = httpx.get(f"{feed.ana.url}/api/torrents/{media['infohash']}.torrent")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-bittorrent"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="post-0-{media["infohash"][:8]}.torrent"'
    )
    torrent = bencodepy.decode(response.content)
    info = lt.torrent_info(response.content)
    assert str(info.info_hashes().v1) == media["infohash"]
    assert info.info_hashes().v2.to_bytes().hex() == media["infohash_v2"]
    piece_length = torrent[b"info"][b"piece length"]
    clip_root = torrent[b"info"][b"file tree"][b"clip.webm"][b""][b"pieces root"]
    assert len(torrent[b"piece layers"][clip_root]) == 32 * -(-len(CLIP) // piece_length)

    handle = offline_client.add_torrent_file(response.content, tmp_path / "media")
    handle.connect_peer(endpoint(feed.ana))
    offline_client.wait_finished(handle)

    check_media(tmp_path / "media", handle, media)


def test_a_page_exports_as_a_v1_torrent(
    offline_client: PlainClient, feed: Feed, tmp_path: Path
) -> None:
    pages = [t for t in feed.ana.api("GET", "/api/torrents") if t["kind"] == "page"]
    page = pages[0]

    response = httpx.get(f"{feed.ana.url}{page['torrent_url']}")

    assert response.status_code == 200
    torrent = bencodepy.decode(response.content)
    assert b"piece layers" not in torrent and b"file tree" not in torrent[b"info"]
    assert hashlib.sha1(bencodepy.encode(torrent[b"info"])).hexdigest() == page["infohash"]
    handle = offline_client.add_torrent_file(response.content, tmp_path / "page")
    handle.connect_peer(endpoint(feed.ana))
    offline_client.wait_finished(handle)
    [file] = (tmp_path / "page").iterdir()
    assert bencodepy.decode(file.read_bytes())[b"author"] == author_key(feed.address)


def test_export_refuses_what_the_node_does_not_hold(feed: Feed) -> None:
    response = httpx.get(f"{feed.ana.url}/api/torrents/{'0' * 40}.torrent")
    assert response.status_code == 404
