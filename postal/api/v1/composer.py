"""Building the MIME message ``send/message`` stores, in the shape Postal's mail gem gives:
custom headers, To, Cc, From, Sender, Subject, Reply-To, a ``multipart/alternative`` body
part, attachments, then Received and Message-ID.  Written by hand (CRLF throughout)
because the ``email`` package's generator costs more than the rest of a request.
"""

from __future__ import annotations

import base64
import binascii
import email.header
import email.utils
import quopri
import re
from dataclasses import dataclass, field

from ...tokens import random_hex


CRLF = "\r\n"
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # printable ASCII except ':'
_ADDRESS = re.compile(r"^(?P<name>.*?)\s*<(?P<addr>[^<>]*)>\s*$")


@dataclass
class Attachment:
    name: str
    content_type: str
    data: bytes


@dataclass
class Composition:
    to: list[str]
    cc: list[str]
    from_: str
    sender: str | None = None
    subject: str | None = None
    reply_to: str | None = None
    plain_body: str | None = None
    html_body: str | None = None
    headers: dict = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)


def decode_base64(data: str) -> bytes:
    """Lenient like Ruby's ``Base64.decode64``: whitespace and missing padding are fine."""
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", data)
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned)
    except (binascii.Error, ValueError):
        return b""


def _one_line(value) -> str:
    # Header injection: a value never carries its own line breaks.
    return re.sub(r"[\r\n]+", " ", str(value)).strip()


def _encode_text(value: str) -> str:
    if value.isascii():
        return value
    return email.header.Header(value, "utf-8", maxlinelen=76).encode(linesep=CRLF)


def _encode_address(address: str) -> str:
    match = _ADDRESS.match(address)
    if not match or not match["name"]:
        return address
    name = match["name"].strip()
    if name.isascii():
        return address
    return f"{_encode_text(name.strip(chr(34)))} <{match['addr']}>"


def _address_header(name: str, addresses: list[str]) -> str:
    encoded = [_encode_address(_one_line(a)) for a in addresses]
    return f"{name}: " + ("," + CRLF + " ").join(encoded) if encoded else ""


def _text_part(content_type: str, text: str) -> str:
    raw = text.replace("\r\n", "\n").replace("\r", "\n")
    if raw.isascii() and all(len(line) <= 998 for line in raw.split("\n")):
        encoding, body = "7bit", raw.replace("\n", CRLF)
    else:
        encoding = "quoted-printable"
        body = quopri.encodestring(raw.encode("utf-8")).decode("ascii").replace("\n", CRLF)
    return (
        f"Content-Type: {content_type}; charset=UTF-8{CRLF}"
        f"Content-Transfer-Encoding: {encoding}{CRLF}{CRLF}{body}"
    )


def _attachment_part(attachment: Attachment) -> str:
    name = _one_line(attachment.name)
    if name.isascii():
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        type_param, disposition = f'name="{quoted}"', f'filename="{quoted}"'
    else:
        encoded = email.utils.encode_rfc2231(name, "utf-8")
        type_param, disposition = f"name*={encoded}", f"filename*={encoded}"
    data = base64.encodebytes(attachment.data).decode("ascii").replace("\n", CRLF)
    return (
        f"Content-Type: {_one_line(attachment.content_type)}; {type_param}{CRLF}"
        f"Content-Transfer-Encoding: base64{CRLF}"
        f"Content-Disposition: attachment; {disposition}{CRLF}{CRLF}{data}"
    )


def _multipart(parts: list[str]) -> tuple[str, str]:
    boundary = f"--==_mimepart_{random_hex(12)}"
    body = "".join(f"--{boundary}{CRLF}{part}{CRLF}" for part in parts)
    return boundary, f"{body}--{boundary}--{CRLF}"


def compose(c: Composition, *, received: str, message_id: str, date: str) -> bytes:
    """The message as bytes with CRLF line ends; ``message_id`` without brackets."""
    lines = []
    for name, value in c.headers.items():
        name = str(name).strip()
        if _HEADER_NAME.match(name):
            lines.append(f"{name}: {_encode_text(_one_line(value))}")
    lines.append(f"Received: {received}")
    lines.append(f"Date: {date}")
    lines += [h for h in (_address_header("To", c.to), _address_header("Cc", c.cc)) if h]
    lines.append(_address_header("From", [c.from_]))
    if c.sender:
        lines.append(_address_header("Sender", [c.sender]))
    if c.subject:
        lines.append(f"Subject: {_encode_text(_one_line(c.subject))}")
    if c.reply_to:
        lines.append(_address_header("Reply-To", [c.reply_to]))
    lines.append(f"Message-ID: <{message_id}>")
    lines.append("MIME-Version: 1.0")
    alternatives = []
    if c.plain_body:
        alternatives.append(_text_part("text/plain", c.plain_body))
    if c.html_body:
        alternatives.append(_text_part("text/html", c.html_body))
    inner_boundary, inner = _multipart(alternatives)
    parts = [f'Content-Type: multipart/alternative; boundary="{inner_boundary}"{CRLF}{CRLF}{inner}']
    parts += [_attachment_part(a) for a in c.attachments]
    boundary, body = _multipart(parts)
    lines.append(f'Content-Type: multipart/mixed; boundary="{boundary}"; charset=UTF-8')
    lines.append("Content-Transfer-Encoding: 7bit")
    return (CRLF.join(lines) + CRLF + CRLF + body).encode("utf-8")
