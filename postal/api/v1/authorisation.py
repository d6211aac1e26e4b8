"""Which domain authorises a sender address (Postal's rule, shared by the API and SMTP).

1. A verified domain of exactly that name owned by the server or by its organisation
   (the server's own wins).
2. Else the server's first verified ``use_for_any`` domain, by name.
3. Else none: the address is not authorised.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Iterable

from sqlalchemy import or_, select

from ...models import Domain, Server, transaction_for


_NAME_PREFIX = re.compile(r".*<")
_AFTER_ADDRESS = re.compile(r">.*")
_COMMENT = re.compile(r"\(.+?\)")


def strip_name(address: str) -> str:
    """``"Name <a@b>"`` -> ``"a@b"``, comments removed (Postal's ``strip_name_from_address``)."""
    address = _NAME_PREFIX.sub("", address, count=1)
    address = _AFTER_ADDRESS.sub("", address, count=1)
    return _COMMENT.sub("", address).strip()


def domain_for_address(dbsession, server: Server, address: str | None) -> Domain | None:
    if not address:
        return None
    local, at, domain_name = strip_name(address).partition("@")
    if not at or not local or not domain_name:
        return None
    domain_name = domain_name.lower()
    owned = dbsession.scalars(
        select(Domain).where(
            Domain.name == domain_name,
            Domain.verified_at.is_not(None),
            or_(Domain.server_id == server.id, Domain.organization_id == server.organization_id),
        )
    ).all()
    if owned:
        # The server's own domain wins over the organisation's.
        return sorted(owned, key=lambda d: d.server_id is None)[0]
    return dbsession.scalar(
        select(Domain)
        .where(
            Domain.server_id == server.id,
            Domain.verified_at.is_not(None),
            Domain.use_for_any.is_(True),
        )
        .order_by(Domain.name)
        .limit(1)
    )


def domain_for_addresses(dbsession, server: Server, addresses: Iterable[str]) -> Domain | None:
    """Every address must authorise; the first one's domain is used."""
    domains = [domain_for_address(dbsession, server, address) for address in addresses]
    if not domains or any(domain is None for domain in domains):
        return None
    return domains[0]


def header_addresses(values: Iterable[str]) -> list[str]:
    return [addr for _name, addr in email.utils.getaddresses(list(values)) if addr]


def domain_for_headers(dbsession, server: Server, headers) -> Domain | None:
    """Header mode (SMTP and ``send/raw``): ``From``, then ``Sender`` when the server has
    ``allow_sender``.  ``headers`` is an ``email.message.Message`` of the header block."""
    domain = domain_for_addresses(dbsession, server, header_addresses(headers.get_all("From", [])))
    if domain is None and server.allow_sender:
        senders = header_addresses(headers.get_all("Sender", []))
        domain = domain_for_addresses(dbsession, server, senders)
    return domain


CACHE_SECONDS = 5.0


def cached_domain_id(request, server, address: str | None) -> int | None:
    """:func:`domain_for_address`'s id, remembered for a few seconds per server and domain
    (a sender sends from the same domain all day; a new verification shows within 5 s)."""
    if not address:
        return None
    local, at, name = strip_name(address).partition("@")
    if not at or not local or not name:
        return None
    cache = request.registry.setdefault("postal.api_v1.domains", {})
    key = (server.id, name.lower())
    now = time.monotonic()
    cached = cache.get(key)
    if cached is None or cached[0] < now:
        with transaction_for(request) as dbsession:
            domain = domain_for_address(dbsession, server, address)
            cached = (now + CACHE_SECONDS, domain.id if domain else None)
        if len(cache) > 10000:
            cache.clear()
        cache[key] = cached
    return cached[1]
