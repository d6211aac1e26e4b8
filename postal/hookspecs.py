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
    from .types import DeliveryResult, DnsCheckResult, DomainInfo, OutgoingMessage, ScheduledTask

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
    ``postal.smtp_relays``; a smarthost plugin can take over with ``tryfirst``.  The first
    non-None result wins.

    :param message: the message, already through ``postal_before_send``.
    :param domain: the recipient's domain.
    :return: a :class:`postal.types.DeliveryResult`, or ``None`` to leave it to others.
    """


@hookspec
def postal_after_delivery(message: OutgoingMessage, result: DeliveryResult) -> None:
    """Called after every delivery attempt has been recorded (statistics, suppressions).

    :param message: the message that was attempted.
    :param result: what happened.
    """


# --- SMTP server -------------------------------------------------------------------------
