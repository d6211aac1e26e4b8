"""DKIM ``relaxed`` canonicalisation: dkimpy's results, without dkimpy's per-message cost.

dkimpy splits the whole message into lines, runs three regular expressions over the body and
two over every header value, which costs about as much as the RSA-2048 signature itself.
Each function here produces exactly the bytes of its dkimpy counterpart (the tests compare
them on thousands of generated inputs) and falls back to dkimpy for anything unusual.
"""

from __future__ import annotations

import re

import dkim
from dkim.canonicalization import correct_empty_body, strip_trailing_lines


# Postal's list (reference/postal-behaviour.md §8.6): every present header of these is signed.
SIGNED_HEADERS = frozenset(
    (
        b"from", b"sender", b"reply-to", b"subject", b"date", b"message-id", b"to", b"cc",
        b"mime-version", b"content-type", b"content-transfer-encoding", b"resent-to",
        b"resent-cc", b"resent-from", b"resent-sender", b"resent-message-id", b"in-reply-to",
        b"references", b"list-id", b"list-help", b"list-owner", b"list-unsubscribe",
        b"list-unsubscribe-post", b"list-subscribe", b"list-post",
    )
)  # fmt: skip

_WSP_RUN = re.compile(rb"[\t ]+")
_LINE_END = re.compile(rb"\r?\n")
_NAME_CHARS = bytes(range(0x21, 0x7F))


def split_message(message: bytes) -> tuple[list[list[bytes]], bytes]:
    """``dkim.rfc822_parse(message)``: ``([[name, value], ...], body)``.

    The body is sliced off rather than split into lines and joined again; its line endings
    are normalised to CRLF only when it has bare LFs, as ``rfc822_parse`` would.
    """
    if message.startswith((b"\r\n", b"\n")):
        end, skip = 0, 2 if message.startswith(b"\r\n") else 1
    else:
        crlf = message.find(b"\n\r\n")
        # Only a blank line before the CRLF one matters: do not scan the whole body for it.
        lf = message.find(b"\n\n", 0, crlf + 1 if crlf >= 0 else len(message))
        candidates = [(pos, size) for pos, size in ((crlf, 3), (lf, 2)) if pos >= 0]
        if not candidates:
            return dkim.rfc822_parse(message)
        pos, size = min(candidates)
        end, skip = pos + 1, size - 1
    headers = _parse_head(message[:end])
    body = message[end + skip :]
    if body.count(b"\n") != body.count(b"\r\n"):
        body = _LINE_END.sub(b"\r\n", body)
    return headers, body


def _parse_head(head: bytes) -> list[list[bytes]]:
    """The header block (ending in its last line's LF) as ``rfc822_parse`` reads it.

    A line this fast path does not recognise (no valid name, an mbox ``From `` line, a
    continuation before any header) sends the whole block to dkimpy, errors included.
    """
    if not head:
        return []
    headers: list[list[bytes]] = []
    for line in head.split(b"\n")[:-1]:
        if line.endswith(b"\r"):
            line = line[:-1]
        if line[:1] in (b"\t", b" "):
            if not headers:
                return dkim.rfc822_parse(head)[0]
            headers[-1][1] += line + b"\r\n"
            continue
        colon = line.find(b":")
        if colon <= 0 or line[:colon].translate(None, _NAME_CHARS):
            return dkim.rfc822_parse(head)[0]
        headers.append([line[:colon], line[colon + 1 :] + b"\r\n"])
    return headers


def relaxed_body(body: bytes) -> bytes:
    """``Relaxed.canonicalize_body``.

    dkimpy strips ``[\\t ]+`` before each CRLF, then squeezes runs of ``[\\t ]`` to one space.
    Squeezing first leaves at most one space before a CRLF, so a plain replace finishes the
    job, and bodies with no tab and no double space skip the regular expression altogether.
    """
    if b"\t" in body or b"  " in body:
        body = _WSP_RUN.sub(b" ", body)
    if b" \r\n" in body:
        body = body.replace(b" \r\n", b"\r\n")
    return correct_empty_body(strip_trailing_lines(body))


class RelaxedHeaders:
    """``Relaxed.canonicalize_headers``, running its regular expressions only on values that
    need them (a bare LF, a tab or a double space)."""

    @staticmethod
    def canonicalize_headers(headers):
        result = []
        for name, value in headers:
            value = value.replace(b"\r\n", b"")
            if b"\n" in value:
                value = _LINE_END.sub(b"", value)
            if b"\t" in value or b"  " in value:
                value = _WSP_RUN.sub(b" ", value)
            result.append((name.lower().rstrip(), value.strip() + b"\r\n"))
        return result


def signed_headers(headers) -> tuple[list[bytes], list[tuple[bytes, bytes]]]:
    """``(include, canonical)``: the lower-case names of every present header of
    :data:`SIGNED_HEADERS` in order of appearance (the ``h=`` list), and their canonical
    ``(name, value)`` pairs in the order dkimpy's ``select_headers`` hashes them for that
    list: the n-th mention of a name takes the n-th instance counted from the bottom
    (RFC 6376 section 5.4.2)."""
    wanted = [(name, value) for name, value in headers if name.lower() in SIGNED_HEADERS]
    canonical = RelaxedHeaders.canonicalize_headers(wanted)
    include = [name for name, _value in canonical]
    if len(set(include)) == len(include):
        return include, canonical  # no repeated name: bottom-up selection keeps the order
    by_name: dict[bytes, list[tuple[bytes, bytes]]] = {}
    for pair in canonical:
        by_name.setdefault(pair[0], []).append(pair)
    return include, [by_name[name].pop() for name in include]
