"""Choosing the source IP address a message is sent from (``postal.use_ip_pools``).

A server's IP rules (newest first), then its organisation's (newest first), pick a pool by
sender or recipient; the first rule that matches wins, else the server's own pool.  Within the
pool one address is drawn at random, weighted by its priority (0–100), as Postal's
``ORDER BY RAND() * priority DESC`` does.  A rule only counts while its pool is assigned to
the organisation.

Everything a choice needs is loaded for many servers at once (:func:`load_choosers`: four
small queries whatever the number of messages), so :func:`postal.messages.store_many` keeps
its three multi-row INSERTs per group commit; the choice itself is pure Python.
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select

from .headers import header_block, header_values
from .models import IPAddress, IPPool, IPPoolRule, Server
from .models.organization import organization_ip_pools


@dataclass(frozen=True)
class SourceIP:
    """One address of a pool, as delivery needs it."""

    id: int
    ipv4: str
    ipv6: str | None
    hostname: str
    priority: int


@dataclass(frozen=True)
class Rule:
    pool_id: int
    from_conditions: tuple[str, ...]
    to_conditions: tuple[str, ...]

    def matches(self, from_addresses: Sequence[str], rcpt_to: str | None) -> bool:
        """Postal's ``apply_to_message?``: any From condition against any From address, or
        any To condition against the envelope recipient."""
        for condition in self.from_conditions:
            if any(address_matches(condition, address) for address in from_addresses):
                return True
        if rcpt_to:
            return any(address_matches(c, rcpt_to) for c in self.to_conditions)
        return False


def conditions(text: str | None) -> tuple[str, ...]:
    """One condition per line; blank lines are ignored, case is not significant."""
    return tuple(line.strip().lower() for line in (text or "").splitlines() if line.strip())


def address_matches(condition: str, address: str) -> bool:
    """A condition with ``@`` is a whole address (the candidate's ``+tag`` removed before
    comparing); without, it is a domain that must equal the address's domain."""
    address = email.utils.parseaddr(address)[1] or address.strip()
    local, at, domain = address.lower().rpartition("@")
    if not at:
        return False
    condition = condition.strip().lower()
    if "@" in condition:
        return condition == f"{local.split('+', 1)[0]}@{domain}"
    return condition == domain


def from_addresses(raw: bytes) -> list[str]:
    """Every address of every ``From`` header of ``raw`` (the header block only)."""
    values = header_values(header_block(raw), "From")
    return [address for _, address in email.utils.getaddresses(values) if address]


def weighted_choice(addresses: Sequence[SourceIP], rng=random) -> SourceIP | None:
    """The address with the highest ``random() * priority``; priority 0 is only chosen when
    every address has it."""
    if not addresses:
        return None
    return max(addresses, key=lambda ip: rng.random() * ip.priority)


@dataclass(frozen=True)
class PoolChooser:
    """What one server's choice depends on: rules in the order they are tried, the server's
    own pool and the addresses of every pool involved."""

    rules: tuple[Rule, ...]
    server_pool_id: int | None
    addresses: dict[int, tuple[SourceIP, ...]]

    def pool_for(self, from_addrs: Sequence[str], rcpt_to: str | None) -> int | None:
        for rule in self.rules:
            if rule.matches(from_addrs, rcpt_to):
                return rule.pool_id
        return self.server_pool_id

    def choose(self, from_addrs: Sequence[str], rcpt_to: str | None, rng=random):
        """The :class:`SourceIP` to send from, or ``None`` (no pool, or an empty one)."""
        pool_id = self.pool_for(from_addrs, rcpt_to)
        return weighted_choice(self.addresses.get(pool_id, ()), rng) if pool_id else None


def load_choosers(db, server_ids: Iterable[int]) -> dict[int, PoolChooser]:
    """A :class:`PoolChooser` for each server in ``server_ids`` (``db`` is a Session or a
    Connection)."""
    server_ids = sorted(set(server_ids))
    if not server_ids:
        return {}
    servers = db.execute(
        select(Server.id, Server.organization_id, Server.ip_pool_id).where(
            Server.id.in_(server_ids)
        )
    ).all()
    org_ids = sorted({row.organization_id for row in servers})
    assigned: set[tuple[int, int]] = set(
        db.execute(
            select(
                organization_ip_pools.c.organization_id, organization_ip_pools.c.ip_pool_id
            ).where(organization_ip_pools.c.organization_id.in_(org_ids))
        ).all()
    )
    table = IPPoolRule.__table__
    rules = db.execute(
        select(
            table.c.server_id,
            table.c.organization_id,
            table.c.ip_pool_id,
            table.c.from_text,
            table.c.to_text,
        )
        .where(or_(table.c.server_id.in_(server_ids), table.c.organization_id.in_(org_ids)))
        .order_by(table.c.created_at.desc(), table.c.id.desc())
    ).all()
    pool_ids = {row.ip_pool_id for row in servers if row.ip_pool_id} | {
        row.ip_pool_id for row in rules
    }
    addresses = pool_addresses(db, pool_ids)
    choosers = {}
    for server in servers:
        org = server.organization_id
        ordered = [r for r in rules if r.server_id == server.id]
        ordered += [r for r in rules if r.server_id is None and r.organization_id == org]
        choosers[server.id] = PoolChooser(
            rules=tuple(
                Rule(r.ip_pool_id, conditions(r.from_text), conditions(r.to_text))
                for r in ordered
                if (org, r.ip_pool_id) in assigned
            ),
            server_pool_id=server.ip_pool_id,
            addresses=addresses,
        )
    return choosers


def pool_addresses(db, pool_ids: Iterable[int]) -> dict[int, tuple[SourceIP, ...]]:
    pool_ids = sorted(set(pool_ids))
    if not pool_ids:
        return {}
    table = IPAddress.__table__
    found: dict[int, list[SourceIP]] = {}
    rows = db.execute(
        select(table).where(table.c.ip_pool_id.in_(pool_ids)).order_by(table.c.id)
    ).all()
    for row in rows:
        found.setdefault(row.ip_pool_id, []).append(
            SourceIP(row.id, row.ipv4, row.ipv6, row.hostname, row.priority or 0)
        )
    return {pool_id: tuple(ips) for pool_id, ips in found.items()}


def allocate(db, server, from_headers: Sequence[str], rcpt_to: str | None) -> SourceIP | None:
    """The source IP for one message of ``server`` (a Server or its id); ``from_headers`` are
    the raw ``From`` header values (or bare addresses).  For many messages, call
    :func:`load_choosers` once and :meth:`PoolChooser.choose` per message."""
    server_id = server if isinstance(server, int) else server.id
    chooser = load_choosers(db, [server_id]).get(server_id)
    if chooser is None:
        return None
    addrs = [a for _, a in email.utils.getaddresses(list(from_headers)) if a]
    return chooser.choose(addrs, rcpt_to)


def assign_default_pools(dbsession, organization) -> None:
    """Give a new organisation every pool marked ``default`` (Postal does it on create)."""
    # The organisation may not be in the session yet: no flush of half-built rows.
    with dbsession.no_autoflush:
        for pool in dbsession.scalars(select(IPPool).where(IPPool.default.is_(True))):
            if pool not in organization.ip_pools:
                organization.ip_pools.append(pool)
