"""Load for reliability runs: SMTP (authenticated submission) and HTTP API v1 clients that
tag every message with a unique ``X-Bench-Id`` header and write down which tags postal
acknowledged, and an aiosmtpd sink that counts the tags it receives.

A tag is *accepted* when the client got ``250`` after DATA or an API reply with a message id:
postal promised to deliver it.  A tag is *uncertain* when the connection died with the message
in flight (no reply at all): postal may or may not have committed it, so it may arrive or not.
A definite refusal (a 4xx/5xx reply, an API error) is only counted.
"""

from __future__ import annotations

import http.client
import json
import random
import smtplib
import threading
import time
import uuid
from collections import Counter

from aiosmtpd.controller import Controller

from .processes import API_KEY, FROM, SMTP_KEY


HEADER = "X-Bench-Id"
RECIPIENT = "sink@example.net"


class Ledger:
    """What the clients were told, thread-safe: tag -> submission time (monotonic)."""

    def __init__(self):
        self.accepted: dict[str, float] = {}
        self.uncertain: set[str] = set()
        self.refused = Counter()
        self.via = Counter()
        self._lock = threading.Lock()

    def accept(self, tag: str, via: str, submitted: float) -> None:
        with self._lock:
            self.accepted[tag] = submitted
            self.via[via] += 1

    def lose_track(self, tag: str) -> None:
        with self._lock:
            self.uncertain.add(tag)

    def refuse(self, reason: str) -> None:
        with self._lock:
            self.refused[reason] += 1


