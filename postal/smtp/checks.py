"""End-of-DATA work on the message bytes: the ``Received`` header, loop detection and the
From/Sender authorisation of authenticated mail (reference §2.7 and §3.5).

Only the header block is parsed; bodies are never looked at, so the cost stays O(size).
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Sequence

from ..headers import header_values
from .directory import SenderDomain


LOOP_LIMIT = 4
_RECEIVED = re.compile(rb"^received:([^\n]*(?:\n[ \t][^\n]*)*)", re.IGNORECASE | re.MULTILINE)


def received_header(
    *, helo: str | None, rdns: str | None, ip: str, hostname: str, private: bool
) -> bytes:
    """Postal's ``Received`` line; without the ``from`` clause for privacy-mode servers."""
    date = email.utils.formatdate(usegmt=False)
    if private:
        return f"Received: by {hostname} with SMTP; {date}\r\n".encode()
    return (
        f"Received: from {helo or ip} ({rdns or ip} [{ip}]) by {hostname} with SMTP; {date}\r\n"
    ).encode("utf-8", "replace")


def is_loop(head: bytes, hostname: str) -> bool:
    """More than four ``Received`` headers saying ``by <our hostname>``."""
    needle = f"by {hostname}".encode().lower()
    count = 0
    for match in _RECEIVED.finditer(head):
        if needle in match.group(1).lower():
            count += 1
    return count > LOOP_LIMIT


def authorised_domain(address: str, domains: Sequence[SenderDomain]) -> SenderDomain | None:
    """§2.7: the verified domain named after ``address``'s (server-owned wins over the
    organisation's), else the server's first ``use_for_any`` domain by name."""
    _, at, name = address.rpartition("@")
    name = name.strip().lower().rstrip(">")
    if not at or not name:
        return None
    named = [d for d in domains if d.name == name]
    if named:
        return next((d for d in named if d.server_owned), named[0])
    return next((d for d in domains if d.server_owned and d.use_for_any), None)


def sender_domain(
    head: bytes, domains: Sequence[SenderDomain], allow_sender: bool
) -> SenderDomain | None:
    """The domain that authorises this message: all ``From`` addresses must pass (the
    first one's domain is used), else, when the server allows it, all ``Sender`` ones."""
    headers = ("from", "sender") if allow_sender else ("from",)
    for header in headers:
        addresses = [a for _, a in email.utils.getaddresses(header_values(head, header)) if a]
        if not addresses:
            continue
        found = [authorised_domain(a, domains) for a in addresses]
        if all(found):
            return found[0]
    return None
