"""A thin asyncio BEP 44 client: iterative ``get`` toward a target, ``put`` of signed items.

The client is a read-only DHT node (BEP 43) on its own UDP socket; it does not use
libtorrent. ``DhtClient`` is the front the node uses; it composes three parts:

- transport.py: the UDP socket, transaction ids, a query and its reply, pacing per IP
  (pacing.py), the rate-limited error answer to incoming queries;
- seeds.py: the endpoints a lookup starts from, resolved and cached;
- traversal.py: the iterative lookup (BEP 5 "Kademlia", BEP 44 "get"), closest first.

On top of them it does BEP 44's "get" (the verified item with the highest seq, and the write
tokens of the ``k`` closest answering nodes) and "put" (of a pre-signed item, to those token
holders). Items are verified before they are returned and before they are sent. Peers that
misbehave are logged and ignored: nothing a peer sends raises.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType

from swarmfeed.core import bep44
from swarmfeed.core.bep44 import MutableItem
from swarmfeed.dht import krpc
from swarmfeed.dht.krpc import ErrorReply, Message, NodeInfo, Response
from swarmfeed.dht.seeds import Seeds
from swarmfeed.dht.transport import Address, KrpcTransport
from swarmfeed.dht.traversal import Traversal
from swarmfeed.errors import InvalidInput

__all__ = ["Address", "DhtClient", "GetResult", "PutResult", "TokenHolder"]


@dataclass(frozen=True)
class TokenHolder:
    """A node that answered a get with a write token (BEP 44: required by its put)."""

    node: NodeInfo
    token: bytes
    seq: int | None = None
    """The seq of the verified item the node returned, or the bare seq it reported."""


@dataclass(frozen=True)
class GetResult:
    """The outcome of a mutable-item lookup."""

    item: MutableItem | None
    """The verified item with the highest seq, or None when no node holds a valid one."""
    responders: int
    """Nodes that answered the get."""
    tokens: tuple[TokenHolder, ...]
    """The up-to-k answering nodes closest to the target that gave a write token."""
    target: bytes = b""
    queried: int = 0
    """Queries sent during the lookup."""


@dataclass(frozen=True)
class PutResult:
    """The outcome of a put: how many nodes acknowledged out of those asked."""

    stored: int
    attempted: int
    errors: tuple[int, ...] = ()
    """KRPC error codes received, e.g. 302 from nodes that hold a higher seq (BEP 44)."""


class DhtClient:
    """A standalone BEP 44 client over one UDP socket (asyncio)."""

    def __init__(
        self,
        bind_host: str,
        seeds: Callable[[], Iterable[tuple[str, int]]],
        *,
        timeout: float = 2.0,
        alpha: int = 4,
        k: int = 8,
        logger: logging.Logger | None = None,
        max_queries: int = 64,
        lookup_timeout: float = 10.0,
        min_interval: float = 0.3,
        short_timeout: float = 0.5,
    ) -> None:
        """Prepare a client bound to ``(bind_host, 0)`` once started; ``seeds`` feeds lookups."""
        if alpha < 1 or k < 1 or max_queries < 1 or timeout <= 0 or lookup_timeout <= 0:
            raise InvalidInput("alpha, k, max_queries and the timeouts must be positive")
        self.bind_host = bind_host
        self.seeds = seeds
        self.timeout = timeout
        self.alpha = alpha
        self.k = k
        self.max_queries = max_queries
        self.lookup_timeout = lookup_timeout
        self.min_interval = min_interval
        self.short_timeout = min(short_timeout, timeout)
        self.log = logger or logging.getLogger("swarmfeed.dht")
        self.node_id = os.urandom(krpc.NODE_ID_BYTES)
        self.transport = KrpcTransport(
            bind_host, timeout=timeout, min_interval=min_interval, logger=self.log
        )
        self.traversal = Traversal(
            self.transport,
            Seeds(seeds, self.transport, timeout=timeout, logger=self.log),
            self.node_id,
            alpha=alpha,
            k=k,
            max_queries=max_queries,
            lookup_timeout=lookup_timeout,
            short_timeout=self.short_timeout,
            logger=self.log,
        )
        self.lookups = 0
        """Item lookups (``get_mutable``) since start."""
        self.puts = 0
        """Item publications (``put_mutable``) since start."""
        self.last_lookup_responders: int | None = None
        """Nodes that answered the latest lookup (None before the first): 0 means cut off."""

    @property
    def queries_sent(self) -> int:
        """Return the KRPC queries sent since start (metrics)."""
        return self.transport.queries_sent

    def sent_by_method(self) -> dict[str, int]:
        """Return the KRPC queries sent since start by method (metrics)."""
        return dict(self.transport.sent_by_method)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the UDP socket on ``(bind_host, 0)``."""
        await self.transport.start()

    async def close(self) -> None:
        """Close the socket; queries still waiting end as unanswered."""
        self.transport.close()

    async def __aenter__(self) -> DhtClient:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def local_address(self) -> Address:
        """Return the bound ``(host, port)``; raises SwarmfeedError before start()."""
        return self.transport.local_address

    # -- BEP 44 --------------------------------------------------------------------------

    async def get_mutable(
        self, public_key: bytes, salt: bytes = b"", *, newer_than: int | None = None
    ) -> GetResult:
        """Look up the mutable item of ``public_key`` and ``salt`` (BEP 44 get).

        Items that fail verification or carry another key are dropped and logged; the
        verified item with the highest seq wins. With ``newer_than`` the lookup ends as soon as
        one verified item with a higher seq is in (a poll wants news, not the last straggling
        node; the next poll sees anything newer still). Raises InvalidInput only for a bad key
        or salt.
        """
        if not isinstance(public_key, bytes) or len(public_key) != bep44.PUBLIC_KEY_BYTES:
            raise InvalidInput("a public key is 32 bytes")
        if len(salt) > bep44.MAX_SALT_BYTES:
            raise InvalidInput(f"salt is over {bep44.MAX_SALT_BYTES} bytes")
        target = bep44.target_id(public_key, salt)
        self.lookups += 1

        # Items verified while the lookup ran, by node: each is verified (and logged) once.
        checked: dict[Address, MutableItem | None] = {}

        def is_news(response: Response, addr: Address) -> bool:
            if newer_than is None or response.item is None or response.item.seq <= newer_than:
                return False
            node = NodeInfo(response.node_id, *addr)
            checked[addr] = self._checked_item(response, public_key, node)
            return checked[addr] is not None

        answered, queried = await self.traversal.run(
            target, lambda tid: krpc.build_get(tid, self.node_id, target), salt, "get", is_news
        )
        best: MutableItem | None = None
        holders: list[TokenHolder] = []
        for node, response in answered:
            if node.addr in checked:
                item = checked[node.addr]
            else:
                item = self._checked_item(response, public_key, node)
            if item is not None:
                if best is None or item.seq > best.seq:
                    best = item
                elif item.seq == best.seq and item.value != best.value:
                    # BEP 44 leaves equal-seq conflicts open; protocol.md §6 keeps the first.
                    self.log.warning(
                        "node %s:%d holds a different value at seq %d for %s",
                        *node.addr,
                        item.seq,
                        public_key.hex()[:16],
                    )
            if response.token is not None and len(holders) < self.k:
                seq = item.seq if item is not None else (None if response.item else response.seq)
                holders.append(TokenHolder(node, response.token, seq))
        self.last_lookup_responders = len(answered)
        self.log.debug(
            "get %s: %d answered, %d queried, seq %s",
            target.hex(),
            len(answered),
            queried,
            best.seq if best else None,
        )
        return GetResult(best, len(answered), tuple(holders), target, queried)

    async def put_mutable(
        self, item: MutableItem, prior: GetResult | None = None, *, cas: int | None = None
    ) -> PutResult:
        """Store the pre-signed ``item`` on the k closest token holders (BEP 44 put).

        The item is verified first (raising InvalidInput/InvalidSignature/TooLarge: a bad item
        is never sent). Without ``prior`` a get collects the write tokens. Nodes that refuse
        (e.g. error 302, they hold a higher seq) count as not stored; nothing a peer does raises.
        """
        bep44.verify_item(item)
        self.puts += 1
        if prior is None:
            prior = await self.get_mutable(item.public_key, item.salt)
        elif prior.target and prior.target != item.target:
            raise InvalidInput("the prior lookup was for another target")
        holders = prior.tokens[: self.k]

        def builder(holder: TokenHolder) -> Callable[[bytes], bytes]:
            return lambda tid: krpc.build_put(tid, self.node_id, holder.token, item, cas=cas)

        replies = await asyncio.gather(
            *(
                self.transport.query(holder.node.addr, builder(holder), item.salt, "put")
                for holder in holders
            )
        )
        stored = 0
        errors: list[int] = []
        for holder, reply in zip(holders, replies, strict=True):
            if isinstance(reply, Response):
                stored += 1
            elif isinstance(reply, ErrorReply):
                errors.append(reply.code)
                level = logging.INFO if reply.code == krpc.ERROR_SEQ_TOO_LOW else logging.WARNING
                self.log.log(
                    level,
                    "put seq %d refused by %s:%d: %d %s",
                    item.seq,
                    *holder.node.addr,
                    reply.code,
                    reply.message,
                )
        self.log.debug("put seq %d: stored on %d of %d", item.seq, stored, len(holders))
        return PutResult(stored, len(holders), tuple(errors))

    # -- building blocks for other BEP 5 queries (dht/peers.py) ----------------------------

    async def lookup(
        self, target: bytes, build: Callable[[bytes], bytes], method: str
    ) -> list[tuple[NodeInfo, Response]]:
        """Query toward ``target`` with the queries ``build(tid)`` returns (BEP 5 lookup).

        Returns every node that answered with its response, closest to ``target`` first.
        """
        answered, queried = await self.traversal.run(target, build, b"", method)
        self.log.debug("lookup %s: %d answered, %d queried", target.hex(), len(answered), queried)
        return answered

    async def query(
        self, addr: Address, build: Callable[[bytes], bytes], method: str
    ) -> Message | None:
        """Send one ``method`` query to ``addr``; return its reply, or None if unanswered."""
        return await self.transport.query(addr, build, b"", method)

    def _checked_item(
        self, response: Response, public_key: bytes, node: NodeInfo
    ) -> MutableItem | None:
        """Return the response's item if it has the wanted key and verifies, else log and None."""
        item = response.item
        if item is None:
            return None
        if item.public_key != public_key:
            self.log.warning("node %s:%d returned an item under another key", *node.addr)
            return None
        try:
            bep44.verify_item(item)
        except InvalidInput as exc:
            self.log.warning(
                "node %s:%d returned an invalid item (seq %d): %s", *node.addr, item.seq, exc
            )
            return None
        return item
