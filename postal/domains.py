"""Domains: creation with a DKIM key, the records to publish, verification and DNS checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prometheus_client import Counter

from .dkim_keys import dkim_record, generate_private_key, selector
from .events import Event
from .models import Domain, utcnow
from .services.dns import DNSLookupError, IDNSResolver
from .types import DnsCheckResult, DomainInfo


VERIFY_FAILED = (
    "We couldn't verify your domain. Please double check you've added the TXT record correctly."
)


class DomainError(ValueError):
    """Bad domain input; the message is safe to show."""


# Served on the /metrics of the process that ran the check (worker or web).
DNS_CHECKS = Counter("postal_dns_checks", "Domain DNS check results.", ["check", "status"])


def normalise_name(name: str) -> str:
    """Lower-case, no trailing dot, internationalised names as punycode."""
    name = (name or "").strip().rstrip(".").lower()
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise DomainError(f"{name!r} is not a valid domain name") from None
    labels = ascii_name.split(".")
    valid = len(labels) >= 2 and all(
        0 < len(label) <= 63
        and all(c.isalnum() or c == "-" for c in label)
        and not label.startswith("-")
        and not label.endswith("-")
        for label in labels
    )
    if not valid or len(ascii_name) > 253:
        raise DomainError(f"{name!r} is not a valid domain name")
    return ascii_name


def new_domain(settings: Mapping[str, Any], name: str, *, verified: bool) -> Domain:
    domain = Domain(
        name=normalise_name(name),
        verification_method="DNS",
        dkim_private_key=generate_private_key(settings["postal.dkim_key_size"]),
    )
    if verified:
        domain.verified_at = utcnow()
    return domain


def dkim_selector(settings: Mapping[str, Any], domain: Domain) -> str:
    return selector(settings["dns.dkim_identifier"], domain.dkim_identifier_string)


def domain_info(settings: Mapping[str, Any], domain: Domain) -> DomainInfo:
    return DomainInfo(
        uuid=domain.uuid,
        name=domain.name,
        dkim_record_name=f"{dkim_selector(settings, domain)}._domainkey.{domain.name}",
        dkim_record_value=dkim_record(domain.dkim_private_key),
        return_path_name=f"{settings['dns.custom_return_path_prefix']}.{domain.name}",
    )


def dns_records(settings: Mapping[str, Any], domain: Domain) -> list[dict[str, Any]]:
    """The records a user publishes, as Postal's setup page shows them."""
    info = domain_info(settings, domain)
    records = []
    if not domain.verified:
        records.append(
            _record(
                "verification",
                "TXT",
                domain.name,
                f"{settings['dns.domain_verify_prefix']} {domain.verification_token}",
            )
        )
    records += [
        _record(
            "spf",
            "TXT",
            domain.name,
            f"v=spf1 a mx include:{settings['dns.spf_include']} ~all",
        ),
        _record("dkim", "TXT", info.dkim_record_name, info.dkim_record_value),
        _record("return_path", "CNAME", info.return_path_name, settings["dns.return_path_domain"]),
    ]
    records += [
        _record("mx", "MX", domain.name, host, priority=10) for host in settings["dns.mx_records"]
    ]
    return records


def _record(purpose: str, rtype: str, name: str, value: str, **extra) -> dict[str, Any]:
    return {"purpose": purpose, "type": rtype, "name": name, "value": value, **extra}


def verify(settings: Mapping[str, Any], domain: Domain, resolver: IDNSResolver) -> bool:
    """Look for ``<prefix> <token>`` in the domain's TXT records; mark verified when found."""
    if domain.verified:
        return True
    expected = f"{settings['dns.domain_verify_prefix']} {domain.verification_token}"
    try:
        found = expected in (value.strip() for value in resolver.txt(domain.name))
    except DNSLookupError:
        found = False
    if found:
        domain.verified_at = utcnow()
    return found


def check_dns(
    settings: Mapping[str, Any], domain: Domain, resolver: IDNSResolver, hooks
) -> list[DnsCheckResult]:
    """Run every ``postal_check_dns`` plugin and store Postal's four statuses."""
    results = [
        result
        for plugin_results in hooks.postal_check_dns(
            domain=domain_info(settings, domain), resolver=resolver
        )
        for result in plugin_results or []
    ]
    for result in results:
        DNS_CHECKS.labels(result.check, result.status).inc()
        if result.check in ("spf", "dkim", "mx", "return_path"):
            setattr(domain, f"{result.check}_status", result.status)
            setattr(domain, f"{result.check}_error", (result.error or None) and result.error[:255])
    domain.dns_checked_at = utcnow()
    return results


def dns_error_event(domain: Domain) -> Event | None:
    """``DomainDNSError`` for a server's domain whose records are not all right."""
    if domain.dns_ok or domain.server is None:
        return None
    server = domain.server
    payload = {
        "server": {
            "uuid": server.uuid,
            "name": server.name,
            "permalink": server.permalink,
            "organization": server.organization.permalink,
        },
        "domain": domain.name,
        "uuid": domain.uuid,
        "dns_checked_at": domain.dns_checked_at.timestamp() if domain.dns_checked_at else None,
    }
    for check in ("spf", "dkim", "mx", "return_path"):
        payload[f"{check}_status"] = getattr(domain, f"{check}_status")
        payload[f"{check}_error"] = getattr(domain, f"{check}_error")
    return Event(name="DomainDNSError", server_id=server.id, payload=payload)
