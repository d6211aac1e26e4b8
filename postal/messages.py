"""Storing messages durably: the raw bytes once, a row per recipient, and its queue row.

:func:`store_many` is the one way messages are written.  SMTP accept and API v1 call it
from their group-commit writers with many messages at once (three multi-row INSERTs per
group, whatever its size; on PostgreSQL the same three statements for every size);
:func:`store_message` stores one message inside a caller's unit of work and hands back ORM
rows.  Either way a ``250`` or an API id is only given after the
rows are committed.
"""

from __future__ import annotations

import email.errors
import email.header
from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import select
from sqlalchemy.orm import Session
from zope.sqlalchemy import mark_changed

from .bulk_insert import insert_rows
from .headers import header_block, header_values
from .ip_pools import from_addresses, load_choosers
from .models import Message, QueuedMessage, RawMessage, Server, utcnow
from .tokens import message_token
from .types import ReceivedMessage


@dataclass(frozen=True)
class HeaderSummary:
    subject: str | None
    message_id: str | None


def summarise_headers(raw: bytes) -> HeaderSummary:
    """Subject (first 200 characters) and Message-ID (without ``<>``), read from the header
    block alone so bodies are never parsed here."""
    head = header_block(raw)
    subject = _header_text(next(iter(header_values(head, "Subject")), None))
    message_id = _header_text(next(iter(header_values(head, "Message-ID")), None))
    if message_id:
        message_id = message_id.strip().strip("<>").strip() or None
    return HeaderSummary(subject=subject[:200] if subject else None, message_id=message_id)


def _header_text(value) -> str | None:
    if value is None:
        return None
    if "=?" not in value:  # no encoded words: decode_header would hand it back unchanged
        return " ".join(value.split()) or None
    try:
        text = str(email.header.make_header(email.header.decode_header(str(value))))
    except (UnicodeError, LookupError, email.errors.HeaderParseError):
        text = str(value)
    return " ".join(text.split()) or None


def recipient_domain(address: str) -> str | None:
    _, at, domain = address.rpartition("@")
    return domain.lower() if at and domain else None


def batch_key(message) -> str:
    """Postal's ``batch_key``; workers claim by its ``outgoing-`` / ``incoming-`` prefix."""
    if message.scope == "outgoing":
        return f"outgoing-{recipient_domain(message.rcpt_to or '') or ''}"
    return f"incoming-rt:{message.route_id}-ep:{message.endpoint_id}-{message.endpoint_type}"


# The message columns a store may set, with the values the columns default to.  Every row of
# a multi-row INSERT must name the same columns, so each row carries all of them.
FIELD_DEFAULTS = {
    "credential_id": None,
    "domain_id": None,
    "route_id": None,
    "bounce": False,
    "bounce_for_id": None,
    "endpoint_type": None,
    "endpoint_id": None,
    "received_with_ssl": None,
    "tag": None,
    "held": False,
    "hold_expiry": None,
    "status": "Pending",
}
# Also settable: "timestamp" (when the message arrived; now by default).


@dataclass(frozen=True)
class StoreRequest:
    """One message and the recipients that share the same row fields."""

    server_id: int
    scope: str
    mail_from: str
    rcpt_to: tuple[str, ...]
    raw: bytes
    fields: tuple[tuple[str, object], ...] = ()
    queue: bool = True


