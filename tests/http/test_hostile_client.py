"""A node's HTTP side against hostile clients: every attack refused, resources bounded.

One real node process per role (tests/http/conftest.py) and raw sockets from other loopback
addresses. Limits are asserted on what the node holds (file descriptors, resident memory,
bytes in its staging and temp folders), never on how long anything took.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from hostilekit import ATTACKERS, MAX_UPLOAD, Target
from rawhttp import closed_by_peer, connect, folder_bytes, multipart, read_answer, send_request

from swarmfeed.http.limits import HttpLimits
from swarmfeed.http.multipart import WRITE_BATCH

pytestmark = pytest.mark.integration

LIMITS = HttpLimits()  # what the node runs with
BOUNDARY = "hostile-boundary"
MiB = 1024 * 1024
# Resident memory an attack may add to the node: a few buffers, never the attack's volume.
RSS_GROWTH_LIMIT = 24 * MiB
# A client that holds nothing (in the range of this suite, apart from the attackers).
FRESH_CLIENT = "127.0.0.159"


class PeakWatcher:
    """Samples the bytes in some folders from a thread while an attack runs."""

    def __init__(self, *folders: os.PathLike[str]) -> None:
        self.folders = folders
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, folder_bytes(*self.folders))  # type: ignore[arg-type]
            self._stop.wait(0.01)  # sampling a folder: nothing to await

    def __enter__(self) -> PeakWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def upload_head(target: Target, *, length: int | None = None, path: str = "/api/posts") -> str:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST {path} HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n{framing}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n"
    )


def file_stream(total: int, chunk: int = 256 * 1024) -> Iterator[bytes]:
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    block = os.urandom(chunk)
    for _ in range(total // chunk):
        yield block
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


# uploads ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("framing", ["chunked", "declared"])
def test_an_upload_over_the_limit_is_refused_as_it_arrives(target: Target, framing: str) -> None:
    total = 48 * MAX_UPLOAD
    rss_before = target.gauge.rss()
    head = upload_head(target, length=total + 1000 if framing == "declared" else None)
    with PeakWatcher(target.staging, target.tmp) as watcher:
        answer, sent = send_request(
            target.host,
            target.port,
            ATTACKERS[0],
            head,
            file_stream(total),
            chunked=framing == "chunked",
        )
    assert answer.status == 413, answer
    assert f"{MAX_UPLOAD}-byte limit" in answer.body.decode()
    assert sent < total / 2, "the node read the whole body before refusing it"
    # Nothing beyond the limit was ever on disk, nothing is left, nothing went to /tmp.
    assert watcher.peak <= MAX_UPLOAD + WRITE_BATCH + 256 * 1024
    assert folder_bytes(target.staging, target.tmp) == 0
    assert target.gauge.rss() - rss_before < RSS_GROWTH_LIMIT
    assert target.alive()


@pytest.mark.parametrize(
    ("shape", "parts"),
    [
        # The report: many 1 MB text fields took RSS from 94 MB to 1.07 GB.
        ("many big fields", [(f"f{i}", None, b"x" * 256 * 1024) for i in range(200)]),
        ("one huge field", [("text", None, b"y" * 8 * MiB)]),
        ("many fields", [(f"f{i}", None, b"z") for i in range(2000)]),
        ("too many files", [("files", f"{i}.txt", b"data") for i in range(200)]),
    ],
)
def test_form_floods_are_refused_with_bounded_memory(
    target: Target, shape: str, parts: list[tuple[str, str | None, bytes]]
) -> None:
    body = multipart(BOUNDARY, parts)
    rss_before = target.gauge.rss()
    chunks = [body[i : i + 256 * 1024] for i in range(0, len(body), 256 * 1024)]
    answer, _ = send_request(
        target.host, target.port, ATTACKERS[1], upload_head(target), chunks, chunked=True
    )
    assert answer.status == 413, (shape, answer)
    assert target.gauge.rss() - rss_before < RSS_GROWTH_LIMIT, shape
    assert folder_bytes(target.staging, target.tmp) == 0
    assert target.alive()


@pytest.mark.parametrize("framing", ["chunked", "declared"])
def test_small_routes_refuse_big_bodies(target: Target, framing: str) -> None:
    total = 16 * MiB
    rss_before = target.gauge.rss()
    length = f"Content-Length: {total}" if framing == "declared" else "Transfer-Encoding: chunked"
    head = (
        f"POST /api/follows HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n{length}\r\n"
        "Content-Type: application/json\r\n\r\n"
    )
    body = [b'{"author": "' + b"a" * (MiB - 12)] * (total // MiB)
    answer, sent = send_request(
        target.host, target.port, ATTACKERS[2], head, body, chunked=framing == "chunked"
    )
    assert answer.status == 413, answer
    assert sent < total / 2
    assert target.gauge.rss() - rss_before < RSS_GROWTH_LIMIT
    assert target.alive()


def test_an_empty_file_is_a_clear_400_and_leaves_nothing(target: Target) -> None:
    answer = target.node.client.post(
        "/api/posts", data={"text": "empty"}, files=[("files", ("empty.bin", b""))]
    )
    assert answer.status_code == 400, answer.text
    assert "empty" in answer.json()["detail"]
    assert folder_bytes(target.staging) == 0
    assert list(target.staging.iterdir()) == []


# connections -----------------------------------------------------------------------------------


def test_connection_floods_hold_a_bounded_number_of_descriptors(target: Target) -> None:
    fds_before = target.gauge.fds()
    flood = [
        connect(target.host, target.port, ATTACKERS[3])
        for _ in range(3 * LIMITS.connections_per_client)
    ]
    try:
        # Over its cap the client is answered 503 and cut off at once.
        refused = [sock for sock in flood[LIMITS.connections_per_client :]]
        answer = read_answer(refused[-1])
        assert answer.status == 503, answer
        assert closed_by_peer(refused[-1], 10)
        assert target.gauge.fds() <= fds_before + LIMITS.connections_per_client + 8
        # Another client is still served.
        with httpx.Client(transport=httpx.HTTPTransport(local_address=ATTACKERS[4])) as other:
            status = other.get(f"http://{target.host}:{target.port}/api/status")
        assert status.status_code == 200
    finally:
        for sock in flood:
            sock.close()
    log = (target.node.home / "node.log").read_text()
    assert log.count("refused an HTTP connection") <= 6, "the log repeats itself"


def test_connections_without_a_request_are_closed(target: Target) -> None:
    # Both at once: each waits out the same request-head deadline.
    silent = connect(target.host, target.port, ATTACKERS[5])
    trickling = connect(target.host, target.port, ATTACKERS[5])
    try:
        trickling.sendall(b"GET /api/status HTTP/1.1\r\nHost: ")  # and never the rest
        assert closed_by_peer(silent, LIMITS.request_head_seconds + 15), "silent"
        assert closed_by_peer(trickling, 15), "trickling head"
    finally:
        silent.close()
        trickling.close()


def test_event_streams_are_capped_per_client_and_in_all(target: Target) -> None:
    def open_stream(source: str) -> tuple[int, bytes, socket.socket]:
        sock = connect(target.host, target.port, source)
        sock.sendall(
            f"GET /api/events HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n\r\n".encode()
        )
        sock.settimeout(30)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
        return int(head.split(b" ", 2)[1]), head, sock

    per_client = LIMITS.event_streams_per_client
    held: list[socket.socket] = []
    try:
        for _ in range(per_client):
            status, _, sock = open_stream(ATTACKERS[6])
            held.append(sock)
            assert status == 200
        status, head, sock = open_stream(ATTACKERS[6])
        held.append(sock)
        assert status == 503, "one client held more streams than its cap"
        # Other clients fill the total; then even a client holding none is refused.
        for source in [ip for ip in ATTACKERS if ip != ATTACKERS[6]]:
            for _ in range(per_client):
                status, _, sock = open_stream(source)
                held.append(sock)
                assert status == 200
        status, head, sock = open_stream(FRESH_CLIENT)
        held.append(sock)
        assert status == 503
        assert f"{LIMITS.event_streams} in all".encode() in head + sock.recv(4096)
    finally:
        for sock in held:
            sock.close()
    # The slots come back when the streams end (the node sees the sockets close).
    deadline = time.monotonic() + 30
    while True:
        status, _, sock = open_stream(FRESH_CLIENT)
        sock.close()
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)  # another process's state: nothing to await
    assert status == 200


# the 500s of the report ------------------------------------------------------------------------

HUGE = "9" * 4301  # int() refuses strings of more than 4,300 digits


@pytest.fixture(scope="module")
def media_url(target: Target) -> str:
    posted = target.node.api(
        "POST", "/api/posts", data={"text": "media"}, files=[("files", ("m.bin", b"m" * 5000))]
    )
    return str(posted["media"]["files"][0]["url"])


@pytest.mark.parametrize(
    ("path", "headers", "expected"),
    [
        ("/api/timeline?before=99999999999999999999", {}, 400),
        ("/api/timeline?before=" + quote("²"), {}, 400),
        ("/api/timeline?before=" + HUGE, {}, 400),
        (f"/api/authors/{'ab' * 32}/posts?before=1:{HUGE}:ab", {}, 400),
        ("/?before=99999999999999999999", {"accept": "text/html"}, 400),
        ("MEDIA", {"range": f"bytes={HUGE}-"}, 416),
        ("MEDIA", {"range": f"bytes=0-{HUGE}"}, 206),
        ("MEDIA", {"range": "bytes=²-".encode()}, 400),
        ("/docs", {}, 404),
        ("/redoc", {}, 404),
    ],
)
def test_refusals_that_were_500s_are_clear(
    target: Target, media_url: str, path: str, headers: dict[str, str | bytes], expected: int
) -> None:
    url = media_url if path == "MEDIA" else path
    answer = target.node.client.get(url, headers=headers)
    assert answer.status_code == expected, answer.text[:300]
    assert target.alive()


def test_a_media_file_named_in_a_huge_range_is_served_whole(target: Target, media_url: str) -> None:
    answer = target.node.client.get(media_url, headers={"range": f"bytes=0-{HUGE}"})
    assert answer.status_code == 206
    assert answer.headers["content-range"] == "bytes 0-4999/5000"
    assert answer.content == b"m" * 5000


# the token gate --------------------------------------------------------------------------------


def test_token_login_from_a_non_latin1_path_redirects_safely(gated: Target) -> None:
    token = gated.node.web_token
    base = f"http://{gated.host}:{gated.port}"
    with httpx.Client(base_url=base, follow_redirects=False) as client:
        unicode_path = client.get(f"/authors/{quote('ü')}?token={token}&x=1")
        assert unicode_path.status_code == 303, unicode_path.text
        assert unicode_path.headers["location"] == "/authors/%C3%BC?x=1"
        # Browsers drop the tab: "/\t/evil.com" would become the other site "//evil.com".
        client.cookies.clear()
        tab = client.get(f"/%09/evil.com?token={token}")
        assert tab.status_code == 303
        assert tab.headers["location"] == "/%09/evil.com"
        client.cookies.clear()
        slashes = client.get(f"/%5C%5Cevil.com?token={token}")
        assert not slashes.headers["location"].startswith("//")


def test_a_gated_node_shows_browsers_a_login_page_and_api_clients_json(gated: Target) -> None:
    base = f"http://{gated.host}:{gated.port}"
    page = httpx.get(base + "/following", headers={"accept": "text/html"})
    assert page.status_code == 401
    assert "web_token" in page.text and 'name="token"' in page.text
    assert 'name="next" value="/following"' in page.text
    api = httpx.get(base + "/api/status", headers={"accept": "text/html"})
    assert api.status_code == 401 and api.json() == {"detail": "an access token is required"}

    wrong = httpx.post(base + "/login", data={"token": "nope", "next": "/following"})
    assert wrong.status_code == 401 and "not this node" in wrong.text
    right = httpx.post(base + "/login", data={"token": gated.node.web_token, "next": "/following"})
    assert right.status_code == 303 and right.headers["location"] == "/following"
    assert right.cookies["swarmfeed_token"] == gated.node.web_token
    elsewhere = httpx.post(base + "/login", data={"token": "x", "next": "//evil.com"})
    assert "//evil.com" not in elsewhere.text


def test_a_flood_of_refusals_does_not_flood_the_log(target: Target) -> None:
    before = (target.node.home / "node.log").read_text().count("refused GET /api/timeline")
    for _ in range(300):
        target.node.client.get("/api/timeline?before=yesterday")
    after = (target.node.home / "node.log").read_text().count("refused GET /api/timeline")
    assert after - before <= 5
    assert target.alive()
