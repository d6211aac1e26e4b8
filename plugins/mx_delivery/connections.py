"""Open SMTP connections, kept a few seconds per destination and reused with RSET.

A connection is used by one thread at a time: it is checked out of the pool, used for one
message, and checked back in.  Idle ones older than ``smtp_client.idle_seconds`` are closed.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass, field

from .targets import Host


MAX_IDLE_PER_DESTINATION = 8


class TLSRequired(smtplib.SMTPException):
    """The host did not offer STARTTLS and the mode requires it."""


@dataclass(frozen=True)
class Source:
    """Where a connection comes from: the local address to bind (``None``: the system's
    choice) and the EHLO name.  Part of the pool key, so a message sent from one IP pool
    address never reuses another address's connection."""

    address: str | None
    helo: str


@dataclass
class Connection:
    smtp: smtplib.SMTP
    ip: str
    host: Host
    source: Source | None = None
    reused: bool = False
    last_used: float = field(default_factory=time.monotonic)

    @property
    def tls(self) -> bool:
        return isinstance(self.smtp.sock, ssl.SSLSocket)

    @property
    def endpoint(self) -> str:
        return f"{self.ip}:{self.host.port} ({self.host.name})"

    @property
    def source_address(self) -> str | None:
        return self.source.address if self.source else None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.smtp.quit()
        with contextlib.suppress(Exception):
            self.smtp.close()


def _unverified_context() -> ssl.SSLContext:
    # Opportunistic TLS to MX hosts: encryption without verification, as Postal does,
    # because most MX certificates do not match the MX name.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class ConnectionPool:
    def __init__(self, helo: str, open_timeout: float, read_timeout: float, idle: float):
        self.helo = helo
        self.open_timeout = open_timeout
        self.read_timeout = read_timeout
        self.idle = idle
        self._idle: dict[tuple, list[Connection]] = {}
        self._lock = threading.Lock()

    @property
    def default_source(self) -> Source:
        return Source(None, self.helo)

    def checkout(self, ip: str, host: Host, source: Source | None = None) -> Connection | None:
        """An idle connection to ``ip`` from ``source``, reset and ready, or ``None``."""
        key = (ip, host, source or self.default_source)
        now = time.monotonic()
        while True:
            with self._lock:
                idle = self._idle.get(key) or []
                connection = idle.pop() if idle else None
            if connection is None:
                return None
            if now - connection.last_used > self.idle:
                connection.close()
                continue
            connection.reused = True
            if connection.smtp.has_extn("pipelining"):
                return connection  # RSET goes out pipelined with the next MAIL FROM
            try:
                code, _ = connection.smtp.rset()
            except (smtplib.SMTPException, OSError):
                code = 0
            if code == 250:
                return connection
            connection.close()

    def checkin(self, connection: Connection) -> None:
        connection.last_used = time.monotonic()
        key = (connection.ip, connection.host, connection.source or self.default_source)
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < MAX_IDLE_PER_DESTINATION:
                idle.append(connection)
                return
        connection.close()

    def open(
        self, ip: str, host: Host, *, tls: bool = True, source: Source | None = None
    ) -> Connection:
        """A new connection from ``source`` (default: any local address, the installation's
        EHLO name), TLS as ``host.ssl_mode`` asks; ``tls=False`` skips opportunistic
        STARTTLS (the retry after a failed handshake in Auto mode)."""
        source = source or self.default_source
        options = {"local_hostname": source.helo, "timeout": self.open_timeout}
        if source.address:
            options["source_address"] = (source.address, 0)
        if host.ssl_mode == "TLS":
            smtp = smtplib.SMTP_SSL(context=ssl.create_default_context(), **options)
        else:
            smtp = smtplib.SMTP(**options)
        # The name TLS sends (SNI) and checks the certificate against: the host, not the IP.
        smtp._host = host.name
        try:
            smtp.connect(ip, host.port)
            smtp.sock.settimeout(self.read_timeout)
            smtp.ehlo_or_helo_if_needed()
            self._starttls(smtp, host, tls)
            if host.username:
                smtp.login(host.username, host.password or "")
        except BaseException:
            with contextlib.suppress(Exception):
                smtp.close()
            raise
        return Connection(smtp=smtp, ip=ip, host=host, source=source)

    def _starttls(self, smtp: smtplib.SMTP, host: Host, tls: bool) -> None:
        if host.ssl_mode == "STARTTLS":
            if not smtp.has_extn("starttls"):
                raise TLSRequired(f"{host.name} does not offer STARTTLS")
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        elif host.ssl_mode == "Auto" and tls and smtp.has_extn("starttls"):
            smtp.starttls(context=_unverified_context())
            smtp.ehlo()

    def close_all(self) -> None:
        with self._lock:
            connections = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for connection in connections:
            connection.close()
