"""PROXY protocol version 1 (text), as Postal accepts it when ``smtp_server.proxy_protocol``
is on: the first line names the real client; anything else is refused."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


PROXY_ERROR = "502 Proxy Error"


@dataclass(frozen=True)
class ProxyHeader:
    client_ip: str | None  # None for "PROXY UNKNOWN": keep the connection's own address
    client_port: int = 0


def parse_proxy_line(line: bytes) -> ProxyHeader | None:
    """``PROXY TCP4|TCP6 <client> <proxy> <client port> <proxy port>``; ``None`` if invalid."""
    try:
        text = line.decode("ascii").rstrip("\r\n")
    except UnicodeDecodeError:
        return None
    parts = text.split(" ")
    if len(parts) >= 2 and parts[0] == "PROXY" and parts[1] == "UNKNOWN":
        return ProxyHeader(client_ip=None)
    if len(parts) != 6 or parts[0] != "PROXY" or parts[1] not in ("TCP4", "TCP6"):
        return None
    try:
        client = ipaddress.ip_address(parts[2])
        ipaddress.ip_address(parts[3])
        port = int(parts[4])
        int(parts[5])
    except ValueError:
        return None
    if (client.version == 4) != (parts[1] == "TCP4") or not 0 <= port <= 65535:
        return None
    return ProxyHeader(client_ip=str(client), client_port=port)
