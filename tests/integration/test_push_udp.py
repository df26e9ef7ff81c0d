"""The push channel's UDP driver on 127.0.0.226: binding, fallback, delivery, robustness."""

from __future__ import annotations

import asyncio
import socket

import pytest

from swarmfeed.errors import SwarmfeedError
from swarmfeed.push.udp import normalize, open_udp

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

HOST = "127.0.0.226"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_busy_port_falls_back_only_when_allowed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind((HOST, 0))
        port = busy.getsockname()[1]
        with pytest.raises(SwarmfeedError, match="cannot bind the push channel"):
            await open_udp(HOST, port, lambda data, addr: None, fallback=False)
        fallback = await open_udp(HOST, port, lambda data, addr: None, fallback=True)
        try:
            assert fallback.local_address[0] == HOST
            assert fallback.local_address[1] not in (0, port)
        finally:
            fallback.close()


async def test_datagrams_arrive_and_a_failing_handler_does_not_stop_the_socket(
    caplog: pytest.LogCaptureFixture,
) -> None:
    got: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()

    def handler(data: bytes, addr: tuple[str, int]) -> None:
        if data == b"boom":
            raise RuntimeError("a bug")
        got.put_nowait((data, addr))

    receiver = await open_udp(HOST, 0, handler, fallback=False)
    sender = await open_udp(HOST, 0, lambda data, addr: None, fallback=False)
    try:
        sender.send(b"boom", receiver.local_address)
        sender.send(b"hello", receiver.local_address)
        data, addr = await asyncio.wait_for(got.get(), 5)
        assert (data, addr) == (b"hello", sender.local_address)
        assert "error handling a channel datagram" in caplog.text
        sender.close()
        sender.send(b"after close", receiver.local_address)  # ignored, never raises
    finally:
        receiver.close()
        sender.close()


def test_addresses_are_normalised() -> None:
    assert normalize("::ffff:127.0.0.1", 7) == ("127.0.0.1", 7)
    assert normalize("0:0::1", 7) == ("::1", 7)
    with pytest.raises(ValueError, match="does not appear"):
        normalize("example.org", 7)
