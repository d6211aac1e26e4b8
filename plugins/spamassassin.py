"""Spam scores from SpamAssassin's spamd, as Postal asks for them (``spamd.enabled``).

A client of our own for spamd's ``REPORT SPAMC/1.2`` command: the message with its
``Content-length``, the write side shut, the reply read to EOF within ``spamd.timeout``
seconds.  Each row of the report's rule table becomes a :class:`~postal.types.SpamCheck`;
the message's score is their sum.  A scan that cannot finish is one check scoring 0,
``TIMEOUT`` or ``ERROR`` (its description says what went wrong), so mail is never held up
by a scanner that is down.

Messages larger than ``spamd.max_size`` bytes (default 500 KiB, spamc's own limit) are not
sent whole.  spamc skips such messages altogether; we send their first ``spamd.max_size``
bytes, cut at a line end, and add a ``TRUNCATED`` check scoring 0 that says so: the headers
and the first text parts, where spam shows, are still scored, and a spammer cannot get past
the scanner by attaching something big.

For ``outgoing`` messages Postal drops checks that judge how mail *reached* us (our own
submission has no relays, no SPF, a client's HELO); it names six codes and four families,
but its family patterns never match (postal-behaviour §15).  Here the families
``SPF_*``, ``HELO_*``, ``DKIM_*`` and ``RCVD_IN_*`` really are dropped too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from postal import hookimpl
from postal.types import IncomingMessage, SpamCheck, SpamScanResult

from .scanner_socket import exchange


log = logging.getLogger(__name__)

SCANNER = "spamassassin"

OUTGOING_EXCLUDED_CODES = frozenset(
    {
        "NO_RECEIVED",
        "NO_RELAYS",
        "ALL_TRUSTED",
        "FREEMAIL_FORGED_REPLYTO",
        "RDNS_DYNAMIC",
        "CK_HELO_GENERIC",
    }
)
OUTGOING_EXCLUDED_PREFIXES = ("SPF_", "HELO_", "DKIM_", "RCVD_IN_")

_STATUS = re.compile(r"SPAMD/\d+\.\d+ +(\d+) *(.*)")
# spamd right-aligns the score in four columns; wrapped descriptions are indented far more.
_RULE = re.compile(r" {0,6}(-?\d+(?:\.\d+)?) +(\w+)(?: +(.*?))? *")


class SpamdError(Exception):
    """spamd answered, but not with a report we can read."""


def parse_report(reply: bytes) -> tuple[SpamCheck, ...]:
    """The rule table of spamd's answer to ``REPORT``, one check per rule.

    Raises :class:`SpamdError` for a reply that is not a successful ``SPAMD/1.x`` one.
    """
    text = reply.decode("utf-8", "replace").replace("\r\n", "\n")
    status_line, _, rest = text.partition("\n")
    status = _STATUS.fullmatch(status_line.strip())
    if status is None:
        raise SpamdError(f"spamd sent no SPAMD status line (got {status_line[:80]!r})")
    if status.group(1) != "0":
        raise SpamdError(f"spamd answered {status.group(1)} {status.group(2)}".rstrip())
    lines = rest.split("\n")
    # The last such line: a content preview above the table may start with dashes too.
    starts = [i for i, line in enumerate(lines) if line.startswith("---")]
    if not starts:
        raise SpamdError("spamd's report has no rule table (a line starting ---)")
    return parse_rule_table(lines[starts[-1] + 1 :])


def parse_rule_table(lines: Iterable[str]) -> tuple[SpamCheck, ...]:
    """Rows ``score NAME description``; a line that is not a row continues the one above.
    The table ends at the first blank line."""
    rows: list[list] = []
    for line in lines:
        if not line.strip():
            break
        match = _RULE.fullmatch(line.rstrip("\r"))
        if match:
            rows.append([float(match.group(1)), match.group(2), match.group(3) or ""])
        elif rows:
            rows[-1][2] = f"{rows[-1][2]} {line.strip()}".strip()
    return tuple(SpamCheck(code=code, score=score, description=d) for score, code, d in rows)


def excluded_for_outgoing(code: str) -> bool:
    return code in OUTGOING_EXCLUDED_CODES or code.startswith(OUTGOING_EXCLUDED_PREFIXES)


def truncated(raw: bytes, limit: int) -> bytes:
    """``raw``, or its first ``limit`` bytes cut after the last whole line (0 = no limit)."""
    if not limit or len(raw) <= limit:
        return raw
    cut = raw.rfind(b"\n", 0, limit) + 1
    return raw[: cut or limit]


@dataclass(frozen=True)
class SpamdClient:
    host: str
    port: int
    timeout: float
    max_size: int

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> SpamdClient:
        return cls(
            host=settings["spamd.host"],
            port=settings["spamd.port"],
            timeout=settings["spamd.timeout"],
            max_size=settings["spamd.max_size"],
        )

    def check(self, raw: bytes) -> tuple[SpamCheck, ...]:
        """Every rule spamd matched, or one ``TIMEOUT``/``ERROR`` check.  Never raises."""
        sent = truncated(raw, self.max_size)
        try:
            checks = parse_report(self._report(sent))
        except TimeoutError:
            log.warning("spamd at %s:%s did not answer in %ss", self.host, self.port, self.timeout)
            return (SpamCheck("TIMEOUT", 0.0, "Timed out when scanning for spam"),)
        except (OSError, SpamdError) as exc:
            reason = _reason(exc, self.host, self.port)
            log.warning("spamd: %s", reason)
            return (SpamCheck("ERROR", 0.0, f"Error when scanning for spam: {reason}"),)
        if len(sent) < len(raw):
            note = (
                f"Message is {len(raw)} bytes; spamd scanned only the first {len(sent)} "
                f"(spamd.max_size is {self.max_size})"
            )
            checks += (SpamCheck("TRUNCATED", 0.0, note),)
        return checks

    def _report(self, raw: bytes) -> bytes:
        head = f"REPORT SPAMC/1.2\r\nContent-length: {len(raw)}\r\n\r\n".encode()
        return exchange(self.host, self.port, (head, raw), timeout=self.timeout)


def _reason(exc: Exception, host: str, port: int) -> str:
    if isinstance(exc, SpamdError):
        return str(exc)
    return f"spamd at {host}:{port}: {exc.strerror or exc}"


# Set by postal_configure; None while spamd.enabled is false.
_client: SpamdClient | None = None


@hookimpl
def postal_configure(settings: Mapping[str, Any], role: str) -> None:
    global _client
    _client = SpamdClient.from_settings(settings) if settings.get("spamd.enabled") else None


@hookimpl
def postal_scan_spam(message: IncomingMessage) -> SpamScanResult | None:
    if _client is None:
        return None
    checks = _client.check(message.raw)
    if message.scope == "outgoing":
        checks = tuple(check for check in checks if not excluded_for_outgoing(check.code))
    return SpamScanResult(scanner=SCANNER, checks=checks)
