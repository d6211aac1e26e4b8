"""Track domains: the host names click and open tracking URLs are built on (Postal §7.1).

A track domain ``<name>.<domain>`` belongs to one server and one of the server's (or its
organisation's) domains; tracking is applied only once its CNAME to ``dns.track_domain``
checks out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select

from .models import DnsStatus, Domain, TrackDomain, utcnow
from .services.dns import DNSLookupError, IDNSResolver


NAME = re.compile(r"^[a-z0-9-]+$")


class TrackDomainError(ValueError):
    """Bad track domain input; the message is safe to show."""


def normalise_label(name: str) -> str:
    """The single DNS label in front of the domain: lower-case letters, digits, hyphens."""
    label = (name or "").strip().lower()
    if not NAME.match(label) or len(label) > 63 or label.startswith("-") or label.endswith("-"):
        raise TrackDomainError(
            "name must be a single label of lower-case letters, digits and hyphens."
        )
    return label


def excluded_domains(text: str | None) -> list[str]:
    """The newline list of hosts (as written in links, with any port) never click-tracked."""
    return [line.strip().lower() for line in (text or "").splitlines() if line.strip()]


def excluded_text(values: list[str]) -> str | None:
    """The stored newline list; each entry must be one host name (with any port)."""
    if any(any(c.isspace() for c in value.strip()) for value in values):
        raise TrackDomainError(
            "excluded click domains must be host names (with a port if links have one)."
        )
    hosts = [value.strip().lower() for value in values if value.strip()]
    # Checked after lower(): a few characters lower-case to two ("İ"), so a name that fitted
    # the API's limit as typed could come back longer than the document allows.
    if any(len(host) > 255 for host in hosts):
        raise TrackDomainError("excluded click domains must be at most 255 characters each.")
    return "\n".join(hosts) or None


def usable_domains(dbsession, server) -> list[Domain]:
    """The verified domains of the server or of its organisation, by name."""
    return list(
        dbsession.scalars(
            select(Domain)
            .where(_owned_by(server), Domain.verified_at.is_not(None))
            .order_by(Domain.name)
        )
    )


def usable_domain(dbsession, server, uuid: str) -> Domain:
    """The domain ``uuid`` if a track domain of ``server`` may be built on it."""
    domain = dbsession.scalar(select(Domain).where(Domain.uuid == uuid, _owned_by(server)))
    if domain is None:
        raise TrackDomainError("domain must be the uuid of a domain of this server.")
    if not domain.verified:
        raise TrackDomainError(f"{domain.name} has not been verified yet.")
    return domain


def _owned_by(server):
    return or_(Domain.server_id == server.id, Domain.organization_id == server.organization_id)


def taken(dbsession, server, domain: Domain, name: str) -> str | None:
    """Why ``<name>.<domain>`` cannot be added to ``server``, or None: one track domain per
    domain per server, and a full name only once in the installation."""
    if dbsession.scalar(
        select(TrackDomain.id).where(
            TrackDomain.domain_id == domain.id,
            or_(TrackDomain.server_id == server.id, TrackDomain.name == name),
        )
    ):
        return (
            f"{domain.name} already has a track domain on this server, or {name}.{domain.name} "
            "is taken."
        )
    return None


def check_dns(
    settings: Mapping[str, Any], track_domain: TrackDomain, resolver: IDNSResolver
) -> str:
    """Check the CNAME at the full name, store Postal's status and error; returns the status."""
    name = track_domain.full_name
    expected = settings["dns.track_domain"].rstrip(".").lower()
    try:
        targets = [target.rstrip(".").lower() for target in resolver.cname(name)]
    except DNSLookupError as exc:
        status, error = DnsStatus.INVALID, f"DNS lookup failed: {exc}"
    else:
        if not targets:
            status, error = DnsStatus.MISSING, f"There is no record at {name}"
        elif len(targets) == 1 and targets[0] == expected:
            status, error = DnsStatus.OK, None
        else:
            status = DnsStatus.INVALID
            error = (
                f"There is a CNAME record at {name} but it points to {targets[0]} which is "
                f"incorrect. It should point to {expected}."
            )
    track_domain.dns_status = str(status)
    track_domain.dns_error = error[:255] if error else None
    track_domain.dns_checked_at = utcnow()
    return track_domain.dns_status


def for_sending(dbsession, server_id: int, domain_name: str | None) -> TrackDomain | None:
    """The server's track domain on ``domain_name`` whose DNS checks out, if any."""
    if not domain_name:
        return None
    return dbsession.scalar(
        select(TrackDomain)
        .join(Domain, Domain.id == TrackDomain.domain_id)
        .where(
            TrackDomain.server_id == server_id,
            Domain.name == domain_name.lower(),
            TrackDomain.dns_status == DnsStatus.OK,
        )
        .order_by(TrackDomain.id)
        .limit(1)
    )
