"""KRPC messages for BEP 44: building, parsing and refusing malformed peer input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarmfeed.core import bencoding
from swarmfeed.core.bep44 import sign_item, verify_item
from swarmfeed.dht import krpc
from swarmfeed.dht.krpc import ErrorReply, NodeInfo, Query, Response
from swarmfeed.errors import BencodeError, InvalidInput

SEED = bytes(range(32))
NODE_ID = b"N" * 20
OTHER_ID = b"O" * 20
TARGET = b"T" * 20
TID = b"\x00\x07"
HEAD = bencoding.encode({"ih": b"i" * 20, "n": 3})


def test_get_is_a_read_only_query() -> None:
    message = bencoding.decode(krpc.build_get(TID, NODE_ID, TARGET))
    assert message == {
        b"t": TID,
        b"y": b"q",
        b"q": b"get",
        b"ro": 1,  # BEP 43
        b"a": {b"id": NODE_ID, b"target": TARGET},
    }
    with_seq = bencoding.decode(krpc.build_get(TID, NODE_ID, TARGET, seq=4))
    assert with_seq[b"a"][b"seq"] == 4
    assert b"ro" not in bencoding.decode(krpc.build_get(TID, NODE_ID, TARGET, read_only=False))


def test_get_refuses_bad_ids() -> None:
    with pytest.raises(InvalidInput):
        krpc.build_get(TID, NODE_ID[:19], TARGET)
    with pytest.raises(InvalidInput):
        krpc.build_get(TID, NODE_ID, TARGET + b"x")


def test_put_embeds_the_signed_value_verbatim() -> None:
    item = sign_item(SEED, HEAD, 9)
    raw = krpc.build_put(TID, NODE_ID, b"tok", item)
    assert b"1:v" + HEAD in raw  # v is the bencoded dict itself, not a string holding it
    message = bencoding.decode(raw)
    assert message[b"q"] == b"put"
    assert message[b"ro"] == 1
    assert message[b"a"] == {
        b"id": NODE_ID,
        b"k": item.public_key,
        b"seq": 9,
        b"sig": item.signature,
        b"token": b"tok",
        b"v": {b"ih": b"i" * 20, b"n": 3},
    }
    salted = sign_item(SEED, HEAD, 9, b"salt")
    args = bencoding.decode(krpc.build_put(TID, NODE_ID, b"tok", salted, cas=8))[b"a"]
    assert args[b"salt"] == b"salt"
    assert args[b"cas"] == 8


def test_find_node() -> None:
    message = bencoding.decode(krpc.build_find_node(TID, NODE_ID, TARGET))
    assert message[b"q"] == b"find_node"
    assert message[b"a"] == {b"id": NODE_ID, b"target": TARGET}


def test_compact_nodes_round_trip() -> None:
    nodes = [NodeInfo(b"a" * 20, "127.0.0.2", 6881), NodeInfo(b"b" * 20, "10.1.2.3", 65535)]
    packed = krpc.encode_nodes(nodes)
    assert len(packed) == 2 * krpc.COMPACT_NODE_BYTES
    assert packed[20:26] == bytes([127, 0, 0, 2, 0x1A, 0xE1])
    assert krpc.decode_nodes(packed) == tuple(nodes)
    assert nodes[0].addr == ("127.0.0.2", 6881)


def test_compact_nodes_skip_unusable_and_refuse_bad_lengths() -> None:
    zero_port = b"z" * 20 + bytes([1, 2, 3, 4, 0, 0])
    unspecified = b"u" * 20 + bytes([0, 0, 0, 0, 0, 80])
    assert krpc.decode_nodes(zero_port + unspecified) == ()
    with pytest.raises(BencodeError):
        krpc.decode_nodes(b"x" * 25)
    six = b"s" * 20 + bytes(15) + b"\x01" + b"\x00\x50"
    assert krpc.decode_nodes(six, ipv6=True) == (NodeInfo(b"s" * 20, "::1", 80),)


def test_parse_get_response_with_item() -> None:
    item = sign_item(SEED, HEAD, 3, b"salty")
    nodes = [NodeInfo(b"a" * 20, "127.0.0.2", 6881)]
    data = krpc.build_response(TID, OTHER_ID, token=b"tk", nodes=nodes, item=item)
    message = krpc.parse_message(data, salt=b"salty")
    assert isinstance(message, Response)
    assert message.tid == TID
    assert message.node_id == OTHER_ID
    assert message.nodes == tuple(nodes)
    assert message.token == b"tk"
    assert message.seq == 3
    assert message.item == item
    assert message.item is not None
    verify_item(message.item)


def test_parse_response_with_seq_only_and_immutable_value() -> None:
    data = bencoding.encode({"t": TID, "y": "r", "r": {"id": OTHER_ID, "seq": 7, "v": "x"}})
    message = krpc.parse_message(data)
    assert isinstance(message, Response)
    assert message.item is None
    assert message.seq == 7
    assert message.token is None
    assert message.nodes == ()


def test_parse_error_and_query() -> None:
    error = krpc.parse_message(krpc.build_error(TID, 302, "sequence number less than current"))
    assert error == ErrorReply(TID, krpc.ERROR_SEQ_TOO_LOW, "sequence number less than current")
    odd = bencoding.encode({"t": TID, "y": "e", "e": [206, b"\xff"]})
    assert krpc.parse_message(odd) == ErrorReply(TID, 206, "\ufffd")
    query = krpc.parse_message(krpc.build_get(TID, NODE_ID, TARGET))
    assert query == Query(TID, b"get", {b"id": NODE_ID, b"target": TARGET}, read_only=True)


def _response(body: dict[str, object]) -> bytes:
    return bencoding.encode({"t": TID, "y": "r", "r": body})


GOOD = sign_item(SEED, HEAD, 3)
ITEM_FIELDS = {"k": GOOD.public_key, "seq": 3, "sig": GOOD.signature, "v": {"n": 3}}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        b"le",
        b"i3e",
        bencoding.encode({"y": "r", "r": {"id": OTHER_ID}}),  # no t
        bencoding.encode({"t": 5, "y": "r", "r": {"id": OTHER_ID}}),
        bencoding.encode({"t": TID, "y": "x"}),
        bencoding.encode({"t": TID, "y": "r", "r": []}),
        bencoding.encode({"t": TID, "y": "e", "e": []}),
        bencoding.encode({"t": TID, "y": "e", "e": ["201", "x"]}),
        bencoding.encode({"t": TID, "y": "q", "q": "get", "a": 1}),
        _response({"id": b"short"}),
        _response({"id": OTHER_ID, "nodes": b"x" * 27}),
        _response({"id": OTHER_ID, "token": 5}),
        _response({"id": OTHER_ID, "seq": -1}),
        _response({"id": OTHER_ID} | ITEM_FIELDS | {"k": b"short"}),
        _response({"id": OTHER_ID} | ITEM_FIELDS | {"sig": b"short"}),
        _response({"id": OTHER_ID} | {k: v for k, v in ITEM_FIELDS.items() if k != "sig"}),
        _response({"id": OTHER_ID} | {k: v for k, v in ITEM_FIELDS.items() if k != "seq"}),
        b"d1:t2:ab1:y1:r1:rd2:id20:" + OTHER_ID + b"ee",  # unsorted keys
        b"d1:rd2:id20:" + OTHER_ID + b"e1:t2:ab1:y1:r" + b"e" * 2,  # trailing bytes
        b"d1:t" + b"9" * 9000 + b":",  # over the size limit
    ],
)
def test_malformed_messages_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidInput):
        krpc.parse_message(data)


@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_parser(data: bytes) -> None:
    with contextlib.suppress(InvalidInput):
        krpc.parse_message(data)


@given(
    st.dictionaries(
        st.sampled_from([b"id", b"nodes", b"token", b"k", b"seq", b"sig", b"v"]),
        st.integers() | st.binary(max_size=60),
        max_size=7,
    )
)
def test_random_response_bodies_never_crash_the_parser(body: dict[bytes, object]) -> None:
    with contextlib.suppress(InvalidInput):
        krpc.parse_message(_response({k.decode(): v for k, v in body.items()}))


def test_get_peers_and_announce_peer_queries() -> None:
    message = bencoding.decode(krpc.build_get_peers(TID, NODE_ID, TARGET))
    assert message == {
        b"t": TID,
        b"y": b"q",
        b"q": b"get_peers",
        b"ro": 1,
        b"a": {b"id": NODE_ID, b"info_hash": TARGET},
    }
    announce = bencoding.decode(krpc.build_announce_peer(TID, NODE_ID, TARGET, 7001, b"tok"))
    assert announce[b"q"] == b"announce_peer"
    assert announce[b"a"] == {
        b"id": NODE_ID,
        b"implied_port": 0,  # BEP 5: the port given is the one to store (the push channel's)
        b"info_hash": TARGET,
        b"port": 7001,
        b"token": b"tok",
    }
    for port in (0, 65536):
        with pytest.raises(InvalidInput, match="port"):
            krpc.build_announce_peer(TID, NODE_ID, TARGET, port, b"tok")
    with pytest.raises(InvalidInput):
        krpc.build_get_peers(TID, NODE_ID, TARGET[:19])


def test_peer_values_are_parsed_leniently_but_bounded() -> None:
    raw = krpc.build_response(
        TID, OTHER_ID, token=b"tk", peers=[("127.0.0.9", 7001), ("::1", 7002)]
    )
    reply = krpc.parse_message(raw)
    assert isinstance(reply, Response)
    assert reply.peers == (("127.0.0.9", 7001), ("::1", 7002))
    assert reply.token == b"tk"
    odd = [b"\x7f\x00\x00\x01\x00\x00", b"\x00" * 6, b"short", 5, b"\x7f\x00\x00\x02\x1b\x59"]
    assert krpc.decode_peers(odd) == (("127.0.0.2", 7001),)
    assert len(krpc.decode_peers([b"\x7f\x00\x00\x01\x1b\x59"] * 1000)) == krpc.MAX_PEER_VALUES
    with pytest.raises(BencodeError, match="values"):
        krpc.decode_peers(b"\x7f\x00\x00\x01\x1b\x59")
