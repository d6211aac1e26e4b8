"""What an HTTP endpoint's ``Hash`` payload needs from a message: decoded header values, the
text and HTML bodies, and the attachments, chosen the way Postal's mail library chooses them.

* A body is the first non-attachment ``text/plain`` (``text/html``) part of a multipart
  message, or the whole body of a single-part message of that type (``text/plain`` also when
  it has no Content-Type); otherwise ``None``.  Text is decoded from its charset (unknown
  charsets and bad bytes are replaced, never raised) with LF line ends, as Postal's is.
* An attachment is any leaf part below the top level with a file name (Content-Disposition
  ``filename`` or Content-Type ``name``, RFC 2231 and 2047 decoded).
* Header values are RFC 2047 decoded and unfolded.

Mail in the wild is often broken; parsing is the standard library's (``policy.default``), and
every step that could raise on bad input falls back to an empty answer, so a message that
cannot be parsed still gets a payload with empty bodies.
"""

from __future__ import annotations

import email
import email.header
import email.utils
import logging
from dataclasses import dataclass, field
from email import policy
from email.message import Message


log = logging.getLogger(__name__)

MAX_DEPTH = 20  # nesting of multiparts we follow; deeper parts are ignored


@dataclass(frozen=True)
class Attachment:
    filename: str | None
    mime_type: str
    content_type: str  # the Content-Type with its parameters, as Postal's FormData sends it
    data: bytes


@dataclass(frozen=True)
class ParsedMail:
    headers: dict[str, list[str]] = field(default_factory=dict)  # lower-case name -> values
    plain_body: str | None = None
    html_body: str | None = None
    attachments: tuple[Attachment, ...] = ()

    def last(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[-1] if values else None

    def all(self, name: str) -> list[str] | None:
        return self.headers.get(name) or None


def parse(raw: bytes) -> ParsedMail:
    """Everything the payload needs from ``raw``; never raises."""
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
    except Exception:  # the parser is meant not to raise; a bug there must not lose mail
        log.warning("message could not be parsed at all; sending empty bodies", exc_info=True)
        return ParsedMail()
    parts = _leaf_parts(message)
    attachments = tuple(a for a in (_attachment(p) for p in parts if p is not message) if a)
    return ParsedMail(
        headers=_headers(message),
        plain_body=_body(message, parts, "text/plain"),
        html_body=_body(message, parts, "text/html"),
        attachments=attachments,
    )


def _headers(message: Message) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, raw_value in message.raw_items():
        headers.setdefault(name.lower(), []).append(_decoded(message, name, raw_value))
    return headers


def _decoded(message: Message, name: str, raw_value: str) -> str:
    try:
        header = message.policy.header_fetch_parse(name, raw_value)
        if header.defects:  # e.g. an address header that is not addresses: keep its text
            raise ValueError(header.defects)
        value = str(header)
    except Exception:  # a header the structured parsers choke on: decode it as plain text
        try:
            value = str(email.header.make_header(email.header.decode_header(raw_value)))
        except Exception:
            value = raw_value
    return clean(value.replace("\r", "").replace("\n", "")).strip()


def clean(text: str) -> str:
    """``text`` as valid Unicode: raw 8-bit bytes the parser kept as surrogate escapes are
    read as UTF-8 (what unencoded headers are in practice), undecodable ones replaced."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _leaf_parts(message: Message) -> list[Message]:
    """Every non-multipart part, depth first, the top-level message included when it is one
    part; ``message/rfc822`` parts are leaves (a forwarded message is one attachment)."""
    leaves: list[Message] = []
    stack: list[tuple[Message, int]] = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        if not part.is_multipart() or part.get_content_type() == "message/rfc822":
            leaves.append(part)
            continue
        children = part.get_payload()
        if depth < MAX_DEPTH and isinstance(children, list):
            stack.extend((child, depth + 1) for child in reversed(children))
    return leaves


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    return clean(str(name)) if name else None


def _body(message: Message, parts: list[Message], mime_type: str) -> str | None:
    if message.is_multipart():
        for part in parts:
            if part is not message and _filename(part) is None and _type(part) == mime_type:
                return _text(part)
        return None
    has_type = message.get("Content-Type") is not None
    if _type(message) == mime_type or (mime_type == "text/plain" and not has_type):
        return _text(message)
    return None


def _type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    if part.get_content_type() == "message/rfc822":
        try:
            return part.get_payload(0).as_bytes(policy=policy.SMTP)
        except Exception:
            return b""
    return b""


def _text(part: Message) -> str:
    data = _payload(part)
    try:
        charset = part.get_content_charset() or "utf-8"
        text = data.decode(charset, "replace")
    except Exception:  # an unknown or malformed charset: read it as UTF-8
        text = data.decode("utf-8", "replace")
    return text.replace("\r\n", "\n")


def _attachment(part: Message) -> Attachment | None:
    filename = _filename(part)
    if filename is None:
        return None
    mime_type = _type(part)
    return Attachment(
        filename=filename,
        mime_type=mime_type,
        content_type=_content_type_with_params(part, mime_type),
        data=_payload(part),
    )


def _content_type_with_params(part: Message, mime_type: str) -> str:
    """``image/png; name=logo.png``: the type and its parameters, quoted only where needed
    (how Postal's mail library prints a part's ``content_type``)."""
    try:
        params = part.get_params(failobj=[])[1:]
    except Exception:
        params = []
    rendered = [mime_type]
    for key, value in params:
        value = email.utils.collapse_rfc2231_value(value) if isinstance(value, tuple) else value
        rendered.append(f"{key}={_quoted(clean(str(value)))}" if value != "" else key)
    return "; ".join(rendered)


def _quoted(value: str) -> str:
    if value and not any(c in value for c in ' ()<>@,;:\\"/[]?=\t'):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
