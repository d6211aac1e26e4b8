"""The bounce Postal sends to the sender of incoming mail that could not be delivered (§4.7),
as a standard delivery status notification (RFC 3464): Postal's explanatory text, a
``message/delivery-status`` part that mail clients and other platforms can read, and the
original message attached as ``Original Message.eml``.

Never sent for a message that is itself a bounce, nor to an empty sender (``<>``): a bounce
must never cause another.
"""

from __future__ import annotations

import email.utils
import uuid
from email.header import Header


def eligible(message) -> bool:
    return not message.bounce and bool((message.mail_from or "").strip())


def postmaster(server, domain_name: str | None, settings) -> str:
    host = domain_name or settings["postal.web_hostname"]
    return server.postmaster_address or f"postmaster@{host}"


def status_code(details: str, output: str) -> str:
    """An RFC 3463 status for the failure: the remote's own when it gave one."""
    for word in (output or "").replace("-", " ").split():
        parts = word.split(".")
        if len(parts) == 3 and parts[0] in ("4", "5") and all(p.isdigit() for p in parts[1:]):
            return "5." + ".".join(parts[1:])
    return "5.0.0"


def build_bounce(
    *, settings, server, message, raw: bytes, route: str, domain_name: str | None,
    details: str, output: str = "",
) -> bytes:  # fmt: skip
    """The bytes of the bounce for ``message`` (its row) whose stored bytes are ``raw``.

    Written out by hand: the ``email`` package cannot generate ``message/delivery-status``
    parts it did not parse itself."""
    boundary = f"=_postal_{uuid.uuid4().hex}"
    subject = Header(f"Mail Delivery Failed ({message.subject or ''})", "utf-8").encode()
    head = [
        f"From: Mail Delivery Service <{route}>",
        f"To: {message.mail_from}",
        f"Subject: {subject}",
        f"Date: {email.utils.formatdate(usegmt=True)}",
        f"Message-ID: <{uuid.uuid4()}@{settings['dns.return_path_domain']}>",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
    ]
    text = _text(server, message, route, domain_name, settings)
    encoding = "7bit" if text.isascii() else "8bit"
    original_encoding = "7bit" if raw.isascii() else "8bit"
    if not raw.endswith(b"\n"):
        raw += b"\r\n"
    parts = [
        _lines(head) + b"This is a delivery status notification (RFC 3464).\r\n",
        _lines(["Content-Type: text/plain; charset=utf-8",
                f"Content-Transfer-Encoding: {encoding}"])
        + _crlf(text.encode()),
        _lines(["Content-Type: message/delivery-status"])
        + _status(settings, message, details, output),
        _lines([
            "Content-Type: message/rfc822",
            f"Content-Transfer-Encoding: {original_encoding}",
            'Content-Disposition: attachment; filename="Original Message.eml"',
        ])
        + raw,
    ]  # fmt: skip
    separator = f"--{boundary}\r\n".encode()
    body = parts[0] + b"".join(separator + part for part in parts[1:])
    return body + f"--{boundary}--\r\n".encode()


def _lines(lines: list[str]) -> bytes:
    return "".join(line + "\r\n" for line in lines).encode() + b"\r\n"


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _text(server, message, route, domain_name, settings) -> str:
    return (
        f"This is the mail delivery service responsible for delivering mail to {route}.\n\n"
        "The message you've sent cannot be delivered. Your original message is attached "
        "to this message.\n\n"
        f"For further assistance please contact {postmaster(server, domain_name, settings)}. "
        "Please include the details below to help us identify the issue.\n\n"
        f"Message Token: {message.token}@{server.token}\n"
        f"Orig Message ID: {message.message_id or ''}\n"
        f"Mail from: {message.mail_from}\n"
        f"Rcpt To: {message.rcpt_to}\n"
    )


def _status(settings, message, details: str, output: str) -> bytes:
    fields = [f"Reporting-MTA: dns; {settings['postal.smtp_hostname']}"]
    if message.timestamp:
        fields.append(f"Arrival-Date: {email.utils.format_datetime(message.timestamp)}")
    recipient = [
        f"Final-Recipient: rfc822; {message.rcpt_to}",
        "Action: failed",
        f"Status: {status_code(details, output)}",
    ]
    diagnostic = " ".join((output or details or "").split())
    diagnostic = diagnostic.encode("ascii", "replace").decode()[:900]
    if diagnostic:
        recipient.append(f"Diagnostic-Code: smtp; {diagnostic}")
    return _lines(fields) + _lines(recipient)
