"""Rewriting an outgoing message for click and open tracking (Postal §7.2), without the database.

Which parts are rewritten: a single-part ``text/html`` or ``text/plain`` message, or the
inline ``text/html`` and ``text/plain`` parts of a multipart one at any depth, except inside
``multipart/signed`` and ``multipart/encrypted`` (changing them would break the signature)
and attached messages.  A part keeps its charset and transfer encoding when it can; the
rest of the message is left as it was.  Nothing is re-serialised unless something changed.
"""

from __future__ import annotations

import base64
import html
import io
import quopri
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.generator import BytesGenerator
from email.message import Message
from email.policy import compat32

from postal.headers import header_block, header_values


# RFC 3986 characters, without the quote that may close an HTML attribute.
_PATH = r"[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]*"
_HOST = r"[A-Za-z0-9\-.:]+"
URL = re.compile(rf"https?://(?P<host>{_HOST})(?:/{_PATH})?\Z")
HREF = re.compile(
    rf"""(?P<lead>\bhref\s*=\s*)(?P<q>["'])(?P<url>https?://{_HOST}(?:/[^"'\s<>]*)?)(?P=q)""",
    re.I,
)
TEXT_URL = re.compile(rf"https?://(?P<host>{_HOST})(?:/{_PATH})?")
NOTRACK = re.compile(r"\b(https?)\+notrack://", re.I)
BODY_END = re.compile(r"</body\s*>", re.I)
# Sentence punctuation after a URL in plain text is not part of it.
TRAILING = ".,;:!?'\")]}>*"
PIXEL = (
    "<p class='ampimg' style='display:none;visibility:none;margin:0;padding:0;"
    "line-height:0;'><img src='{src}' alt=''></p>"
)
SKIPPED_MULTIPARTS = ("multipart/signed", "multipart/encrypted")
MAX_LINE = 998


@dataclass
class Tracker:
    """What to do to one message; counts what it did.  ``link_token(url)`` hands out the
    token of a tracked URL (the caller stores the links)."""

    base_url: str
    server_token: str
    message_token: str
    link_token: Callable[[str], str]
    track_clicks: bool = True
    track_loads: bool = True
    track_text_links: bool = False
    excluded_hosts: set[str] = field(default_factory=set)
    links: int = 0
    images: int = 0

    def html(self, text: str) -> str:
        if self.track_clicks:
            text = HREF.sub(self._href, text)
        text = NOTRACK.sub(r"\1://", text)
        if self.track_loads:
            text = self._pixel(text)
        return text

    def text(self, text: str) -> str:
        if self.track_clicks and self.track_text_links:
            text = TEXT_URL.sub(self._text_url, text)
        return NOTRACK.sub(r"\1://", text)

    def tracked_url(self, url: str) -> str:
        self.links += 1
        return f"{self.base_url}/{self.server_token}/{self.link_token(url)}"

    def _excluded(self, host: str) -> bool:
        return host.lower() in self.excluded_hosts

    def _href(self, match: re.Match) -> str:
        # Links are stored as the browser would follow them: "&amp;" means "&".
        url = html.unescape(match["url"])
        found = URL.match(url)
        if found is None or self._excluded(found["host"]):
            return match[0]
        quote = match["q"]
        return f"{match['lead']}{quote}{self.tracked_url(url)}{quote}"

    def _text_url(self, match: re.Match) -> str:
        url = match[0]
        trimmed = url.rstrip(TRAILING)
        found = URL.match(trimmed)
        if found is None or self._excluded(found["host"]):
            return url
        return self.tracked_url(trimmed) + url[len(trimmed) :]

    def _pixel(self, text: str) -> str:
        self.images += 1
        src = f"{self.base_url}/img/{self.server_token}/{self.message_token}"
        pixel = PIXEL.format(src=src)
        ends = list(BODY_END.finditer(text))
        if not ends:
            return text + pixel
        at = ends[-1].start()
        return text[:at] + pixel + text[at:]


