"""Where a message for a domain goes: ``postal.smtp_relays`` when set, else the domain's
MX hosts by preference (equal preferences shuffled), else the domain itself (implicit MX);
each host's IPv6 addresses first, then IPv4."""

from __future__ import annotations

import functools
import ipaddress
import random
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit


SSL_MODES = ("None", "Auto", "STARTTLS", "TLS")


@dataclass(frozen=True)
class Host:
    """One server to try: ``name`` for messages and TLS, ``port``, TLS mode and, for
    relays, optional credentials."""

    name: str
    port: int
    ssl_mode: str = "Auto"
    username: str | None = None
    password: str | None = None


def parse_relay(url: str) -> Host:
    """``smtp://[user:pass@]host[:port]?ssl_mode=None|Auto|STARTTLS|TLS`` (port 25, Auto)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(f"not an smtp:// relay URL: {url!r}")
    query = parse_qs(parts.query)
    mode = query.get("ssl_mode", ["TLS" if parts.scheme == "smtps" else "Auto"])[0]
    # Postal spells the mode STARTLS in places; both mean mandatory STARTTLS here.
    mode = "STARTTLS" if mode.upper() in ("STARTTLS", "STARTLS") else mode
    matching = [m for m in SSL_MODES if m.lower() == mode.lower()]
    if not matching:
        raise ValueError(f"ssl_mode must be one of {', '.join(SSL_MODES)} in {url!r}")
    return Host(
        name=parts.hostname,
        port=parts.port or 25,
        ssl_mode=matching[0],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def mx_hosts(resolver, domain: str, port: int) -> list[Host]:
    """May raise the resolver's ``DNSLookupError`` (the message is then retried)."""
    records = resolver.mx(domain)
    if not records:
        return [Host(domain, port)]
    by_preference: dict[int, list[str]] = {}
    for preference, name in records:
        if name and name != ".":
            by_preference.setdefault(preference, []).append(name)
    hosts = []
    for preference in sorted(by_preference):
        names = by_preference[preference]
        random.shuffle(names)
        hosts += [Host(name, port) for name in names]
    return hosts


def addresses(resolver, name: str) -> list[str]:
    literal = _ip_literal(name)
    if literal is not None:
        return [literal]
    return resolver.aaaa(name) + resolver.a(name)


@functools.lru_cache(maxsize=1024)
def _ip_literal(name: str) -> str | None:
    """``name`` as an IP address, or ``None`` for a host name (parsed once per name: a
    failed parse raises twice inside ``ipaddress``, for every message)."""
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return None
