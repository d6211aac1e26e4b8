"""DnsPythonResolver against the loopback DNS server, and MemoryResolver."""

from __future__ import annotations

import socket

import pytest
from zope.interface.verify import verifyObject

from postal.services.dns import DNSLookupError, DnsPythonResolver, IDNSResolver, MemoryResolver
from tests.dnsserver import DNSServer


def test_implements_interface(dns_resolver):
    assert verifyObject(IDNSResolver, dns_resolver)
    assert verifyObject(IDNSResolver, MemoryResolver())


def test_txt(dns_server, dns_resolver):
    dns_server.add("example.com", "TXT", "v=spf1 include:spf.postal.example.com ~all")
    dns_server.add("example.com", "TXT", "postal-verification abc")
    assert sorted(dns_resolver.txt("example.com")) == [
        "postal-verification abc",
        "v=spf1 include:spf.postal.example.com ~all",
    ]


def test_txt_joins_character_strings_of_a_long_record(dns_server, dns_resolver):
    value = "v=DKIM1; p=" + "A" * 600
    dns_server.add("sel._domainkey.example.com", "TXT", value)
    assert dns_resolver.txt("sel._domainkey.example.com") == [value]


def test_long_answers_are_retried_over_tcp(dns_server, dns_resolver):
    for letter in "ABC":
        dns_server.add("big.example.com", "TXT", letter * 400)
    assert sorted(dns_resolver.txt("big.example.com")) == ["A" * 400, "B" * 400, "C" * 400]
    transports = [t for name, rdtype, t in dns_server.queries if name == "big.example.com."]
    assert transports == ["udp", "tcp"]


def test_mx_sorted_by_preference_without_trailing_dot(dns_server, dns_resolver):
    dns_server.add("example.com", "MX", "20 mx2.example.com.")
    dns_server.add("example.com", "MX", "5 mx0.example.com.")
    dns_server.add("example.com", "MX", "10 mx1.example.com.")
    assert dns_resolver.mx("example.com") == [
        (5, "mx0.example.com"),
        (10, "mx1.example.com"),
        (20, "mx2.example.com"),
    ]


def test_cname(dns_server, dns_resolver):
    dns_server.add("psrp.example.com", "CNAME", "rp.postal.example.com.")
    assert dns_resolver.cname("psrp.example.com") == ["rp.postal.example.com"]


def test_a_and_aaaa(dns_server, dns_resolver):
    dns_server.add("host.example.com", "A", "192.0.2.1")
    dns_server.add("host.example.com", "A", "192.0.2.2")
    dns_server.add("host.example.com", "AAAA", "2001:db8::1")
    assert sorted(dns_resolver.a("host.example.com")) == ["192.0.2.1", "192.0.2.2"]
    assert dns_resolver.aaaa("host.example.com") == ["2001:db8::1"]


def test_names_are_case_insensitive(dns_server, dns_resolver):
    dns_server.add("Mixed.Example.COM", "A", "192.0.2.7")
    assert dns_resolver.a("mixed.example.com.") == ["192.0.2.7"]


def test_nxdomain_and_no_data_are_empty(dns_server, dns_resolver):
    dns_server.add("host.example.com", "A", "192.0.2.1")
    assert dns_resolver.txt("missing.example.com") == []
    assert dns_resolver.mx("missing.example.com") == []
    assert dns_resolver.aaaa("host.example.com") == []  # name exists, type does not
    assert dns_resolver.cname("host.example.com") == []


def test_records_change_while_running(dns_server, dns_resolver):
    dns_server.add("host.example.com", "A", "192.0.2.1")
    assert dns_resolver.a("host.example.com") == ["192.0.2.1"]
    dns_server.clear()
    assert dns_resolver.a("host.example.com") == []


def test_unicode_names_are_punycoded(dns_server, dns_resolver):
    dns_server.add("xn--bcher-kva.example", "TXT", "books")
    assert dns_resolver.txt("bücher.example") == ["books"]


def test_timeout_raises_lookup_error():
    # A bound UDP socket that never answers: every query times out.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        resolver = DnsPythonResolver([("127.0.0.1", silent.getsockname()[1])], timeout=0.3)
        with pytest.raises(DNSLookupError, match="TXT lookup for example.com failed"):
            resolver.txt("example.com")


def test_server_stops_quickly():
    import time

    server = DNSServer().start()
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0


# --- MemoryResolver ------------------------------------------------------------------------


def test_memory_resolver():
    resolver = MemoryResolver(
        {
            ("Example.com.", "txt"): ["v=spf1 ~all"],
            ("example.com", "MX"): [(20, "mx2.example.com"), (10, "mx1.example.com")],
            ("psrp.example.com", "CNAME"): ["rp.postal.example.com"],
            ("host.example.com", "A"): ["192.0.2.1"],
            ("host.example.com", "AAAA"): ["2001:db8::1"],
        }
    )
    assert resolver.txt("EXAMPLE.com.") == ["v=spf1 ~all"]
    assert resolver.mx("example.com") == [(10, "mx1.example.com"), (20, "mx2.example.com")]
    assert resolver.cname("psrp.example.com") == ["rp.postal.example.com"]
    assert resolver.a("host.example.com") == ["192.0.2.1"]
    assert resolver.aaaa("host.example.com") == ["2001:db8::1"]
    assert resolver.txt("missing.example.com") == []


def test_memory_resolver_returns_copies():
    resolver = MemoryResolver({("example.com", "TXT"): ["a"]})
    resolver.txt("example.com").append("b")
    assert resolver.txt("example.com") == ["a"]


def test_from_settings():
    settings = {"dns.nameservers": [("127.0.0.1", 5353)], "dns.timeout": 1.5}
    assert isinstance(DnsPythonResolver.from_settings(settings), DnsPythonResolver)
    assert isinstance(MemoryResolver.from_settings(settings), MemoryResolver)
