"""The built-in DNS checks, through pluggy and the real resolver against loopback DNS."""

from __future__ import annotations

import socket

import pluggy
import pytest

import plugins.dns_checks
import postal.hookspecs
import postal.settings
from postal import dkim_keys
from postal.services.dns import DNSLookupError, DnsPythonResolver, MemoryResolver
from postal.types import DnsCheckResult, DomainInfo


DKIM_NAME = "postal-AbCDEf._domainkey.example.com"


@pytest.fixture(scope="module")
def dkim_pem():
    return dkim_keys.generate_private_key(2048)


@pytest.fixture
def domain(dkim_pem):
    return DomainInfo(
        uuid="6b1d5c5e-2f7a-4e55-9b5e-6c1b6a9a1f00",
        name="example.com",
        dkim_record_name=DKIM_NAME,
        dkim_record_value=dkim_keys.dkim_record(dkim_pem),
        return_path_name="psrp.example.com",
    )


def make_manager(**overrides) -> pluggy.PluginManager:
    raw = {
        "dns.spf_include": "spf.postal.test",
        "dns.mx_records": "mx1.postal.test, mx2.postal.test, mx3.postal.test",
        "dns.return_path_domain": "rp.postal.test",
        **overrides,
    }
    pm = pluggy.PluginManager("postal")
    pm.add_hookspecs(postal.hookspecs)
    pm.register(plugins.dns_checks)
    settings = postal.settings.load_settings(raw, environ={})
    pm.hook.postal_configure.call_historic(kwargs={"settings": settings, "role": "cli"})
    return pm


@pytest.fixture
def check(domain, dns_resolver):
    """Run every check for ``domain``; answers ``{check name: (status, error)}``."""
    pm = make_manager()

    def run(resolver=dns_resolver, target=domain) -> dict[str, tuple[str, str | None]]:
        [results] = pm.hook.postal_check_dns(domain=target, resolver=resolver)
        assert [r.check for r in results] == ["spf", "dkim", "mx", "return_path"]
        assert all(isinstance(r, DnsCheckResult) for r in results)
        return {r.check: (r.status, r.error) for r in results}

    return run


def publish_all(server, domain):
    server.add("example.com", "TXT", "v=spf1 a mx include:spf.postal.test ~all")
    server.add(DKIM_NAME, "TXT", domain.dkim_record_value)
    for host in ("mx1.postal.test.", "mx2.postal.test.", "mx3.postal.test."):
        server.add("example.com", "MX", f"10 {host}")
    server.add("psrp.example.com", "CNAME", "rp.postal.test.")


def test_everything_ok(dns_server, domain, check):
    publish_all(dns_server, domain)
    assert check() == {
        "spf": ("OK", None),
        "dkim": ("OK", None),
        "mx": ("OK", None),
        "return_path": ("OK", None),
    }


def test_nothing_published(check):
    assert check() == {
        "spf": ("Missing", "No SPF record exists for this domain"),
        "dkim": ("Missing", f"No TXT records were returned for {DKIM_NAME}"),
        "mx": ("Missing", "There are no MX records for example.com"),
        "return_path": ("Missing", "There is no return path record at psrp.example.com"),
    }


# --- SPF -----------------------------------------------------------------------------------


def test_spf_ignores_txt_records_that_are_not_spf(dns_server, check):
    dns_server.add("example.com", "TXT", "postal-verification abc include:spf.postal.test")
    dns_server.add("example.com", "TXT", " v=spf1 include:spf.postal.test")  # must start v=spf1
    assert check()["spf"] == ("Missing", "No SPF record exists for this domain")


def test_spf_without_our_include(dns_server, check):
    dns_server.add("example.com", "TXT", "v=spf1 include:_spf.google.com ~all")
    assert check()["spf"] == (
        "Invalid",
        "An SPF record exists but it doesn't include spf.postal.test",
    )


