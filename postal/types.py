"""Plain dataclasses handed to plugins, so hooks never see ORM rows or framework objects
they could change by accident."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DnsCheckResult:
    """The outcome of one DNS check of one domain.

    ``check`` is one of ``spf``, ``dkim``, ``mx``, ``return_path`` (or a plugin's own name);
    ``status`` is ``OK``, ``Missing`` or ``Invalid``; ``error`` is the text shown to users.
    """

    check: str
    status: str
    error: str | None = None


@dataclass(frozen=True)
class DomainInfo:
    """What DNS checkers need to know about a domain."""

    uuid: str
    name: str
    dkim_record_name: str
    dkim_record_value: str
    return_path_name: str


@dataclass(frozen=True)
class ScheduledTask:
    """A job the worker's scheduler runs every ``interval``."""

    name: str
    interval: dt.timedelta
    run: Callable[..., None]
    first_run_delay: dt.timedelta = field(default=dt.timedelta(0))


# --- Sending (worker) ----------------------------------------------------------------------


@dataclass
class OutgoingMessage:
    """A message on its way out.  ``raw`` is the bytes to send; ``postal_before_send`` plugins
    replace it (tracking rewrites links, DKIM prepends its signature).

    ``dkim_*`` name the key to sign with, chosen by core as Postal does: the sender domain's
    own key when its DKIM record checks out, otherwise the installation key with
    ``d=<dns.return_path_domain>`` and ``s=<dns.dkim_identifier>``.
    """

    id: int
    token: str
    server_id: int
    server_token: str
    mail_from: str
    rcpt_to: str
    raw: bytes
    sender_domain: str | None = None
    dkim_domain: str | None = None
    dkim_selector: str | None = None
    dkim_private_key: str | None = None
    tag: str | None = None
    notes: dict = field(default_factory=dict)
    # The IP pool address to send from (``postal.use_ip_pools``): bind to the one of the
    # target's family and greet with ``helo_hostname``; ``None`` = the host's default.
    source_ipv4: str | None = None
    source_ipv6: str | None = None
    helo_hostname: str | None = None


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of one delivery attempt.

    ``status`` is Postal's: ``Sent``, ``SoftFail`` (retry later), ``HardFail`` (give up),
    ``Held`` or ``Bounced``.  ``details`` is the human sentence for the delivery log,
    ``output`` the remote server's reply; ``retry_after`` (seconds) overrides the retry
    schedule when the remote asked for a specific delay.
    """

    status: str
    details: str
    output: str = ""
    sent_with_ssl: bool = False
    log_id: str | None = None
    time: float | None = None
    retry_after: float | None = None
    # Receiving only: a permanent failure that must not bounce to the sender (HTTP 429).
    suppress_bounce: bool = False
    # The endpoint could not be reached at all (timeouts, refused connections, TLS).
    connection_error: bool = False


# --- SMTP server ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpReply:
    """An SMTP reply: ``code`` and one line of ``text`` (``str(reply)`` is the wire form)."""

    code: int
    text: str

    @property
    def positive(self) -> bool:
        return 200 <= self.code < 400

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


@dataclass(frozen=True)
class AuthIdentity:
    """Who an SMTP session authenticated as: a credential of a mail server.

    A snapshot taken when the session authenticated (as Postal keeps the credential it
    loaded), so a long session is not slowed down by lookups.  ``permalink`` is
    ``<organisation>/<server>``, the text of ``235 Granted for …``.
    """

    credential_id: int
    credential_type: str
    server_id: int
    server_uuid: str
    permalink: str
    suspended: bool = False
    privacy_mode: bool = False
    log_smtp_data: bool = False
    allow_sender: bool = False


@dataclass
class SmtpSession:
    """One SMTP connection, as plugins see it.

    ``id`` is the 8-character trace id shown in the greeting and logs.  ``tls`` is true after
    STARTTLS or on the implicit-TLS port.  ``identity`` is set by AUTH (or by an SMTP-IP
    credential at RCPT time).  ``notes`` is free for plugins to share state across the calls
    of one session.  ``registry`` is the SMTP process's registry: open
    :func:`postal.unit_of_work.unit_of_work` on it for database access.
    """

    id: str
    client_ip: str
    client_port: int = 0
    helo: str | None = None
    tls: bool = False
    identity: AuthIdentity | None = None
    notes: dict = field(default_factory=dict)
    registry: object = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class MessageCopy:
    """One stored message a recipient turns into: a route sends a copy per endpoint."""

    endpoint_type: str | None = None
    endpoint_id: int | None = None


@dataclass(frozen=True)
class RcptDecision:
    """What to do with one ``RCPT TO``.

    ``reply`` is sent to the client; when it is positive the recipient is accepted as
    ``kind`` (``outgoing``, ``incoming`` or ``bounce``) for ``server_id``.  ``address`` is the
    recipient as stored (route-domain addresses are rewritten to the route's address).
    ``identity`` is set when an SMTP-IP credential authorised the session.
    """

    reply: SmtpReply
    kind: str | None = None
    server_id: int | None = None
    address: str | None = None
    route_id: int | None = None
    copies: tuple[MessageCopy, ...] = (MessageCopy(),)
    identity: AuthIdentity | None = None

    @property
    def accepted(self) -> bool:
        return self.reply.positive and self.kind is not None

    @classmethod
    def reject(cls, code: int, text: str) -> RcptDecision:
        return cls(reply=SmtpReply(code, text))


@dataclass
class Envelope:
    """The transaction so far: ``MAIL FROM`` (``""`` for ``<>``), its parameters, the
    accepted recipients, and at end of DATA the message bytes as they will be stored
    (``Received`` header included)."""

    mail_from: str | None = None
    mail_options: list[str] = field(default_factory=list)
    recipients: list[RcptDecision] = field(default_factory=list)
    content: bytes | None = None


@dataclass(frozen=True)
class ReceivedMessage:
    """A message row the SMTP server stored and queued (``postal_message_received``)."""

    id: int
    token: str
    server_id: int
    scope: str
    rcpt_to: str
    mail_from: str
    route_id: int | None = None
    bounce: bool = False
    message_id: str | None = None


# --- Receiving (worker) --------------------------------------------------------------------


@dataclass
class IncomingMessage:
    """A received message on its way to an endpoint, or being scanned.

    ``scope`` is ``incoming`` for received mail; scanners also see ``outgoing`` messages when
    the server has an outbound spam threshold.  ``route`` is the route's description
    (``name@domain``, or ``Return Path``); ``raw`` the stored bytes (CRLF line ends) with,
    once inspected, Postal's ``X-Postal-Spam*`` headers in front.  ``spam_status`` is
    ``NotChecked``, ``NotSpam`` or ``Spam``.  ``notes`` is free for plugins.
    """

    id: int
    token: str
    server_id: int
    server_token: str
    scope: str
    mail_from: str
    rcpt_to: str
    raw: bytes
    timestamp: dt.datetime
    route_id: int | None = None
    route: str | None = None
    bounce: bool = False
    received_with_ssl: bool = False
    spam_status: str = "NotChecked"
    spam_score: float = 0.0
    # The pool address forwarded copies leave from (``postal.use_ip_pools``).
    source_ipv4: str | None = None
    source_ipv6: str | None = None
    helo_hostname: str | None = None
    notes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class EndpointInfo:
    """Where a routed message goes, as a snapshot of the endpoint row.

    ``type`` is Postal's name (``HTTPEndpoint``, ``SMTPEndpoint``, ``AddressEndpoint``);
    ``options`` holds the type's own fields (``url``, ``encoding``, ``format``,
    ``strip_replies``, ``include_attachments``, ``timeout`` for HTTP; ``hostname``, ``port``,
    ``ssl_mode`` for SMTP; ``address`` for address endpoints).
    """

    type: str
    id: int
    uuid: str
    name: str
    server_id: int
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SpamCheck:
    """One rule a spam scanner matched: its ``code`` (``GTUBE``), score and description."""

    code: str
    score: float
    description: str = ""


@dataclass(frozen=True)
class SpamScanResult:
    """What one spam scanner said.  ``checks`` are the matched rules (a failed scan is one
    check ``TIMEOUT`` or ``ERROR`` with score 0, as Postal records it); the message's score
    is the sum of every scanner's checks."""

    scanner: str
    checks: tuple[SpamCheck, ...] = ()

    @property
    def score(self) -> float:
        return round(sum(check.score for check in self.checks), 2)


@dataclass(frozen=True)
class ThreatScanResult:
    """What one virus scanner said: ``threat`` and Postal's ``details`` text (the signature
    name when a threat was found, else "No threats found", "Timed out scanning for threats",
    "Could not scan message" or "Error when scanning for threats")."""

    scanner: str
    threat: bool
    details: str


@dataclass(frozen=True)
class BounceInfo:
    """What a bounce detector read from a message sent to a return-path address.

    ``tokens`` are the ``X-Postal-MsgID`` values found (the original messages' tokens);
    ``message_ids`` the original ``Message-ID`` values a delivery status notification
    quotes; ``recipient`` the failed recipient it names; ``status`` its RFC 3463 code
    (``5.1.1``); ``diagnostic`` the remote server's words; ``hard`` whether the failure is
    permanent (a ``5.x.x`` status, or no status to go by).
    """

    tokens: tuple[str, ...] = ()
    message_ids: tuple[str, ...] = ()
    recipient: str | None = None
    status: str | None = None
    diagnostic: str | None = None
    hard: bool = True
