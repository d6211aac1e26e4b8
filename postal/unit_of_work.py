"""A unit of work outside web requests: an SMTP transaction, a worker job, a CLI command.

Each gets its own request (so ``find_service``, ``hooks`` and ``notify`` work as in views),
its own explicit transaction manager and its own database session.  Leaving the block commits;
an exception aborts and propagates.  Events queued with ``request.notify`` fire after commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import transaction
from pyramid.interfaces import IRequestExtensions
from pyramid.registry import Registry
from pyramid.request import Request, apply_request_extensions
from pyramid.scripting import prepare

from .models import get_tm_session


_current: ContextVar[Request | None] = ContextVar("postal_unit_of_work", default=None)


def current_request() -> Request | None:
    """The request of the unit of work running in this thread (or task), if any.

    Hooks whose arguments are plain dataclasses use it to reach the database
    (``current_request().dbsession``) in the same transaction as the caller.
    """
    return _current.get()


@contextmanager
def unit_of_work(registry: Registry) -> Iterator[Request]:
    request = Request.blank("/")
    request.registry = registry
    request.tm = transaction.TransactionManager(explicit=True)
    env = prepare(request=request, registry=registry)
    try:
        if registry.queryUtility(IRequestExtensions) is not None:
            apply_request_extensions(request)
        # Replace the reified session with one joined to our own transaction manager.
        request.dbsession = get_tm_session(registry["dbsession_factory"], request.tm)
        token = _current.set(request)
        try:
            with request.tm:
                yield request
        finally:
            _current.reset(token)
    finally:
        request.dbsession.close()
        env["closer"]()