def test_spf_ok_when_any_spf_record_includes_us(dns_server, check):
    dns_server.add("example.com", "TXT", "v=spf1 include:_spf.google.com ~all")
    dns_server.add("example.com", "TXT", "v=spf1 a mx include:  spf.postal.test -all")
    assert check()["spf"] == ("OK", None)


# --- DKIM ----------------------------------------------------------------------------------


def test_dkim_long_record_split_into_strings(dns_server, domain, check):
    assert len(domain.dkim_record_value) > 255  # so the server splits it into two strings
    dns_server.add(DKIM_NAME, "TXT", domain.dkim_record_value)
    assert check()["dkim"] == ("OK", None)


def test_dkim_whitespace_and_missing_semicolon_are_forgiven(dns_server, domain, check):
    dns_server.add(DKIM_NAME, "TXT", "  " + domain.dkim_record_value.rstrip(";") + " ")
    assert check()["dkim"] == ("OK", None)


def test_dkim_multiple_records(dns_server, domain, check):
    dns_server.add(DKIM_NAME, "TXT", domain.dkim_record_value)
    dns_server.add(DKIM_NAME, "TXT", dkim_keys.dkim_record(dkim_keys.generate_private_key()))
    assert check()["dkim"] == (
        "Invalid",
        f"There are 2 records for at {DKIM_NAME}. There should only be one.",
    )
    # Two 2048-bit records do not fit a UDP answer: the real resolver had to use TCP.
    assert (DKIM_NAME + ".", "TXT", "tcp") in dns_server.queries


def test_dkim_record_that_does_not_match(dns_server, domain, check):
    dns_server.add(DKIM_NAME, "TXT", domain.dkim_record_value.replace("t=s; ", ""))
    assert check()["dkim"] == (
        "Invalid",
        f"The DKIM record at {DKIM_NAME} does not match the record we have provided. "
        "Please check it has been copied correctly.",
    )


def test_dkim_comparison_is_exact(dns_server, domain, check):
    dns_server.add(DKIM_NAME, "TXT", domain.dkim_record_value.replace("DKIM1", "dkim1"))
    assert check()["dkim"][0] == "Invalid"


def test_dkim_relative_record_name_is_looked_up_under_the_domain(dns_server, domain, check):
    relative = DomainInfo(**{**domain.__dict__, "dkim_record_name": "postal-AbCDEf._domainkey"})
    dns_server.add(DKIM_NAME, "TXT", domain.dkim_record_value)
    assert check(target=relative)["dkim"] == ("OK", None)


# --- MX ------------------------------------------------------------------------------------


def test_mx_with_trailing_dots_and_mixed_case(dns_server, check):
    dns_server.add("example.com", "MX", "10 MX1.Postal.Test.")
    dns_server.add("example.com", "MX", "20 mx2.POSTAL.test.")
    dns_server.add("example.com", "MX", "30 Mx3.postal.test.")
    dns_server.add("example.com", "MX", "40 backup.example.net.")  # extra MX are allowed
    assert check()["mx"] == ("OK", None)


def test_mx_none_of_ours(dns_server, check):
    dns_server.add("example.com", "MX", "10 aspmx.l.google.com.")
    assert check()["mx"] == ("Missing", "You have MX records but none of them point to us.")


def test_mx_one_missing(dns_server, check):
    dns_server.add("example.com", "MX", "10 mx1.postal.test.")
    dns_server.add("example.com", "MX", "10 mx3.postal.test.")
    assert check()["mx"] == (
        "Invalid",
        "MX record for mx2.postal.test are missing and are required.",
    )


def test_mx_two_missing(dns_server, check):
    dns_server.add("example.com", "MX", "10 mx2.postal.test.")
    assert check()["mx"] == (
        "Invalid",
        "MX records for mx1.postal.test and mx3.postal.test are missing and are required.",
    )


