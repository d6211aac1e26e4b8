"""Every hook a plugin can implement.

Hooks are grouped by phase.  Accept/deny hooks are ``firstresult``: return a decision, or
``None`` to let the next plugin decide.  Aggregating hooks return values that core combines.
Built-in behaviour is implemented as plugins too (``plugins/``), mostly ``trylast`` so that a
third-party plugin can take over.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy


if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.registry import Registry
    from pyramid.request import Request

    from .events import Event
    from .models import User
    from .services.dns import IDNSResolver
    from .types import (
        AuthIdentity,
        BounceInfo,
        DeliveryResult,
        DnsCheckResult,
        DomainInfo,
        EndpointInfo,
        Envelope,
        IncomingMessage,
        OutgoingMessage,
        RcptDecision,
        ReceivedMessage,
        ScheduledTask,
        SmtpReply,
        SmtpSession,
        SpamScanResult,
        ThreatScanResult,
    )

hookspec = pluggy.HookspecMarker("postal")


# --- Process lifecycle -------------------------------------------------------------------


@hookspec(historic=True)
def postal_configure(settings: Mapping[str, Any], role: str) -> None:
    """Called once per process after every plugin is loaded.

    Read settings and open long-lived clients here.

    :param settings: the parsed configuration (``section.key`` names, typed values).
    :param role: the process: ``"web"``, ``"smtp"``, ``"worker"`` or ``"cli"``.
    """


@hookspec
def postal_web_configure(config: Configurator) -> None:
    """Add a plugin's routes, views and templates to the web application.

    Called in the web process only, after core routes are added and before the view scan.
    Usually a single ``config.include("myplugin.views")``.

    :param config: the Pyramid configurator being built.
    """


@hookspec
def postal_register_scheduled_tasks() -> list[ScheduledTask]:
    """Periodic jobs for the worker's scheduler.

    :return: a list of :class:`postal.types.ScheduledTask`; the lists of all plugins are
        combined.
    """


# --- Authentication ----------------------------------------------------------------------


@hookspec(firstresult=True)
def postal_authenticate_request(request: Request) -> User | None:
    """Identify the user making a management API (v2) request.

    The built-in ``api_tokens`` plugin reads ``Authorization: Bearer <token>``.  A plugin may
    accept other schemes (mutual TLS, a proxy's header).  The first non-None result wins.

    :param request: the Pyramid request.
    :return: the :class:`postal.models.User`, or ``None`` when this plugin does not
        recognise the credentials.
    """


# --- Events ------------------------------------------------------------------------------


@hookspec
def postal_event(event: Event) -> None:
    """Something happened (a message was sent, a domain's DNS broke, …).

    Called only after the transaction that caused the event has committed, so a listener
    never announces a row that was rolled back.  Webhooks are implemented on this hook.

    :param event: a :class:`postal.events.Event`; ``event.name`` is Postal's event name
        (``MessageSent``, ``DomainDNSError``, …) and ``event.payload`` its webhook payload.
    """


# --- DNS ---------------------------------------------------------------------------------


@hookspec
def postal_check_dns(domain: DomainInfo, resolver: IDNSResolver) -> list[DnsCheckResult]:
    """Check a domain's DNS records.

    Every checker runs and the lists are combined; the built-in ``dns_checks`` plugin
    checks SPF, DKIM, MX and the return path as Postal does.  A failing check makes core
    fire ``DomainDNSError``.

    :param domain: the domain and the records it should publish.
    :param resolver: the installation's resolver (``dns.nameservers``).
    :return: a list of :class:`postal.types.DnsCheckResult`.
    """


# --- Worker ------------------------------------------------------------------------------


@hookspec
def postal_worker_poll(registry: Registry, worker_id: str) -> int:
    """Do one batch of a plugin's own queued work (webhook requests, for example).

    The worker calls every implementation on each turn of its loop, beside claiming
    queued messages.  Claim rows so that other workers never take the same ones.

    :param registry: the worker's registry; open units of work with
        :func:`postal.unit_of_work.unit_of_work`.
    :param worker_id: this worker's name, for ``locked_by`` columns.
    :return: how many jobs were done; the worker sleeps only when every source returns 0.
    """


# --- Sending -----------------------------------------------------------------------------


@hookspec
def postal_before_send(message: OutgoingMessage) -> None:
    """Change an outgoing message before it is delivered, by replacing ``message.raw``.

    Tracking rewrites links here; the built-in ``dkim`` plugin is ``trylast`` so that it signs
    the final bytes.

    :param message: the message; its ``dkim_*`` fields name the signing key.
    """


@hookspec(firstresult=True)
def postal_deliver_outgoing(message: OutgoingMessage, domain: str) -> DeliveryResult | None:
    """Deliver an outgoing message to the recipient's domain.

    The built-in ``mx_delivery`` plugin (``trylast``) looks up MX records or uses
    ``postal.smtp_relays``; a smarthost plugin can take over with ``tryfirst``.
    The first non-None result wins.

    :param message: the message, already through ``postal_before_send``.
    :param domain: the recipient's domain.
    :return: a :class:`postal.types.DeliveryResult`, or ``None`` to leave it to others.
    """


@hookspec
def postal_after_delivery(
    message: OutgoingMessage | IncomingMessage, result: DeliveryResult
) -> None:
    """Called after every delivery attempt has been recorded (statistics, suppressions).

    :param message: the message that was attempted: an :class:`~postal.types.OutgoingMessage`,
        or an :class:`~postal.types.IncomingMessage` for received mail.
    :param result: what happened.
    """


# --- Inspection --------------------------------------------------------------------------


@hookspec
def postal_scan_spam(message: IncomingMessage) -> SpamScanResult | None:
    """Scan a message for spam.

    Called for every incoming message, and for outgoing messages of servers with an
    outbound spam threshold.  Every scanner runs; core adds up the scores of all results and
    stores every check.  The built-in ``spamassassin`` plugin asks spamd when
    ``spamd.enabled`` is true.  A scanner that cannot reach its daemon returns a result with
    one ``TIMEOUT`` or ``ERROR`` check scoring 0 rather than raising: the message is never
    held up or lost because a scanner is down.

    :param message: the message; ``message.scope`` says which direction it travels.
    :return: a :class:`postal.types.SpamScanResult`, or ``None`` when this plugin does not
        scan.
    """


@hookspec
def postal_scan_virus(message: IncomingMessage) -> ThreatScanResult | None:
    """Scan an incoming message for viruses and other threats.

    Every scanner runs; the message is a threat when any result says so, and the details
    of the results are joined.  The built-in ``clamav`` plugin streams the message to clamd
    when ``clamav.enabled`` is true.  A threat does not by itself stop the message (as in
    Postal): it is shown in ``X-Postal-Threat``, the API and the UI.

    :param message: the message being received.
    :return: a :class:`postal.types.ThreatScanResult`, or ``None`` when this plugin does not
        scan.
    """


# --- Receiving ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def postal_detect_bounce(message: IncomingMessage) -> BounceInfo | None:
    """Read a message that arrived at a return-path address as a bounce.

    The built-in ``bounces`` plugin (``trylast``) finds ``X-Postal-MsgID`` headers anywhere
    in the message, as Postal does, and also reads standard delivery status notifications
    (RFC 3464 ``multipart/report``): the failed recipient, status and diagnostic, and the
    original ``Message-ID``.  Core links the bounce to the original outgoing message of the
    same server by token, else by Message-ID and recipient.  A message no detector claims
    goes to the server's ``__returnpath__`` route (auto-replies).

    The first non-None result wins.

    :param message: the message received at the return path.
    :return: a :class:`postal.types.BounceInfo`, or ``None`` when this is not a bounce.
    """


@hookspec(firstresult=True)
def postal_deliver_to_endpoint(
    message: IncomingMessage, endpoint: EndpointInfo
) -> DeliveryResult | None:
    """Deliver a routed incoming message to its endpoint.

    The built-in ``http_endpoint``, ``smtp_endpoint`` and ``address_endpoint`` plugins
    (``trylast``) post to HTTP endpoints as Postal does, relay to SMTP endpoints and forward
    to address endpoints; a plugin may handle its own
    endpoint types or take over one of these with ``tryfirst``.  ``SoftFail`` is retried on
    the schedule, ``HardFail`` sends a bounce to the sender unless the result sets
    ``suppress_bounce``.  The first non-None result wins.

    :param message: the message, inspected and with Postal's spam headers in front.
    :param endpoint: the endpoint of the message's route (one copy is stored per endpoint).
    :return: a :class:`postal.types.DeliveryResult`, or ``None`` to leave it to others.
    """


# --- SMTP server -------------------------------------------------------------------------
#
# Order of calls in one session: ``postal_smtp_connect`` once; ``postal_smtp_authenticate``
# per AUTH; then per message ``postal_smtp_mail_from``, ``postal_smtp_rcpt`` per recipient,
# ``postal_smtp_data``; and ``postal_message_received`` after the message is committed.
# The SMTP server runs them in a worker thread (they may use the database); implementations
# get :mod:`postal.types` dataclasses, never aiosmtpd's objects.


@hookspec(firstresult=True)
def postal_smtp_connect(session: SmtpSession) -> SmtpReply | None:
    """A client connected; refuse it (blocklists, rate limits) by returning a reply.

    A negative reply is sent instead of the greeting and the connection is closed.
    The first non-None result wins.

    :param session: the new session (client address, trace id).
    :return: an :class:`postal.types.SmtpReply` to refuse, or ``None`` to continue.
    """


@hookspec(firstresult=True)
def postal_smtp_authenticate(
    session: SmtpSession, mechanism: str, username: str, password: str, challenge: str | None
) -> AuthIdentity | None:
    """Check the credentials of an AUTH command.

    The built-in ``smtp_credentials`` plugin (``trylast``) does what Postal does: for PLAIN
    and LOGIN the password is an SMTP credential's key (any username); for CRAM-MD5 the
    username is ``org/server`` (or ``org_server``) and the password the hex HMAC-MD5 of
    ``challenge`` keyed with one of that server's SMTP keys.  When every plugin returns
    ``None`` the client gets a ``535``.  The first non-None result wins.

    :param session: the session asking.
    :param mechanism: ``PLAIN``, ``LOGIN`` or ``CRAM-MD5``.
    :param username: the user name the client gave (``""`` when none).
    :param password: the password, or for CRAM-MD5 the client's hex digest.
    :param challenge: the CRAM-MD5 challenge sent to the client; ``None`` for other mechanisms.
    :return: the :class:`postal.types.AuthIdentity` authenticated, or ``None``.
    """


@hookspec(firstresult=True)
def postal_smtp_mail_from(
    session: SmtpSession, envelope: Envelope, address: str
) -> SmtpReply | None:
    """``MAIL FROM`` was given; refuse the sender by returning a negative reply.

    No built-in plugin implements it (Postal accepts any sender here).  A positive reply
    replaces the ``250 OK``.  The first non-None result wins.

    :param session: the session.
    :param envelope: the new transaction (``envelope.mail_from`` is not set yet).
    :param address: the sender address between ``<`` and ``>`` (``""`` for ``<>``).
    :return: an :class:`postal.types.SmtpReply`, or ``None`` to accept.
    """


@hookspec(firstresult=True)
def postal_smtp_rcpt(session: SmtpSession, envelope: Envelope, address: str) -> RcptDecision | None:
    """Classify or refuse one ``RCPT TO``.

    The built-in ``smtp_routing`` plugin (``trylast``) applies Postal's order: return-path
    address, route-domain token, authenticated session, route by name or ``*``, SMTP-IP
    credential, else ``530 Authentication required``.  A decision with a negative reply
    refuses the recipient.  The first non-None result wins.

    :param session: the session (``session.identity`` when authenticated).
    :param envelope: the transaction so far.
    :param address: the recipient address between ``<`` and ``>``, source route removed.
    :return: a :class:`postal.types.RcptDecision`, or ``None`` to let the next plugin decide.
    """


@hookspec(firstresult=True)
def postal_smtp_data(session: SmtpSession, envelope: Envelope) -> SmtpReply | None:
    """The whole message was received and passed core's checks; refuse it before it is
    stored by returning a negative reply.

    The first non-None result wins.

    :param session: the session.
    :param envelope: the transaction; ``envelope.content`` holds the bytes to be stored,
        ``Received`` header included.
    :return: an :class:`postal.types.SmtpReply` to refuse, or ``None`` to store the message.
    """


@hookspec
def postal_message_received(messages: list[ReceivedMessage], session: SmtpSession) -> None:
    """Messages received over SMTP were committed and queued.

    Called after the transaction commits, once per accepted SMTP transaction, so a listener
    never sees a row that was rolled back.  Exceptions are logged and ignored: the client
    already has its ``250``.

    :param messages: one :class:`postal.types.ReceivedMessage` per stored message row.
    :param session: the session the messages arrived on.
    """


# --- Web sign-in -------------------------------------------------------------------------


@hookspec(firstresult=True)
def postal_authenticate_user(request: Request, email: str, password: str) -> User | None:
    """Check an e-mail address and password typed into the web sign-in form.

    The built-in ``local_auth`` plugin (``trylast``) checks the user's bcrypt password,
    unless ``oidc.local_authentication_enabled`` is false.  A plugin may check another
    directory (LDAP, say) and return the matching local user.  Rate limiting and the session
    are core's.  The first non-None result wins.

    :param request: the Pyramid request of the sign-in form.
    :param email: the e-mail address as typed (trimmed, not yet lower-cased).
    :param password: the password as typed.
    :return: the :class:`postal.models.User` signed in, or ``None`` when this plugin does not
        accept the credentials.
    """
