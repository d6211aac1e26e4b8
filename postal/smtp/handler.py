"""Decisions of the SMTP server: the protocol (``protocol.py``) calls these with our own
dataclasses, they run the plugins' hooks and core's checks, and hand finished messages to
the group-commit writer.  Nothing here knows aiosmtpd."""

from __future__ import annotations

import asyncio
import logging
import secrets
import string
import time

import dns.exception
import dns.nameserver
import dns.resolver
import dns.reversename

from ..headers import header_block
from ..types import AuthIdentity, Envelope, RcptDecision, SmtpReply, SmtpSession
from . import metrics
from .accept import AcceptError, GroupCommitWriter, StoreGroup
from .checks import is_loop, received_header, sender_domain
from .directory import CacheMiss, cache_only, directory_for
from .hooks import HookRunner


log = logging.getLogger(__name__)

OK = SmtpReply(250, "OK")
LOOP = SmtpReply(550, "Loop detected")
FROM_INVALID = SmtpReply(530, "From/Sender name is not valid")
NOT_STORED = SmtpReply(451, "Temporary failure while storing the message, please try again")
_TRACE_ALPHABET = string.ascii_uppercase + string.digits


def trace_id() -> str:
    return "".join(secrets.choice(_TRACE_ALPHABET) for _ in range(8))


class PostalHandler:
    def __init__(self, registry, writer: GroupCommitWriter):
        self.registry = registry
        self.settings = registry.settings
        self.hostname = self.settings["postal.smtp_hostname"]
        self.writer = writer
        self.hooks = HookRunner(registry["postal.plugin_manager"].hook)
        self.directory = directory_for(registry)
        self._names = ReverseNames(self.settings)
        self.active = 0  # open connections (smtp_server.max_connections)

    def new_session(self, client_ip: str, client_port: int, tls: bool) -> SmtpSession:
        return SmtpSession(
            id=trace_id(),
            client_ip=client_ip,
            client_port=client_port,
            tls=tls,
            registry=self.registry,
        )

    async def connect(self, session: SmtpSession) -> SmtpReply | None:
        if self.settings["smtp_server.log_connections"]:
            log.info("connection from %s:%s", session.client_ip, session.client_port,
                     extra={"smtp_session": session.id})  # fmt: skip
        reply = await self.hooks.call("postal_smtp_connect", session=session)
        return reply if reply is not None and not reply.positive else None

    async def authenticate(
        self, session: SmtpSession, mechanism: str, username: str, password: str, challenge
    ) -> AuthIdentity | None:
        return await self.hooks.call(
            "postal_smtp_authenticate",
            session=session,
            mechanism=mechanism,
            username=username,
            password=password,
            challenge=challenge,
        )

    async def mail_from(self, session: SmtpSession, envelope: Envelope, address: str):
        reply = await self.hooks.call(
            "postal_smtp_mail_from", session=session, envelope=envelope, address=address
        )
        return reply or OK

    async def rcpt(self, session: SmtpSession, envelope: Envelope, address: str) -> RcptDecision:
        decision = await self.hooks.call(
            "postal_smtp_rcpt", session=session, envelope=envelope, address=address
        )
        return decision or RcptDecision.reject(530, "Authentication required")

    async def data(self, session: SmtpSession, envelope: Envelope, raw: bytes) -> SmtpReply:
        """Checks of §3.5 (size is checked while reading), then store and commit."""
        head = header_block(raw)
        if is_loop(head, self.hostname):
            return _refused(LOOP, "loop-detected")
        identity = session.identity
        domain_id = None
        if identity is not None:
            domains = await self._lookup(self.directory.sender_domains, identity.server_id)
            domain = sender_domain(head, domains, identity.allow_sender)
            if domain is None:
                return _refused(FROM_INVALID, "from-name-invalid")
            domain_id = domain.id
        rdns = await self._names.lookup(session.client_ip)
        private = identity is not None and identity.privacy_mode
        envelope.content = (
            received_header(
                helo=session.helo,
                rdns=rdns,
                ip=session.client_ip,
                hostname=self.hostname,
                private=private,
            )
            + raw
        )
        reply = await self.hooks.call("postal_smtp_data", session=session, envelope=envelope)
        if reply is not None and not reply.positive:
            metrics.REJECTED.labels(reason="plugin").inc()
            return reply
        groups = store_groups(envelope, session, domain_id)
        try:
            stored = await self.writer.accept(envelope.mail_from or "", envelope.content, groups)
        except AcceptError:
            metrics.REJECTED.labels(reason="storage-error").inc()
            return NOT_STORED
        self._count(stored, session, len(envelope.content))
        if self.hooks.implemented("postal_message_received"):
            await self._announce(stored, session)
        return reply or OK

    async def _lookup(self, function, *args):
        try:
            with cache_only():
                return function(*args)
        except CacheMiss:
            return await asyncio.to_thread(function, *args)

    async def _announce(self, stored, session) -> None:
        hook = self.registry["postal.plugin_manager"].hook.postal_message_received
        try:
            await asyncio.to_thread(hook, messages=stored, session=session)
        except Exception:
            # Committed already; a broken listener must not turn the 250 into an error.
            log.exception("postal_message_received listener failed")

    def _count(self, stored, session, size: int) -> None:
        tls = "yes" if session.tls else "no"
        for message in stored:
            kind = "bounce" if message.bounce else message.scope
            metrics.MESSAGES.labels(type=kind, tls=tls).inc()
            # The first line of the message's story; the worker's lines carry the same token.
            log.info(
                "accepted %s message for %s", kind, message.rcpt_to,
                extra={"message_token": message.token, "message_id": message.id,
                       "server_id": message.server_id, "smtp_session": session.id},
            )  # fmt: skip
        metrics.BYTES.inc(size)


