"""The address of the client behind a tracking request.

``X-Forwarded-For`` is believed only when the direct peer is a trusted proxy: loopback,
IPv6 unique-local addresses (``fc00::/7``), a unix socket, or an address or network in
``postal.trusted_proxies``.  The chain is read right to left, skipping trusted proxies, so
a client cannot pass off a forged address by sending its own header.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable


BUILT_IN = ("127.0.0.0/8", "::1/128", "fc00::/7")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(extra: Iterable[str]) -> list[Network]:
    """Built-in proxies plus ``postal.trusted_proxies`` entries (addresses or CIDRs)."""
    networks = []
    for value in (*BUILT_IN, *extra):
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            continue
    return networks


def _address(value: str | None):
    if not value:
        return None
    value = value.strip()
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket (::ffff:1.2.3.4).
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(address, networks: list[Network]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_ip(remote_addr: str | None, forwarded_for: str | None, networks: list[Network]) -> str:
    """The client's address as text ("" when unknown)."""
    peer = _address(remote_addr)
    # No peer address means a unix socket: the proxy in front is ours.
    if peer is not None and not _trusted(peer, networks):
        return str(peer)
    chain = [item for item in (forwarded_for or "").split(",") if item.strip()]
    client = peer
    for item in reversed(chain):
        address = _address(item)
        if address is None:
            break
        client = address
        if not _trusted(address, networks):
            break
    return str(client) if client is not None else (remote_addr or "")
