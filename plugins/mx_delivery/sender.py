"""Sending one message over SMTP and classifying the reply as Postal does."""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Mapping
from typing import Any

from postal.services.dns import DNSLookupError
from postal.types import DeliveryResult, OutgoingMessage
from postal.worker.retry import requested_delay

from .connections import Connection, ConnectionPool, Source, TLSRequired
from .targets import Host, addresses, mx_hosts, parse_relay


log = logging.getLogger(__name__)

CONNECTION_ERRORS = (OSError, smtplib.SMTPException, ssl.SSLError)
# Characters that make an envelope address more than a bare address.
_NEEDS_PARSING = re.compile(r'[<>"() ,;\r\n\\]')


class Failure(Exception):
    """A reply that ends this attempt; ``code`` decides soft or hard."""

    def __init__(self, code: int, reply: str, stage: str):
        super().__init__(reply)
        self.code, self.reply, self.stage = code, reply, stage


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {text}".strip()


def _sentence(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class MXSender:
    def __init__(self, settings: Mapping[str, Any], resolver):
        self.resolver = resolver
        self.port = settings["postal.smtp_delivery_port"]
        self.relays = [parse_relay(url) for url in settings["postal.smtp_relays"]]
        self.resent_sender = settings["postal.use_resent_sender_header"]
        helo = settings["dns.helo_hostname"] or settings["postal.smtp_hostname"] or "localhost"
        self.pool = ConnectionPool(
            helo,
            settings["smtp_client.open_timeout"],
            settings["smtp_client.read_timeout"],
            settings["smtp_client.idle_seconds"],
        )

    def hosts(self, domain: str) -> list[Host]:
        return list(self.relays) if self.relays else mx_hosts(self.resolver, domain, self.port)

    def deliver(self, message: OutgoingMessage, domain: str) -> DeliveryResult:
        started = time.monotonic()
        try:
            hosts = self.hosts(domain)
        except DNSLookupError as exc:
            return DeliveryResult(
                "SoftFail", f"DNS lookup for the mail servers of {domain} failed.", str(exc)
            )
        return self.deliver_to(message, hosts, domain, started)

    def deliver_to(
        self, message: OutgoingMessage, hosts: list[Host], label: str, started: float | None = None
    ) -> DeliveryResult:
        """Deliver to the first of ``hosts`` that answers (an SMTP endpoint passes its own
        server); ``label`` names the destination in the delivery log."""
        started = time.monotonic() if started is None else started
        data = message.raw
        if self.resent_sender and message.mail_from:
            # Added to what is sent, not to what is stored or signed (as Postal does).
            data = f"Resent-Sender: {message.mail_from}\r\n".encode() + data
        tried, errors = [], []
        for host in hosts:
            try:
                ips = addresses(self.resolver, host.name)
            except DNSLookupError as exc:
                tried.append(host.name)
                errors.append(str(exc))
                continue
            for ip in ips:
                source = self.source(message, ip)
                if source is None:
                    continue  # an IPv6 target, and the sending IP has no IPv6 address
                tried.append(f"{ip}:{host.port}")
                connection = self.connect(ip, host, errors, source)
                if connection is not None:
                    return self.send(connection, message, data, started)
        details = f"No SMTP servers were available for {label}."
        details += f" Tried {_sentence(tried)}." if tried else " No hosts to try."
        return DeliveryResult("SoftFail", details, "\n".join(errors), time=_since(started))

    def source(self, message: OutgoingMessage, ip: str) -> Source | None:
        """The message's IP pool address of the target's family and its host name for EHLO
        (Postal's fallbacks otherwise); ``None`` when the target cannot be reached from it."""
        helo = message.helo_hostname or self.pool.helo
        if not (message.source_ipv4 or message.source_ipv6):
            return Source(None, helo)
        address = message.source_ipv6 if ":" in ip else message.source_ipv4
        return Source(address, helo) if address else None

    def connect(
        self, ip: str, host: Host, errors: list[str], source: Source | None = None
    ) -> Connection | None:
        connection = self.pool.checkout(ip, host, source)
        if connection is not None:
            return connection
        try:
            return self.pool.open(ip, host, source=source)
        except ssl.SSLError as exc:
            if host.ssl_mode != "Auto":
                errors.append(f"{ip}:{host.port}: {exc}")
                return None
            # Opportunistic TLS failed: Postal tries once more without it.
            try:
                return self.pool.open(ip, host, tls=False, source=source)
            except CONNECTION_ERRORS as exc2:
                errors.append(f"{ip}:{host.port}: {exc2}")
        except (TLSRequired, *CONNECTION_ERRORS) as exc:
            errors.append(f"{ip}:{host.port}: {type(exc).__name__}: {exc}")
        return None

    def send(self, connection, message, data, started) -> DeliveryResult:
        try:
            reply = self._transaction(connection, message, data)
        except smtplib.SMTPServerDisconnected:
            if not connection.reused:
                return self._failed(connection, None, message, started)
            # The remote closed an idle connection: one fresh connection and resend.
            connection.close()
            try:
                connection = self.pool.open(
                    connection.ip, connection.host, source=connection.source
                )
                reply = self._transaction(connection, message, data)
            except (Failure, *CONNECTION_ERRORS) as exc:
                return self._failed(connection, exc, message, started)
        except (Failure, *CONNECTION_ERRORS) as exc:
            return self._failed(connection, exc, message, started)
        self.pool.checkin(connection)
        details = f"Message for {message.rcpt_to} accepted by {connection.endpoint}"
        if connection.source_address:
            details += f" (from {connection.source_address})"
        return DeliveryResult(
            "Sent",
            details,
            reply,
            sent_with_ssl=connection.tls,
            time=_since(started),
        )

    def _transaction(self, connection: Connection, message, data: bytes) -> str:
        if connection.smtp.has_extn("pipelining"):
            return self._pipelined(connection, message, data)
        smtp = connection.smtp
        code, text = smtp.mail(message.mail_from)
        if code != 250:
            raise Failure(code, _reply(code, text), "mail")
        code, text = smtp.rcpt(message.rcpt_to)
        if code not in (250, 251):
            raise Failure(code, _reply(code, text), "rcpt")
        try:
            code, text = smtp.data(data)
        except smtplib.SMTPDataError as exc:
            raise Failure(exc.smtp_code, _reply(exc.smtp_code, exc.smtp_error), "data") from None
        if code != 250:
            raise Failure(code, _reply(code, text), "data")
        return _reply(code, text)

    def _pipelined(self, connection: Connection, message, data: bytes) -> str:
        """RSET (on a reused connection), MAIL, RCPT and DATA in one round trip (RFC 2920),
        then the message: two round trips a message instead of five."""
        smtp = connection.smtp
        commands = ["RSET"] if connection.reused else []
        commands += [
            f"MAIL FROM:{quote_address(message.mail_from)}",
            f"RCPT TO:{quote_address(message.rcpt_to)}",
            "DATA",
        ]
        smtp.send("".join(command + "\r\n" for command in commands))
        replies = [smtp.getreply() for _ in commands]
        if connection.reused and replies.pop(0)[0] != 250:
            raise smtplib.SMTPServerDisconnected("RSET refused")
        expected = (("mail", (250,)), ("rcpt", (250, 251)), ("data", (354,)))
        for (stage, accepted), (code, text) in zip(expected, replies, strict=True):
            if code not in accepted:
                raise Failure(code, _reply(code, text), stage)
        # Dot-stuffing (smtplib's regular expression) only when a line starts with a dot.
        body = smtplib._quote_periods(data) if data[:1] == b"." or b"\n." in data else data
        smtp.send(body + (b".\r\n" if body.endswith(b"\r\n") else b"\r\n.\r\n"))
        code, text = smtp.getreply()
        if code != 250:
            raise Failure(code, _reply(code, text), "data")
        return _reply(code, text)

    def _failed(self, connection, exc, message, started) -> DeliveryResult:
        tls, endpoint = connection.tls, connection.endpoint
        if isinstance(exc, Failure):
            self._reset(connection)
            if 500 <= exc.code < 600:
                if exc.stage == "rcpt":
                    message.notes["recipient_rejected"] = True
                details = f"Permanent SMTP delivery error when sending to {endpoint}"
                return DeliveryResult("HardFail", details, exc.reply, tls, time=_since(started))
            details = f"Temporary SMTP delivery error when sending to {endpoint}"
            return DeliveryResult(
                "SoftFail", details, exc.reply, tls, time=_since(started),
                retry_after=requested_delay(exc.reply),
            )  # fmt: skip
        connection.close()
        output = f"{type(exc).__name__}: {exc}" if exc else "the server closed the connection"
        if isinstance(exc, socket.timeout | TimeoutError):
            details = f"Temporary SMTP delivery error when sending to {endpoint}"
        else:
            details = f"An error occurred while sending the message to {endpoint}"
        return DeliveryResult("SoftFail", details, output, tls, time=_since(started))

    def _reset(self, connection: Connection) -> None:
        """After a refused transaction the session is reset and kept, or closed."""
        try:
            code, _ = connection.smtp.rset()
        except CONNECTION_ERRORS:
            code = 0
        if code == 250:
            self.pool.checkin(connection)
        else:
            connection.close()

    def close(self) -> None:
        self.pool.close_all()


def quote_address(address: str) -> str:
    """``<address>`` for MAIL FROM and RCPT TO.  Our envelope addresses are bare addresses
    already (smtplib's ``quoteaddr`` parses each one as a header would, a third of the
    sending CPU time); one that is not goes through it."""
    if not address:
        return "<>"
    if _NEEDS_PARSING.search(address):
        return smtplib.quoteaddr(address)
    return f"<{address}>"


def _since(started: float) -> float:
    return round(time.monotonic() - started, 2)