def store_many(
    db, requests: list[StoreRequest], *, ip_pools: bool = False
) -> list[list[ReceivedMessage]]:
    """Insert every request's rows through ``db`` (a Session or a Connection); returns the
    stored messages of each request, in order.  The caller commits.  With ``ip_pools``
    (``postal.use_ip_pools``) each queued outgoing row gets its source IP
    (:mod:`postal.ip_pools`, loaded once for the whole batch)."""
    if not requests:
        return []
    now = utcnow()
    # Requests of one SMTP transaction share its bytes (a route's copies, one per endpoint):
    # each server stores them once.
    unique: dict[tuple[int, int], int] = {}
    for request in requests:
        unique.setdefault((request.server_id, id(request.raw)), len(unique))
    stored_ids = _insert_ids(
        db,
        RawMessage,
        [
            {"server_id": server_id, "data": raw, "size": len(raw)}
            for server_id, raw in _unique_raws(requests, unique)
        ],
    )
    raw_ids = [stored_ids[unique[(r.server_id, id(r.raw))]] for r in requests]
    rows, owners = [], []
    for index, (request, raw_id) in enumerate(zip(requests, raw_ids, strict=True)):
        unknown = {name for name, _ in request.fields} - set(FIELD_DEFAULTS) - {"timestamp"}
        if unknown:
            raise TypeError(f"store_many does not set {sorted(unknown)}")
        headers = summarise_headers(request.raw)
        for rcpt in request.rcpt_to:
            rows.append(
                {
                    "server_id": request.server_id,
                    "scope": request.scope,
                    "mail_from": request.mail_from[:255],
                    "rcpt_to": rcpt[:255],
                    "subject": headers.subject,
                    "message_id": headers.message_id and headers.message_id[:255],
                    "raw_message_id": raw_id,
                    "size": len(request.raw),
                    "token": message_token(),
                    "timestamp": now,
                    **FIELD_DEFAULTS,
                    **dict(request.fields),
                }
            )
            owners.append(index)
    message_ids = _insert_ids(db, Message, rows)
    choose_ip = _ip_chooser(db, requests) if ip_pools else None
    queued = []
    for row, message_id, owner in zip(rows, message_ids, owners, strict=True):
        row["id"] = message_id
        if requests[owner].queue:
            queued.append(
                {
                    "server_id": row["server_id"],
                    "message_id": message_id,
                    "domain": recipient_domain(row["rcpt_to"] or ""),
                    "route_id": row["route_id"],
                    "batch_key": batch_key(SimpleNamespace(**row)),
                    "ip_address_id": choose_ip(owner, row) if choose_ip else None,
                }
            )
    insert_rows(db, QueuedMessage.__table__, queued, returning=False)
    if isinstance(db, Session):
        # Statements sent through the session's connection do not tell zope.sqlalchemy
        # there is work to commit; without this the unit of work would roll them back.
        mark_changed(db)
    results: list[list[ReceivedMessage]] = [[] for _ in requests]
    for row, owner in zip(rows, owners, strict=True):
        results[owner].append(
            ReceivedMessage(
                id=row["id"],
                token=row["token"],
                server_id=row["server_id"],
                scope=row["scope"],
                rcpt_to=row["rcpt_to"],
                mail_from=row["mail_from"],
                route_id=row["route_id"],
                bounce=bool(row["bounce"]),
                message_id=row["message_id"],
            )
        )
    return results


# Incoming copies that leave over SMTP, from a pool address too (Postal sends them from any).
FORWARDED = ("SMTPEndpoint", "AddressEndpoint")


def _sends_out(request: StoreRequest) -> bool:
    return request.scope == "outgoing" or dict(request.fields).get("endpoint_type") in FORWARDED


def _ip_chooser(db, requests: list[StoreRequest]):
    """``choose(owner, row) -> ip_address_id`` for rows that are sent over SMTP (outgoing,
    and incoming copies for SMTP and address endpoints); the From addresses of each request
    are read once, the pools and rules once for every server."""
    sending = [r.server_id for r in requests if r.queue and _sends_out(r)]
    if not sending:
        return None
    choosers = load_choosers(db, sending)
    senders: dict[int, list[str]] = {}

    def choose(owner: int, row: dict) -> int | None:
        request = requests[owner]
        chooser = choosers.get(request.server_id)
        if not _sends_out(request) or chooser is None:
            return None
        if owner not in senders:
            senders[owner] = from_addresses(request.raw)
        chosen = chooser.choose(senders[owner], row["rcpt_to"])
        return chosen.id if chosen else None

    return choose


def _unique_raws(requests, unique) -> list[tuple[int, bytes]]:
    first = {}
    for request in requests:
        first.setdefault(unique[(request.server_id, id(request.raw))], request)
    return [(first[i].server_id, first[i].raw) for i in range(len(unique))]


def _insert_ids(db, model, rows: list[dict]) -> list[int]:
    """Multi-row INSERT; ids in the order of ``rows`` (:func:`postal.bulk_insert.insert_rows`)."""
    return insert_rows(db, model.__table__, rows, returning=True)


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
    """Store one message in the caller's unit of work and return its :class:`Message` rows
    (one per recipient), each queued when ``queue``.  ``fields`` are among
    :data:`FIELD_DEFAULTS` and set on every row."""
    request = StoreRequest(
        server.id, scope, mail_from, tuple(rcpt_to), raw, tuple(fields.items()), queue
    )
    (stored,) = store_many(dbsession, [request])
    ids = [message.id for message in stored]
    rows = {m.id: m for m in dbsession.scalars(select(Message).where(Message.id.in_(ids)))}
    return [rows[message_id] for message_id in ids]
