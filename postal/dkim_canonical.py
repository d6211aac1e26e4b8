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
# An LF without its CR: the literal first lets the regex engine skip to each LF.
_BARE_LF = re.compile(rb"\n(?<!\r\n)")
# An LF that is bare or ends a line with WSP before its CR (also matches an LF at offset 1).
_LINE_END_WORK = re.compile(rb"\n(?<![^\t ]\r\n)")
_DOUBLE_SPACE = re.compile(b"  ")  # faster than ``in`` on text with many single spaces
# One unfolded header line; name as rfc822_parse's ``[\x21-\x7e]+?:`` (up to the first colon).
_HEADER_LINE = re.compile(rb"^([!-9;-~]+):([^\r\n]*)\r\n", re.MULTILINE)
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
    return headers, _crlf_body(message[end + skip :])


def _crlf_body(body: bytes) -> bytes:
    """The body with bare LFs made CRLF, as ``rfc822_parse`` joins its lines."""
    return _LINE_END.sub(b"\r\n", body) if _BARE_LF.search(body) else body


def signed_block(message: bytes) -> tuple[list[bytes], bytes, bytes] | None:
    """``(include, block, body)`` for a message whose header block is plain CRLF lines,
    else ``None`` (the caller then takes :func:`split_message` and :func:`signed_headers`).

    ``include`` is the ``h=`` list of :func:`signed_headers`, ``block`` the concatenation of
    its canonical ``name:value\\r\\n`` lines in hashing order, ``body`` the raw message
    body (bare LFs left as they are: :func:`relaxed_body` takes it so).  The header block is
    unfolded and its whitespace squeezed in one go, then read with one regular expression;
    any line it does not match (mbox ``From ``, a bad name, a leading continuation) or any
    lone CR or LF sends the message to the general path, so the result is always dkimpy's.
    """
    if message[:1] in b"\r\n \t":  # also b"": no headers, or a leading blank/continuation
        return None
    end = message.find(b"\n\r\n") + 1
    if not end:
        return None
    # Unfolding drops each CRLF before WSP; squeezing WSP runs across the whole block equals
    # doing it per value, since names contain none and no run crosses a line end.
    head = message[:end].replace(b"\r\n ", b" ").replace(b"\r\n\t", b"\t")
    if b"\t" in head or b"  " in head:
        head = _WSP_RUN.sub(b" ", head)
    # A match is one whole CRLF line, its value free of CR and LF: as many matches as LFs
    # means every line matched and there is no lone CR or LF (nor "\n\n" before ``end``).
    pairs = _HEADER_LINE.findall(head)
    if len(pairs) != head.count(b"\n"):
        return None
    selected = [(low, value) for name, value in pairs if (low := name.lower()) in SIGNED_HEADERS]
    include = [low for low, _value in selected]
    if len(set(include)) != len(include):
        by_name: dict[bytes, list[tuple[bytes, bytes]]] = {}
        for pair in selected:
            by_name.setdefault(pair[0], []).append(pair)
        selected = [by_name[name].pop() for name in include]
    block = b"".join([low + b":" + value.strip() + b"\r\n" for low, value in selected])
    return include, block, message[end + 2 :]


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
    """``Relaxed.canonicalize_body`` of the body as ``rfc822_parse`` returns it; the raw body
    (bare LFs not yet made CRLF) gives the same result.

    dkimpy strips ``[\\t ]+`` before each CRLF, then squeezes runs of ``[\\t ]`` to one space.
    One scan of the line ends finds whether there is a bare LF or WSP before a CRLF; most
    bodies have neither, and no tab and no double space either, so they are hashed as they
    are.  Otherwise squeezing first leaves at most one space before a CRLF, and a plain
    replace finishes the job.
    """
    if _LINE_END_WORK.search(body) is None:
        if b"\t" in body or _DOUBLE_SPACE.search(body):
            body = _WSP_RUN.sub(b" ", body)  # no WSP run ends a line: nothing to strip after
    else:
        body = _crlf_body(body)
        if b"\t" in body or _DOUBLE_SPACE.search(body):
            body = _WSP_RUN.sub(b" ", body)
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
