"""DKIM signing speed on one core: our signer against stock dkimpy and raw OpenSSL.

Signs a 5.3 KB message (the size used in reference/performance-anchors.md, rows "e") with
RSA-2048, three interleaved rounds of a few CPU seconds per case, and prints the median of
each with its ratio to the raw OpenSSL RSA-2048 signature rate (the ceiling: every DKIM
signature costs one of those).  The target is at least 0.8 of it.

    .venv/bin/python -m bench.dkim_sign [--seconds 2] [--rounds 3] [--bits 2048]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import time
from collections.abc import Callable

import dkim
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, utils

from postal import dkim_canonical, dkim_keys, dkim_signing


TARGET = 0.8
DOMAIN, SELECTOR = "example.com", "postal-bench1"


def message() -> bytes:
    headers = (
        b"From: Alice <alice@example.com>\r\n"
        b"To: Bob <bob@example.net>\r\n"
        b"Subject: Your monthly statement is ready\r\n"
        b"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
        b"Message-ID: <statement-42@example.com>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
    )
    line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n"
    body = line * ((5289 - len(headers)) // len(line))
    return headers + body


def rate(run: Callable[[], object], seconds: float) -> float:
    """Calls per second of CPU time: other processes sharing the core (these machines run
    tests beside benchmarks) then shift every case alike instead of skewing the ratios."""
    count = 0
    started = time.process_time()
    deadline = started + seconds
    while True:
        for _ in range(10):
            run()
        count += 10
        now = time.process_time()
        if now >= deadline:
            return count / (now - started)


def cases(bits: int) -> dict[str, Callable[[], object]]:
    pem = dkim_keys.generate_private_key(bits)
    raw = message()
    key = dkim_signing.load_key(pem)
    digest = hashlib.sha256(raw).digest()
    headers, _ = dkim.rfc822_parse(raw)
    include = [n.lower() for n, _ in headers if n.lower() in dkim_canonical.SIGNED_HEADERS]
    dkimpy_key = dkim_keys.dkimpy_private_key(pem)
    return {
        f"raw OpenSSL RSA-{bits} sign": lambda: key.sign(
            digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256())
        ),
        "our signer (add_outgoing_headers)": lambda: dkim_signing.add_outgoing_headers(
            raw, "token", domain=DOMAIN, selector=SELECTOR, private_pem=pem
        ),
        "stock dkimpy dkim.sign": lambda: dkim.sign(
            raw,
            SELECTOR.encode(),
            DOMAIN.encode(),
            dkimpy_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=include,
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per case per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bits", type=int, default=2048)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the anchors
    runs = cases(args.bits)
    results: dict[str, list[float]] = {name: [] for name in runs}
    for _round in range(args.rounds):
        for name, run in runs.items():  # interleaved, so drift hits every case alike
            results[name].append(rate(run, args.seconds))
    medians = {name: statistics.median(values) for name, values in results.items()}
    reference = medians[next(iter(runs))]
    print(f"DKIM signing, {len(message())}-byte message, RSA-{args.bits}, 1 core, ", end="")
    print(f"median of {args.rounds} rounds x {args.seconds:g} CPU s")
    print(f"{'case':<36} {'signs/s':>9}  {'runs':<26} ratio to raw")
    for name, values in results.items():
        runs_text = " / ".join(f"{v:,.0f}" for v in values)
        print(f"{name:<36} {medians[name]:>9,.0f}  {runs_text:<26} {medians[name] / reference:.3f}")
    ours = medians["our signer (add_outgoing_headers)"]
    stock = medians["stock dkimpy dkim.sign"]
    print(f"our signer is {ours / stock:.1f}x stock dkimpy")
    verdict = "meets" if ours >= TARGET * reference else "MISSES"
    print(f"our signer {verdict} the target of {TARGET} x raw OpenSSL ({ours / reference:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
