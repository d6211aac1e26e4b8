from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from plugins.dns_monitor import check_all_dns
from postal import hookimpl
from postal.config import configure
from postal.domains import domain_info, new_domain
from postal.models import Domain, Organization, Server, utcnow
from postal.unit_of_work import unit_of_work


class Recorder:
    def __init__(self):
        self.events = []

    @hookimpl
    def postal_event(self, event):
        self.events.append(event)


@pytest.fixture
def registry(app_settings, clean_tables, dns_server):
    settings = dict(app_settings, **{"dns.nameservers": [("127.0.0.1", dns_server.port)]})
    return configure(settings, role="worker").registry


def _add_domain(registry, name, *, verified=True, checked_at=None):
    with unit_of_work(registry) as request:
        org = Organization(name="Org", permalink=f"org-{name.split('.')[0]}")
        server = Server(organization=org, name="S", permalink="s")
        domain = new_domain(registry.settings, name, verified=verified)
        domain.server = server
        domain.dns_checked_at = checked_at
        request.dbsession.add(domain)
        request.dbsession.flush()
        return domain.uuid, domain_info(registry.settings, domain)


def test_checks_every_verified_domain_and_reports_failures(registry, dns_server):
    recorder = Recorder()
    registry["postal.plugin_manager"].register(recorder)
    _good_uuid, good = _add_domain(registry, "good.test")
    bad_uuid, _bad = _add_domain(registry, "bad.test")
    _add_domain(registry, "unverified.test", verified=False)
    _add_domain(registry, "recent.test", checked_at=utcnow() - dt.timedelta(minutes=5))
    dns_server.add("good.test", "TXT", "v=spf1 a mx include:spf.postal.test ~all")
    dns_server.add(good.dkim_record_name, "TXT", good.dkim_record_value)
    dns_server.add("good.test", "MX", "10 mx1.postal.test.")
    dns_server.add("good.test", "MX", "20 mx2.postal.test.")

    assert check_all_dns(registry) == 2

    with unit_of_work(registry) as request:
        statuses = {
            d.name: (d.spf_status, d.dkim_status, d.mx_status, d.return_path_status)
            for d in request.dbsession.scalars(select(Domain))
        }
    assert statuses["good.test"] == ("OK", "OK", "OK", "Missing")
    assert statuses["bad.test"] == ("Missing", "Missing", "Missing", "Missing")
    assert statuses["unverified.test"] == (None, None, None, None)
    assert statuses["recent.test"] == (None, None, None, None)
    assert [(e.name, e.payload["uuid"]) for e in recorder.events] == [("DomainDNSError", bad_uuid)]
    assert recorder.events[0].payload["spf_error"] == "No SPF record exists for this domain"
    # Everything was just checked: nothing is due within the hour.
    assert check_all_dns(registry) == 0
