"""DKIM signing: byte-identical to dkimpy's ``dkim.sign``, verifiable, Postal's header list."""

from __future__ import annotations

import random
from unittest import mock

import dkim
import pytest
from dkim.canonicalization import Relaxed

from postal import dkim_canonical, dkim_keys, dkim_signing


T = 1_795_000_000
DOMAIN, SELECTOR = "example.com", "postal-AbC123"

MESSAGE = (
    b"Received: from client by mx; Tue, 24 Nov 2026 10:00:00 +0000\r\n"
    b"From: Alice <alice@example.com>\r\n"
    b"To: bob@example.net\r\n"
    b"Subject: A subject long enough that the sender folded it\r\n"
    b"\tonto a second line\r\n"
    b"To:   carol@example.net  \r\n"
    b"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <1@example.com>\r\n"
    b"X-Mailer: something unsigned\r\n"
    b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Hi Bob,  \r\n"
    b"\r\n"
    b"tabs\tand  runs   of spaces \t\r\n"
    b"end.\r\n"
    b"\r\n"
    b"\r\n"
)


@pytest.fixture(scope="module")
def rsa_pem():
    return dkim_keys.generate_private_key(2048)


@pytest.fixture(scope="module")
def ed_pem():
    return dkim_keys.generate_private_key(algorithm="ed25519")


def dkimpy_sign(message, pem, *, linesep=b"\r\n", timestamp=T):
    """What stock dkimpy produces with Postal's header list, at a fixed ``t=``."""
    headers, _ = dkim.rfc822_parse(message)
    include = [name.lower() for name, _ in headers if name.lower() in dkim_canonical.SIGNED_HEADERS]
    algorithm = b"ed25519-sha256" if "ed25519" in dkim_keys.key_algorithm(pem) else b"rsa-sha256"
    # dkimpy reads the clock itself; pin it so both signatures carry the same t=.
    with mock.patch.object(dkim.time, "time", return_value=timestamp):
        return dkim.sign(
            message,
            SELECTOR.encode(),
            DOMAIN.encode(),
            dkim_keys.dkimpy_private_key(pem),
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=include,
            signature_algorithm=algorithm,
            linesep=linesep,
        )


def dns_for(pem):
    record = dkim_keys.dkim_record(pem).encode()

    def dnsfunc(name, timeout=5):
        assert name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode()
        return record

    return dnsfunc


@pytest.mark.parametrize("key", ["rsa_pem", "ed_pem"])
def test_the_signature_is_byte_identical_to_dkimpys(key, request):
    pem = request.getfixturevalue(key)
    ours = dkim_signing.signature_header(MESSAGE, DOMAIN, SELECTOR, pem, timestamp=T)
    assert ours == dkimpy_sign(MESSAGE, pem)


def test_the_tags_are_postals(rsa_pem):
    header = dkim_signing.signature_header(MESSAGE, DOMAIN, SELECTOR, rsa_pem, timestamp=T)
    tags = dict(tag.strip().split("=", 1) for tag in header.decode().split(":", 1)[1].split(";"))
    tags = {name: "".join(value.split()) for name, value in tags.items()}
    assert tags["a"] == "rsa-sha256"
    assert tags["c"] == "relaxed/relaxed"
    assert tags["d"] == DOMAIN and tags["s"] == SELECTOR and tags["t"] == str(T)
    # Every present header of Postal's list, in order, the repeated To included; the
    # Received, X-Mailer headers are not signed.
    assert tags["h"].split(":") == [
        "from", "to", "subject", "to", "date", "message-id", "list-unsubscribe-post",
        "mime-version", "content-type",
    ]  # fmt: skip
    assert "l" not in tags and "x" not in tags
    for line in header.split(b"\r\n"):
        assert len(line) <= 72


@pytest.mark.parametrize("key", ["rsa_pem", "ed_pem"])
def test_signed_messages_verify_with_dkimpy(key, request):
    pem = request.getfixturevalue(key)
    signed = dkim_signing.add_outgoing_headers(
        MESSAGE, "tok123", domain=DOMAIN, selector=SELECTOR, private_pem=pem
    )
    assert dkim.verify(signed, dnsfunc=dns_for(pem))


def test_a_changed_message_no_longer_verifies(rsa_pem):
    signed = dkim_signing.add_outgoing_headers(
        MESSAGE, "tok", domain=DOMAIN, selector=SELECTOR, private_pem=rsa_pem
    )
    assert not dkim.verify(signed.replace(b"end.", b"END."), dnsfunc=dns_for(rsa_pem))
    assert not dkim.verify(signed.replace(b"Subject: A", b"Subject: B"), dnsfunc=dns_for(rsa_pem))


def test_outgoing_headers_are_prepended_once(rsa_pem):
    signed = dkim_signing.add_outgoing_headers(
        MESSAGE, "tok123", domain=DOMAIN, selector=SELECTOR, private_pem=rsa_pem, timestamp=T
    )
    signature = dkimpy_sign(MESSAGE, rsa_pem)
    assert signed == signature + b"X-Postal-MsgID: tok123\r\n" + MESSAGE
    again = dkim_signing.add_outgoing_headers(
        signed, "other", domain=DOMAIN, selector=SELECTOR, private_pem=rsa_pem
    )
    assert again is signed


