"""DKIM key generation, records and the installation signing key file."""

from __future__ import annotations

import base64
import os
import re
import stat

import dkim
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from postal import dkim_keys


MESSAGE = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: bob@example.net\r\n"
    b"Subject: Hello\r\n"
    b"Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
    b"Message-ID: <1@example.com>\r\n"
    b"\r\n"
    b"Hi Bob.\r\n"
)


@pytest.fixture(scope="module")
def rsa_pem():
    return dkim_keys.generate_private_key()


@pytest.fixture(scope="module")
def ed25519_pem():
    return dkim_keys.generate_private_key(algorithm="ed25519")


def tags(record: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in record.rstrip(";").split("; "))


def dns_answering(name: str, record: str):
    """A dkimpy ``dnsfunc`` that knows one TXT record."""

    def dnsfunc(query, timeout=5):
        query = query.decode() if isinstance(query, bytes) else query
        return record.encode() if query.rstrip(".") == name else None

    return dnsfunc


# --- generation ----------------------------------------------------------------------------


def test_rsa_key_is_2048_bit_pkcs8_by_default(rsa_pem):
    assert rsa_pem.startswith("-----BEGIN PRIVATE KEY-----\n")
    key = serialization.load_pem_private_key(rsa_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    assert dkim_keys.key_algorithm(rsa_pem) == "rsa"


def test_rsa_key_size_on_request():
    pem = dkim_keys.generate_private_key(1024)
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert key.key_size == 1024


def test_ed25519_key(ed25519_pem):
    assert ed25519_pem.startswith("-----BEGIN PRIVATE KEY-----\n")
    key = serialization.load_pem_private_key(ed25519_pem.encode(), password=None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    assert dkim_keys.key_algorithm(ed25519_pem) == "ed25519"


def test_new_keys_differ():
    assert dkim_keys.generate_private_key(1024) != dkim_keys.generate_private_key(1024)


@pytest.mark.parametrize(
    ("size", "algorithm", "message"),
    [(512, "rsa", "at least 1024"), (2048, "dsa", "unknown DKIM key algorithm 'dsa'")],
)
def test_generate_rejects_bad_parameters(size, algorithm, message):
    with pytest.raises(ValueError, match=message):
        dkim_keys.generate_private_key(size, algorithm)


def test_key_algorithm_rejects_other_key_types():
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(ValueError, match="unsupported DKIM key type"):
        dkim_keys.key_algorithm(pem)


def test_selector():
    assert dkim_keys.selector("postal", "AbCDEf") == "postal-AbCDEf"


# --- records -------------------------------------------------------------------------------


def test_rsa_record_is_postals_format(rsa_pem):
    data = dkim_keys.public_key_data(rsa_pem)
    assert dkim_keys.dkim_record(rsa_pem) == f"v=DKIM1; t=s; h=sha256; p={data};"


def test_rsa_public_key_data_is_the_spki_pem_body(rsa_pem):
    # Postal strips the PEM armour and newlines from the public key; we must publish the same.
    key = serialization.load_pem_private_key(rsa_pem.encode(), password=None)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    body = "".join(line for line in pem.decode().splitlines() if not line.startswith("-----"))
    assert dkim_keys.public_key_data(rsa_pem) == body


def test_ed25519_record_format(ed25519_pem):
    record = dkim_keys.dkim_record(ed25519_pem)
    data = dkim_keys.public_key_data(ed25519_pem)
    assert record == f"v=DKIM1; k=ed25519; t=s; h=sha256; p={data};"
    assert len(base64.b64decode(data)) == 32  # RFC 8463: the bare key, not SPKI


def test_rsa_record_key_verifies_signature(rsa_pem):
    private = serialization.load_pem_private_key(rsa_pem.encode(), password=None)
    signature = private.sign(b"data", padding.PKCS1v15(), hashes.SHA256())
    public_der = base64.b64decode(tags(dkim_keys.dkim_record(rsa_pem))["p"])
    public = serialization.load_der_public_key(public_der)
    public.verify(signature, b"data", padding.PKCS1v15(), hashes.SHA256())


def test_ed25519_record_key_verifies_signature(ed25519_pem):
    private = serialization.load_pem_private_key(ed25519_pem.encode(), password=None)
    signature = private.sign(b"data")
    raw = base64.b64decode(tags(dkim_keys.dkim_record(ed25519_pem))["p"])
    ed25519.Ed25519PublicKey.from_public_bytes(raw).verify(signature, b"data")


# --- end to end with dkimpy ----------------------------------------------------------------


def test_dkimpy_rsa_signature_verifies_against_our_record(rsa_pem):
    selector = dkim_keys.selector("postal", "AbCDEf")
    signature = dkim.sign(MESSAGE, selector.encode(), b"example.com", rsa_pem.encode())
    dnsfunc = dns_answering(f"{selector}._domainkey.example.com", dkim_keys.dkim_record(rsa_pem))
    assert dkim.verify(signature + MESSAGE, dnsfunc=dnsfunc)


def test_dkimpy_rsa_signature_fails_against_another_keys_record(rsa_pem):
    other = dkim_keys.dkim_record(dkim_keys.generate_private_key(1024))
    signature = dkim.sign(MESSAGE, b"postal-AbCDEf", b"example.com", rsa_pem.encode())
    dnsfunc = dns_answering("postal-AbCDEf._domainkey.example.com", other)
    assert not dkim.verify(signature + MESSAGE, dnsfunc=dnsfunc)


def test_dkimpy_ed25519_signature_verifies_against_our_record(ed25519_pem):
    pytest.importorskip("nacl", reason="dkimpy needs PyNaCl for ed25519-sha256")
    signature = dkim.sign(
        MESSAGE,
        b"postal-AbCDEf",
        b"example.com",
        dkim_keys.dkimpy_private_key(ed25519_pem),
        signature_algorithm=b"ed25519-sha256",
    )
    assert b"a=ed25519-sha256" in signature
    record = dkim_keys.dkim_record(ed25519_pem)
    dnsfunc = dns_answering("postal-AbCDEf._domainkey.example.com", record)
    assert dkim.verify(signature + MESSAGE, dnsfunc=dnsfunc)


def test_dkimpy_private_key_is_pem_for_rsa(rsa_pem):
    assert dkim_keys.dkimpy_private_key(rsa_pem) == rsa_pem.encode()


# --- installation signing key --------------------------------------------------------------


def test_signing_key_created_once_with_mode_0600(tmp_path):
    path = tmp_path / "var" / "keys" / "signing.key"
    pem = dkim_keys.load_or_create_signing_key(str(path), size=1024)
    assert path.read_text() == pem
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert dkim_keys.key_algorithm(pem) == "rsa"
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert key.key_size == 1024
    assert os.listdir(path.parent) == ["signing.key"]  # no temporary file left behind


def test_signing_key_is_stable(tmp_path):
    path = str(tmp_path / "signing.key")
    first = dkim_keys.load_or_create_signing_key(path, size=1024)
    assert dkim_keys.load_or_create_signing_key(path, size=1024) == first
    assert dkim_keys.load_or_create_signing_key(path) == first


def test_existing_signing_key_is_used(tmp_path, rsa_pem):
    path = tmp_path / "signing.key"
    path.write_text(rsa_pem)
    assert dkim_keys.load_or_create_signing_key(str(path)) == rsa_pem


@pytest.mark.parametrize("content", [b"not a key\n", b"", b"\xff\xfe binary"])
def test_bad_signing_key_file_names_the_path(tmp_path, content):
    path = tmp_path / "signing.key"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(f"signing key {path} is not a")):
        dkim_keys.load_or_create_signing_key(str(path))
    assert path.read_bytes() == content  # never silently replaced