def _refused(reply: SmtpReply, error: str) -> SmtpReply:
    metrics.client_error(error)
    metrics.REJECTED.labels(reason=error).inc()
    return reply


def store_groups(envelope: Envelope, session: SmtpSession, domain_id) -> list[StoreGroup]:
    """One group per distinct set of row fields (scope, route, endpoint copy, credential)."""
    grouped: dict[tuple, list[str]] = {}
    for decision in envelope.recipients:
        for copy in decision.copies:
            if decision.kind == "outgoing":
                identity = session.identity
                scope = "outgoing"
                fields = (
                    ("credential_id", identity.credential_id if identity else None),
                    ("domain_id", domain_id),
                    ("received_with_ssl", session.tls),
                )
            else:
                scope = "incoming"
                fields = (
                    ("route_id", decision.route_id),
                    ("bounce", decision.kind == "bounce"),
                    ("endpoint_type", copy.endpoint_type),
                    ("endpoint_id", copy.endpoint_id),
                    ("received_with_ssl", session.tls),
                )
            key = (decision.server_id, scope, fields)
            grouped.setdefault(key, []).append(decision.address)
    return [
        StoreGroup(server_id=server_id, scope=scope, rcpt_to=tuple(rcpts), fields=fields)
        for (server_id, scope, fields), rcpts in grouped.items()
    ]


class ReverseNames:
    """Client host names for the ``Received`` header, cached per address for five minutes.

    Asks ``dns.nameservers`` (never more than two seconds); no name means the address is
    used, as Postal does."""

    TTL = 300.0

    def __init__(self, settings):
        self.enabled = settings.get("smtp_server.reverse_dns", True)
        servers = settings.get("dns.nameservers") or []
        self._resolver = dns.resolver.Resolver(configure=not servers)
        if servers:
            self._resolver.nameservers = [dns.nameserver.Do53Nameserver(h, p) for h, p in servers]
        self._resolver.timeout = self._resolver.lifetime = min(settings.get("dns.timeout", 5), 2)
        self._cache: dict[str, tuple[float, str | None]] = {}

    async def lookup(self, ip: str) -> str | None:
        if not self.enabled:
            return None
        hit = self._cache.get(ip)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        name = await asyncio.to_thread(self._resolve, ip)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[ip] = (time.monotonic() + self.TTL, name)
        return name

    def _resolve(self, ip: str) -> str | None:
        try:
            answer = self._resolver.resolve(dns.reversename.from_address(ip), "PTR")
            return answer[0].target.to_text().rstrip(".") or None
        except (dns.exception.DNSException, ValueError):
            return None
