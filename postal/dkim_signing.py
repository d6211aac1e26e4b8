"""DKIM signing of outgoing mail, byte-identical to dkimpy's ``dkim.sign`` but fast.

dkimpy does the RSA step in pure Python (~145 signatures/s with RSA-2048) and spends about as
long again on canonicalisation.  Here the tag list and folding are dkimpy's own
(``dkim.fold``, run once per tag list to build a cached template, see :class:`_Template`),
canonicalisation is :mod:`postal.dkim_canonical` (dkimpy's bytes, faster), and the
private-key step goes through OpenSSL (``cryptography``).  RSASSA-PKCS1-v1_5 and
Ed25519 are deterministic, so the signature is the same as dkimpy's for the same ``t=``; the
tests check that byte for byte, and verify with dkimpy and with OpenDKIM.

What is signed follows Postal (``reference/postal-behaviour.md`` §8.6): ``c=relaxed/relaxed``,
``rsa-sha256`` (or ``ed25519-sha256`` for Ed25519 keys), and every present header whose name
is in :data:`SIGNED_HEADERS`, in order of appearance, duplicates included.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from binascii import b2a_base64
from hashlib import sha256

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, utils
from dkim.canonicalization import Relaxed

from .dkim_canonical import relaxed_body, signed_block, signed_headers, split_message


log = logging.getLogger(__name__)

HEADER_NAME = b"DKIM-Signature"
MSGID_HEADER = b"X-Postal-MsgID"
_MSGID_LINE = re.compile(rb"(?im)^x-postal-msgid[ \t]*:")
_PKCS1 = padding.PKCS1v15()
_PREHASHED_SHA256 = utils.Prehashed(hashes.SHA256())
# Keyed by the concrete key class, filled by load_key (cheaper than isinstance on ABCs).
_ALGORITHMS: dict[type, bytes] = {}


class DKIMSigningError(Exception):
    """The message or key cannot be signed (no From header, unusable key)."""


@functools.lru_cache(maxsize=256)
def load_key(private_pem: str) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    """Parse a PEM private key once; later messages signed with it reuse the object.

    ``lru_cache`` keys on the PEM text (hashed once per str object), so a domain's key is
    parsed once per process however many messages it signs.
    """
    key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise DKIMSigningError(f"unsupported DKIM key type {type(key).__name__}")
    is_ed25519 = isinstance(key, ed25519.Ed25519PrivateKey)
    _ALGORITHMS[type(key)] = b"ed25519-sha256" if is_ed25519 else b"rsa-sha256"
    return key


def signature_header(
    message: bytes,
    domain: str,
    selector: str,
    private_pem: str,
    *,
    timestamp: int | None = None,
    linesep: bytes = b"\r\n",
) -> bytes:
    """The ``DKIM-Signature: ...`` header line (ending in ``linesep``) for ``message``.

    Equal to ``dkim.sign(message, selector, domain, key, canonicalize=(b"relaxed",
    b"relaxed"), include_headers=<present signed headers>, linesep=linesep)`` at the same
    ``t=``.
    """
    key = load_key(private_pem)
    parsed = signed_block(message)
    if parsed is None:
        headers, body = split_message(message)
        include, canonical = signed_headers(headers)
        block = b"".join([name + b":" + value for name, value in canonical])
    else:
        include, block, body = parsed
    if b"from" not in include:
        raise DKIMSigningError("the message has no From header, which DKIM must sign")
    static = (_ALGORITHMS[type(key)], domain.encode("ascii"), selector.encode("ascii"))
    static += (b" : ".join(include),)
    t = str(int(time.time()) if timestamp is None else timestamp).encode("ascii")
    bh = b2a_base64(sha256(relaxed_body(body)).digest(), newline=False)
    template = _template(*static, len(t))
    hasher = sha256(block)
    hasher.update(_signed_form(*static, t, bh) if template is None else template.signed(t, bh))
    if static[0] == b"ed25519-sha256":
        signature = key.sign(hasher.digest())
    else:
        signature = key.sign(hasher.digest(), _PKCS1, _PREHASHED_SHA256)
    b = b2a_base64(signature, newline=False)
    if template is None:
        return _header_form(*static, t, bh, b, linesep)
    return template.header(t, bh, b, linesep)


# dkimpy's DKIM.gen_header, which the templates below are made from.


def _tags(algorithm, domain, selector, h, t, bh, b) -> bytes:
    """``b"; ".join(b"=".join(tag) for tag in sigfields)`` for the tags :func:`dkim.sign`
    writes (no ``l=``, ``i=`` the domain's)."""
    return b"".join(
        (b"v=1; a=", algorithm, b"; c=relaxed/relaxed; d=", domain, b"; i=@", domain,
         b"; q=dns/txt; s=", selector, b"; t=", t, b"; h=", h, b"; bh=", bh, b"; b=", b)
    )  # fmt: skip


def _signed_form(algorithm, domain, selector, h, t, bh) -> bytes:
    """What dkimpy hashes for the signature header itself: the tag list with a 60-character
    ``b=`` placeholder (which forces ``b=`` onto its own line) folded with CRLF, the
    placeholder removed by ``RE_BTAG``, canonicalised, without its final CRLF."""
    value = dkim.fold(
        _tags(algorithm, domain, selector, h, t, bh, b"0" * 60), namelen=len(HEADER_NAME)
    )
    value = dkim.RE_BTAG.sub(b"\\1", value)
    ((name, canonical),) = Relaxed.canonicalize_headers([(HEADER_NAME, b" " + value)])
    return name + b":" + canonical.rstrip()


def _header_form(algorithm, domain, selector, h, t, bh, b, linesep) -> bytes:
    """The finished header: the tag list with the signature, folded with ``linesep``."""
    value = _tags(algorithm, domain, selector, h, t, bh, b) + linesep
    return HEADER_NAME + b": " + dkim.fold(value, namelen=len(HEADER_NAME), linesep=linesep)


# Folding looks only at spaces and CR/LF, canonicalisation only at whitespace, so both forms
# depend on t=, bh= and b= (digits, base64) only through their lengths.  Built once per tag
# list with these bytes standing in for them, a form becomes a %-format whose holes take
# slices of the real values (a value too long for a line is split across holes).
_HOLE_BYTES = b"\x01\x02\x03"
_HOLES = re.compile(rb"\x01+|\x02+|\x03+")


class _Form:
    """A form made from a template: ``fill(t + bh [+ b])`` puts the values in the holes."""

    __slots__ = ("fmt", "slices")

    def __init__(self, form: bytes, lengths: tuple[int, ...]):
        starts = [sum(lengths[:field]) for field in range(len(lengths))]
        pieces, slices, last = [], [], 0
        for hole in _HOLES.finditer(form):
            field, length = hole.group()[0] - 1, hole.end() - hole.start()
            pieces.append(form[last : hole.start()].replace(b"%", b"%%"))
            slices.append(slice(starts[field], starts[field] + length))
            starts[field] += length
            last = hole.end()
        pieces.append(form[last:].replace(b"%", b"%%"))
        self.fmt = b"%b".join(pieces)
        self.slices = tuple(slices)

    def fill(self, values: bytes) -> bytes:
        return self.fmt % tuple(map(values.__getitem__, self.slices))


class _Template:
    """The signed and finished forms of one tag list, for one length of ``t=``."""

    __slots__ = ("static", "holes", "_signed", "_headers")

    def __init__(self, static, t_length):
        self.static = static
        self.holes = (b"\x01" * t_length, b"\x02" * 44)  # bh=: base64 of a SHA-256
        self._signed = _Form(_signed_form(*static, *self.holes), (t_length, 44))
        self._headers: dict[tuple[int, bytes], _Form] = {}

    def signed(self, t: bytes, bh: bytes) -> bytes:
        return self._signed.fill(t + bh)

    def header(self, t: bytes, bh: bytes, b: bytes, linesep: bytes) -> bytes:
        form = self._headers.get((len(b), linesep))
        if form is None:
            holes = (*self.holes, b"\x03" * len(b))
            form = _Form(_header_form(*self.static, *holes, linesep), (len(t), 44, len(b)))
            self._headers[len(b), linesep] = form
        return form.fill(t + bh + b)


@functools.lru_cache(maxsize=4096)
def _template(algorithm, domain, selector, h, t_length) -> _Template | None:
    """The cached template for a tag list, or ``None`` (format by dkimpy each time) when the
    domain or selector holds one of the stand-in bytes."""
    if any(byte in _HOLE_BYTES for byte in domain + selector):
        return None
    return _Template((algorithm, domain, selector, h), t_length)


def has_outgoing_headers(raw: bytes) -> bool:
    """Whether ``raw`` was already through :func:`add_outgoing_headers` (Postal's check)."""
    end = raw.find(b"\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    head = raw if end < 0 else raw[: end + 1]
    if b"x-postal-msgid" not in head.lower():  # cheaper than the regular expression
        return False
    return head.startswith(b"X-Postal-MsgID") or _MSGID_LINE.search(head) is not None


def add_outgoing_headers(
    raw: bytes,
    token: str,
    *,
    domain: str | None = None,
    selector: str | None = None,
    private_pem: str | None = None,
    timestamp: int | None = None,
) -> bytes:
    """Prepend ``DKIM-Signature`` (when a key is given) and ``X-Postal-MsgID: <token>``.

    A message that already carries ``X-Postal-MsgID`` is returned unchanged, so a retried
    delivery is never signed twice.  A message that cannot be signed (no From header) still
    gets ``X-Postal-MsgID`` and goes out unsigned, as Postal's would with a broken key.
    """
    if has_outgoing_headers(raw):
        return raw
    first_line_end = raw.find(b"\n")
    linesep = b"\r\n" if first_line_end <= 0 or raw[first_line_end - 1] == 13 else b"\n"
    prefix = b""
    if domain and selector and private_pem:
        try:
            prefix = signature_header(
                raw, domain, selector, private_pem, timestamp=timestamp, linesep=linesep
            )
        except (DKIMSigningError, dkim.DKIMException, ValueError, TypeError) as exc:
            log.warning("message %s goes out without DKIM: %s", token, exc)
    return b"".join((prefix, MSGID_HEADER, b": ", token.encode("ascii"), linesep, raw))
