"""Changing IP pools, their addresses, organisation assignments and IP rules: the checks and
writes the management API and the web UI share, so both refuse the same input the same way.

Each function raises :class:`Invalid` (naming the field) and changes nothing on bad input.
"""

from __future__ import annotations

import ipaddress

from sqlalchemy import select

from .ip_pools import conditions
from .models import IPAddress, IPPool, IPPoolRule


class Invalid(ValueError):
    def __init__(self, field: str, message: str, *, conflict: bool = False):
        super().__init__(message)
        self.field, self.message, self.conflict = field, message, conflict


def _address(value, field: str, version: int, *, required: bool) -> str | None:
    value = (value or "").strip() if isinstance(value, str) or value is None else value
    if not value:
        if required:
            raise Invalid(field, f"{field} is required.")
        return None
    try:
        address = ipaddress.ip_address(value)
    except (ValueError, TypeError):
        raise Invalid(field, f"{value!r} is not an IPv{version} address.") from None
    if address.version != version:
        raise Invalid(field, f"{value!r} is not an IPv{version} address.")
    return address.compressed


def _priority(value) -> int:
    if value is None or value == "":
        return 100
    try:
        priority = int(value)
    except (TypeError, ValueError):
        raise Invalid("priority", "priority must be a whole number from 0 to 100.") from None
    if isinstance(value, bool) or isinstance(value, float) or not 0 <= priority <= 100:
        raise Invalid("priority", "priority must be a whole number from 0 to 100.")
    return priority


def set_address(db, ip: IPAddress, *, ipv4, ipv6, hostname, priority) -> IPAddress:
    """Validate and apply the four fields (``ipv4`` and ``hostname`` required; addresses
    stored in their canonical form and unique across pools)."""
    ipv4 = _address(ipv4, "ipv4", 4, required=True)
    ipv6 = _address(ipv6, "ipv6", 6, required=False)
    hostname = (hostname or "").strip() if isinstance(hostname, str) or not hostname else None
    if not hostname or len(hostname) > 255 or any(c.isspace() for c in hostname):
        raise Invalid("hostname", "hostname is required: the name this address says in EHLO.")
    priority = _priority(priority)
    for field, value in (("ipv4", ipv4), ("ipv6", ipv6)):
        if value is None:
            continue
        column = getattr(IPAddress, field)
        clash = db.scalar(select(IPAddress.id).where(column == value, IPAddress.id != ip.id))
        if clash is not None:
            raise Invalid(field, f"{value} is already in an IP pool.", conflict=True)
    ip.ipv4, ip.ipv6, ip.hostname, ip.priority = ipv4, ipv6, hostname, priority
    return ip


def set_pool(pool: IPPool, *, name, default) -> IPPool:
    name = (name or "").strip() if isinstance(name, str) or not name else None
    if not name or len(name) > 255:
        raise Invalid("name", "name is required (at most 255 characters).")
    pool.name, pool.default = name, bool(default)
    return pool


def assign_pools(db, organization, pool_uuids) -> None:
    """Make exactly these pools (by uuid) the organisation's; rules on a pool taken away
    stop counting (allocation skips them) but are kept."""
    pools = list(db.scalars(select(IPPool).where(IPPool.uuid.in_(list(pool_uuids)))))
    missing = sorted(set(pool_uuids) - {p.uuid for p in pools})
    if missing:
        raise Invalid("ip_pools", f"No such IP pool: {missing[0]}.")
    organization.ip_pools = pools


def set_rule(db, rule: IPPoolRule, organization, *, pool_uuid, from_text, to_text) -> IPPoolRule:
    """A rule needs at least one condition and a pool assigned to ``organization``."""
    pool = db.scalar(select(IPPool).where(IPPool.uuid == pool_uuid)) if pool_uuid else None
    if pool is None:
        raise Invalid("ip_pool", "ip_pool must name an IP pool.")
    if pool not in organization.ip_pools:
        raise Invalid("ip_pool", f"The IP pool {pool.name!r} is not assigned to the organization.")
    texts = {}
    for field, text in (("from_text", from_text), ("to_text", to_text)):
        if text is not None and not isinstance(text, str):
            raise Invalid(field, f"{field} must be text, one condition per line.")
        lines = conditions(text)
        bad = [line for line in lines if " " in line or line.count("@") > 1]
        if bad:
            raise Invalid(field, f"{bad[0]!r} is not an e-mail address or a domain.")
        texts[field] = "\n".join(lines) or None
    if not texts["from_text"] and not texts["to_text"]:
        raise Invalid("from_text", "A rule needs at least one From or To condition.")
    rule.ip_pool_id = pool.id
    rule.from_text, rule.to_text = texts["from_text"], texts["to_text"]
    return rule


def set_server_pool(db, server, pool_uuid) -> None:
    """``None`` clears it; otherwise the pool must be assigned to the server's organisation."""
    if not pool_uuid:
        server.ip_pool = None
        return
    pool = db.scalar(select(IPPool).where(IPPool.uuid == pool_uuid))
    if pool is None:
        raise Invalid("ip_pool", f"No such IP pool: {pool_uuid}.")
    if pool not in server.organization.ip_pools:
        raise Invalid("ip_pool", f"The IP pool {pool.name!r} is not assigned to the organization.")
    server.ip_pool = pool
