"""The push tree's tables: a holder's subscribers and a follower's parents."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swarmfeed.core.push.children import Added, ChildLimits, ChildTable
from swarmfeed.core.push.parents import ParentPolicy, ParentSet
from swarmfeed.core.push.wire import MAX_HOPS

AUTHOR = b"a" * 32
OTHER = b"o" * 32
TOKEN = b"t" * 8


def host(index: int, port: int = 7000) -> tuple[str, int]:
    return (f"10.0.{index // 250}.{index % 250 + 1}", port)


# -- the holder's side ------------------------------------------------------------------------


def test_subscribers_up_to_the_fan_out_then_full() -> None:
    table = ChildTable(ChildLimits(per_author=3))
    assert [table.add(AUTHOR, host(i), 0.0) for i in range(4)] == [
        Added.ADDED,
        Added.ADDED,
        Added.ADDED,
        Added.FULL,
    ]
    assert table.add(AUTHOR, host(0), 1.0) is Added.RENEWED
    assert table.add(OTHER, host(3), 1.0) is Added.ADDED  # the cap is per author
    assert table.targets(AUTHOR, 1.0) == [host(0), host(1), host(2)]
    assert table.targets(AUTHOR, 1.0, exclude=host(1)) == [host(0), host(2)]
    assert table.total == 4


def test_subscriptions_expire_unless_renewed() -> None:
    table = ChildTable(ChildLimits(per_author=2, ttl=300))
    table.add(AUTHOR, host(0), 0.0)
    table.add(AUTHOR, host(1), 100.0)
    table.add(AUTHOR, host(0), 200.0)  # renewed until 500
    assert table.targets(AUTHOR, 350.0) == [host(0), host(1)]
    assert table.targets(AUTHOR, 400.0) == [host(0)]
    assert table.total == 1
    assert table.add(AUTHOR, host(2), 400.0) is Added.ADDED  # the expired slot is free again
    assert table.count(AUTHOR, 700.0) == 0
    assert table.total == 0
    assert list(table.authors()) == []


def test_one_host_cannot_take_every_slot() -> None:
    table = ChildTable(ChildLimits(per_author=8, per_host=2))
    assert table.add(AUTHOR, ("10.0.0.1", 1), 0.0) is Added.ADDED
    assert table.add(AUTHOR, ("10.0.0.1", 2), 0.0) is Added.ADDED
    assert table.add(AUTHOR, ("10.0.0.1", 3), 0.0) is Added.HOST_LIMIT
    assert table.add(AUTHOR, ("10.0.0.2", 3), 0.0) is Added.ADDED


def test_the_total_is_bounded_and_expired_entries_make_room() -> None:
    table = ChildTable(ChildLimits(per_author=8, total=3, ttl=10))
    for index, author in enumerate([b"1" * 32, b"2" * 32, b"3" * 32]):
        assert table.add(author, host(index), 0.0) is Added.ADDED
    assert table.add(b"4" * 32, host(9), 5.0) is Added.TOTAL_LIMIT
    assert table.add(b"4" * 32, host(9), 11.0) is Added.ADDED
    assert table.total == 1


def test_removing_subscribers() -> None:
    table = ChildTable()
    table.add(AUTHOR, host(0), 0.0)
    table.add(AUTHOR, host(1), 0.0)
    assert table.remove(AUTHOR, host(0))
    assert not table.remove(AUTHOR, host(0))
    assert not table.remove(OTHER, host(0))
    assert table.drop_author(AUTHOR) == 1
    assert table.drop_author(AUTHOR) == 0
    assert table.total == 0


def test_child_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ChildLimits(per_author=0)


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["add", "remove", "drop", "tick"]),
            st.integers(0, 2),
            st.integers(0, 12),
        ),
        max_size=80,
    )
)
def test_the_table_never_exceeds_its_bounds(ops: list[tuple[str, int, int]]) -> None:
    limits = ChildLimits(per_author=4, per_host=2, total=6, ttl=50)
    table = ChildTable(limits)
    authors = [bytes([i]) * 32 for i in range(3)]
    now = 0.0
    for op, a, h in ops:
        author, addr = authors[a], (f"10.0.0.{h % 5}", 1000 + h)
        if op == "add":
            table.add(author, addr, now)
        elif op == "remove":
            table.remove(author, addr)
        elif op == "drop":
            table.drop_author(author)
        else:
            now += 20.0
        live = {x: table.targets(x, now) for x in authors}
        assert table.total == sum(len(v) for v in live.values())
        assert table.total <= limits.total
        for targets in live.values():
            assert len(targets) <= limits.per_author
            assert len(set(targets)) == len(targets)
            for ip in {t[0] for t in targets}:
                assert sum(1 for t in targets if t[0] == ip) <= limits.per_host


# -- the follower's side ----------------------------------------------------------------------


def parents(**policy: float) -> ParentSet:
    return ParentSet(ParentPolicy(**policy), rng=random.Random(7))  # type: ignore[arg-type]


def test_known_closer_candidates_are_tried_first() -> None:
    ps = parents(want=2, max_attempts=2)
    ps.add_candidates([host(i) for i in range(5)], 0.0)
    ps.refused(host(3), 0.0, full=True)
    ps.subscribed(host(3), TOKEN, 300, 0, 0.0)  # learned: hops 0 (the author itself)
    ps.remove(host(3))
    ps.subscribed(host(4), TOKEN, 300, 3, 0.0)
    ps.remove(host(4))
    assert ps.to_try(0.0, ()) == [host(3), host(4)]


def test_a_follower_keeps_want_parents_with_a_path() -> None:
    ps = parents(want=2, max_attempts=2)
    assert ps.lookup_due(0.0)
    assert ps.add_candidates([host(0), host(1), host(2), host(0)], 0.0) == 3
    ps.lookup_done(0.0)
    first = ps.to_try(0.0, ())
    assert len(first) == 2
    assert ps.to_try(0.0, first) == []  # two attempts in flight already
    assert ps.subscribed(first[0], TOKEN, 300, 0, 0.0)
    assert ps.live and not ps.satisfied
    assert ps.path_length == 1
    assert ps.subscribed(first[1], TOKEN, 300, 1, 0.0)
    assert ps.satisfied
    assert ps.path_length == 1
    assert ps.to_try(0.0, ()) == []
    assert ps.to_drop() == []
    # Satisfied: the next lookup is the slow one.
    ps.lookup_done(1.0)
    assert not ps.lookup_due(1000.0)
    assert ps.lookup_due(1201.0)


def test_pathless_parents_are_provisional() -> None:
    ps = parents(want=2, max_attempts=3, provisional_recheck=5.0)
    ps.add_candidates([host(i) for i in range(4)], 0.0)
    assert ps.subscribed(host(0), TOKEN, 300, None, 0.0)
    assert not ps.live
    assert ps.path_length is None
    # Rechecked soon, backing off while it still has no path.
    assert [p.addr for p in ps.to_renew(5.0, ())] == [host(0)]
    ps.subscribed(host(0), TOKEN, 300, None, 5.0)
    assert ps.to_renew(14.0, ()) == []
    assert [p.addr for p in ps.to_renew(15.0, ())] == [host(0)]
    assert ps.subscribed(host(1), TOKEN, 300, None, 5.0)
    assert ps.subscribed(host(2), TOKEN, 300, None, 5.0)  # want + 1 parents
    assert not ps.subscribed(host(3), TOKEN, 300, None, 5.0)  # no room for another pathless
    assert ps.subscribed(host(3), TOKEN, 300, 2, 5.0)  # but one with a path is taken
    assert ps.to_drop() == [host(0)]  # over want + 1: a pathless one goes
    ps.remove(host(0))
    assert ps.subscribed(host(1), TOKEN, 300, 1, 6.0)  # a renewal finds a path
    assert ps.satisfied
    assert ps.to_drop() == [host(2)]
    ps.remove(host(2))
    assert ps.path_length == 2


def test_a_better_parent_replaces_the_worst_once_satisfied() -> None:
    ps = parents(want=2)
    ps.subscribed(host(0), TOKEN, 300, 3, 0.0)
    ps.subscribed(host(1), TOKEN, 300, 2, 0.0)
    assert not ps.subscribed(host(2), TOKEN, 300, 4, 0.0)
    assert not ps.subscribed(host(2), TOKEN, 300, None, 0.0)
    assert ps.subscribed(host(2), TOKEN, 300, 0, 0.0)
    assert ps.to_drop() == [host(0)]


def test_renewals_failures_and_expiry() -> None:
    ps = parents(want=1, retry_after=5.0)
    ps.subscribed(host(0), TOKEN, 300, 0, 0.0)
    ps.lookup_done(0.0)
    assert ps.to_renew(149.0, ()) == []
    assert [p.addr for p in ps.to_renew(150.0, ())] == [host(0)]
    assert ps.to_renew(150.0, [host(0)]) == []  # already in flight
    ps.failed(host(0), 150.0)
    assert ps.is_parent(host(0))  # kept until it expires
    assert ps.to_renew(154.0, ()) == []
    assert [p.addr for p in ps.to_renew(155.0, ())] == [host(0)]
    ps.failed(host(0), 155.0)
    assert ps.next_due(155.0) == 165.0
    assert ps.next_due(165.0) == 300.0  # the renewal due at 165 is the caller's to send
    assert ps.expire(299.0) == []
    assert ps.expire(300.0) == [host(0)]
    assert not ps.live
    assert ps.to_try(300.0, ()) == []  # paused after expiring
    assert ps.to_try(305.0, ()) == [host(0)]


def test_refusals_pause_a_candidate() -> None:
    ps = parents(want=1, max_attempts=1, full_cooldown=60.0, retry_after=5.0)
    ps.add_candidates([host(0), host(1)], 0.0)
    ps.refused(host(0), 0.0, full=True)
    ps.refused(host(1), 0.0, full=False)
    assert ps.to_try(4.0, ()) == []
    ps.lookup_done(0.0)
    assert ps.next_due(4.0) == 5.0
    assert ps.to_try(5.0, ()) == [host(1)]
    ps.failed(host(1), 5.0)
    assert ps.next_due(5.0) == 15.0  # a second failure: twice the pause
    assert ps.to_try(60.0, ()) == [host(0)]


def test_a_refused_renewal_drops_the_parent() -> None:
    ps = parents(want=1)
    ps.subscribed(host(0), TOKEN, 300, 0, 0.0)
    ps.refused(host(0), 10.0, full=False)
    assert not ps.is_parent(host(0))
    assert not ps.live


def test_pushes_measure_the_path() -> None:
    ps = parents(want=2)
    ps.subscribed(host(0), TOKEN, 300, 5, 0.0)
    assert ps.path_length == 6
    assert ps.pushed(host(0), 1)
    assert ps.path_length == 2
    assert not ps.pushed(host(9), 0)  # not a parent: ignored
    ps.subscribed(host(1), TOKEN, 300, MAX_HOPS - 1, 0.0)
    ps.remove(host(0))
    assert ps.path_length is None  # too far to count


def test_lookups_back_off_while_parents_are_missing() -> None:
    ps = parents(lookup_first=2.0, lookup_max=8.0)
    times = []
    now = 0.0
    for _ in range(5):
        assert ps.lookup_due(now)
        ps.lookup_done(now)
        times.append(ps.next_due(now) - now)
        now = ps.next_due(now)
    assert times == [2.0, 4.0, 8.0, 8.0, 8.0]
    ps.lookup_started()
    assert not ps.lookup_due(now + 10_000)
    assert ps.next_due(now) == now + 1200.0  # nothing else is known: the steady pause


def test_candidates_are_bounded() -> None:
    ps = parents(max_candidates=4)
    assert ps.add_candidates([host(i) for i in range(10)], 0.0) == 4
    assert ps.subscribed(host(0), TOKEN, 300, 0, 0.0)
    assert ps.subscribed(host(1), TOKEN, 300, None, 0.0)
    assert ps.add_candidates([host(20)], 0.0) == 0  # untried ones are not pushed out
    ps.refused(host(3), 0.0, full=True)
    assert ps.add_candidates([host(20), host(21)], 0.0) == 1  # a failed non-parent goes
    assert len(ps.candidates) == 4
    assert {c.addr for c in ps.candidates} == {host(0), host(1), host(2), host(20)}


def test_policy_values_are_checked() -> None:
    with pytest.raises(ValueError, match="positive"):
        ParentPolicy(want=0)


@settings(max_examples=80)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["try", "sub", "refuse", "fail", "push", "tick", "drop", "look"]),
            st.integers(0, 7),
            st.none() | st.integers(0, 5),
        ),
        max_size=100,
    )
)
def test_parent_set_invariants(ops: list[tuple[str, int, int | None]]) -> None:
    policy = ParentPolicy(want=2, max_attempts=2, max_candidates=6)
    ps = ParentSet(policy, rng=random.Random(1))
    ps.add_candidates([host(i) for i in range(8)], 0.0)
    now = 0.0
    busy: set[tuple[str, int]] = set()
    for op, index, hops in ops:
        addr = host(index)
        if op == "try":
            chosen = ps.to_try(now, busy)
            assert not any(ps.is_parent(a) or a in busy for a in chosen)
            assert len(chosen) <= policy.max_attempts
            busy |= set(chosen[:1])
        elif op == "sub":
            busy.discard(addr)
            ps.subscribed(addr, TOKEN, 300, hops, now)
        elif op == "refuse":
            busy.discard(addr)
            ps.refused(addr, now, full=hops == 0)
        elif op == "fail":
            busy.discard(addr)
            ps.failed(addr, now)
        elif op == "push":
            ps.pushed(addr, hops or 0)
        elif op == "drop":
            for gone in ps.to_drop():
                ps.remove(gone)
        elif op == "look":
            ps.lookup_done(now)
        else:
            now += 100.0
            ps.expire(now)
        assert ps.next_due(now) > now
        assert len(ps.candidates) <= policy.max_candidates + len(ps.parents)
        assert len(ps.parents) <= 2 * policy.want + 1
        assert ps.live == any(p.hops is not None for p in ps.parents)
        if ps.satisfied:
            assert ps.to_try(now, busy) == []
        length = ps.path_length
        assert length is None or 1 <= length < MAX_HOPS
    for gone in ps.to_drop():
        ps.remove(gone)
    assert len(ps.parents) <= policy.want + 1
