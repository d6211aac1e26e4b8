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
    from pyramid.request import Request

    from .events import Event
    from .models import User
    from .services.dns import IDNSResolver
    from .types import DnsCheckResult, DomainInfo, ScheduledTask

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
