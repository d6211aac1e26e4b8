"""The request bodies of HTTP endpoints, field for field as Postal sends them.

``Hash`` is the parsed message (:mod:`.mime`), ``RawMessage`` the raw bytes in base64; each
goes out as JSON (``BodyAsJSON``) or URL-encoded (``FormData``).  Postal's quirks are kept on
purpose, because receivers were written against them:

* base64 is Ruby's ``Base64.encode64``: lines of 60 characters, each ending in ``\\n``;
* ``size`` is a string in ``Hash`` and a number in ``RawMessage``;
* ``reply_to`` is the list of every Reply-To value, or ``null`` when there is none;
* attachments in JSON carry the bare MIME type; in FormData they are flattened to
  ``attachments[0][filename]``, ``…[content_type]`` (the full Content-Type with its
  parameters), ``…[size]`` (a string) and ``…[data]``, and no key at all when there are none;
* form encoding is Ruby's ``URI.encode_www_form``: ``true``/``false`` as words, ``null`` as
  the bare key with no ``=``, a list as the key repeated once per item (nothing for an empty
  list), space as ``+`` and everything but ``A-Z a-z 0-9 * - . _`` percent-encoded.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from postal.messages import summarise_headers
from postal.types import IncomingMessage

from . import mime
from .replies import separate


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def ruby_base64(data: bytes) -> str:
    """Ruby's ``Base64.encode64``: 45 bytes (60 characters) a line, every line ends ``\\n``."""
    return "".join(
        base64.b64encode(data[i : i + 45]).decode("ascii") + "\n" for i in range(0, len(data), 45)
    )


def _epoch(timestamp: dt.datetime) -> float:
    if timestamp.tzinfo is None:  # stored timestamps are UTC
        timestamp = timestamp.replace(tzinfo=dt.UTC)
    return timestamp.timestamp()


def hash_payload(
    message: IncomingMessage, *, strip_replies: bool, include_attachments: bool, flat: bool
) -> dict[str, Any]:
    """Postal's ``Hash`` format; ``flat`` for FormData (attachments as bracketed keys)."""
    parsed = mime.parse(message.raw)
    summary = summarise_headers(message.raw)
    payload: dict[str, Any] = {
        "id": message.id,
        "rcpt_to": message.rcpt_to,
        "mail_from": message.mail_from,
        "token": message.token,
        "subject": summary.subject,
        "message_id": summary.message_id,
        "timestamp": _epoch(message.timestamp),
        "size": str(len(message.raw)),
        "spam_status": message.spam_status,
        "bounce": bool(message.bounce),
        "received_with_ssl": bool(message.received_with_ssl),
        "to": parsed.last("to"),
        "cc": parsed.last("cc"),
        "from": parsed.last("from"),
        "date": parsed.last("date"),
        "in_reply_to": parsed.last("in-reply-to"),
        "references": parsed.last("references"),
        "html_body": parsed.html_body,
        "attachment_quantity": len(parsed.attachments),
        "auto_submitted": parsed.last("auto-submitted"),
        "reply_to": parsed.all("reply-to"),
    }
    if strip_replies:
        payload["plain_body"], payload["replies_from_plain_body"] = separate(parsed.plain_body)
    else:
        payload["plain_body"] = parsed.plain_body
    if include_attachments:
        if flat:
            payload.update(_flat_attachments(parsed.attachments))
        else:
            payload["attachments"] = [_attachment(a) for a in parsed.attachments]
    return payload


def _attachment(attachment: mime.Attachment) -> dict[str, Any]:
    return {
        "filename": attachment.filename,
        "content_type": attachment.mime_type,
        "size": len(attachment.data),
        "data": ruby_base64(attachment.data),
    }


def _flat_attachments(attachments: tuple[mime.Attachment, ...]) -> dict[str, str | None]:
    flat: dict[str, str | None] = {}
    for i, attachment in enumerate(attachments):
        flat[f"attachments[{i}][filename]"] = attachment.filename
        flat[f"attachments[{i}][content_type]"] = attachment.content_type
        flat[f"attachments[{i}][size]"] = str(len(attachment.data))
        flat[f"attachments[{i}][data]"] = ruby_base64(attachment.data)
    return flat


def raw_payload(message: IncomingMessage) -> dict[str, Any]:
    """Postal's ``RawMessage`` format: the whole message as it is stored, in base64."""
    return {
        "id": message.id,
        "rcpt_to": message.rcpt_to,
        "mail_from": message.mail_from,
        "message": ruby_base64(message.raw),
        "base64": True,
        "size": len(message.raw),
    }


def build(message: IncomingMessage, options: Mapping[str, Any]) -> tuple[bytes, str]:
    """``(body, content type)`` for ``message`` under an HTTP endpoint's ``options``."""
    flat = options.get("encoding") == "FormData"
    if options.get("format") == "RawMessage":
        payload = raw_payload(message)
    else:
        payload = hash_payload(
            message,
            strip_replies=bool(options.get("strip_replies", False)),
            include_attachments=bool(options.get("include_attachments", True)),
            flat=flat,
        )
    if flat:
        return form_encode(payload).encode("ascii"), FORM
    return json_encode(payload), JSON


def json_encode(payload: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON, non-ASCII left as is (Ruby's ``to_json``)."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "replace")


_UNRESERVED = frozenset(b"*-._0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def form_component(value: str) -> str:
    """Ruby's ``URI.encode_www_form_component`` of ``value`` (UTF-8)."""
    out = []
    for byte in value.encode("utf-8", "replace"):
        if byte in _UNRESERVED:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def _form_value(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def form_encode(payload: Mapping[str, Any]) -> str:
    """Ruby's ``URI.encode_www_form``: ``null`` is the bare key, a list repeats its key."""
    pieces = []
    for key, value in payload.items():
        name = form_component(str(key))
        if value is None:
            pieces.append(name)
        elif isinstance(value, list | tuple):
            pieces.append(
                "&".join(
                    name if item is None else f"{name}={form_component(_form_value(item))}"
                    for item in value
                )
            )
        else:
            pieces.append(f"{name}={form_component(_form_value(value))}")
    return "&".join(pieces)