def test_mx_three_missing_uses_rails_to_sentence(dns_server, domain, dns_resolver):
    pm = make_manager(**{"dns.mx_records": "a.postal.test b.postal.test c.postal.test d.test"})
    dns_server.add("example.com", "MX", "10 d.test.")
    [results] = pm.hook.postal_check_dns(domain=domain, resolver=dns_resolver)
    assert results[2] == DnsCheckResult(
        "mx",
        "Invalid",
        "MX records for a.postal.test, b.postal.test, and c.postal.test are missing "
        "and are required.",
    )


# --- Return path ---------------------------------------------------------------------------


def test_return_path_ok_is_case_insensitive(dns_server, check):
    dns_server.add("PSRP.example.com", "CNAME", "RP.Postal.Test.")
    assert check()["return_path"] == ("OK", None)


def test_return_path_wrong_cname(dns_server, check):
    dns_server.add("psrp.example.com", "CNAME", "Elsewhere.Example.NET.")
    assert check()["return_path"] == (
        "Invalid",
        "There is a CNAME record at psrp.example.com but it points to elsewhere.example.net "
        "which is incorrect. It should point to rp.postal.test.",
    )


def test_return_path_a_record_is_not_a_cname(dns_server, check):
    dns_server.add("psrp.example.com", "A", "192.0.2.1")
    assert check()["return_path"] == (
        "Missing",
        "There is no return path record at psrp.example.com",
    )


# --- failures and configuration ------------------------------------------------------------


def test_timeout_makes_every_check_invalid_without_raising(check):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        resolver = DnsPythonResolver([("127.0.0.1", silent.getsockname()[1])], timeout=0.3)
        results = check(resolver=resolver)
    for status, error in results.values():
        assert status == "Invalid"
        assert error.startswith("DNS lookup failed: ")
    assert "timed out" in results["spf"][1]


class FailingTxt(MemoryResolver):
    def txt(self, name):
        raise DNSLookupError(f"TXT lookup for {name} failed: SERVFAIL")


def test_one_failed_lookup_spoils_only_its_checks(domain, check):
    resolver = FailingTxt(
        {
            ("example.com", "MX"): [(10, "mx1.postal.test"), (10, "mx2.postal.test")],
            ("psrp.example.com", "CNAME"): ["rp.postal.test"],
        }
    )
    assert check(resolver=resolver) == {
        "spf": ("Invalid", "DNS lookup failed: TXT lookup for example.com failed: SERVFAIL"),
        "dkim": ("Invalid", f"DNS lookup failed: TXT lookup for {DKIM_NAME} failed: SERVFAIL"),
        "mx": ("Invalid", "MX record for mx3.postal.test are missing and are required."),
        "return_path": ("OK", None),
    }


def test_reconfiguring_replaces_expected_values(dns_server, domain, dns_resolver):
    publish_all(dns_server, domain)
    pm = make_manager(**{"dns.spf_include": "spf.other.test"})
    [results] = pm.hook.postal_check_dns(domain=domain, resolver=dns_resolver)
    assert results[0] == DnsCheckResult(
        "spf", "Invalid", "An SPF record exists but it doesn't include spf.other.test"
    )


def test_hook_is_trylast():
    pm = make_manager()
    [impl] = pm.hook.postal_check_dns.get_hookimpls()
    assert impl.trylast


def test_defaults_before_configuration():
    checker = plugins.dns_checks.DnsChecker.from_settings({})
    assert checker.spf_include == "spf.postal.example.com"
    assert checker.mx_records == ("mx1.postal.example.com", "mx2.postal.example.com")
    assert checker.return_path_domain == "rp.postal.example.com"


@pytest.mark.parametrize(
    ("words", "sentence"),
    [([], ""), (["a"], "a"), (["a", "b"], "a and b"), (["a", "b", "c"], "a, b, and c")],
)
def test_to_sentence(words, sentence):
    assert plugins.dns_checks.to_sentence(words) == sentence
