"""Our DKIM signatures verify with an independent implementation: OpenDKIM's
``opendkim-testmsg`` (Debian ``opendkim-tools``, installed by ``scripts/test-services``),
resolving the key through a loopback DNS server (see ``tests/opendkim_netns.py``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from postal import dkim_keys
from postal.dkim_signing import add_outgoing_headers


ROOT = Path(__file__).resolve().parents[2]
DOMAIN, SELECTOR = "example.com", "postal-Zx81Qa"
MESSAGE = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: bob@example.net\r\n"
    b"Cc: carol@example.net\r\n"
    b"Subject: Quarterly figures, with a subject long enough to be folded\r\n"
    b" by the sender\r\n"
    b"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <figures-1@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Hello Bob,   here are\tthe figures.  \r\n"
    b"\r\n"
    b"Alice\r\n"
    b"\r\n"
)


def _run_opendkim(message: bytes, pem: str) -> subprocess.CompletedProcess:
    if shutil.which("opendkim-testmsg") is None:
        pytest.skip("opendkim-testmsg is missing; scripts/test-services installs opendkim-tools")
    probe = subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot create namespaces here: {probe.stderr.decode().strip()}")
    name = f"{SELECTOR}._domainkey.{DOMAIN}"
    command = ["unshare", "--net", "--mount", sys.executable, "-m", "tests.opendkim_netns"]
    return subprocess.run(
        [*command, name, dkim_keys.dkim_record(pem)],
        input=message,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )


@pytest.mark.parametrize("size", [1024, 2048])
def test_opendkim_verifies_our_rsa_signature(size):
    pem = dkim_keys.generate_private_key(size)
    signed = add_outgoing_headers(
        MESSAGE, "msgtoken1", domain=DOMAIN, selector=SELECTOR, private_pem=pem
    )
    result = _run_opendkim(signed, pem)
    assert result.returncode == 0, result.stdout.decode()
    assert result.stdout == b""


def test_opendkim_rejects_a_tampered_message():
    pem = dkim_keys.generate_private_key(1024)
    signed = add_outgoing_headers(
        MESSAGE, "msgtoken2", domain=DOMAIN, selector=SELECTOR, private_pem=pem
    )
    result = _run_opendkim(signed.replace(b"the figures", b"the numbers"), pem)
    assert result.returncode != 0
    assert b"Bad signature" in result.stdout


def test_opendkim_checks_the_key_published_in_dns():
    signing, published = (dkim_keys.generate_private_key(1024) for _ in range(2))
    signed = add_outgoing_headers(
        MESSAGE, "msgtoken3", domain=DOMAIN, selector=SELECTOR, private_pem=signing
    )
    result = _run_opendkim(signed, published)
    assert result.returncode != 0
    assert b"Bad signature" in result.stdout