def amp_skip(raw: bytes) -> bool:
    """True when the message asks not to be tracked with ``X-AMP: skip``."""
    values = header_values(header_block(raw), b"X-AMP")
    return any(value.strip().lower() == "skip" for value in values)


def rewrite_message(raw: bytes, tracker: Tracker) -> bytes | None:
    """The rewritten message, or ``None`` when nothing needed changing."""
    message = message_from_bytes(raw, policy=compat32)
    if not _rewrite(message, tracker):
        return None
    linesep = "\r\n" if b"\r\n" in _header_block(raw) else "\n"
    flat = _flatten(message, linesep)
    if not message.is_multipart():
        # The part's own headers (encoding, charset) may have changed.
        return flat
    # Only bodies changed: keep the original header block byte for byte.
    separator = (linesep * 2).encode()
    return _header_block(raw) + flat.split(separator, 1)[1]


def _rewrite(part: Message, tracker: Tracker) -> bool:
    content_type = part.get_content_type()
    if part.is_multipart():
        # Attached messages (message/rfc822) are someone else's mail: left as they are.
        if part.get_content_maintype() != "multipart" or content_type in SKIPPED_MULTIPARTS:
            return False
        results = [_rewrite(child, tracker) for child in part.get_payload()]
        return any(results)
    if content_type not in ("text/html", "text/plain") or _is_attachment(part):
        return False
    return _rewrite_text_part(part, tracker, is_html=content_type == "text/html")


def _is_attachment(part: Message) -> bool:
    return str(part.get("Content-Disposition", "")).strip().lower().startswith("attachment")


def _rewrite_text_part(part: Message, tracker: Tracker, *, is_html: bool) -> bool:
    data = part.get_payload(decode=True)
    if data is None:
        return False
    charset = part.get_content_charset() or "us-ascii"
    try:
        # surrogateescape keeps bytes that do not fit the declared charset as they were.
        text = data.decode(charset, "surrogateescape")
    except LookupError:
        return False
    new_text = tracker.html(text) if is_html else tracker.text(text)
    if new_text == text:
        return False
    _set_text(part, new_text, charset)
    return True


def _set_text(part: Message, text: str, charset: str) -> None:
    text = text.replace("\r\n", "\n")
    try:
        data = text.encode(charset, "surrogateescape")
    except (UnicodeEncodeError, LookupError):
        charset, data = "utf-8", text.encode("utf-8", "surrogateescape")
        part.set_param("charset", charset)
    old = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    encoding = _choose_encoding(old, data)
    if encoding == "base64":
        payload = base64.encodebytes(data.replace(b"\n", b"\r\n")).decode("ascii")
    elif encoding == "quoted-printable":
        payload = quopri.encodestring(data).decode("ascii")
    else:
        payload = data.decode("ascii", "surrogateescape")
    part.set_payload(payload)
    if encoding != old:
        if "Content-Transfer-Encoding" in part:
            part.replace_header("Content-Transfer-Encoding", encoding)
        else:
            part["Content-Transfer-Encoding"] = encoding


def _choose_encoding(old: str, data: bytes) -> str:
    if old in ("base64", "quoted-printable"):
        return old
    fits = all(len(line) <= MAX_LINE for line in data.split(b"\n"))
    if fits and (data.isascii() or old in ("8bit", "binary")):
        return old
    return "quoted-printable"


def _header_block(raw: bytes) -> bytes:
    ends = [at for at in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if at >= 0]
    if not ends:
        return raw
    end = min(ends)
    return raw[: end + (4 if raw.startswith(b"\r\n\r\n", end) else 2)]


def _flatten(message: Message, linesep: str) -> bytes:
    out = io.BytesIO()
    policy = compat32.clone(linesep=linesep)
    BytesGenerator(out, mangle_from_=False, maxheaderlen=0, policy=policy).flatten(message)
    return out.getvalue()
