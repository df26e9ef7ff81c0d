"""Reachability rules: offline, limited or online, and which addresses the node hands out."""

from __future__ import annotations

from dataclasses import replace

import pytest

from swarmfeed.core.reachability import (
    INCOMING_GRACE,
    STARTING_GRACE,
    Facts,
    HeadPut,
    Level,
    judge,
    reachable_addresses,
    usable_listen_host,
)

ONLINE = Facts(
    dht_nodes=40,
    lookup_answered=True,
    head_put=HeadPut(seq=7, stored=8, attempted=8, at=1000.0),
    incoming_connections=3,
    listen_host="0.0.0.0",
    listen_port=6881,
    external_ip="203.0.113.7",
    uptime=3600.0,
    public_dht=True,
    bootstrap_nodes=0,
)
CUT_OFF = replace(
    ONLINE, dht_nodes=0, lookup_answered=False, head_put=None, incoming_connections=0, uptime=5.0
)


def test_online_says_where_the_head_is() -> None:
    verdict = judge(ONLINE)
    assert verdict.level is Level.ONLINE
    assert verdict.summary == "Online: 40 DHT nodes; your head is on 8 DHT nodes."
    assert verdict.advice == ()


def test_a_node_that_never_posted_is_online_without_a_head() -> None:
    verdict = judge(replace(ONLINE, head_put=None, dht_nodes=1))
    assert verdict.level is Level.ONLINE
    assert verdict.summary == "Online: 1 DHT node."


def test_empty_routing_table_at_start_is_not_offline_yet() -> None:
    facts = replace(CUT_OFF, lookup_answered=None)
    assert judge(facts).level is Level.STARTING
    assert judge(replace(facts, uptime=STARTING_GRACE)).level is Level.OFFLINE


def test_a_lookup_nobody_answered_is_offline_at_once() -> None:
    verdict = judge(CUT_OFF)
    assert verdict.level is Level.OFFLINE
    assert "no DHT node is reachable" in verdict.summary
    assert any("UDP" in tip for tip in verdict.advice)


def test_a_head_stored_nowhere_without_dht_nodes_is_offline_at_once() -> None:
    facts = replace(CUT_OFF, lookup_answered=None, head_put=HeadPut(2, 0, 0, 10.0))
    assert judge(facts).level is Level.OFFLINE


def test_a_head_stored_nowhere_is_offline_even_with_dht_nodes() -> None:
    verdict = judge(replace(ONLINE, head_put=HeadPut(9, 0, 5, 10.0)))
    assert verdict.level is Level.OFFLINE
    assert "seq 9" in verdict.summary and "stored on no DHT node" in verdict.summary
    assert verdict.advice


def test_a_lookup_answered_now_wins_over_an_old_refusal() -> None:
    assert judge(replace(ONLINE, lookup_answered=False)).level is Level.ONLINE


@pytest.mark.parametrize(
    ("public", "bootstrap", "advice"),
    [
        (False, 0, "without bootstrap nodes"),
        (False, 1, "None of the 1 bootstrap node answers"),
        (False, 3, "None of the 3 bootstrap nodes answers"),
        (True, 0, "firewall lets UDP through on port 6881"),
    ],
)
def test_offline_advice_fits_the_setup(public: bool, bootstrap: int, advice: str) -> None:
    verdict = judge(replace(CUT_OFF, public_dht=public, bootstrap_nodes=bootstrap))
    assert any(advice in tip for tip in verdict.advice), verdict.advice


def test_no_incoming_connection_for_long_is_limited() -> None:
    facts = replace(ONLINE, incoming_connections=0, uptime=INCOMING_GRACE)
    verdict = judge(facts)
    assert verdict.level is Level.LIMITED
    assert "forward TCP and UDP port 6881" in verdict.advice[0]
    assert judge(replace(facts, uptime=INCOMING_GRACE - 1)).level is Level.ONLINE


@pytest.mark.parametrize(
    ("host", "usable"),
    [
        ("0.0.0.0", None),
        ("::", None),
        ("[::]", None),
        ("", None),
        ("224.0.0.1", None),
        ("example.org", None),
        ("127.0.1.10", "127.0.1.10"),
        ("192.168.1.5", "192.168.1.5"),
        ("[2001:db8::1]", "2001:db8::1"),
    ],
)
def test_usable_listen_host(host: str, usable: str | None) -> None:
    assert usable_listen_host(host) == usable


def test_a_specific_listen_address_is_handed_out() -> None:
    facts = replace(ONLINE, listen_host="127.0.1.10", listen_port=7000, incoming_connections=0)
    assert reachable_addresses(facts) == (("127.0.1.10", 7000),)


def test_an_external_address_counts_only_after_an_incoming_connection() -> None:
    assert reachable_addresses(ONLINE) == (("203.0.113.7", 6881),)
    assert reachable_addresses(replace(ONLINE, incoming_connections=0)) == ()
    assert reachable_addresses(replace(ONLINE, external_ip=None)) == ()


def test_listen_and_external_address_both_and_once() -> None:
    both = replace(ONLINE, listen_host="192.168.1.5")
    assert reachable_addresses(both) == (("192.168.1.5", 6881), ("203.0.113.7", 6881))
    same = replace(ONLINE, listen_host="203.0.113.7")
    assert reachable_addresses(same) == (("203.0.113.7", 6881),)


def test_no_port_no_address() -> None:
    assert reachable_addresses(replace(ONLINE, listen_host="10.0.0.1", listen_port=0)) == ()


def test_the_verdict_carries_the_addresses() -> None:
    assert judge(CUT_OFF).addresses == ()
    assert judge(ONLINE).addresses == (("203.0.113.7", 6881),)
