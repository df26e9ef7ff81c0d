"""KRPC messages (BEP 5): BEP 44 ``get``/``put`` and BEP 5 ``get_peers``/``announce_peer``.

Pure building and strict parsing.

Every message is a bencoded dict with a transaction id ``t`` and a type ``y``: ``q`` (query,
method in ``q``, arguments in ``a``), ``r`` (response, values in ``r``) or ``e`` (error,
``[code, message]`` in ``e``). swarmfeed queries as a read-only node (BEP 43: ``"ro": 1`` at
the top level), so other nodes neither add it to their routing tables nor query it.

Parsing never trusts peer input: anything malformed raises InvalidInput (BencodeError for
bad encoding) and the caller drops the packet.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from swarmfeed.core import bencoding
from swarmfeed.core.bep44 import PUBLIC_KEY_BYTES, SIGNATURE_BYTES, MutableItem
from swarmfeed.errors import BencodeError, InvalidInput

NODE_ID_BYTES = 20
COMPACT_NODE_BYTES = 26
"""BEP 5 compact node info: 20-byte id, 4-byte IPv4 address, 2-byte port (big endian)."""
COMPACT_NODE6_BYTES = 38
"""BEP 32 compact node info for IPv6 (``nodes6``): 20-byte id, 16-byte address, 2-byte port."""
MAX_MESSAGE_BYTES = 8192
"""A get response carries at most a 1,000-byte ``v`` plus a few hundred bytes of nodes."""
COMPACT_PEER_BYTES = 6
"""BEP 5 compact peer info: 4-byte IPv4 address, 2-byte port (big endian)."""
COMPACT_PEER6_BYTES = 18
"""BEP 32 compact peer info for IPv6: 16-byte address, 2-byte port."""
MAX_PEER_VALUES = 256
"""At most this many ``values`` of one get_peers response are read."""

# Error codes: BEP 5 (201-204) and BEP 44 (205-207, 301, 302).
ERROR_GENERIC = 201
ERROR_SERVER = 202
ERROR_PROTOCOL = 203
ERROR_METHOD_UNKNOWN = 204
ERROR_MESSAGE_TOO_BIG = 205
ERROR_INVALID_SIGNATURE = 206
ERROR_SALT_TOO_BIG = 207
ERROR_CAS_MISMATCH = 301
ERROR_SEQ_TOO_LOW = 302


@dataclass(frozen=True)
class NodeInfo:
    """A DHT node as compact node info describes it: its id and UDP endpoint."""

    node_id: bytes
    host: str
    port: int

    @property
    def addr(self) -> tuple[str, int]:
        """Return the node's ``(host, port)`` UDP endpoint."""
        return (self.host, self.port)


@dataclass(frozen=True)
class Response:
    """A KRPC response (``y`` = ``r``) with the fields BEP 5 and BEP 44 define for get/put.

    ``item`` is set when the response carries ``k``, ``seq``, ``sig`` and ``v``; responses do
    not carry the salt (BEP 44), so ``item.salt`` is the salt given to the parser. ``seq`` is
    the responder's stored seq, also when it sent no ``v`` (a get with ``seq`` in BEP 44).
    """

    tid: bytes
    node_id: bytes
    nodes: tuple[NodeInfo, ...] = ()
    token: bytes | None = None
    item: MutableItem | None = None
    seq: int | None = None
    peers: tuple[tuple[str, int], ...] = ()
    """Peers of a get_peers response (BEP 5 ``values``), as ``(host, port)``."""


@dataclass(frozen=True)
class ErrorReply:
    """A KRPC error (``y`` = ``e``): a BEP 5 / BEP 44 code and the peer's message."""

    tid: bytes
    code: int
    message: str


@dataclass(frozen=True)
class Query:
    """A KRPC query (``y`` = ``q``): the method, its raw arguments and BEP 43's ``ro`` flag."""

    tid: bytes
    method: bytes
    args: dict[bytes, Any]
    read_only: bool = False


Message = Response | ErrorReply | Query


def build_get(
    tid: bytes, node_id: bytes, target: bytes, *, seq: int | None = None, read_only: bool = True
) -> bytes:
    """Return a BEP 44 ``get`` query for ``target`` (with ``seq``: only newer items wanted)."""
    _check_id(node_id, "node id")
    _check_id(target, "target")
    args: dict[str, Any] = {"id": node_id, "target": target}
    if seq is not None:
        args["seq"] = seq
    return _query(tid, "get", args, read_only)


