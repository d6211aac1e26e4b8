"""Storing a message durably: the raw bytes once, a row per recipient, and its queue row.

SMTP accept, the HTTP API and generated bounces all store through :func:`store_message`,
inside the caller's unit of work, so a ``250`` or an API id is only given after this commits.
"""

from __future__ import annotations

import email.errors
import email.header
import email.parser
import email.policy
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from .models import Message, QueuedMessage, RawMessage, Server


_header_parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)


@dataclass(frozen=True)
class HeaderSummary:
    subject: str | None
    message_id: str | None


def summarise_headers(raw: bytes) -> HeaderSummary:
    """Subject (first 200 characters) and Message-ID (without ``<>``), read from the headers
    alone so large bodies are never parsed here."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    head = raw if end < 0 else raw[: end + 2]
    headers = _header_parser.parsebytes(head)
    subject = _header_text(headers.get("Subject"))
    message_id = _header_text(headers.get("Message-ID"))
    if message_id:
        message_id = message_id.strip().strip("<>").strip() or None
    return HeaderSummary(subject=subject[:200] if subject else None, message_id=message_id)


def _header_text(value) -> str | None:
    if value is None:
        return None
    try:
        text = str(email.header.make_header(email.header.decode_header(str(value))))
    except (UnicodeError, LookupError, email.errors.HeaderParseError):
        text = str(value)
    return " ".join(text.split()) or None


def recipient_domain(address: str) -> str | None:
    _, at, domain = address.rpartition("@")
    return domain.lower() if at and domain else None


def batch_key(message: Message) -> str:
    """Postal's ``batch_key``; workers claim by its ``outgoing-`` / ``incoming-`` prefix."""
    if message.scope == "outgoing":
        return f"outgoing-{recipient_domain(message.rcpt_to or '') or ''}"
    return f"incoming-rt:{message.route_id}-ep:{message.endpoint_id}-{message.endpoint_type}"


def store_message(
    dbsession: Session,
    server: Server,
    *,
    scope: str,
    mail_from: str,
    rcpt_to: Iterable[str],
    raw: bytes,
    queue: bool = True,
    **fields,
) -> list[Message]:
    """Store ``raw`` once and one :class:`Message` per recipient (Postal's shape), each with
    a :class:`QueuedMessage` when ``queue``.  Extra ``fields`` (``credential_id``,
    ``route_id``, ``tag``, ``bounce``, ``received_with_ssl``, ``domain_id``, ``held``…) are
    set on every message row.  Flushes, so ids are known; the caller's transaction commits.
    """
    summary = summarise_headers(raw)
    raw_row = RawMessage(server_id=server.id, data=raw, size=len(raw))
    dbsession.add(raw_row)
    messages = []
    for rcpt in rcpt_to:
        message = Message(
            server_id=server.id,
            scope=scope,
            mail_from=mail_from[:255],
            rcpt_to=rcpt[:255],
            subject=summary.subject,
            message_id=summary.message_id and summary.message_id[:255],
            raw_message=raw_row,
            size=len(raw),
            **fields,
        )
        dbsession.add(message)
        messages.append(message)
    dbsession.flush()
    if queue:
        for message in messages:
            dbsession.add(
                QueuedMessage(
                    server_id=server.id,
                    message_id=message.id,
                    domain=recipient_domain(message.rcpt_to or ""),
                    route_id=message.route_id,
                    batch_key=batch_key(message),
                )
            )
        dbsession.flush()
    return messages
