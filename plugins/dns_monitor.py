"""Re-checks the DNS of every verified domain on a schedule.

Postal only re-checks domains someone checked once by hand; this checks every verified
domain, so a record that was never right is reported too.  A failing check of a server's
domain fires ``DomainDNSError``.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import or_, select

from postal import hookimpl
from postal.domains import check_dns, dns_error_event
from postal.models import Domain, utcnow
from postal.services.dns import IDNSResolver
from postal.types import ScheduledTask
from postal.unit_of_work import unit_of_work


log = logging.getLogger(__name__)

BATCH = 50
RECHECK_AFTER = dt.timedelta(hours=1)


def check_all_dns(registry) -> int:
    """Check every verified domain last checked over an hour ago; returns how many."""
    checked = 0
    while True:
        with unit_of_work(registry) as request:
            cutoff = utcnow() - RECHECK_AFTER
            domains = request.dbsession.scalars(
                select(Domain)
                .where(
                    Domain.verified_at.is_not(None),
                    or_(Domain.dns_checked_at.is_(None), Domain.dns_checked_at <= cutoff),
                )
                .order_by(Domain.id)
                .limit(BATCH)
            ).all()
            resolver = request.find_service(IDNSResolver)
            for domain in domains:
                check_dns(registry.settings, domain, resolver, request.hooks)
                event = dns_error_event(domain)
                if event is not None:
                    request.notify(event)
        checked += len(domains)
        if len(domains) < BATCH:
            return checked


@hookimpl
def postal_register_scheduled_tasks():
    return [ScheduledTask(name="check_all_dns", interval=dt.timedelta(hours=1), run=check_all_dns)]
