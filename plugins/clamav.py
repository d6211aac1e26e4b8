"""Virus scanning with ClamAV's clamd, as Postal does it (``clamav.enabled``).

A client of our own for clamd's ``zINSTREAM`` command: the message in chunks, each with its
length as four big-endian bytes, then a zero length; the reply is read within
``clamav.timeout`` seconds.  The results carry Postal's texts: "No threats found", the
signature's name when one matched, and for a scan that did not happen "Could not scan
message", "Timed out scanning for threats" or "Error when scanning for threats" (no threat).

A message larger than clamd's ``StreamMaxLength`` (25 MiB by default) is refused by clamd
with ``INSTREAM size limit exceeded``; that is "Could not scan message", logged with the
setting to raise.  A threat does not stop a message by itself; core shows it in
``X-Postal-Threat``, the API and the UI.
"""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from postal import hookimpl
from postal.types import IncomingMessage, ThreatScanResult

from .scanner_socket import exchange


log = logging.getLogger(__name__)

SCANNER = "clamav"
CHUNK = 64 * 1024

NO_THREATS = "No threats found"
NOT_SCANNED = "Could not scan message"
TIMED_OUT = "Timed out scanning for threats"
FAILED = "Error when scanning for threats"

_FOUND = re.compile(r"stream: (.+) FOUND")


def instream_request(raw: bytes, chunk: int = CHUNK) -> Iterator[bytes]:
    """``zINSTREAM`` and ``raw`` as length-prefixed chunks, ending with a zero length."""
    yield b"zINSTREAM\0"
    for start in range(0, len(raw), chunk):
        piece = raw[start : start + chunk]
        yield struct.pack(">I", len(piece)) + piece
    yield struct.pack(">I", 0)


def parse_reply(reply: bytes) -> tuple[bool, str]:
    """``(threat, details)`` from clamd's answer to one stream (one ``\\0``-ended line, or
    one per signature when clamd runs with ``AllMatchScan``)."""
    text = reply.decode("utf-8", "replace").strip("\0\r\n ")
    if text == "stream: OK":
        return False, NO_THREATS
    found = [_FOUND.fullmatch(line.strip()) for line in text.split("\0")]
    if found and all(found):
        return True, ", ".join(match.group(1) for match in found)
    if "size limit exceeded" in text:
        log.warning("clamd refused a message past its StreamMaxLength: %s", text)
    else:
        log.warning("clamd answered something we cannot read: %r", text[:200])
    return False, NOT_SCANNED


@dataclass(frozen=True)
class ClamdClient:
    host: str
    port: int
    timeout: float

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> ClamdClient:
        return cls(
            host=settings["clamav.host"],
            port=settings["clamav.port"],
            timeout=settings["clamav.timeout"],
        )

    def scan(self, raw: bytes) -> tuple[bool, str]:
        """``(threat, details)`` for ``raw``.  Never raises."""
        try:
            reply = exchange(self.host, self.port, instream_request(raw), timeout=self.timeout)
        except TimeoutError:
            log.warning("clamd at %s:%s did not answer in %ss", self.host, self.port, self.timeout)
            return False, TIMED_OUT
        except OSError as exc:
            log.warning("clamd at %s:%s: %s", self.host, self.port, exc.strerror or exc)
            return False, FAILED
        return parse_reply(reply)


# Set by postal_configure; None while clamav.enabled is false.
_client: ClamdClient | None = None


@hookimpl
def postal_configure(settings: Mapping[str, Any], role: str) -> None:
    global _client
    _client = ClamdClient.from_settings(settings) if settings.get("clamav.enabled") else None


@hookimpl
def postal_scan_virus(message: IncomingMessage) -> ThreatScanResult | None:
    if _client is None:
        return None
    threat, details = _client.scan(message.raw)
    return ThreatScanResult(scanner=SCANNER, threat=threat, details=details)
