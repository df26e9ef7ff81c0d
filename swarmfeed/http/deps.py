"""FastAPI dependencies both faces use: the node, its post composer, the stream slots."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from swarmfeed.http.limits import ClientSlots
from swarmfeed.node.compose import Composer
from swarmfeed.node.node import Node


def get_node(request: Request) -> Node:
    """Return the node this app serves."""
    node: Node = request.app.state.node
    return node


def get_composer(request: Request) -> Composer:
    """Return the service that publishes received posts."""
    composer: Composer = request.app.state.composer
    return composer


def get_stream_slots(request: Request) -> ClientSlots:
    """Return the slots that bound open event streams."""
    slots: ClientSlots = request.app.state.stream_slots
    return slots


NodeDep = Annotated[Node, Depends(get_node)]
ComposerDep = Annotated[Composer, Depends(get_composer)]
StreamSlotsDep = Annotated[ClientSlots, Depends(get_stream_slots)]
