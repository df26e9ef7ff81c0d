"""Scripted KRPC peers for the DHT client's tests (BEP 5 queries in, chosen replies out)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from swarmfeed.core.bep44 import MutableItem
from swarmfeed.dht import krpc
from swarmfeed.dht.krpc import NodeInfo, Query

Handler = Callable[[Query, tuple[str, int]], bytes | list[bytes] | None]


class FakeNode(asyncio.DatagramProtocol):
    """A scripted KRPC peer: ``handler`` turns each query into the datagrams to send back."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.node_id = os.urandom(20)
        self.queries: list[Query] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        message = krpc.parse_message(data)
        assert isinstance(message, Query)
        self.queries.append(message)
        replies = self.handler(message, addr)
        for reply in [replies] if isinstance(replies, bytes) else replies or []:
            assert self.transport is not None
            self.transport.sendto(reply, addr)

    @property
    def addr(self) -> tuple[str, int]:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return (host, port)

    @property
    def info(self) -> NodeInfo:
        return NodeInfo(self.node_id, *self.addr)


_OPEN: list[FakeNode] = []


@pytest.fixture(autouse=True)
async def close_fake_nodes(anyio_backend: str) -> AsyncIterator[None]:
    del anyio_backend  # runs inside the test's event loop, so transports close cleanly
    yield
    while _OPEN:
        transport = _OPEN.pop().transport
        if transport is not None:
            transport.close()
    await asyncio.sleep(0)  # let connection_lost run


async def fake_node(host: str, handler: Handler) -> FakeNode:
    loop = asyncio.get_running_loop()
    node = FakeNode(handler)
    await loop.create_datagram_endpoint(lambda: node, local_addr=(host, 0))
    _OPEN.append(node)
    return node


def holding(node: list[FakeNode], item: MutableItem | None, **extra: Any) -> Handler:
    """Return a handler answering get with a token (and ``item``) and put with success."""

    def handle(query: Query, addr: tuple[str, int]) -> bytes:
        del addr
        if query.method == b"put":
            return krpc.build_response(query.tid, node[0].node_id)
        return krpc.build_response(query.tid, node[0].node_id, token=b"tok", item=item, **extra)

    return handle


async def node_holding(host: str, item: MutableItem | None, **extra: Any) -> FakeNode:
    cell: list[FakeNode] = []
    node = await fake_node(host, holding(cell, item, **extra))
    cell.append(node)
    return node
