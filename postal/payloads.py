"""Postal's webhook payload shapes, shared by every feature that fires events."""

from __future__ import annotations

from typing import Any

from .models import Message


OUTPUT_LIMIT = 512


def spam_status(message: Message) -> str:
    if not message.inspected:
        return "NotChecked"
    return "Spam" if message.spam else "NotSpam"


def message_hash(message: Message) -> dict[str, Any]:
    """Postal's ``Message#webhook_hash``: what every message event names the message by."""
    return {
        "id": message.id,
        "token": message.token,
        "direction": message.scope,
        "message_id": message.message_id,
        "to": message.rcpt_to,
        "from": message.mail_from,
        "subject": message.subject,
        "timestamp": message.timestamp.timestamp() if message.timestamp else None,
        "spam_status": spam_status(message),
        "tag": message.tag,
    }


def server_hash(server) -> dict[str, Any]:
    """Postal's ``Server#webhook_hash`` (send-limit and DNS events)."""
    return {
        "uuid": server.uuid,
        "name": server.name,
        "permalink": server.permalink,
        "organization": server.organization.permalink,
    }


def scrub_output(output: str | None) -> str:
    """The remote's reply as Postal puts it in payloads: valid UTF-8, at most 512 chars."""
    text = (output or "").encode("utf-8", "replace").decode("utf-8", "replace")
    if len(text) > OUTPUT_LIMIT:
        # Ruby's String#truncate keeps the total length, "..." included.
        text = text[: OUTPUT_LIMIT - 3] + "..."
    return text


def delivery_payload(message: Message, delivery) -> dict[str, Any]:
    """``MessageSent`` / ``MessageDelayed`` / ``MessageDeliveryFailed`` / ``MessageHeld``."""
    return {
        "message": message_hash(message),
        "status": delivery.status,
        "details": delivery.details,
        "output": scrub_output(delivery.output),
        "sent_with_ssl": bool(delivery.sent_with_ssl),
        "timestamp": delivery.timestamp.timestamp(),
        "time": delivery.time,
    }
