"""DNS lookups behind an interface: dnspython against ``dns.nameservers``, or in memory."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import dns.exception
import dns.name
import dns.nameserver
import dns.resolver
from zope.interface import Interface, implementer


class DNSLookupError(Exception):
    """The resolver could not get an answer (timeout, SERVFAIL); not the same as "no record"."""


class IDNSResolver(Interface):
    """Record lookups that answer an empty list when the name or record does not exist."""

    def txt(name: str) -> list[str]:
        """TXT strings at ``name``; each record's character strings joined."""

    def mx(name: str) -> list[tuple[int, str]]:
        """``(preference, host)`` pairs at ``name``, lowest preference first."""

    def cname(name: str) -> list[str]:
        """CNAME targets at ``name`` without the trailing dot."""

    def a(name: str) -> list[str]:
        """IPv4 addresses of ``name``."""

    def aaaa(name: str) -> list[str]:
        """IPv6 addresses of ``name``."""


def _idna(name: str) -> str:
    return dns.name.from_unicode(name.rstrip(".") + ".").to_text()


@implementer(IDNSResolver)
class DnsPythonResolver:
    """Queries the servers in ``dns.nameservers`` (any port), else the system resolver."""

    def __init__(self, nameservers: Iterable[tuple[str, int]] = (), timeout: float = 5.0):
        self._resolver = dns.resolver.Resolver(configure=not nameservers)
        if nameservers:
            self._resolver.nameservers = [
                dns.nameserver.Do53Nameserver(host, port) for host, port in nameservers
            ]
        self._resolver.timeout = timeout
        self._resolver.lifetime = timeout * 2
        self._resolver.cache = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> DnsPythonResolver:
        return cls(settings.get("dns.nameservers", []), settings.get("dns.timeout", 5.0))

    def _query(self, name: str, rdtype: str):
        try:
            return list(self._resolver.resolve(_idna(name), rdtype, search=False))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:
            raise DNSLookupError(f"{rdtype} lookup for {name} failed: {exc}") from exc

    def txt(self, name: str) -> list[str]:
        return [
            b"".join(record.strings).decode("utf-8", "replace")
            for record in self._query(name, "TXT")
        ]

    def mx(self, name: str) -> list[tuple[int, str]]:
        records = self._query(name, "MX")
        pairs = [(r.preference, r.exchange.to_text().rstrip(".")) for r in records]
        return sorted(pairs)

    def cname(self, name: str) -> list[str]:
        return [r.target.to_text().rstrip(".") for r in self._query(name, "CNAME")]

    def a(self, name: str) -> list[str]:
        return [r.address for r in self._query(name, "A")]

    def aaaa(self, name: str) -> list[str]:
        return [r.address for r in self._query(name, "AAAA")]


@implementer(IDNSResolver)
class MemoryResolver:
    """Answers from a dict ``{(name, type): [values]}``; for unit tests and dry runs."""

    def __init__(self, records: Mapping[tuple[str, str], list] | None = None):
        self.records = {
            (name.lower().rstrip("."), rdtype.upper()): values
            for (name, rdtype), values in (records or {}).items()
        }

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> MemoryResolver:
        return cls()

    def _get(self, name: str, rdtype: str) -> list:
        return list(self.records.get((name.lower().rstrip("."), rdtype), []))

    def txt(self, name):
        return self._get(name, "TXT")

    def mx(self, name):
        return sorted(self._get(name, "MX"))

    def cname(self, name):
        return self._get(name, "CNAME")

    def a(self, name):
        return self._get(name, "A")

    def aaaa(self, name):
        return self._get(name, "AAAA")


def includeme(config) -> None:
    settings = config.get_settings()
    factory = config.maybe_dotted(settings["services.dns_resolver"])
    config.register_service(factory.from_settings(settings), IDNSResolver)
