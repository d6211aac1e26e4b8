"""Refusing requests to private networks (server-side request forgery).

Webhook and HTTP endpoint URLs are typed in by users; without this check they could make the
worker fetch cloud metadata (``169.254.169.254``), admin interfaces on ``localhost`` or hosts
on the internal network.  A URL passes when every address its host resolves to is public, or
is listed (as an address or a network) in ``postal.allowed_request_destinations``.

The check runs when a URL is saved and again before each request, and the request then
connects to the address that was checked (:class:`Destination`), so a DNS answer that changes
between the check and the connection (DNS rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnsafeURLError(ValueError):
    """The URL is malformed, not http(s), or leads to a forbidden address."""


@dataclass(frozen=True)
class Destination:
    """A checked URL: connect to ``address`` and ``port``, send ``Host: host``."""

    scheme: str
    host: str
    port: int
    address: str
    path: str


def allowed_networks(settings: Mapping[str, Any]) -> list[Network]:
    networks = []
    for item in settings.get("postal.allowed_request_destinations", []) or []:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise UnsafeURLError(
                f"postal.allowed_request_destinations: {item!r} is not an address or network"
            ) from None
    return networks


def _unmapped(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def forbidden_reason(address: Address) -> str | None:
    """What kind of address ``address`` is ("a loopback") when requests to it are refused
    by default, or ``None`` when it is public."""
    address = _unmapped(address)
    for reason, flag in (
        ("an unspecified", address.is_unspecified),
        ("a loopback", address.is_loopback),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a private", address.is_private),
        ("a reserved", address.is_reserved),
        ("a non-public", not address.is_global),
    ):
        if flag:
            return reason
    return None


def _system_addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeURLError(f"cannot resolve {host}: {exc.strerror}") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def resolve(host: str, port: int, resolver=None) -> list[str]:
    """Every address of ``host``: a literal address as is, else ``resolver`` (an
    ``IDNSResolver``: A and AAAA) or the system resolver."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    if resolver is None:
        return _system_addresses(host, port)
    if host.lower().rstrip(".") == "localhost" or host.lower().rstrip(".").endswith(".localhost"):
        return ["127.0.0.1", "::1"]  # RFC 6761: always loopback, never asked of DNS
    try:
        addresses = list(resolver.a(host)) + list(resolver.aaaa(host))
    except Exception as exc:  # the resolver's own lookup errors; say which host failed
        raise UnsafeURLError(f"cannot resolve {host}: {exc}") from None
    if not addresses:
        raise UnsafeURLError(f"cannot resolve {host}: no A or AAAA records")
    return addresses


def split_url(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path_and_query)``; only http and https are accepted."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeURLError(f"{url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeURLError(f"{url!r} must start with http:// or https://")
    if not parts.hostname:
        raise UnsafeURLError(f"{url!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURLError(f"{url!r} must not contain a user name or password")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def check_addresses(host: str, addresses: Iterable[str], allowed: list[Network]) -> str:
    """The first address, once every one of them is allowed; :class:`UnsafeURLError` if not."""
    addresses = list(addresses)
    for text in addresses:
        address = _unmapped(ipaddress.ip_address(text.split("%", 1)[0]))
        if any(address in network for network in allowed):
            continue
        reason = forbidden_reason(address)
        if reason is not None:
            raise UnsafeURLError(
                f"{host} resolves to {address}, {reason} address; requests there are "
                "refused unless it is listed in postal.allowed_request_destinations"
            )
    return addresses[0]


def check_url(url: str, settings: Mapping[str, Any], resolver=None) -> Destination:
    """Check ``url`` and return where to connect; raises :class:`UnsafeURLError`."""
    scheme, host, port, path = split_url(url)
    address = check_addresses(host, resolve(host, port, resolver), allowed_networks(settings))
    return Destination(scheme=scheme, host=host, port=port, address=address, path=path)


def request_resolver(request):
    """The resolver URL checks should use for ``request``: the installation's DNS service
    when ``dns.nameservers`` is set, otherwise ``None`` (the system resolver, /etc/hosts
    included, as any HTTP client would use)."""
    if not request.registry.settings.get("dns.nameservers"):
        return None
    from .services.dns import IDNSResolver

    return request.find_service(IDNSResolver)