def build_put(
    tid: bytes,
    node_id: bytes,
    token: bytes,
    item: MutableItem,
    *,
    cas: int | None = None,
    read_only: bool = True,
) -> bytes:
    """Return a BEP 44 ``put`` query storing the pre-signed ``item`` (no check is made here).

    ``v`` is embedded as the bencoded value itself, so ``item.value`` must be canonical
    bencoding; ``cas`` asks the node to store only if its current seq equals ``cas``.
    """
    _check_id(node_id, "node id")
    args: dict[str, Any] = {
        "id": node_id,
        "k": item.public_key,
        "seq": item.seq,
        "sig": item.signature,
        "token": token,
        # Decoding then encoding canonical bytes returns the same bytes: "v" goes out exactly
        # as it was signed (BEP 44).
        "v": bencoding.decode(item.value),
    }
    if item.salt:
        args["salt"] = item.salt
    if cas is not None:
        args["cas"] = cas
    return _query(tid, "put", args, read_only)


def build_get_peers(
    tid: bytes, node_id: bytes, info_hash: bytes, *, read_only: bool = True
) -> bytes:
    """Return a BEP 5 ``get_peers`` query for ``info_hash``."""
    _check_id(node_id, "node id")
    _check_id(info_hash, "info hash")
    return _query(tid, "get_peers", {"id": node_id, "info_hash": info_hash}, read_only)


def build_announce_peer(
    tid: bytes,
    node_id: bytes,
    info_hash: bytes,
    port: int,
    token: bytes,
    *,
    read_only: bool = True,
) -> bytes:
    """Return a BEP 5 ``announce_peer`` of ``port`` (``implied_port`` 0: the port given counts)."""
    _check_id(node_id, "node id")
    _check_id(info_hash, "info hash")
    if not 0 < port < 1 << 16:
        raise InvalidInput(f"port {port} is out of range")
    args = {"id": node_id, "implied_port": 0, "info_hash": info_hash, "port": port, "token": token}
    return _query(tid, "announce_peer", args, read_only)


def decode_peers(values: Any) -> tuple[tuple[str, int], ...]:
    """Decode BEP 5 ``values`` (compact peer info; BEP 32's 18-byte IPv6 form too).

    Entries of another length, with port 0 or an unspecified address are skipped; at most
    ``MAX_PEER_VALUES`` are read. A ``values`` that is not a list raises BencodeError.
    """
    if not isinstance(values, list):
        raise BencodeError("values must be a list")
    peers: list[tuple[str, int]] = []
    for entry in values[:MAX_PEER_VALUES]:
        if not isinstance(entry, bytes) or len(entry) not in (
            COMPACT_PEER_BYTES,
            COMPACT_PEER6_BYTES,
        ):
            continue
        packed, port = entry[:-2], int.from_bytes(entry[-2:], "big")
        address = (
            ipaddress.IPv4Address(packed) if len(packed) == 4 else ipaddress.IPv6Address(packed)
        )
        if port and not address.is_unspecified:
            peers.append((str(address), port))
    return tuple(peers)


def build_find_node(tid: bytes, node_id: bytes, target: bytes, *, read_only: bool = True) -> bytes:
    """Return a BEP 5 ``find_node`` query for ``target``."""
    _check_id(node_id, "node id")
    _check_id(target, "target")
    return _query(tid, "find_node", {"id": node_id, "target": target}, read_only)


def build_response(
    tid: bytes,
    node_id: bytes,
    *,
    token: bytes | None = None,
    nodes: Iterable[NodeInfo] = (),
    item: MutableItem | None = None,
    peers: Iterable[tuple[str, int]] = (),
) -> bytes:
    """Return a KRPC response as a BEP 44 storage node would send it (used by test peers)."""
    _check_id(node_id, "node id")
    body: dict[str, Any] = {"id": node_id}
    values = [ipaddress.ip_address(host).packed + port.to_bytes(2, "big") for host, port in peers]
    if values:
        body["values"] = values
    node_list = list(nodes)
    if node_list:
        body["nodes"] = encode_nodes(node_list)
    if token is not None:
        body["token"] = token
    if item is not None:
        body["k"] = item.public_key
        body["seq"] = item.seq
        body["sig"] = item.signature
        body["v"] = bencoding.decode(item.value)
    return bencoding.encode({"t": tid, "y": "r", "r": body})


def build_error(tid: bytes, code: int, message: str) -> bytes:
    """Return a KRPC error message (BEP 5)."""
    return bencoding.encode({"t": tid, "y": "e", "e": [code, message]})


def encode_nodes(nodes: Iterable[NodeInfo]) -> bytes:
    """Return BEP 5 compact node info for IPv4 ``nodes``."""
    out = bytearray()
    for node in nodes:
        _check_id(node.node_id, "node id")
        address = ipaddress.IPv4Address(node.host)
        out += node.node_id + address.packed + node.port.to_bytes(2, "big")
    return bytes(out)


