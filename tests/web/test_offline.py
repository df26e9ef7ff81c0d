"""Offline, the UI says so: a node no DHT node answers shows a banner, advice and "offline".

Otto's only bootstrap node is an address where nothing listens, so no DHT node ever answers.
Pia and Quin bootstrap from each other: their pages show no banner and "online".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect
from webkit import PHONE, layout_problems, shoot

from swarmfeed.localswarm import LocalNode, LocalSwarm, free_port

pytestmark = pytest.mark.browser

SUBNET = "127.0.1"


class Nodes:
    otto: LocalNode
    pia: LocalNode


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    lonely = LocalSwarm(tmp_path_factory.mktemp("offline"), first_ip=30, subnet=SUBNET)
    pair = LocalSwarm(tmp_path_factory.mktemp("online"), first_ip=31, subnet=SUBNET)
    with lonely.running(), pair.running():
        state = Nodes()
        nowhere = f"{SUBNET}.39:{free_port(f'{SUBNET}.39')}"  # nothing listens there
        state.otto = lonely.add("otto", extra_args=["--bootstrap", nowhere])
        state.pia = pair.add("pia")
        pair.add("quin")
        yield state


def test_a_node_no_dht_node_answers_shows_the_offline_banner(
    nodes: Nodes, context: BrowserContext, screenshots: Path
) -> None:
    page = context.new_page()
    page.goto(nodes.otto.url + "/")

    banner = page.locator("[data-offline]")
    # The node's first DHT lookup gets no answer within seconds; the page follows /api/status.
    expect(banner).to_be_visible(timeout=60_000)
    expect(banner).to_contain_text("Offline: no DHT node is reachable")
    expect(banner).to_contain_text("None of the 1 bootstrap node answers")
    expect(page.locator("[data-reach-state]")).to_have_text("offline")
    reach = nodes.otto.api("GET", "/api/status")["reachability"]
    assert reach["state"] == "offline"
    assert reach["dht_nodes"] == 0
    shoot(page, screenshots, "offline-banner")

    # Posting still works, and the page keeps saying nobody can find the post.
    nodes.otto.api("POST", "/api/posts", data={"text": "anyone there?"})
    page.goto(nodes.otto.url + "/swarm")
    expect(page.locator("[data-offline]")).to_be_visible()
    card = page.locator("[data-reachability]")
    expect(card).to_contain_text("0 DHT nodes in the routing table")
    expect(card).to_contain_text("None of the 1 bootstrap node answers")

    phone = context.browser.new_context(viewport=PHONE, is_mobile=True)  # type: ignore[union-attr]
    try:
        small = phone.new_page()
        small.goto(nodes.otto.url + "/")
        expect(small.locator("[data-offline]")).to_be_visible()
        assert layout_problems(small) == []
    finally:
        phone.close()


def test_a_node_in_a_swarm_shows_no_banner(nodes: Nodes, context: BrowserContext) -> None:
    page = context.new_page()
    page.goto(nodes.pia.url + "/")

    expect(page.locator("[data-reach-state]")).to_have_text("online", timeout=60_000)
    expect(page.locator("[data-offline]")).to_be_hidden()
    assert nodes.pia.api("GET", "/api/status")["reachability"]["dht_nodes"] > 0
