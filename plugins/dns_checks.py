"""Postal's four DNS checks of a domain: SPF, DKIM, MX and the return path CNAME.

Rules and error texts are Postal's (``app/models/concerns/has_dns_checks.rb``), quirks
included, because users and webhook receivers read these strings.  One difference: a lookup
that fails (timeout, SERVFAIL) makes that check ``Invalid`` with "DNS lookup failed: …"
instead of being mistaken for a missing record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from postal import hookimpl
from postal.services.dns import DNSLookupError
from postal.settings import BY_KEY
from postal.types import DnsCheckResult, DomainInfo


OK, MISSING, INVALID = "OK", "Missing", "Invalid"


def _default(key: str) -> Any:
    setting = BY_KEY[key]
    return setting.parse(setting.default)


def to_sentence(words: Sequence[str]) -> str:
    """Rails' ``Array#to_sentence`` in English: "a", "a and b", "a, b, and c"."""
    if len(words) <= 2:
        return " and ".join(words)
    return ", ".join(words[:-1]) + ", and " + words[-1]


def _host(name: str) -> str:
    return name.lower().rstrip(".")


def _under(name: str, domain: str) -> str:
    """``name`` as an absolute name under ``domain`` (tolerates ``postal-x._domainkey``)."""
    if _host(name) == _host(domain) or _host(name).endswith("." + _host(domain)):
        return name
    return f"{name}.{domain}"


@dataclass(frozen=True)
class DnsChecker:
    """The installation's expected values (``dns.*``) and the checks that use them."""

    spf_include: str
    mx_records: tuple[str, ...]
    return_path_domain: str

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> DnsChecker:
        def get(key: str) -> Any:
            return settings[key] if key in settings else _default(key)

        return cls(
            spf_include=get("dns.spf_include"),
            mx_records=tuple(get("dns.mx_records")),
            return_path_domain=get("dns.return_path_domain"),
        )

    def check(self, domain: DomainInfo, resolver) -> list[DnsCheckResult]:
        checks: list[tuple[str, Callable]] = [
            ("spf", self.check_spf),
            ("dkim", self.check_dkim),
            ("mx", self.check_mx),
            ("return_path", self.check_return_path),
        ]
        return [_guarded(name, check, domain, resolver) for name, check in checks]

    def check_spf(self, domain: DomainInfo, resolver) -> DnsCheckResult:
        spf = [r for r in resolver.txt(domain.name) if r.startswith("v=spf1")]
        if not spf:
            return DnsCheckResult("spf", MISSING, "No SPF record exists for this domain")
        # Postal's unanchored, case-sensitive match, kept so statuses agree with Postal's.
        include = re.compile(r"include:\s*" + re.escape(self.spf_include))
        if any(include.search(record) for record in spf):
            return DnsCheckResult("spf", OK)
        text = f"An SPF record exists but it doesn't include {self.spf_include}"
        return DnsCheckResult("spf", INVALID, text)

    def check_dkim(self, domain: DomainInfo, resolver) -> DnsCheckResult:
        name = _under(domain.dkim_record_name, domain.name)
        records = resolver.txt(name)
        if not records:
            return DnsCheckResult("dkim", MISSING, f"No TXT records were returned for {name}")
        if len(records) > 1:
            text = f"There are {len(records)} records for at {name}. There should only be one."
            return DnsCheckResult("dkim", INVALID, text)
        record = records[0].strip()
        if not record.endswith(";"):
            record += ";"
        if record != domain.dkim_record_value:
            text = (
                f"The DKIM record at {name} does not match the record we have provided. "
                "Please check it has been copied correctly."
            )
            return DnsCheckResult("dkim", INVALID, text)
        return DnsCheckResult("dkim", OK)

    def check_mx(self, domain: DomainInfo, resolver) -> DnsCheckResult:
        hosts = {_host(host) for _preference, host in resolver.mx(domain.name)}
        if not hosts:
            return DnsCheckResult("mx", MISSING, f"There are no MX records for {domain.name}")
        missing = [mx for mx in self.mx_records if _host(mx) not in hosts]
        if not missing:
            return DnsCheckResult("mx", OK)
        if len(missing) == len(self.mx_records):
            return DnsCheckResult(
                "mx", MISSING, "You have MX records but none of them point to us."
            )
        noun = "record" if len(missing) == 1 else "records"
        text = f"MX {noun} for {to_sentence(missing)} are missing and are required."
        return DnsCheckResult("mx", INVALID, text)

    def check_return_path(self, domain: DomainInfo, resolver) -> DnsCheckResult:
        name = _under(domain.return_path_name, domain.name)
        targets = [_host(target) for target in resolver.cname(name)]
        if not targets:
            text = f"There is no return path record at {name}"
            return DnsCheckResult("return_path", MISSING, text)
        if len(targets) == 1 and targets[0] == _host(self.return_path_domain):
            return DnsCheckResult("return_path", OK)
        text = (
            f"There is a CNAME record at {name} but it points to {targets[0]} which is "
            f"incorrect. It should point to {self.return_path_domain}."
        )
        return DnsCheckResult("return_path", INVALID, text)


def _guarded(name: str, check: Callable, domain: DomainInfo, resolver) -> DnsCheckResult:
    """Run one check; a failed lookup spoils only that check, not the other three."""
    try:
        return check(domain, resolver)
    except DNSLookupError as exc:
        return DnsCheckResult(name, INVALID, f"DNS lookup failed: {exc}")


# Replaced by postal_configure; the defaults keep the module usable before configuration.
checker = DnsChecker.from_settings({})


@hookimpl
def postal_configure(settings: Mapping[str, Any], role: str) -> None:
    global checker
    checker = DnsChecker.from_settings(settings)


@hookimpl(trylast=True)
def postal_check_dns(domain: DomainInfo, resolver) -> list[DnsCheckResult]:
    return checker.check(domain, resolver)
