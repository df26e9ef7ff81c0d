"""A thin asyncio BEP 44 client: iterative ``get`` toward a target, ``put`` of signed items.

The client is a read-only DHT node (BEP 43) on its own UDP socket; it does not use
libtorrent. A lookup (BEP 5 "Kademlia", BEP 44 "get"/"put") starts from the nodes the
``seeds`` callable returns, queries ``alpha`` nodes at a time, learns closer nodes from each
response's compact node info, and stops when the ``k`` closest known nodes have all answered
(nothing closer is left to ask) or when its query or time budget runs out. Items are verified
before they are returned and before they are sent. Peers that misbehave are logged and
ignored: nothing a peer sends raises.

Politeness: libtorrent drops everything from an IP for ``dht_block_timeout`` (300 s) once it
has sent a node ``10 * dht_block_ratelimit`` (default 50) packets within 10 s (measured on
2.1.1: the 50th packet of a burst goes unanswered, and other ports of that IP are blocked
too). Packets to one IP address are therefore spaced at least ``min_interval`` (0.3 s)
apart: at most 33 per 10 s, leaving room for the local libtorrent session's own queries.
Each address has its own line (pacing.py), and a query cancelled while waiting for its turn
gives its turn to the next one.

Read-only caveat: libtorrent (measured on 2.1.1) adds the sender of an accepted ``put`` to its
routing table although the query carries BEP 43's ``"ro": 1``, so other nodes' lookups may
then query this socket. The client answers such queries with a small, rate-limited KRPC
error ("read-only node"): libtorrent counts an error reply as a failed node and drops it
sooner, and other lookups move on at once instead of waiting for a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import random
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from swarmfeed.core import bep44
from swarmfeed.core.bep44 import MutableItem
from swarmfeed.dht import krpc
from swarmfeed.dht.krpc import ErrorReply, Message, NodeInfo, Query, Response
from swarmfeed.dht.pacing import Pacer
from swarmfeed.errors import InvalidInput, SwarmfeedError

Address = tuple[str, int]

MAX_SEEDS = 64
"""At most this many seed endpoints start one lookup (a random sample when there are more)."""
MAX_CANDIDATES = 256
"""At most this many nodes are remembered during one lookup."""
RESOLVE_TTL = 600.0
"""Seconds a resolved seed host name (e.g. a bootstrap router) is cached."""
SILENT_TTL = 300.0
"""Seconds a node that left a query unanswered (or slow past the short timeout while the lookup
finished without it) is skipped by later lookups. Read-only clients
(BEP 43, like this one) sit in libtorrent's routing tables and never answer: without this every
lookup would wait a full query timeout for each of them (measured with 30 s instead: post ->
visible median 2.8 s instead of 1.2 s in the 30-follower benchmark)."""
MAX_TID_BYTES = 16
"""Queries with a longer transaction id get no reply (nothing large is ever echoed)."""
REPLY_INTERVAL = 2.0
"""Seconds between two error replies to queries from one IP address."""
MAX_REPLIES = 20
"""Error replies to queries sent per second at most."""


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


@dataclass
class _Pending:
    """A query awaiting its response: who was asked and for which salt."""

    addr: Address
    salt: bytes
    future: asyncio.Future[Message | None]


@dataclass
class _Candidate:
    """A node known during one lookup."""

    addr: Address
    node_id: bytes | None
    order: int
    state: str = "new"  # new -> asked -> (slow ->) answered | failed
    response: Response | None = field(default=None, repr=False)
    asked_at: float = 0.0


class _Protocol(asyncio.DatagramProtocol):
    """Hands datagrams to the client; never lets a peer's packet raise into the loop."""

    def __init__(self, client: DhtClient) -> None:
        self.client = client

    def datagram_received(self, data: bytes, addr: Any) -> None:
        """Pass one datagram to the client, logging anything unexpected."""
        try:
            self.client._on_datagram(data, addr)
        except Exception:  # a bug here must not kill the socket
            self.client.log.exception("error handling a datagram from %s", addr)

    def error_received(self, exc: Exception) -> None:
        """Log an ICMP error (port unreachable and the like)."""
        self.client.log.debug("DHT socket error: %s", exc)


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
        self._transport: asyncio.DatagramTransport | None = None
        self._family = socket.AF_INET
        self._pending: dict[bytes, _Pending] = {}
        self.queries_sent = 0
        """KRPC queries sent since start (metrics)."""
        self.lookups = 0
        """Item lookups (``get_mutable``) since start."""
        self.puts = 0
        """Item publications (``put_mutable``) since start."""
        self._next_tid = random.randrange(1 << 16)
        self._pacer = Pacer(min_interval)
        self._resolved: dict[Address, tuple[float, list[Address]]] = {}
        self._local: Address | None = None
        self._silent: dict[Address, float] = {}
        self._replied: dict[str, float] = {}
        self._reply_window: tuple[float, int] = (0.0, 0)
        self.last_lookup_responders: int | None = None
        """Nodes that answered the latest lookup (None before the first): 0 means cut off."""

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the UDP socket on ``(bind_host, 0)``."""
        if self._transport is not None:
            return
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(self.bind_host, 0)
        )
        self._transport = transport
        sock = transport.get_extra_info("socket")
        self._family = sock.family if sock is not None else socket.AF_INET
        host, port = transport.get_extra_info("sockname")[:2]
        self._local = _address(str(host), int(port))

    async def close(self) -> None:
        """Close the socket; queries still waiting end as unanswered."""
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()
        self._pacer.close()
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_result(None)
        self._pending.clear()

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
        if self._transport is None:
            raise SwarmfeedError("DhtClient is not started")
        host, port = self._transport.get_extra_info("sockname")[:2]
        return (str(host), int(port))

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

        answered, queried = await self._lookup(
            target, lambda tid: krpc.build_get(tid, self.node_id, target), salt, is_news
        )
        best: MutableItem | None = None
        holders: list[TokenHolder] = []
        for candidate in answered:
            response = candidate.response
            assert response is not None  # answered candidates always hold their response
            node = NodeInfo(response.node_id, *candidate.addr)
            if candidate.addr in checked:
                item = checked[candidate.addr]
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
            *(self._query(holder.node.addr, builder(holder), item.salt) for holder in holders)
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
        self, target: bytes, build: Callable[[bytes], bytes]
    ) -> list[tuple[NodeInfo, Response]]:
        """Query toward ``target`` with the queries ``build(tid)`` returns (BEP 5 lookup).

        Returns every node that answered with its response, closest to ``target`` first.
        """
        answered, queried = await self._lookup(target, build, b"")
        self.log.debug("lookup %s: %d answered, %d queried", target.hex(), len(answered), queried)
        result = []
        for candidate in answered:
            assert candidate.response is not None  # answered candidates hold their response
            node = NodeInfo(candidate.response.node_id, *candidate.addr)
            result.append((node, candidate.response))
        return result

    async def query(self, addr: Address, build: Callable[[bytes], bytes]) -> Message | None:
        """Send one query to ``addr`` and return its reply, or None if it stayed unanswered."""
        return await self._query(addr, build, b"")

    # -- lookup --------------------------------------------------------------------------

    async def _lookup(
        self,
        target: bytes,
        build: Callable[[bytes], bytes],
        salt: bytes,
        enough: Callable[[Response, Address], bool] | None = None,
    ) -> tuple[list[_Candidate], int]:
        """Query toward ``target``; return the answered nodes, closest first, and the count.

        The lookup also ends at the first reply for which ``enough`` is true.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lookup_timeout
        target_int = int.from_bytes(target, "big")
        candidates: dict[Address, _Candidate] = {}
        seeds = await self._seed_addresses()
        now = loop.time()
        self._silent = {addr: until for addr, until in self._silent.items() if until > now}
        # Skip nodes that recently stayed silent, unless nothing else is left to start from.
        for addr in [a for a in seeds if a not in self._silent] or seeds:
            candidates.setdefault(addr, _Candidate(addr, None, len(candidates)))

        def distance(c: _Candidate) -> tuple[int, int]:
            # BEP 5: XOR metric; seeds whose id is not known yet rank after every known node.
            if c.node_id is None:
                return (1 << 160, c.order)
            return (int.from_bytes(c.node_id, "big") ^ target_int, c.order)

        inflight: dict[asyncio.Task[Message | None], _Candidate] = {}
        queried = 0
        try:
            while True:
                # A node silent for short_timeout is "slow": the lookup no longer waits for it
                # (it may still answer) and asks the next closest instead, as libtorrent does.
                now = loop.time()
                for candidate in inflight.values():
                    if (
                        candidate.state == "asked"
                        and now - candidate.asked_at >= self.short_timeout
                    ):
                        candidate.state = "slow"
                ranked = sorted(
                    (c for c in candidates.values() if c.state not in ("failed", "slow")),
                    key=distance,
                )
                closest = ranked[: self.k]
                if all(c.state == "answered" for c in closest) and (closest or not inflight):
                    break
                waiting = sum(1 for c in inflight.values() if c.state == "asked")
                for candidate in closest:
                    if waiting >= self.alpha or queried >= self.max_queries:
                        break
                    if candidate.state == "new":
                        candidate.state = "asked"
                        # The short timeout runs from the send, after any pacing wait.
                        candidate.asked_at = self._pacer.estimate(candidate.addr[0])
                        queried += 1
                        waiting += 1
                        task = asyncio.ensure_future(self._query(candidate.addr, build, salt))
                        inflight[task] = candidate
                remaining = deadline - now
                if not inflight or remaining <= 0:
                    break
                next_slow = min(
                    (
                        c.asked_at + self.short_timeout - now
                        for c in inflight.values()
                        if c.state == "asked"
                    ),
                    default=remaining,
                )
                done, _ = await asyncio.wait(
                    inflight,
                    timeout=max(0.0, min(remaining, next_slow)),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                finished = False
                for task in done:
                    candidate = inflight.pop(task)
                    reply = task.result()
                    self._absorb(candidate, reply, candidates)
                    if enough is not None and isinstance(reply, Response):
                        finished = finished or enough(reply, candidate.addr)
                if finished:
                    break
        finally:
            now = loop.time()
            answered_count = sum(1 for c in candidates.values() if c.state == "answered")
            for task, candidate in inflight.items():
                task.cancel()
                if candidate.state == "slow" and answered_count >= self.k:
                    # It left the query unanswered while k others answered. (In a swarm of
                    # fewer nodes, one slow reply must not cost a node for SILENT_TTL.)
                    self._silent[candidate.addr] = now + SILENT_TTL
            if inflight:
                await asyncio.gather(*inflight, return_exceptions=True)
        answered = [c for c in candidates.values() if c.state == "answered"]
        answered.sort(key=distance)
        return answered, queried

    def _absorb(
        self, candidate: _Candidate, reply: Message | None, candidates: dict[Address, _Candidate]
    ) -> None:
        """Record one reply of a lookup and remember the nodes it names."""
        if not isinstance(reply, Response):
            candidate.state = "failed"
            if reply is None:
                self._silent[candidate.addr] = asyncio.get_running_loop().time() + SILENT_TTL
            if isinstance(reply, ErrorReply):
                self.log.info(
                    "node %s:%d answered error %d %s", *candidate.addr, reply.code, reply.message
                )
            return
        candidate.state = "answered"
        candidate.response = reply
        candidate.node_id = reply.node_id  # the id it claims beats the id we were told
        for node in reply.nodes:
            if node.node_id == self.node_id or not self._same_family(node.host):
                continue
            addr = _address(node.host, node.port)
            if addr == self._local or addr in self._silent:
                continue
            known = candidates.get(addr)
            if known is None and len(candidates) < MAX_CANDIDATES:
                candidates[addr] = _Candidate(addr, node.node_id, len(candidates))
            elif known is not None and known.node_id is None:
                known.node_id = node.node_id

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

    async def _seed_addresses(self) -> list[Address]:
        """Return the resolved, deduplicated seed endpoints for one lookup."""
        try:
            seeds = list(self.seeds())
        except Exception:  # the callable belongs to the caller; a lookup goes on without it
            self.log.exception("the DHT seed callable failed")
            return []
        if len(seeds) > MAX_SEEDS:
            seeds = random.sample(seeds, MAX_SEEDS)
        addresses: list[Address] = []
        for host, port in seeds:
            if not isinstance(port, int) or not 0 < port < 1 << 16:
                continue
            for addr in await self._resolve(str(host), port):
                if addr not in addresses:
                    addresses.append(addr)
        return addresses

    async def _resolve(self, host: str, port: int) -> list[Address]:
        """Return ``host`` as literal addresses of the socket's family (DNS is cached)."""
        try:
            return [_address(host, port)] if self._same_family(host) else []
        except ValueError:
            pass  # a host name
        loop = asyncio.get_running_loop()
        cached = self._resolved.get((host, port))
        if cached is not None and cached[0] > loop.time():
            return cached[1]
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, family=self._family, type=socket.SOCK_DGRAM),
                self.timeout,
            )
        except (OSError, TimeoutError) as exc:
            self.log.info("cannot resolve DHT seed %s:%d: %s", host, port, exc)
            return []
        found = []
        for info in infos:
            addr = _address(str(info[4][0]), int(info[4][1]))
            if addr not in found:
                found.append(addr)
        self._resolved[(host, port)] = (loop.time() + RESOLVE_TTL, found)
        return found

    def _same_family(self, host: str) -> bool:
        """Return whether the literal address ``host`` fits the socket (ValueError if no IP)."""
        version = ipaddress.ip_address(host).version
        return version == (6 if self._family == socket.AF_INET6 else 4)

    # -- transport -----------------------------------------------------------------------

    async def _query(
        self, addr: Address, build: Callable[[bytes], bytes], salt: bytes
    ) -> Message | None:
        """Send one query and return its reply, or None on timeout or a malformed reply."""
        if self._transport is None:
            raise SwarmfeedError("DhtClient is not started")
        loop = asyncio.get_running_loop()
        await self._pacer.wait(addr[0])
        transport = self._transport
        if transport is None:
            return None
        tid = self._new_tid()
        future: asyncio.Future[Message | None] = loop.create_future()
        self._pending[tid] = _Pending(addr, salt, future)
        try:
            transport.sendto(build(tid), addr)
            self.queries_sent += 1
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            self.log.debug("no answer from %s:%d", *addr)
            return None
        except OSError as exc:
            self.log.debug("cannot send to %s:%d: %s", *addr, exc)
            return None
        finally:
            self._pending.pop(tid, None)

    def _new_tid(self) -> bytes:
        """Return a 2-byte transaction id not in use (BEP 5: opaque, echoed by the node)."""
        while True:
            self._next_tid = (self._next_tid + 1) & 0xFFFF
            tid = self._next_tid.to_bytes(2, "big")
            if tid not in self._pending:
                return tid

    def _on_datagram(self, data: bytes, addr: Any) -> None:
        """Match a datagram to its pending query by transaction id and sender, or drop it."""
        try:
            sender = _address(str(addr[0]), int(addr[1]))
            raw = krpc.decode_envelope(data)
            tid = krpc.transaction_id(raw)
        except ValueError as exc:  # InvalidInput and BencodeError are ValueErrors
            self.log.debug("dropped a malformed datagram from %s: %s", addr, exc)
            return
        if raw.get(b"y") == b"q":
            self._refuse_query(tid, sender)
            return
        pending = self._pending.get(tid)
        if pending is None or pending.future.done() or pending.addr != sender:
            self.log.debug("dropped an unexpected datagram from %s:%d", *sender)
            return
        try:
            message = krpc.message_from_dict(raw, salt=pending.salt)
        except ValueError as exc:
            self.log.info("malformed reply from %s:%d: %s", *sender, exc)
            pending.future.set_result(None)
            return
        if not isinstance(message, Query):
            pending.future.set_result(message)

    def _refuse_query(self, tid: bytes, sender: Address) -> None:
        """Answer a query with KRPC error 201 "read-only node" (BEP 43), rate-limited.

        libtorrent adds the sender of an accepted put to its routing table despite ``"ro": 1``;
        a silent entry there costs every lookup through it a timeout (measured in a 3-node
        DHT: a page torrent found after 16 s instead of 0.7 s). An error reply makes the
        querier count a failure and drop us soon. Replies are limited to one per querier IP
        per REPLY_INTERVAL and MAX_REPLIES per second in all, so they stay far below
        libtorrent's per-IP limit (``dht_block_ratelimit``), which our own DHT node shares.
        """
        transport = self._transport
        if transport is None or len(tid) > MAX_TID_BYTES:
            return
        now = asyncio.get_running_loop().time()
        if now - self._reply_window[0] >= 1.0:
            self._reply_window = (now, 0)
        if self._reply_window[1] >= MAX_REPLIES or self._replied.get(sender[0], -1e9) > now:
            return
        if len(self._replied) > 4096:
            self._replied = {h: t for h, t in self._replied.items() if t > now}
        self._replied[sender[0]] = now + REPLY_INTERVAL
        self._reply_window = (self._reply_window[0], self._reply_window[1] + 1)
        with contextlib.suppress(OSError):
            transport.sendto(krpc.build_error(tid, krpc.ERROR_GENERIC, "read-only node"), sender)


def _address(host: str, port: int) -> Address:
    """Return ``(host, port)`` with the IP literal normalised (ValueError if not an IP)."""
    with contextlib.suppress(ValueError):
        ipv6 = ipaddress.IPv6Address(host)
        if ipv6.ipv4_mapped is not None:
            return (str(ipv6.ipv4_mapped), port)
    return (str(ipaddress.ip_address(host)), port)
