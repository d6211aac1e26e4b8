from __future__ import annotations

import pluggy
import pytest

import plugins.dns_checks
from postal import hookimpl, hookspecs
from postal.domains import (
    DomainError,
    check_dns,
    dns_error_event,
    dns_records,
    domain_info,
    new_domain,
    normalise_name,
    verify,
)  # fmt: skip
from postal.models import Organization, Server
from postal.services.dns import MemoryResolver
from postal.settings import load_settings
from postal.types import DnsCheckResult


SETTINGS = load_settings(
    {"postal.dkim_key_size": "1024", "dns.mx_records": "mx1.p.test, mx2.p.test",
     "dns.spf_include": "spf.p.test", "dns.return_path_domain": "rp.p.test"},
    environ={}, here="/tmp",
)  # fmt: skip


def _domain(name="example.com", verified=False):
    domain = new_domain(SETTINGS, name, verified=verified)
    domain.dkim_identifier_string = "AbCDEf"
    domain.verification_token = "T" * 32
    return domain


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Example.COM.", "example.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        (" a-b.co.uk ", "a-b.co.uk"),
    ],
)
def test_normalise_name(given, expected):
    assert normalise_name(given) == expected


@pytest.mark.parametrize("bad", ["", "localhost", "-a.com", "a..com", "a_b.com", "x" * 64 + ".com"])
def test_normalise_name_refuses(bad):
    with pytest.raises(DomainError):
        normalise_name(bad)


def test_records_as_postals_setup_page_shows_them():
    domain = _domain()
    records = dns_records(SETTINGS, domain)
    assert [r["purpose"] for r in records] == [
        "verification", "spf", "dkim", "return_path", "mx", "mx",
    ]  # fmt: skip
    assert records[0]["value"] == "postal-verification " + "T" * 32
    assert records[1]["value"] == "v=spf1 a mx include:spf.p.test ~all"
    assert records[2]["name"] == "postal-AbCDEf._domainkey.example.com"
    assert records[3] == {"purpose": "return_path", "type": "CNAME", "name": "psrp.example.com",
                          "value": "rp.p.test"}  # fmt: skip
    assert records[4] == {"purpose": "mx", "type": "MX", "name": "example.com",
                          "value": "mx1.p.test", "priority": 10}  # fmt: skip


def test_verify_by_txt_record():
    domain = _domain()
    assert not verify(SETTINGS, domain, MemoryResolver({("example.com", "TXT"): ["other"]}))
    assert domain.verified_at is None
    resolver = MemoryResolver({("example.com", "TXT"): ["postal-verification " + "T" * 32]})
    assert verify(SETTINGS, domain, resolver)
    assert domain.verified_at is not None


class ExtraCheck:
    @hookimpl
    def postal_check_dns(self, domain, resolver):
        found = resolver.txt(f"_mta-sts.{domain.name}")
        return [DnsCheckResult("mta_sts", "OK" if found else "Missing", None)]


def test_hook_postal_check_dns():
    """Every checker runs; core stores Postal's four and fires DomainDNSError on failure."""
    pm = pluggy.PluginManager("postal")
    pm.add_hookspecs(hookspecs)
    pm.register(plugins.dns_checks)
    pm.register(ExtraCheck())
    pm.hook.postal_configure.call_historic(kwargs={"settings": SETTINGS, "role": "cli"})
    domain = _domain(verified=True)
    domain.server = Server(name="Main", permalink="main", uuid="s-uuid",
                           organization=Organization(name="Org", permalink="org"))  # fmt: skip
    info = domain_info(SETTINGS, domain)
    resolver = MemoryResolver({
        ("example.com", "TXT"): ["v=spf1 a mx include:spf.p.test ~all"],
        (info.dkim_record_name, "TXT"): [info.dkim_record_value],
        ("example.com", "MX"): [(10, "mx1.p.test"), (20, "mx2.p.test")],
        ("_mta-sts.example.com", "TXT"): ["v=STSv1; id=1"],
    })  # fmt: skip
    results = check_dns(SETTINGS, domain, resolver, pm.hook)
    assert {r.check: r.status for r in results} == {
        "spf": "OK", "dkim": "OK", "mx": "OK", "return_path": "Missing", "mta_sts": "OK",
    }  # fmt: skip
    assert domain.dns_ok and dns_error_event(domain) is None

    resolver.records[("example.com", "TXT")] = ["v=spf1 -all"]
    check_dns(SETTINGS, domain, resolver, pm.hook)
    assert domain.spf_status == "Invalid"
    assert domain.spf_error == "An SPF record exists but it doesn't include spf.p.test"
    event = dns_error_event(domain)
    assert event.name == "DomainDNSError"
    assert event.payload["spf_status"] == "Invalid"
    assert event.payload["server"]["organization"] == "org"
