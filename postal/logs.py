"""Log output: ``key=value`` context on every line, and optional GELF over UDP.

Code that works on a message logs with ``extra={"message_token": token}`` (any other
keys); the formatter appends them as ``key=value`` so one message can be followed from SMTP
accept through the worker to delivery with ``grep message_token=<token>``.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Mapping
from typing import Any


# Attributes every LogRecord has; anything else came from ``extra=`` and is context.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def context_of(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class StructuredFormatter(logging.Formatter):
    """The usual format, then the record's context as ``key=value`` pairs."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = context_of(record)
        if not context:
            return line
        pairs = " ".join(f"{key}={_quote(value)}" for key, value in sorted(context.items()))
        return f"{line} {pairs}"


def _quote(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (not text or any(c.isspace() or c in '"=' for c in text)) else text


# syslog severities, as GELF wants them
_LEVELS = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6}
GELF_MAX_DATAGRAM = 8192


class GelfUdpHandler(logging.Handler):
    """Sends each record as one GELF 1.1 JSON datagram (long texts are shortened to fit)."""

    def __init__(self, host: str, port: int, facility: str = "postal"):
        super().__init__()
        self.address = (host, port)
        self.facility = facility
        self.hostname = socket.gethostname()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)

    def gelf(self, record: logging.LogRecord) -> dict[str, Any]:
        message = record.getMessage()
        document = {
            "version": "1.1",
            "host": self.hostname,
            "short_message": message.splitlines()[0][:250] if message else "-",
            "timestamp": round(record.created, 3),
            "level": _LEVELS.get(record.levelno, 7),
            "_facility": self.facility,
            "_logger": record.name,
        }
        if record.exc_info:
            message = f"{message}\n{logging.Formatter().formatException(record.exc_info)}"
        if "\n" in message or len(message) > 250:
            document["full_message"] = message
        for key, value in context_of(record).items():
            document[f"_{key}"] = value if isinstance(value, int | float) else str(value)
        return document

    def emit(self, record: logging.LogRecord) -> None:
        try:
            document = self.gelf(record)
            data = json.dumps(document, default=str).encode()
            if len(data) > GELF_MAX_DATAGRAM and "full_message" in document:
                document["full_message"] = document["full_message"][: GELF_MAX_DATAGRAM // 2]
                data = json.dumps(document, default=str).encode()[:GELF_MAX_DATAGRAM]
            self.sock.sendto(data, self.address)
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        self.sock.close()
        super().close()


def configure_logging(settings: Mapping[str, Any]) -> None:
    """Attach the GELF handler when ``gelf.host`` is set; with ``logging.enabled = false``
    drop the other handlers (GELF, when set, still receives everything)."""
    root = logging.getLogger()
    if settings.get("gelf.host") and not any(isinstance(h, GelfUdpHandler) for h in root.handlers):
        handler = GelfUdpHandler(
            settings["gelf.host"], settings["gelf.port"], settings["gelf.facility"]
        )
        root.addHandler(handler)
    if not settings.get("logging.enabled", True):
        for handler in list(root.handlers):
            if not isinstance(handler, GelfUdpHandler):
                root.removeHandler(handler)