def decode_nodes(data: bytes, *, ipv6: bool = False) -> tuple[NodeInfo, ...]:
    """Decode compact node info (BEP 5 ``nodes``; BEP 32 ``nodes6`` when ``ipv6``).

    Entries with port 0 or an unspecified address are skipped; a length that is not a
    multiple of the entry size raises BencodeError.
    """
    size = COMPACT_NODE6_BYTES if ipv6 else COMPACT_NODE_BYTES
    if len(data) % size:
        raise BencodeError(f"compact node info is {len(data)} bytes, not a multiple of {size}")
    nodes = []
    for offset in range(0, len(data), size):
        entry = data[offset : offset + size]
        node_id, packed, port = entry[:20], entry[20:-2], int.from_bytes(entry[-2:], "big")
        address = ipaddress.IPv6Address(packed) if ipv6 else ipaddress.IPv4Address(packed)
        if port == 0 or address.is_unspecified:
            continue
        nodes.append(NodeInfo(node_id, str(address), port))
    return tuple(nodes)


def decode_envelope(data: bytes) -> dict[bytes, Any]:
    """Decode a datagram into its top-level KRPC dict or raise InvalidInput."""
    raw = bencoding.decode(data, max_size=MAX_MESSAGE_BYTES)
    if not isinstance(raw, dict):
        raise BencodeError("a KRPC message is a dictionary")
    return raw


def transaction_id(raw: dict[bytes, Any]) -> bytes:
    """Return the transaction id ``t`` of a decoded message or raise BencodeError."""
    return bencoding.binary(raw.get(b"t"), "KRPC t")


def parse_message(data: bytes, *, salt: bytes = b"") -> Message:
    """Parse one KRPC datagram; ``salt`` is the salt of the item a get asked for."""
    return message_from_dict(decode_envelope(data), salt=salt)


def message_from_dict(raw: dict[bytes, Any], *, salt: bytes = b"") -> Message:
    """Return the typed message of a decoded KRPC dict or raise InvalidInput."""
    tid = transaction_id(raw)
    kind = raw.get(b"y")
    if kind == b"r":
        return _response(tid, bencoding.dictionary(raw.get(b"r"), "KRPC r"), salt)
    if kind == b"e":
        return _error(tid, raw.get(b"e"))
    if kind == b"q":
        method = bencoding.binary(raw.get(b"q"), "KRPC q")
        args = bencoding.dictionary(raw.get(b"a"), "KRPC a")
        return Query(tid, method, args, raw.get(b"ro") == 1)
    raise InvalidInput(f"unknown KRPC message type {kind!r}")


def _response(tid: bytes, body: dict[bytes, Any], salt: bytes) -> Response:
    """Return the Response for the ``r`` dict ``body``."""
    node_id = bencoding.binary(body.get(b"id"), "response id", length=NODE_ID_BYTES)
    nodes: tuple[NodeInfo, ...] = ()
    if b"nodes" in body:
        nodes += decode_nodes(bencoding.binary(body[b"nodes"], "response nodes"))
    if b"nodes6" in body:
        nodes += decode_nodes(bencoding.binary(body[b"nodes6"], "response nodes6"), ipv6=True)
    token = bencoding.binary(body[b"token"], "response token") if b"token" in body else None
    seq = bencoding.integer(body[b"seq"], "response seq", minimum=0) if b"seq" in body else None
    item = None
    # BEP 44: a mutable item comes as k, seq, sig and v; "v" alone is an immutable item.
    if b"k" in body and b"v" in body:
        if seq is None:
            raise BencodeError("mutable item without seq")
        item = MutableItem(
            public_key=bencoding.binary(body[b"k"], "response k", length=PUBLIC_KEY_BYTES),
            seq=seq,
            value=bencoding.encode(body[b"v"]),
            signature=bencoding.binary(body.get(b"sig"), "response sig", length=SIGNATURE_BYTES),
            salt=salt,
        )
    peers = decode_peers(body[b"values"]) if b"values" in body else ()
    return Response(tid, node_id, nodes, token, item, seq, peers)


def _error(tid: bytes, body: Any) -> ErrorReply:
    """Return the ErrorReply for the ``e`` list ``body`` (``[code, message]``)."""
    if not isinstance(body, list) or not body:
        raise BencodeError("KRPC e must be a non-empty list")
    code = bencoding.integer(body[0], "error code")
    message = body[1] if len(body) > 1 and isinstance(body[1], bytes) else b""
    return ErrorReply(tid, code, message.decode("utf-8", errors="replace"))


def _query(tid: bytes, method: str, args: dict[str, Any], read_only: bool) -> bytes:
    """Return the bencoded query ``method`` with ``args`` (BEP 43 ``ro`` when read-only)."""
    message: dict[str, Any] = {"t": tid, "y": "q", "q": method, "a": args}
    if read_only:
        message["ro"] = 1
    return bencoding.encode(message)


def _check_id(value: bytes, name: str) -> None:
    """Raise InvalidInput unless ``value`` is a 20-byte id."""
    if not isinstance(value, bytes) or len(value) != NODE_ID_BYTES:
        raise InvalidInput(f"{name} must be {NODE_ID_BYTES} bytes")
