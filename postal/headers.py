"""Reading header fields straight from raw message bytes, without parsing the body.

SMTP accept, the API, storing and the worker only need a few header values; a regular
expression over the header block keeps that O(header size) whatever the body.
"""

from __future__ import annotations

import functools
import re


_HEADER_END = re.compile(rb"\r?\n\r?\n")


def header_block(raw: bytes) -> bytes:
    """The headers (up to the first empty line), or all of ``raw`` when there is no body."""
    match = _HEADER_END.search(raw)
    return raw if match is None else raw[: match.start()]


def header_values(head: bytes, name: str | bytes) -> list[str]:
    """Unfolded values of every ``name`` header in ``head``, in order.  Blanks before the
    colon are accepted (RFC 5322's obsolete syntax, still sent by some software)."""
    return [
        match.group(1).decode("utf-8", "replace").replace("\r\n", "").replace("\n", "").strip()
        for match in _field_pattern(name).finditer(head)
    ]


@functools.lru_cache(maxsize=64)
def _field_pattern(name: str | bytes) -> re.Pattern:
    name = name if isinstance(name, bytes) else name.encode()
    return re.compile(
        rb"^" + re.escape(name) + rb"[ \t]*:([^\n]*(?:\n[ \t][^\n]*)*)",
        re.IGNORECASE | re.MULTILINE,
    )


def last_header(raw: bytes, name: str | bytes) -> str | None:
    """The last ``name`` header of the message ``raw``, or ``None``."""
    values = header_values(header_block(raw), name)
    return values[-1] if values else None
