"""The SMTP conversation, with Postal's exact replies (reference §3).

Built on aiosmtpd's :class:`~aiosmtpd.smtp.SMTP` for the connection, timeouts and the
STARTTLS switch; the command loop is ours, because Postal's replies, prefix matching and
state rules differ from aiosmtpd's.  Deliberate differences from Postal, each a fix users
asked for: ``SIZE`` is advertised and enforced at ``MAIL FROM`` and while reading DATA;
STARTTLS resets the session as RFC 3207 requires; AUTH can be limited per client and
required to follow TLS.  Decisions are the handler's (``handler.py``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from dataclasses import dataclass

from aiosmtpd.smtp import SMTP

from ..types import Envelope, SmtpReply
from . import auth, metrics
from .addresses import parse_mail_from, parse_rcpt_to
from .data import read_message
from .handler import PostalHandler
from .proxy import PROXY_ERROR, parse_proxy_line


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProtocolOptions:
    hostname: str
    max_size: int  # bytes
    tls_context: ssl.SSLContext | None = None
    proxy_protocol: bool = False
    require_tls_for_auth: bool = False
    timeout: float = 300.0
    max_connections: int = 0
    limiter: auth.FailureLimiter | None = None

    @property
    def too_large(self) -> str:
        return f"552 Message too large (maximum size {self.max_size // 1048576}MB)"


# Postal matches commands by case-insensitive prefix, in this order.
COMMANDS = (
    ("QUIT", "quit"),
    ("STARTTLS", "starttls"),
    ("EHLO", "ehlo"),
    ("HELO", "helo"),
    ("RSET", "rset"),
    ("NOOP", "noop"),
    ("AUTH PLAIN", "auth_plain"),
    ("AUTH LOGIN", "auth_login"),
    ("AUTH CRAM-MD5", "auth_cram_md5"),
    ("MAIL FROM", "mail"),
    ("RCPT TO", "rcpt"),
    ("DATA", "data"),
)


class PostalSMTP(SMTP):
    def __init__(self, handler: PostalHandler, options: ProtocolOptions, implicit_tls=False):
        super().__init__(
            handler,
            hostname=options.hostname,
            tls_context=None if implicit_tls else options.tls_context,
            timeout=options.timeout,
            auth_require_tls=False,
            data_size_limit=None,
        )
        self.handler = handler
        self.options = options
        self.implicit_tls = implicit_tls
        self.state = "welcome"
        self.txn = Envelope()
        self.postal = None  # our SmtpSession, made when the client loop starts

    # --- connection -----------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        if self.transport is None:  # the TCP connection, not the switch to TLS
            _keepalive(transport.get_extra_info("socket"))
        super().connection_made(transport)

    async def _handle_client(self) -> None:
        host, port = (self.session.peer or ("", 0))[:2]
        client = host[7:] if host.startswith("::ffff:") else host
        self.postal = self.handler.new_session(client, port, tls=self.implicit_tls)
        metrics.CONNECTIONS.inc()
        metrics.ACTIVE_CONNECTIONS.inc()
        if self.implicit_tls:
            metrics.TLS_CONNECTIONS.inc()
        self.handler.active += 1
        try:
            limit = self.options.max_connections
            if limit and self.handler.active > limit:
                await self.push("421 Too many connections, try again later")
                self.transport.close()
                return
            if self.options.proxy_protocol and not await self._read_proxy_header():
                return
            refusal = await self.handler.connect(self.postal)
            if refusal is not None:
                await self.push(str(refusal))
                self.transport.close()
                return
            await self.push(f"220 {self.options.hostname} ESMTP Postal/{self.postal.id}")
            await self._command_loop()
            if self.transport is not None:
                # End of the client's stream with every command answered: nothing more to say.
                self.transport.close()
        finally:
            self.handler.active -= 1
            metrics.ACTIVE_CONNECTIONS.dec()

    def eof_received(self) -> bool:
        """The client closed its sending side; it may still be reading.  aiosmtpd cancels
        the session here, losing the replies it is owed — the ``250`` of a message already
        stored among them, so the client would send it again.  Instead the commands already
        received are finished (a half-sent message is dropped) and the command loop, reaching
        the end of the stream, closes the connection."""
        self._reader.feed_eof()
        # A TLS transport cannot stay half-open.
        return self.session is None or self.session.ssl is None

    async def _read_proxy_header(self) -> bool:
        metrics.COMMANDS.labels(command="PROXY").inc()
        try:
            line = await asyncio.wait_for(self._reader.readuntil(b"\n"), self.options.timeout)
        except (asyncio.LimitOverrunError, asyncio.IncompleteReadError, TimeoutError):
            line = b""
        header = parse_proxy_line(line)
        if header is None:
            metrics.client_error("proxy-error")
            await self.push(PROXY_ERROR)
            self.transport.close()
            return False
        if header.client_ip:
            self.postal.client_ip, self.postal.client_port = header.client_ip, header.client_port
        return True

    async def _command_loop(self) -> None:
        while self.transport is not None:
            line = await self._read_line()
            if line is None:
                return
            self._reset_timeout()
            upper = line[:14].upper()
            name = next((name for prefix, name in COMMANDS if upper.startswith(prefix)), None)
            if name is None:
                metrics.client_error("invalid-command")
                await self.push("502 Invalid/unsupported command")
                continue
            try:
                await getattr(self, f"cmd_{name}")(line)
            except (asyncio.CancelledError, ConnectionError):
                raise
            except Exception as exc:
                # A bug or an unavailable service: say so, keep nothing half-done.
                log.exception("SMTP session %s: error in %s", self.postal.id, name)
                metrics.EXCEPTIONS.labels(type="command", error=type(exc).__name__).inc()
                self._reset_transaction()
                if self.transport is not None:
                    await self.push("451 Internal error, please try again later")

    async def _read_line(self) -> str | None:
        """One command line without its line ending; ``None`` at end of stream."""
        try:
            raw = await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            return None
        except asyncio.LimitOverrunError as error:
            await self._discard_long_line(error.consumed)
            await self.push("500 Line too long")
            return ""
        return raw.rstrip(b"\r\n").decode("utf-8", "surrogateescape")

    async def _discard_long_line(self, consumed: int) -> None:
        while True:
            await self._reader.read(consumed)
            try:
                await self._reader.readuntil(b"\n")
                return
            except asyncio.LimitOverrunError as error:
                consumed = error.consumed

    def _reset_transaction(self) -> None:
        self.txn = Envelope()
        if self.state != "welcome":
            self.state = "welcomed"

    # --- commands -------------------------------------------------------------------------

    async def cmd_quit(self, line: str) -> None:
        await self.push("221 Closing Connection")
        self.transport.close()

    async def cmd_starttls(self, line: str) -> None:
        metrics.COMMANDS.labels(command="STARTLS").inc()  # sic, Postal's label
        if self.tls_context is None or self.postal.tls:
            metrics.client_error("tls-unavailable")
            await self.push("502 TLS not available")
            return
        await self.smtp_STARTTLS("")  # "220 Ready to start TLS", then the handshake
        # RFC 3207: forget everything learnt before TLS; the client must EHLO again.
        self.postal.tls, self.postal.helo, self.postal.identity = True, None, None
        self.txn, self.state = Envelope(), "welcome"
        metrics.TLS_CONNECTIONS.inc()

    async def cmd_ehlo(self, line: str) -> None:
        metrics.COMMANDS.labels(command="EHLO").inc()
        self._greeted(line)
        lines = ["My capabilities are", f"SIZE {self.options.max_size}"]
        if self.tls_context is not None and not self.postal.tls:
            lines.append("STARTTLS")
        if self.postal.tls or not self.options.require_tls_for_auth:
            lines.append("AUTH " + " ".join(auth.MECHANISMS))
        reply = [f"250-{text}" for text in lines[:-1]] + [f"250 {lines[-1]}"]
        await self.push("\r\n".join(reply))

    async def cmd_helo(self, line: str) -> None:
        metrics.COMMANDS.labels(command="HELO").inc()
        self._greeted(line)
        await self.push(f"250 {self.options.hostname}")

    def _greeted(self, line: str) -> None:
        words = line.split()
        self.postal.helo = words[1] if len(words) > 1 else None
        self.txn, self.state = Envelope(), "welcomed"

    async def cmd_rset(self, line: str) -> None:
        metrics.COMMANDS.labels(command="RSET").inc()
        self.txn, self.state = Envelope(), "welcomed"
        await self.push("250 OK")

    async def cmd_noop(self, line: str) -> None:
        await self.push("250 OK")

    # --- AUTH -----------------------------------------------------------------------------

    async def _auth_allowed(self, mechanism: str) -> bool:
        metrics.COMMANDS.labels(command=f"AUTH {mechanism}").inc()
        if self.options.require_tls_for_auth and not self.postal.tls:
            await self.push(str(auth.TLS_REQUIRED))
            return False
        limiter = self.options.limiter
        if limiter is not None and limiter.blocked(self.postal.client_ip):
            metrics.client_error("too-many-auth-failures")
            await self.push(str(auth.TOO_MANY_FAILURES))
            return False
        return True

    async def _ask(self, prompt: str) -> str | None:
        """Send a ``334`` prompt and read the answer; ``None`` if the client aborts."""
        await self.push(prompt)
        answer = await self._read_line()
        if answer is None:
            raise ConnectionResetError("client went away during AUTH")
        if answer.strip() == "*":
            await self.push(str(auth.ABORTED))
            return None
        return answer

    async def _finish_auth(self, mechanism, username, password, challenge, failure) -> None:
        identity = await self.handler.authenticate(
            self.postal, mechanism, username, password, challenge
        )
        limiter = self.options.limiter
        if identity is None:
            if limiter is not None:
                limiter.record(self.postal.client_ip)
            if mechanism == "CRAM-MD5":
                self.postal.notes["cram_md5_failed"] = True
            metrics.client_error("invalid-credentials")
            await self.push(str(failure))
            return
        if limiter is not None and self.postal.notes.pop("cram_md5_failed", False):
            # smtplib (and Django with it) tries CRAM-MD5 first with any user name and falls
            # back to PLAIN or LOGIN: that one failed try is not an attack.
            limiter.forgive(self.postal.client_ip)
        self.postal.identity = identity
        await self.push(str(auth.granted(identity.permalink)))

    async def cmd_auth_plain(self, line: str) -> None:
        if not await self._auth_allowed("PLAIN"):
            return
        response = line[len("AUTH PLAIN") :].strip()
        if not response:
            response = await self._ask("334 ")
            if response is None:
                return
        pair = auth.plain_credentials(response)
        if pair is None:
            metrics.client_error("missing-credentials")
            await self.push(str(auth.PROTOCOL_ERROR))
            return
        await self._finish_auth("PLAIN", pair[0], pair[1], None, auth.INVALID_CREDENTIAL)

    async def cmd_auth_login(self, line: str) -> None:
        if not await self._auth_allowed("LOGIN"):
            return
        username = line[len("AUTH LOGIN") :].strip()
        if not username:
            username = await self._ask(auth.USERNAME_PROMPT)
            if username is None:
                return
        password = await self._ask(auth.PASSWORD_PROMPT)
        if password is None:
            return
        user, secret = auth.b64_text(username), auth.b64_text(password)
        if user is None or not secret:
            metrics.client_error("invalid-credentials")
            await self.push(str(auth.INVALID_CREDENTIAL))
            return
        await self._finish_auth("LOGIN", user, secret, None, auth.INVALID_CREDENTIAL)

    async def cmd_auth_cram_md5(self, line: str) -> None:
        if not await self._auth_allowed("CRAM-MD5"):
            return
        challenge = auth.cram_md5_challenge(self.options.hostname)
        encoded = auth.base64.b64encode(challenge.encode()).decode()
        response = await self._ask(f"334 {encoded}")
        if response is None:
            return
        pair = auth.cram_md5_response(response)
        if pair is None:
            metrics.client_error("invalid-credentials")
            await self.push(str(auth.DENIED))
            return
        await self._finish_auth("CRAM-MD5", pair[0], pair[1], challenge, auth.DENIED)

    # --- transaction ----------------------------------------------------------------------

    async def cmd_mail(self, line: str) -> None:
        if self.state == "welcome":
            metrics.client_error("mail-from-out-of-order")
            await self.push("503 EHLO/HELO first please")
            return
        address, params = parse_mail_from(line)
        size = params.get("SIZE", "")
        if size.isdigit() and int(size) > self.options.max_size:
            metrics.client_error("message-too-large")
            await self.push(self.options.too_large)
            return
        txn = Envelope(mail_from=address, mail_options=[f"{k}={v}" for k, v in params.items()])
        reply = await self.handler.mail_from(self.postal, txn, address)
        if reply.positive:
            self.txn, self.state = txn, "mail"
        await self.push(str(reply))

    async def cmd_rcpt(self, line: str) -> None:
        if self.state not in ("mail", "rcpt"):
            metrics.client_error("rcpt-to-out-of-order")
            await self.push("503 EHLO/HELO and MAIL FROM first please")
            return
        address, valid = parse_rcpt_to(line)
        if not address:
            metrics.client_error("empty-rcpt-to")
            await self.push("501 RCPT TO should not be empty")
            return
        if not valid:
            metrics.client_error("invalid-rcpt-to")
            await self.push("501 Invalid RCPT TO")
            return
        decision = await self.handler.rcpt(self.postal, self.txn, address)
        if decision.accepted:
            if decision.identity is not None:
                self.postal.identity = decision.identity
            self.txn.recipients.append(decision)
            self.state = "rcpt"
        else:
            metrics.client_error(_rcpt_error(decision.reply))
        await self.push(str(decision.reply))

    async def cmd_data(self, line: str) -> None:
        if self.state != "rcpt":
            metrics.client_error("data-out-of-order")
            await self.push("503 HELO/EHLO, MAIL FROM and RCPT TO before sending data")
            return
        await self.push("354 Go ahead")
        txn = self.txn
        self.txn, self.state = Envelope(), "welcomed"
        raw = await read_message(self._reader, self.options.max_size, self._reset_timeout)
        if raw is None:
            metrics.client_error("message-too-large")
            metrics.REJECTED.labels(reason="message-too-large").inc()
            await self.push(self.options.too_large)
            return
        reply = await self.handler.data(self.postal, txn, raw)
        await self.push(str(reply))


def _keepalive(sock) -> None:
    """Postal's keepalive: probe after 50 s idle, every 10 s, give up after 5."""
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for option, value in (("TCP_KEEPIDLE", 50), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 5)):
            if hasattr(socket, option):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)
    except OSError:
        pass


def _rcpt_error(reply: SmtpReply) -> str:
    return {
        "Invalid server token": "invalid-server-token",
        "Invalid route token": "invalid-server-token",
        "Mail server has been suspended": "server-suspended",
        "Route does not accept incoming messages": "route-rejected",
        "Authentication required": "authentication-required",
    }.get(reply.text, "rcpt-refused")
