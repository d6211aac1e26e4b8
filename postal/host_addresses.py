"""Which IP addresses this host can send from, so a worker only claims queue rows whose IP
pool address it owns (Postal's rule: rows with no address, or one of this host's).

``worker.ip_addresses`` names them explicitly (addresses or networks: containers behind NAT,
tests).  Otherwise they are read from the kernel without extra dependencies: on Linux every
local route of ``/proc/net/fib_trie`` (so ``127.0.0.0/8`` counts whole, as the kernel binds
any of it) and every address of ``/proc/net/if_inet6``; elsewhere the addresses the host
name resolves to, plus loopback.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Iterable, Sequence

from sqlalchemy import select

from .models import IPAddress


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FIB_TRIE = "/proc/net/fib_trie"
IF_INET6 = "/proc/net/if_inet6"


def parse_fib_trie(text: str) -> list[Network]:
    """Local routes: a ``|-- <address>`` line followed by ``/<prefix> host LOCAL``."""
    networks, address = [], None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|--"):
            address = stripped[3:].strip()
        elif address and stripped.endswith("host LOCAL") and stripped.startswith("/"):
            prefix = stripped[1:].split()[0]
            networks.append(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    return networks


def parse_if_inet6(text: str) -> list[Network]:
    """``/proc/net/if_inet6``: 32 hex digits per line, then index, prefix, scope, flags."""
    networks = []
    for line in text.splitlines():
        fields = line.split()
        if fields and len(fields[0]) == 32:
            address = ipaddress.IPv6Address(int(fields[0], 16))
            networks.append(ipaddress.ip_network(f"{address}/128"))
    return networks


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as file:
            return file.read()
    except OSError:
        return None


def discovered_networks() -> list[Network]:
    fib, inet6 = _read(FIB_TRIE), _read(IF_INET6)
    networks = parse_fib_trie(fib or "") + parse_if_inet6(inet6 or "")
    if fib is None:
        found = {"127.0.0.1", "::1"}
        try:
            found |= {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
        except OSError:
            pass
        networks += [ipaddress.ip_network(a.split("%")[0]) for a in sorted(found)]
    return sorted(set(networks), key=str)


@functools.lru_cache(maxsize=8)
def local_networks(configured: tuple[str, ...] = ()) -> tuple[Network, ...]:
    """``configured`` (``worker.ip_addresses``) when given, else what the kernel reports;
    read once per process."""
    if configured:
        return tuple(ipaddress.ip_network(item, strict=False) for item in configured)
    return tuple(discovered_networks())


def is_local(address: str | None, networks: Sequence[Network]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip.version == network.version and ip in network for network in networks)


def local_ip_ids(db, configured: Iterable[str] = ()) -> list[int]:
    """Ids of the ``ip_addresses`` rows (IPv4 or IPv6) that are this host's."""
    networks = local_networks(tuple(configured))
    table = IPAddress.__table__
    rows = db.execute(select(table.c.id, table.c.ipv4, table.c.ipv6)).all()
    return [r.id for r in rows if is_local(r.ipv4, networks) or is_local(r.ipv6, networks)]
