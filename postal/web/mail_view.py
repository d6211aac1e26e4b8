"""Reading a stored message for display: headers, plain and HTML bodies, attachments."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from email.message import EmailMessage


@dataclass
class Attachment:
    index: int
    filename: str
    content_type: str
    size: int


@dataclass
class ParsedMail:
    headers: list[tuple[str, str]] = field(default_factory=list)
    plain: str | None = None
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)


def _parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def _content(part) -> str | None:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError, KeyError):
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", "replace")
    return content if isinstance(content, str) else None


def _attachments(message: EmailMessage) -> list:
    try:
        return list(message.iter_attachments())
    except (KeyError, TypeError, AttributeError):
        return []


def _header_text(message: EmailMessage, name: str, value: str) -> str:
    """The decoded header, or its text as stored when the standard library's parser trips
    over it (``From: "`` raises IndexError in Python 3.11's header parser)."""
    try:
        return str(message.policy.header_fetch_parse(name, value))
    except Exception:  # noqa: BLE001 - any parser failure shows the header as it came
        return str(value)


def parse_mail(raw: bytes) -> ParsedMail:
    message = _parse(raw)
    headers = [(name, _header_text(message, name, value)) for name, value in message.raw_items()]
    parsed = ParsedMail(headers=headers)
    for kind in ("plain", "html"):
        try:
            part = message.get_body(preferencelist=(kind,))
        except (KeyError, TypeError, AttributeError):
            part = None
        if part is not None:
            setattr(parsed, kind, _content(part))
    for index, part in enumerate(_attachments(message)):
        payload = part.get_payload(decode=True) or b""
        parsed.attachments.append(
            Attachment(
                index=index,
                filename=part.get_filename() or f"attachment-{index + 1}",
                content_type=part.get_content_type(),
                size=len(payload),
            )
        )
    return parsed


def attachment(raw: bytes, index: int) -> tuple[str, bytes] | None:
    """The filename and bytes of attachment number ``index``."""
    parts = _attachments(_parse(raw))
    if not 0 <= index < len(parts):
        return None
    part = parts[index]
    return part.get_filename() or f"attachment-{index + 1}", part.get_payload(decode=True) or b""
