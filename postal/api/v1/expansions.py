"""The ``_expansions`` of ``/api/v1/messages/message``: each one a function of the message."""

from __future__ import annotations

import base64
import email
import email.header
import email.policy
import hashlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from ...models import Click, Link, Load, Message


def ruby_base64(data: bytes) -> str:
    """Ruby's ``Base64.encode64``: 60 characters a line, each ending in a newline."""
    encoded = base64.b64encode(data).decode("ascii")
    return "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))


def _float(value) -> float | None:
    return value.timestamp() if value is not None else None


def _raw(message: Message) -> bytes:
    return message.raw_message.data if message.raw_message is not None else b""


def _parsed(message: Message, cache: dict) -> email.message.EmailMessage:
    if "parsed" not in cache:
        cache["parsed"] = email.message_from_bytes(_raw(message), policy=email.policy.default)
    return cache["parsed"]


def _body(message: Message, cache: dict, subtype: str) -> str | None:
    part = _parsed(message, cache).get_body(preferencelist=(subtype,))
    if part is None:
        return None
    try:
        return part.get_content()
    except (LookupError, UnicodeError, KeyError):
        return part.get_payload(decode=True).decode("utf-8", "replace")


def status(message, request, cache):
    return {
        "status": message.status,
        "last_delivery_attempt": _float(message.last_delivery_attempt),
        "held": bool(message.held),
        "hold_expiry": _float(message.hold_expiry),
    }


def details(message, request, cache):
    return {
        "rcpt_to": message.rcpt_to,
        "mail_from": message.mail_from,
        "subject": message.subject,
        "message_id": message.message_id,
        "timestamp": _float(message.timestamp),
        "direction": message.scope,
        # Postal keeps the size in a varchar column and answers it as a string.
        "size": str(message.size) if message.size is not None else None,
        "bounce": bool(message.bounce),
        "bounce_for_id": message.bounce_for_id or 0,
        "tag": message.tag,
        "received_with_ssl": message.received_with_ssl,
    }


def inspection(message, request, cache):
    return {
        "inspected": bool(message.inspected),
        "spam": bool(message.spam),
        "spam_score": float(message.spam_score or 0),
        "threat": bool(message.threat),
        "threat_details": message.threat_details,
    }


def attachments(message, request, cache):
    result = []
    for part in _parsed(message, cache).iter_attachments():
        body = part.get_payload(decode=True) or b""
        result.append(
            {
                "filename": part.get_filename() or "",
                "content_type": part.get_content_type(),
                "data": ruby_base64(body),
                "size": len(body),
                "hash": hashlib.sha1(body).hexdigest(),
            }
        )
    return result


def headers(message, request, cache):
    result: dict[str, list[str]] = {}
    for name, value in _parsed(message, cache).items():
        result.setdefault(name.lower(), []).append(str(value))
    return result


def raw_message(message, request, cache):
    return ruby_base64(_raw(message))


def activity_entries(message, request, cache):
    db = request.dbsession
    loads = db.scalars(select(Load).where(Load.message_id == message.id).order_by(Load.id))
    clicks = db.execute(
        select(Click, Link.url)
        .join(Link, Link.id == Click.link_id)
        .where(Click.message_id == message.id)
        .order_by(Click.id)
    )
    return {
        "loads": [
            {"ip_address": x.ip_address, "user_agent": x.user_agent,
             "timestamp": x.timestamp.isoformat(timespec="milliseconds")}
            for x in loads
        ],
        "clicks": [
            {"url": url, "ip_address": c.ip_address, "user_agent": c.user_agent,
             "timestamp": c.timestamp.isoformat(timespec="milliseconds")}
            for c, url in clicks
        ],
    }  # fmt: skip


EXPANSIONS: dict[str, Callable[[Message, Any, dict], Any]] = {
    "status": status,
    "details": details,
    "inspection": inspection,
    "plain_body": lambda m, r, c: _body(m, c, "plain"),
    "html_body": lambda m, r, c: _body(m, c, "html"),
    "attachments": attachments,
    "headers": headers,
    "raw_message": raw_message,
    "activity_entries": activity_entries,
}


def expand(message: Message, request, wanted) -> dict[str, Any]:
    """``wanted`` is ``True`` (everything) or a list of names; anything else is nothing."""
    result: dict[str, Any] = {"id": message.id, "token": message.token}
    cache: dict = {}
    for name, build in EXPANSIONS.items():
        if wanted is True or (isinstance(wanted, list) and name in wanted):
            result[name] = build(message, request, cache)
    return result
