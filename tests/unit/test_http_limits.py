"""Slots per client and the small-body limit, on a bare ASGI app."""

from __future__ import annotations

from collections.abc import Iterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from swarmfeed.http.limits import BodyLimitMiddleware, ClientSlots


def test_slots_cap_each_client_and_the_total() -> None:
    slots = ClientSlots(total=3, per_client=2)
    assert slots.acquire("a") and slots.acquire("a")
    assert not slots.acquire("a")  # its own cap
    assert slots.acquire("b")
    assert not slots.acquire("c")  # the total
    assert (slots.in_use, slots.held_by("a"), slots.held_by("c")) == (3, 2, 0)
    slots.release("a")
    assert slots.acquire("c")
    for client in ("a", "b", "c"):
        slots.release(client)
    assert slots.in_use == 0 and slots.held_by("a") == 0


async def echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(await request.body())))


def make_client() -> TestClient:
    app = Starlette(
        routes=[Route("/small", echo, methods=["POST"]), Route("/big", echo, methods=["POST"])]
    )
    wrapped = BodyLimitMiddleware(app, streamed={("POST", "/big")}, limit=1000)
    return TestClient(wrapped)


def test_small_bodies_pass_and_big_ones_are_refused() -> None:
    client = make_client()
    assert client.post("/small", content=b"x" * 1000).text == "1000"
    declared = client.post("/small", content=b"x" * 1001)
    assert declared.status_code == 413 and declared.headers["connection"] == "close"

    def chunks() -> Iterator[bytes]:
        yield b"x" * 600
        yield b"x" * 600

    streamed = client.post("/small", content=chunks())  # no Content-Length
    assert streamed.status_code == 413
    assert client.post("/big", content=b"x" * 5000).text == "5000"  # its route streams