def test_a_message_with_x_postal_msgid_is_left_alone(rsa_pem):
    message = b"From: a@example.com\r\nx-postal-msgid:  earlier\r\n\r\nbody\r\n"
    assert dkim_signing.add_outgoing_headers(
        message, "tok", domain=DOMAIN, selector=SELECTOR, private_pem=rsa_pem
    ) is message  # fmt: skip
    # The header name in the body does not count.
    body_only = b"From: a@example.com\r\n\r\nX-Postal-MsgID: quoted\r\n"
    assert dkim_signing.add_outgoing_headers(body_only, "tok").startswith(b"X-Postal-MsgID: tok")


def test_without_a_key_only_the_message_id_header_is_added():
    assert dkim_signing.add_outgoing_headers(MESSAGE, "tok") == (
        b"X-Postal-MsgID: tok\r\n" + MESSAGE
    )


def test_a_message_without_from_goes_out_unsigned(rsa_pem, caplog):
    message = b"To: b@example.net\r\n\r\nhi\r\n"
    result = dkim_signing.add_outgoing_headers(
        message, "tok", domain=DOMAIN, selector=SELECTOR, private_pem=rsa_pem
    )
    assert result == b"X-Postal-MsgID: tok\r\n" + message
    assert "without DKIM" in caplog.text


def test_bare_lf_messages_are_signed_with_lf_headers(rsa_pem):
    message = MESSAGE.replace(b"\r\n", b"\n")
    signed = dkim_signing.add_outgoing_headers(
        message, "tok", domain=DOMAIN, selector=SELECTOR, private_pem=rsa_pem, timestamp=T
    )
    assert signed == dkimpy_sign(message, rsa_pem, linesep=b"\n") + b"X-Postal-MsgID: tok\n" + (
        message
    )
    assert dkim.verify(signed, dnsfunc=dns_for(rsa_pem))


def test_parsed_keys_are_cached(rsa_pem):
    dkim_signing.load_key.cache_clear()
    for _ in range(3):
        dkim_signing.signature_header(MESSAGE, DOMAIN, SELECTOR, rsa_pem)
    info = dkim_signing.load_key.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def _random_bytes(rng, alphabet, length):
    return b"".join(rng.choice(alphabet) for _ in range(length))


def test_the_fast_body_canonicalisation_equals_dkimpys():
    rng = random.Random(6376)
    alphabet = [b"a", b"b", b" ", b"  ", b"\t", b"\r\n", b"\r\n\r\n", b"\n", b"\r", b" \r\n"]
    bodies = [b"", b"\r\n", b"\r\n\r\n", b"x", b" ", b"x \t", b"x\r\n \r\n"]
    bodies += [_random_bytes(rng, alphabet, rng.randint(0, 60)) for _ in range(3000)]
    for body in bodies:
        _headers, normalised = dkim.rfc822_parse(b"From: a\r\n\r\n" + body)
        assert dkim_canonical.relaxed_body(normalised) == Relaxed.canonicalize_body(normalised), (
            body
        )


def test_the_fast_message_split_equals_dkimpys():
    rng = random.Random(5322)
    lines = [b"From: a", b"To: b", b" folded", b"\tfolded", b"", b"body", b"x:y", b" "]
    messages = [b"", b"\r\n", b"\n", b"From: a", b"From: a\r\n", b"\r\nbody", b"From: a\n\nb"]
    for _ in range(3000):
        picked = [rng.choice(lines) for _ in range(rng.randint(1, 12))]
        picked[0] = b"From: a"
        separators = [rng.choice([b"\r\n", b"\n"]) for _ in picked]
        messages.append(b"".join(line + sep for line, sep in zip(picked, separators, strict=True)))
    for message in messages:
        assert _outcome(dkim_canonical.split_message, message) == _outcome(
            dkim.rfc822_parse, message
        ), message


def _outcome(parse, message):
    try:
        return parse(message)
    except dkim.MessageFormatError as exc:
        return ("refused", str(exc))


def test_the_fast_header_canonicalisation_and_selection_equal_dkimpys():
    rng = random.Random(8463)
    names = [b"From", b"to", b"TO", b"Subject", b"X-Other", b"Cc", b"Received"]
    pieces = [b"a", b" ", b"  ", b"\t", b"\r\n ", b"\r\n\t", b"\n ", b"\r", b"b c"]
    for _ in range(2000):
        headers = [
            [rng.choice(names), _random_bytes(rng, pieces, rng.randint(0, 8)) + b"\r\n"]
            for _ in range(rng.randint(1, 8))
        ]
        assert dkim_canonical.RelaxedHeaders.canonicalize_headers(
            headers
        ) == Relaxed.canonicalize_headers(headers)
        include = [n.lower() for n, _ in headers if n.lower() in dkim_canonical.SIGNED_HEADERS]
        expected = dkim.select_headers(Relaxed.canonicalize_headers(headers), include)
        assert dkim_canonical.signed_headers(headers) == (include, expected)
