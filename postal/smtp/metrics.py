"""Prometheus metrics of the SMTP server, served on its health server's ``/metrics``.

Names follow Postal's (reference §10.4) where Postal has one; the rest are ours.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram


CONNECTIONS = Counter("postal_smtp_server_connections", "SMTP connections accepted")
TLS_CONNECTIONS = Counter(
    "postal_smtp_server_tls_connections", "connections that started TLS (STARTTLS or implicit)"
)
ACTIVE_CONNECTIONS = Gauge("postal_smtp_server_active_connections", "open SMTP connections")
EXCEPTIONS = Counter("postal_smtp_server_exceptions", "unexpected errors", ["type", "error"])
COMMANDS = Counter("postal_smtp_server_commands", "commands received", ["command"])
CLIENT_ERRORS = Counter(
    "postal_smtp_server_client_errors", "commands refused, by reason", ["error"]
)
MESSAGES = Counter(
    "postal_smtp_server_messages", "message rows accepted and stored", ["type", "tls"]
)
REJECTED = Counter(
    "postal_smtp_server_rejected_messages", "messages refused at end of DATA", ["reason"]
)
BYTES = Counter("postal_smtp_server_message_bytes", "bytes of accepted messages")
ACCEPT_LATENCY = Histogram(
    "postal_smtp_server_accept_latency_seconds",
    "end of DATA to commit (the wait before 250)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
GROUP_COMMIT_SIZE = Histogram(
    "postal_smtp_server_group_commit_size",
    "messages committed together",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)

_errors: dict[str, object] = {}


def client_error(error: str) -> None:
    """Count one refused command (cached label child: this is on the hot path)."""
    child = _errors.get(error)
    if child is None:
        child = _errors[error] = CLIENT_ERRORS.labels(error=error)
    child.inc()
