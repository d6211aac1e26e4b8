"""Built-in delivery of outgoing mail: MX lookup (or ``postal.smtp_relays``), opportunistic
STARTTLS, pooled connections per destination, Postal's reply classification.

``trylast``: a smarthost or API-relay plugin answers ``postal_deliver_outgoing`` first.
"""

from __future__ import annotations

import threading

from pyramid.path import DottedNameResolver

from postal import hookimpl

from .sender import MXSender


_lock = threading.Lock()
_sender: MXSender | None = None


def _resolver(settings):
    """The installation's configured ``IDNSResolver`` implementation (``dns.nameservers``)."""
    factory = DottedNameResolver().maybe_resolve(settings["services.dns_resolver"])
    return factory.from_settings(settings)


@hookimpl
def postal_configure(settings, role):
    # Only processes that deliver get a sender; a web process configured later in the
    # same interpreter (``postal run``, tests) must not replace the worker's.
    global _sender
    if role not in ("worker", "cli"):
        return
    with _lock:
        if _sender is not None:
            _sender.close()
        _sender = MXSender(settings, _resolver(settings))


@hookimpl(trylast=True)
def postal_deliver_outgoing(message, domain):
    if _sender is None:
        return None
    return _sender.deliver(message, domain)


def sender() -> MXSender | None:
    """This process's SMTP sender, for plugins that deliver over SMTP too (SMTP and address
    endpoints): one connection pool and one set of settings for every SMTP delivery."""
    return _sender
