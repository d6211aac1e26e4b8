"""The SSRF guard: resolve, then refuse private destinations unless allowed.

These tests only resolve names (the loopback DNS server, /etc/hosts); nothing connects."""

from __future__ import annotations

import pytest

from postal.ssrf import UnsafeURLError, check_url


NOTHING_ALLOWED: dict = {"postal.allowed_request_destinations": []}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.0.0.1/hook", "10.0.0.1, a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254, a link-local address"),
        ("http://127.0.0.1:8080/", "127.0.0.1, a loopback address"),
        ("http://[::1]/", "::1, a loopback address"),
        ("http://0.0.0.0/", "0.0.0.0, an unspecified address"),
        ("http://[::ffff:10.1.2.3]/", "10.1.2.3, a private address"),
        ("http://224.0.0.1/", "a multicast address"),
        ("http://100.64.0.1/", "100.64.0.1, a non-public address"),
        ("https://localhost/", "a loopback address"),
    ],
)
def test_private_destinations_are_refused(url, reason):
    with pytest.raises(UnsafeURLError, match=reason.replace(".", r"\.")):
        check_url(url, NOTHING_ALLOWED)


def test_a_name_resolving_to_a_private_address_is_refused(dns_server, dns_resolver):
    dns_server.add("hooks.example.com", "A", "10.0.0.1")
    dns_server.add("metadata.example.com", "A", "169.254.169.254")
    dns_server.add("mixed.example.com", "A", "93.184.216.34")
    dns_server.add("mixed.example.com", "AAAA", "fd00::1")
    for host in ("hooks.example.com", "metadata.example.com", "mixed.example.com"):
        with pytest.raises(UnsafeURLError, match="refused unless it is listed"):
            check_url(f"https://{host}/x", NOTHING_ALLOWED, dns_resolver)


def test_a_public_name_passes_and_pins_the_checked_address(dns_server, dns_resolver):
    dns_server.add("hooks.example.com", "A", "93.184.216.34")
    destination = check_url("https://hooks.example.com/in?a=1", NOTHING_ALLOWED, dns_resolver)
    assert (destination.scheme, destination.host, destination.port) == (
        "https",
        "hooks.example.com",
        443,
    )
    assert destination.address == "93.184.216.34"
    assert destination.path == "/in?a=1"


def test_listed_addresses_and_networks_are_allowed(dns_server, dns_resolver):
    settings = {"postal.allowed_request_destinations": ["127.0.0.1", "10.0.0.0/8"]}
    assert check_url("http://127.0.0.1:9000/", settings).address == "127.0.0.1"
    dns_server.add("internal.example.com", "A", "10.20.30.40")
    assert check_url("http://internal.example.com/", settings, dns_resolver).port == 80
    with pytest.raises(UnsafeURLError):
        check_url("http://169.254.169.254/", settings)
    with pytest.raises(UnsafeURLError):
        check_url("http://127.0.0.2/", settings)


def test_localhost_is_loopback_even_through_a_dns_resolver(dns_resolver):
    with pytest.raises(UnsafeURLError, match="loopback"):
        check_url("http://localhost/", NOTHING_ALLOWED, dns_resolver)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/", "must start with http:// or https://"),
        ("file:///etc/passwd", "must start with http:// or https://"),
        ("http:///nohost", "has no host"),
        ("http://user:pw@example.com/", "must not contain a user name"),
        ("http://example.com:99999/", "not a valid URL"),
    ],
)
def test_malformed_urls_are_refused(url, message):
    with pytest.raises(UnsafeURLError, match=message):
        check_url(url, NOTHING_ALLOWED)


def test_an_unresolvable_name_is_refused(dns_resolver):
    with pytest.raises(UnsafeURLError, match="cannot resolve nowhere.example.com"):
        check_url("http://nowhere.example.com/", NOTHING_ALLOWED, dns_resolver)


def test_a_bad_allow_list_entry_is_reported():
    with pytest.raises(UnsafeURLError, match="not an address or network"):
        check_url("http://10.0.0.1/", {"postal.allowed_request_destinations": ["intranet"]})
