"""DKIM keys: generation, the public ``p=`` data and the TXT record users publish.

Keys are kept as unencrypted PKCS#8 PEM text, which is what the ``domains.dkim_private_key``
column and the installation's ``signing.key`` hold.  RSA records are byte-for-byte Postal's;
Ed25519 (RFC 8463) adds ``k=ed25519`` and publishes the raw 32-byte public key.
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa


ALGORITHMS = ("rsa", "ed25519")


def generate_private_key(size: int = 2048, algorithm: str = "rsa") -> str:
    """A new private key as PKCS#8 PEM; ``size`` only applies to RSA."""
    if algorithm == "rsa":
        if size < 1024:
            raise ValueError(f"RSA DKIM keys must be at least 1024 bits, not {size}")
        key = rsa.generate_private_key(public_exponent=65537, key_size=size)
    elif algorithm == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(f"unknown DKIM key algorithm {algorithm!r}; expected rsa or ed25519")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def load_private_key(private_pem: str):
    """The ``cryptography`` key object; ``ValueError`` if the PEM is not an RSA/Ed25519 key."""
    key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise ValueError(f"unsupported DKIM key type {type(key).__name__}")
    return key


def key_algorithm(private_pem: str) -> str:
    """``"rsa"`` or ``"ed25519"``."""
    key = load_private_key(private_pem)
    return "ed25519" if isinstance(key, ed25519.Ed25519PrivateKey) else "rsa"


def public_key_data(private_pem: str) -> str:
    """The record's ``p=`` value.

    RSA: base64 of the DER SubjectPublicKeyInfo (what Postal publishes).  Ed25519: base64 of
    the bare 32-byte key, because RFC 8463 section 4.2 says so (not the SPKI wrapping).
    """
    public = load_private_key(private_pem).public_key()
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    else:
        raw = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    return base64.b64encode(raw).decode("ascii")


def dkim_record(private_pem: str) -> str:
    """The TXT value to publish; the DNS check compares against this string exactly."""
    data = public_key_data(private_pem)
    if key_algorithm(private_pem) == "ed25519":
        return f"v=DKIM1; k=ed25519; t=s; h=sha256; p={data};"
    return f"v=DKIM1; t=s; h=sha256; p={data};"


def dkimpy_private_key(private_pem: str) -> bytes:
    """The key in the form ``dkim.sign`` wants: PEM for RSA, base64 of the raw seed for
    Ed25519 (dkimpy hands Ed25519 keys to PyNaCl, which does not read PEM)."""
    key = load_private_key(private_pem)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        seed = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return base64.b64encode(seed)
    return private_pem.encode("ascii")


def selector(dkim_identifier: str, identifier_string: str) -> str:
    """The DKIM selector, e.g. ``postal-AbCDEf``."""
    return f"{dkim_identifier}-{identifier_string}"


def load_or_create_signing_key(path: str, size: int = 2048) -> str:
    """The installation's RSA signing key at ``path``, created on first use.

    A file that exists but holds no usable private key raises ``ValueError`` naming ``path``:
    silently replacing it would change the published DKIM record.
    """
    try:
        with open(path, encoding="ascii") as key_file:
            pem = key_file.read()
    except FileNotFoundError:
        return _create_signing_key(path, size)
    except UnicodeDecodeError:
        raise ValueError(f"signing key {path} is not a PEM private key") from None
    try:
        load_private_key(pem)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"signing key {path} is not a valid PEM private key: {exc}") from None
    return pem


def _create_signing_key(path: str, size: int) -> str:
    """Write a new key to a temporary file, then link it into place.

    Readers never see a half-written key, and ``os.link`` (unlike a rename) refuses to
    overwrite: when two processes start at once the first key wins and the loser returns it,
    so every process signs with the key that is on disk.
    """
    pem = generate_private_key(size)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    # mkstemp creates the file with mode 0600, so the key is never readable by others.
    fd, tmp_path = tempfile.mkstemp(prefix=".signing-key-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as tmp:
            tmp.write(pem)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_path, 0o600)
        try:
            os.link(tmp_path, path)
        except FileExistsError:
            return load_or_create_signing_key(path, size)
        except OSError:
            # Some filesystems have no hard links; a rename is still atomic for readers.
            os.replace(tmp_path, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_path)
    return pem
