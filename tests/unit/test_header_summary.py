"""Subject and Message-ID read for the message row: plain headers take the shortcut that
skips RFC 2047 decoding, encoded ones are decoded, and both are whitespace-normalised."""

from __future__ import annotations

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
