"""Subject and Message-ID read for the message row: plain headers take the shortcut that
skips RFC 2047 decoding, encoded ones are decoded, and both are whitespace-normalised."""

from __future__ import annotations

from postal.headers import header_values, last_header
from postal.messages import summarise_headers


def summary(head: bytes):
    return summarise_headers(head + b"\r\n\r\nbody\r\n")


def test_plain_subject_is_unfolded_and_normalised():
    found = summary(b"Subject: Hello\r\n   there  again\r\nMessage-ID: < abc@example.com >")
    assert found.subject == "Hello there again"
    assert found.message_id == "abc@example.com"


def test_encoded_words_are_still_decoded():
    found = summary(b"Subject: =?utf-8?b?SMOpbGxv?= =?utf-8?q?w=C3=B6rld?=")
    assert found.subject == "Héllowörld"


def test_raw_utf8_and_blank_subjects():
    assert summary("Subject: Grüße  aus Köln".encode()).subject == "Grüße aus Köln"
    assert summary(b"Subject:    ").subject is None
    assert summary(b"From: a@example.com").subject is None


def test_long_subject_is_cut_to_200_characters():
    assert len(summary(b"Subject: " + b"x" * 500).subject) == 200


def test_header_values_are_unfolded_in_order_whatever_the_case():
    head = b"X-Tag: one\r\nx-tag:\r\n two\r\n\tthree\r\nX-TAG:four\r\nX-Tagged: no"
    assert header_values(head, "X-Tag") == ["one", "two\tthree", "four"]
    assert header_values(head, b"x-tag") == ["one", "two\tthree", "four"]


def test_blanks_before_the_colon_are_accepted():
    head = b"Subject : spaced\r\nMessage-ID\t: <id@example.com>\r\nFrom: a@example.com"
    assert header_values(head, "Subject") == ["spaced"]
    assert summary(head).message_id == "id@example.com"
    assert last_header(head + b"\r\n\r\nbody", "From") == "a@example.com"


def test_a_header_named_in_the_body_is_not_read():
    raw = b"Subject: real\r\n\r\nSubject: fake\r\n"
    assert summarise_headers(raw).subject == "real"
    assert last_header(raw, "Subject") == "real"
