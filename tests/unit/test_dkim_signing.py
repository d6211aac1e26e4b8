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


def dkimpy_sign(message, pem, *, linesep=b"\r\n", timestamp=T, domain=DOMAIN, selector=SELECTOR):
    """What stock dkimpy produces with Postal's header list, at a fixed ``t=``."""
    headers, _ = dkim.rfc822_parse(message)
    include = [name.lower() for name, _ in headers if name.lower() in dkim_canonical.SIGNED_HEADERS]
    algorithm = b"ed25519-sha256" if "ed25519" in dkim_keys.key_algorithm(pem) else b"rsa-sha256"
    # dkimpy reads the clock itself; pin it so both signatures carry the same t=.
    with mock.patch.object(dkim.time, "time", return_value=timestamp):
        return dkim.sign(
            message,
            selector.encode(),
            domain.encode(),
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


def _base64(rng, length):
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return bytes(rng.choice(alphabet) for _ in range(length - 1)) + b"="


def test_the_cached_templates_equal_dkimpys_folding_and_canonicalisation():
    """The %-format templates give dkim.fold's bytes (and what dkimpy hashes) for any tag
    list: long d=, s= and h= values, hard-broken t=/bh=/b=, odd characters, both linesep."""
    rng = random.Random(4871)
    chars = b"abcdefghijklmnopqrstuvwxyz0123456789.-"
    odd = chars + b" ;=%b:\t"
    names = sorted(dkim_canonical.SIGNED_HEADERS)
    for case in range(1500):
        pool = odd if case % 5 == 0 else chars
        domain = bytes(rng.choice(pool) for _ in range(rng.choice([1, 11, 40, 63, 70, 90, 130])))
        selector = bytes(rng.choice(pool) for _ in range(rng.randint(1, 80)))
        include = [rng.choice(names) for _ in range(rng.randint(1, 30))]
        static = (rng.choice([b"rsa-sha256", b"ed25519-sha256"]), domain, selector)
        static += (b" : ".join(include),)
        t = str(rng.randint(0, 10 ** rng.randint(1, 12))).encode()
        bh = _base64(rng, 44)
        b = _base64(rng, rng.choice([88, 172, 344, 512, 684, rng.randint(1, 400)]))
        template = dkim_signing._template(*static, len(t))
        assert template.signed(t, bh) == dkim_signing._signed_form(*static, t, bh), static
        for linesep in (b"\r\n", b"\n"):
            expected = dkim_signing._header_form(*static, t, bh, b, linesep)
            assert template.header(t, bh, b, linesep) == expected, (static, linesep)
    # A domain holding a stand-in byte gets no template: dkimpy's folding every time.
    assert dkim_signing._template(b"rsa-sha256", b"a\x02b", b"s", b"from", 10) is None


@pytest.mark.parametrize("linesep", [b"\r\n", b"\n"])
@pytest.mark.parametrize(
    ("domain", "selector"),
    [
        ("example.com", "s"),
        ("a" * 63 + ".example.com", "postal-AbC123"),
        ("mail." + "b" * 60 + "." + "c" * 50 + ".example", "sel-" + "x" * 60),
        ("d" * 59 + ".io", "y" * 71),
        ("ex\x01ample.com", "s"),
    ],
)
def test_long_tags_are_byte_identical_to_dkimpys(rsa_pem, domain, selector, linesep):
    everything = b"".join(
        name.title() + b": value of " + name + b"\r\n" for name in dkim_canonical.SIGNED_HEADERS
    )
    message = (b"From: a@example.com\r\n" + everything + b"\r\nbody \r\n").replace(b"\r\n", linesep)
    ours = dkim_signing.signature_header(
        message, domain, selector, rsa_pem, timestamp=T, linesep=linesep
    )
    expected = dkimpy_sign(message, rsa_pem, linesep=linesep, domain=domain, selector=selector)
    assert ours == expected


def test_the_fast_header_block_equals_the_general_path():
    """signed_block either declines (None) or gives what split_message + signed_headers
    give, and relaxed_body of its raw body equals dkimpy's of the normalised body."""
    rng = random.Random(1123)
    lines = [
        b"From: a", b"To:  b \t c ", b"to: again", b"Subject:x", b" folded  ", b"\tfolded\t",
        b"X-Other: y", b"Received: z", b"Cc:", b"MIME-Version: 1.0", b"From x@y", b"bad line",
        b"Reply-To: \x0bq\x0c", b"Date: a\rb", b"Sender :s",
    ]  # fmt: skip
    bodies = [b"", b"x", b"a  b\r\n", b"a \r\n\r\n", b"a\nb\n", b"\r\n\r\n", b"\n", b"t\tx \t\r\n"]
    taken = 0
    for _ in range(3000):
        picked = [rng.choice(lines) for _ in range(rng.randint(1, 10))]
        if rng.random() < 0.8:
            picked[0] = b"From: a"
        seps = [b"\n" if rng.random() < 0.05 else b"\r\n" for _ in picked]
        head = b"".join(line + sep for line, sep in zip(picked, seps, strict=True))
        body = rng.choice(bodies) + _random_bytes(rng, [b"a", b" ", b"\t", b"\r\n", b"\n"], 6)
        message = head + b"\r\n" + body
        fast = dkim_canonical.signed_block(message)
        if fast is None:
            continue
        taken += 1
        headers, normalised = dkim_canonical.split_message(message)
        include, canonical = dkim_canonical.signed_headers(headers)
        assert fast[:2] == (include, b"".join(n + b":" + v for n, v in canonical)), message
        assert fast[2] == body
        assert dkim_canonical.relaxed_body(body) == Relaxed.canonicalize_body(normalised)
    assert taken > 500


def test_the_fast_body_canonicalisation_takes_raw_bodies():
    rng = random.Random(2045)
    alphabet = [b"a", b" ", b"  ", b"\t", b"\r\n", b"\n", b"\r", b" \n", b"\t\r\n", b"\n\n"]
    for _ in range(3000):
        raw = _random_bytes(rng, alphabet, rng.randint(0, 40))
        _headers, normalised = dkim.rfc822_parse(b"From: a\r\n\r\n" + raw)
        assert dkim_canonical.relaxed_body(raw) == Relaxed.canonicalize_body(normalised), raw


@pytest.mark.parametrize(
    ("head", "marked"),
    [
        (b"From: a\r\nX-POSTAL-MSGID \t: t\r\n", True),
        (b"X-Postal-MsgID: t\r\n", True),
        (b"From: a\r\nSubject: about x-postal-msgid: headers\r\n", False),
        (b"From: a\r\nX-Postal-MsgIDs: t\r\n", False),
    ],
)
def test_the_msgid_check_is_case_insensitive_and_per_line(head, marked):
    assert dkim_signing.has_outgoing_headers(head + b"\r\nbody\r\n") is marked