class _SinkHandler:
    def __init__(self, sink: TagSink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.sink.record(envelope.original_content or envelope.content)
        return "250 2.0.0 OK: queued"


class _Controller(Controller):
    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class TagSink:
    """An SMTP sink on 127.0.0.1 counting deliveries per ``X-Bench-Id`` tag."""

    def __init__(self):
        self.counts: Counter[str] = Counter()
        self.first_seen: dict[str, float] = {}
        self.untagged = 0
        self._lock = threading.Lock()
        self._controller = _Controller(
            _SinkHandler(self), hostname="127.0.0.1", port=0, decode_data=False
        )

    @property
    def port(self) -> int:
        return self._controller.port

    def start(self) -> TagSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def record(self, data: bytes) -> None:
        now = time.monotonic()
        head = data.split(b"\r\n\r\n", 1)[0]
        marker = f"\n{HEADER}: ".encode()
        at = head.find(marker)
        with self._lock:
            if at < 0:
                self.untagged += 1
                return
            tag = head[at + len(marker) :].split(b"\r", 1)[0].split(b"\n", 1)[0].decode()
            self.counts[tag] += 1
            self.first_seen.setdefault(tag, now)

    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def wait_quiet(self, seconds: float = 1.0, timeout: float = 30) -> None:
        """Until nothing arrived for ``seconds`` (deliveries still on the wire land)."""
        deadline = time.monotonic() + timeout
        last = -1
        while time.monotonic() < deadline:
            now = self.total()
            if now == last:
                return
            last = now
            time.sleep(seconds)


def new_tag() -> str:
    return uuid.uuid4().hex


def smtp_message(tag: str) -> bytes:
    return (
        f"From: Alice <{FROM}>\r\nTo: {RECIPIENT}\r\nSubject: bench {tag}\r\n"
        f"{HEADER}: {tag}\r\n\r\n" + "A reliability test message.\r\n" * 8
    ).encode()


class Pacer:
    """Sleeps so that a loop runs at most ``rate`` times a second (0 = no limit)."""

    def __init__(self, rate: float):
        self.interval = 1 / rate if rate else 0
        self.next = time.monotonic()

    def wait(self, stop: threading.Event) -> None:
        if self.interval:
            self.next += self.interval
            stop.wait(max(0, self.next - time.monotonic()))


def smtp_client(ports: list[int], ledger: Ledger, stop: threading.Event, rate: float = 0):
    """Submit over AUTH PLAIN until ``stop``; reconnects (to a random port) when the
    server goes away, and every 50 messages to spread over the servers."""
    connection, sent, pacer = None, 0, Pacer(rate)
    while not stop.is_set():
        if connection is None or sent % 50 == 0:
            connection = _reconnect(connection, ports, ledger)
            if connection is None:
                stop.wait(0.2)
                continue
        tag, submitted = new_tag(), time.monotonic()
        sent += 1
        try:
            connection.sendmail(FROM, [RECIPIENT], smtp_message(tag))
            ledger.accept(tag, "smtp", submitted)
        except (smtplib.SMTPServerDisconnected, OSError):
            ledger.lose_track(tag)
            connection = None
        except smtplib.SMTPException as exc:
            ledger.refuse(f"smtp {getattr(exc, 'smtp_code', type(exc).__name__)}")
            connection = _reconnect(connection, ports, ledger)
        pacer.wait(stop)
    _close(connection)


def _reconnect(connection, ports: list[int], ledger: Ledger):
    """A new authenticated connection, or None (refused AUTH is counted as a refusal)."""
    _close(connection)
    try:
        connection = smtplib.SMTP("127.0.0.1", random.choice(ports), timeout=15)
        # AUTH PLAIN only: smtplib's login() tries CRAM-MD5 first, which fails for a
        # username that is not org/server and counts towards smtp_server.auth_failure_limit.
        connection.user, connection.password = "bench", SMTP_KEY
        connection.ehlo()
        connection.auth("PLAIN", connection.auth_plain)
        return connection
    except smtplib.SMTPAuthenticationError as exc:
        ledger.refuse(f"smtp auth {exc.smtp_code}")
        _close(connection)
        return None
    except (smtplib.SMTPException, OSError):
        return None


def _close(connection) -> None:
    if connection is not None:
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()


def api_client(port: int, ledger: Ledger, stop: threading.Event, rate: float = 0):
    """POST /api/v1/send/message on a keep-alive connection until ``stop``."""
    connection, pacer = None, Pacer(rate)
    headers = {"X-Server-API-Key": API_KEY, "Content-Type": "application/json"}
    while not stop.is_set():
        connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        tag, submitted = new_tag(), time.monotonic()
        body = {
            "to": [RECIPIENT], "from": f"Alice <{FROM}>", "subject": f"bench {tag}",
            "plain_body": "A reliability test message.\n" * 8, "headers": {HEADER: tag},
        }  # fmt: skip
        try:
            connection.request("POST", "/api/v1/send/message", json.dumps(body), headers)
            reply = json.loads(connection.getresponse().read())
        except (OSError, http.client.HTTPException, ValueError):
            ledger.lose_track(tag)
            connection.close()
            connection = None
            stop.wait(0.2)
            continue
        if reply.get("status") == "success" and reply["data"].get("message_id"):
            ledger.accept(tag, "api", submitted)
        else:
            ledger.refuse(f"api {reply.get('data', {}).get('code', reply.get('status'))}")
        pacer.wait(stop)
    if connection is not None:
        connection.close()


def start_clients(smtp_ports, api_port, ledger, stop, smtp_threads, api_threads, rate=0.0):
    """Client threads (``rate`` per thread, 0 = as fast as they go), already started."""
    threads = [
        threading.Thread(target=smtp_client, args=(smtp_ports, ledger, stop, rate), daemon=True)
        for _ in range(smtp_threads)
    ] + [
        threading.Thread(target=api_client, args=(api_port, ledger, stop, rate), daemon=True)
        for _ in range(api_threads)
    ]
    for thread in threads:
        thread.start()
    return threads


def tally(ledger: Ledger, sink: TagSink) -> dict:
    """The figures: accepted, delivered, lost (accepted, never delivered), duplicated
    (copies beyond the first, of any tag), and what happened to uncertain tags."""
    accepted = ledger.accepted
    delivered = [tag for tag in accepted if sink.counts[tag]]
    known = set(accepted) | ledger.uncertain
    return {
        "accepted": len(accepted),
        "via_smtp": ledger.via["smtp"],
        "via_api": ledger.via["api"],
        "delivered": len(delivered),
        "lost": len(accepted) - len(delivered),
        "duplicated": sum(n - 1 for n in sink.counts.values() if n > 1),
        "uncertain": len(ledger.uncertain),
        "uncertain_delivered": sum(1 for tag in ledger.uncertain if sink.counts[tag]),
        "refused": sum(ledger.refused.values()),
        "unknown_at_sink": sum(1 for tag in sink.counts if tag not in known) + sink.untagged,
    }


def latencies(ledger: Ledger, sink: TagSink) -> list[float]:
    """Seconds from submission to first delivery, for every accepted, delivered tag."""
    return sorted(
        sink.first_seen[tag] - submitted
        for tag, submitted in ledger.accepted.items()
        if tag in sink.first_seen
    )


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(fraction * len(values)))]
