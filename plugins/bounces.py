"""Built-in bounce detection for mail that arrives at a return-path address.

Two sources, both read: the ``X-Postal-MsgID`` header of the message we sent, which remote
servers quote back (the only thing Postal looks for), and standard delivery status
notifications (RFC 3464 ``multipart/report; report-type=delivery-status``), from which the
failed recipient, its status code, the diagnostic and the original ``Message-ID`` are taken.
A DSN whose action is ``delayed`` (status ``4.x.x``) is a warning, not a bounce.

Mail with neither is not a bounce (an auto-reply, a person answering): it goes to the
server's ``__returnpath__`` route.  ``trylast``, so a plugin with better heuristics (vendor
bounce formats) can answer first.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re

from postal import hookimpl
from postal.types import BounceInfo


log = logging.getLogger(__name__)

TOKEN = re.compile(rb"X-Postal-MsgID:[ \t]*([A-Za-z0-9]{16})\b", re.IGNORECASE)
STATUS = re.compile(r"^([245])\.\d{1,3}\.\d{1,3}$")
MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*<?([^\s<>]+)>?", re.IGNORECASE | re.MULTILINE)
MAX_TOKENS = 20


@hookimpl(trylast=True)
def postal_detect_bounce(message):
    raw = message.raw
    tokens = tuple(dict.fromkeys(m.decode() for m in TOKEN.findall(raw)))[:MAX_TOKENS]
    report = read_report(raw)
    if report is None:
        return BounceInfo(tokens=tokens) if tokens else None
    return BounceInfo(
        tokens=tokens,
        message_ids=report["message_ids"],
        recipient=report["recipient"],
        status=report["status"],
        diagnostic=report["diagnostic"],
        hard=report["hard"],
    )


def read_report(raw: bytes) -> dict | None:
    """The first failed (else delayed) recipient of an RFC 3464 report, or ``None`` when the
    message is not a delivery status notification."""
    try:
        parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception:  # the parser is lenient; anything it still chokes on is no report
        return None
    if parsed.get_content_type() != "multipart/report" or not parsed.is_multipart():
        return None
    status_part = original = None
    for part in parsed.get_payload():
        kind = part.get_content_type()
        if kind == "message/delivery-status" and status_part is None:
            status_part = part
        elif kind in ("message/rfc822", "text/rfc822-headers") and original is None:
            original = part
    if status_part is None:
        return None
    recipients = _recipient_fields(status_part)
    if not recipients:
        return None
    chosen = next((r for r in recipients if _action(r) == "failed"), recipients[0])
    status = (chosen.get("status") or "").split()[0] if chosen.get("status") else None
    if status and not STATUS.match(status):
        status = None
    action = _action(chosen)
    hard = action == "failed" or (status or "").startswith("5")
    if action == "delayed" or (status or "").startswith("4"):
        hard = False
    return {
        "recipient": _address(chosen.get("final-recipient") or chosen.get("original-recipient")),
        "status": status,
        "diagnostic": _diagnostic(chosen.get("diagnostic-code")),
        "hard": hard,
        "message_ids": _original_ids(original),
    }


def _recipient_fields(part) -> list[dict[str, str]]:
    """The per-recipient field groups (the first group is per-message)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        groups = [{k.lower(): str(v) for k, v in block.items()} for block in payload]
    else:
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
        groups = _parse_groups(text or "")
    return [g for g in groups if "final-recipient" in g or "original-recipient" in g]


def _parse_groups(text: str) -> list[dict[str, str]]:
    groups, current, last = [], {}, None
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if current:
                groups.append(current)
            current, last = {}, None
        elif line[0] in " \t" and last:
            current[last] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            last = name.strip().lower()
            current[last] = value.strip()
    if current:
        groups.append(current)
    return groups


def _action(fields: dict) -> str:
    return (fields.get("action") or "").strip().lower()


def _address(value: str | None) -> str | None:
    """``rfc822; user@example.com`` → ``user@example.com``."""
    if not value:
        return None
    address = value.partition(";")[2] if ";" in value else value
    address = address.strip().strip("<>").strip()
    return address[:255] or None


def _diagnostic(value: str | None) -> str | None:
    if not value:
        return None
    text = value.partition(";")[2] if ";" in value else value
    return " ".join(text.split())[:1000] or None


def _original_ids(part) -> tuple[str, ...]:
    if part is None:
        return ()
    payload = part.get_payload(decode=False)
    if isinstance(payload, list) and payload:
        value = payload[0].get("Message-ID")
        ids = [value.strip().strip("<>")] if value else []
    else:
        data = payload.encode("utf-8", "replace") if isinstance(payload, str) else payload or b""
        head = data.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
        ids = [match.decode("utf-8", "replace") for match in MESSAGE_ID.findall(head)]
    return tuple(i for i in ids if i)[:5]
