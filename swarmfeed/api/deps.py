"""FastAPI dependencies: the node, parsed authors, progress tracking."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from swarmfeed.node.node import Node
from swarmfeed.node.uploads import UploadTracker


def get_node(request: Request) -> Node:
    """Return the node this app serves."""
    node: Node = request.app.state.node
    return node


def get_uploads(request: Request) -> UploadTracker:
    """Return the tracker of posts being hashed."""
    tracker: UploadTracker = request.app.state.uploads
    return tracker


NodeDep = Annotated[Node, Depends(get_node)]
UploadsDep = Annotated[UploadTracker, Depends(get_uploads)]
