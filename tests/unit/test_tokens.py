"""Random identifiers: buffered CSPRNG bytes, uniform numbers, and fork safety."""

from __future__ import annotations

import os
import string
import uuid

from postal import tokens


def test_random_bytes_are_fresh_across_buffer_refills():
    drawn = [tokens.random_bytes(100) for _ in range(200)]  # several 4 KiB refills
    assert all(len(b) == 100 for b in drawn)
    assert len(set(drawn)) == len(drawn)
    assert len(tokens.random_bytes(10_000)) == 10_000  # larger than a buffer


def test_random_below_stays_in_range_and_covers_it():
    seen = {tokens.random_below(7) for _ in range(2000)}
    assert seen == set(range(7))
    assert all(0 <= tokens.random_below(62**16) < 62**16 for _ in range(200))


def test_random_uuid_is_version_4():
    value = tokens.random_uuid()
    assert isinstance(value, uuid.UUID)
    assert (value.version, value.variant) == (4, uuid.RFC_4122)


def test_message_tokens_have_postals_format():
    token = tokens.message_token()
    assert len(token) == 16 and set(token) <= set(string.ascii_letters + string.digits)


def test_a_forked_child_does_not_repeat_its_parents_bytes():
    tokens.random_bytes(1)  # the parent's buffer holds unused bytes
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, tokens.random_bytes(32))
        os._exit(0)
    os.close(write)
    child = os.read(read, 32)
    os.waitpid(pid, 0)
    assert child != tokens.random_bytes(32)
