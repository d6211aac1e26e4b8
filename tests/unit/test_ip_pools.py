"""Rule matching and the weighted choice of an address, without a database."""

from __future__ import annotations

import random

import pytest

from postal.host_addresses import is_local, local_networks, parse_fib_trie, parse_if_inet6
from postal.ip_pools import (
    PoolChooser,
    Rule,
    SourceIP,
    address_matches,
    conditions,
    from_addresses,
    weighted_choice,
)


@pytest.mark.parametrize(
    ("condition", "address", "expected"),
    [
        ("example.com", "alice@example.com", True),
        ("example.com", "Alice <alice@EXAMPLE.com>", True),
        ("example.com", "alice@sub.example.com", False),
        ("example.com", "alice@example.com.evil", False),
        ("alice@example.com", "alice@example.com", True),
        ("alice@example.com", "alice+news@example.com", True),
        ("alice@example.com", "bob@example.com", False),
        ("alice+news@example.com", "alice+news@example.com", False),
        ("ALICE@example.com", "alice@Example.COM", True),
        ("example.com", "not an address", False),
    ],
)
def test_address_matches(condition, address, expected):
    assert address_matches(condition, address) is expected


def test_conditions_are_one_per_line_and_skip_blanks():
    assert conditions(" a.com\r\n\nB@C.com \n") == ("a.com", "b@c.com")
    assert conditions(None) == ()


def test_a_rule_matches_any_from_address_or_the_recipient():
    rule = Rule(1, ("example.com",), ("vip@example.net",))
    assert rule.matches(["x@other.org", "y@example.com"], "z@example.org")
    assert rule.matches([], "vip+1@example.net")
    assert not rule.matches(["x@other.org"], "bob@example.net")
    assert not Rule(1, (), ()).matches(["x@example.com"], "x@example.com")


def test_from_addresses_reads_every_from_header():
    raw = b"From: A <a@one.test>, b@two.test\r\nFrom: c@three.test\r\n\r\nFrom: x@no.test\r\n"
    assert from_addresses(raw) == ["a@one.test", "b@two.test", "c@three.test"]


def _ip(id_, priority):
    return SourceIP(id_, f"127.0.0.{id_}", None, f"ip{id_}.test", priority)


def test_weighted_choice_follows_priority():
    rng = random.Random(7)
    ips = [_ip(2, 100), _ip(3, 25), _ip(4, 0)]
    counts = {2: 0, 3: 0, 4: 0}
    for _ in range(4000):
        counts[weighted_choice(ips, rng).id] += 1
    assert counts[4] == 0
    # P(25-weighted beats 100-weighted) = 25 / (2 * 100) = 12.5 %.
    assert 300 < counts[3] < 700
    assert weighted_choice([], rng) is None
    assert weighted_choice([_ip(5, 0)], rng).id == 5


def test_first_matching_rule_wins_else_the_server_pool():
    chooser = PoolChooser(
        rules=(Rule(10, ("a.test",), ()), Rule(20, ("a.test", "b.test"), ())),
        server_pool_id=30,
        addresses={10: (_ip(2, 100),), 20: (_ip(3, 100),), 30: (_ip(4, 100),)},
    )
    assert chooser.choose(["x@a.test"], "r@x.test").id == 2
    assert chooser.choose(["x@b.test"], "r@x.test").id == 3
    assert chooser.choose(["x@c.test"], "r@x.test").id == 4
    assert PoolChooser((), None, {}).choose(["x@a.test"], "r@x.test") is None
    assert PoolChooser((), 99, {}).choose(["x@a.test"], "r@x.test") is None  # empty pool


FIB_TRIE = """Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
     |-- 192.0.2.2
        /32 host LOCAL
     |-- 192.0.2.255
        /32 link BROADCAST
"""


def test_local_addresses_from_the_kernel_tables():
    networks = parse_fib_trie(FIB_TRIE) + parse_if_inet6(
        "00000000000000000000000000000001 01 80 10 80       lo\n"
        "fd000000000000000000000000000002 04 40 00 82     eth0\n"
    )
    assert is_local("127.0.0.3", networks)
    assert is_local("192.0.2.2", networks)
    assert not is_local("192.0.2.255", networks)
    assert not is_local("192.0.2.3", networks)
    assert is_local("::1", networks) and is_local("fd00::2", networks)
    assert not is_local("fd00::3", networks)
    assert not is_local("not an ip", networks) and not is_local(None, networks)


def test_configured_addresses_replace_discovery():
    networks = local_networks(("127.0.0.2", "2001:db8::/64"))
    assert is_local("127.0.0.2", networks) and not is_local("127.0.0.3", networks)
    assert is_local("2001:db8::9", networks)
    assert is_local("127.0.0.1", local_networks())  # this host, whatever its platform
