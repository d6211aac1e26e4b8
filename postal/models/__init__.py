"""Database models, the engine and the per-unit-of-work session.

Every model is imported here so ``Base.metadata`` knows the whole schema (alembic and
relationship resolution rely on it).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import transaction
import zope.sqlalchemy
from pyramid_tm import is_tm_active
from sqlalchemy import event
from sqlalchemy.engine import Engine, create_engine, make_url
from sqlalchemy.orm import Session, configure_mappers, sessionmaker

from .credential import Credential, CredentialType
from .domain import DnsStatus, Domain, VerificationMethod
from .endpoint import AddressEndpoint, HTTPEndpoint, SMTPEndpoint
from .ip_pool import IPAddress, IPPool, IPPoolRule
from .message import Delivery, Message, MessageStatus, RawMessage, Scope, SpamCheck
from .meta import Base, utcnow
from .organization import Organization
from .queued_message import QueuedMessage
from .route import AdditionalRouteEndpoint, Route, RouteMode, SpamMode
from .scheduling import ScheduledTask, WorkerRole
from .server import Server, ServerMode
from .statistic import Statistic
from .suppression import Suppression
from .track_domain import TrackDomain
from .tracking import Click, Link, Load
from .user import ApiToken, MembershipRole, OrganizationUser, User, UserInvite
from .webhook import Webhook, WebhookEvent, WebhookRequest, WebhookRequestLog


__all__ = [
    "AdditionalRouteEndpoint", "AddressEndpoint", "ApiToken", "Base", "Click", "Credential",
    "CredentialType", "Delivery", "DnsStatus", "Domain", "HTTPEndpoint", "IPAddress", "IPPool",
    "IPPoolRule", "Link", "Load", "MembershipRole", "Message", "MessageStatus", "Organization",
    "OrganizationUser", "QueuedMessage", "RawMessage", "Route", "RouteMode", "SMTPEndpoint",
    "ScheduledTask", "Scope", "Server", "ServerMode", "SpamCheck", "SpamMode", "Statistic",
    "Suppression", "TrackDomain", "User", "UserInvite", "VerificationMethod", "Webhook",
    "WebhookEvent", "WebhookRequest", "WebhookRequestLog", "WorkerRole", "utcnow",
]  # fmt: skip

configure_mappers()


def get_engine(settings: dict[str, Any]) -> Engine:
    url = settings["database.url"]
    kwargs: dict[str, Any] = {"echo": settings.get("database.echo", False)}
    if url.startswith("sqlite"):
        _make_sqlite_directory(url)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs["pool_size"] = settings.get("database.pool_size", 10)
        kwargs["max_overflow"] = 20
        kwargs["pool_pre_ping"] = True
        # MariaDB closes idle connections after wait_timeout (8 h by default).
        kwargs["pool_recycle"] = 3600
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _make_sqlite_directory(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(database)), exist_ok=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers run beside the one writer; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def get_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def get_tm_session(
    session_factory: sessionmaker[Session], transaction_manager: transaction.TransactionManager
) -> Session:
    """A session joined to ``transaction_manager``: it commits or aborts with it."""
    dbsession = session_factory()
    zope.sqlalchemy.register(dbsession, transaction_manager=transaction_manager)
    return dbsession


# API v1 sends are committed by the group commit (:mod:`postal.api.v1.storing`) before the
# view answers, outside the request's transaction: retrying such a request after a failure
# later on (its once-a-minute ``last_used_at`` write) would store the message again.  Nor
# do they need a request-long transaction: their few reads and writes (a credential or
# domain the caches lack, ``last_used_at``) each take a short one (:func:`transaction_for`).
SELF_COMMITTING_PREFIXES = ("/api/v1/send/",)


def retry_attempts(request) -> int | None:
    """pyramid_retry's ``activate_hook``: one attempt for requests that commit on their own
    (which also spares them copying the body for a retry); the default for the others."""
    return 1 if request.path_info.startswith(SELF_COMMITTING_PREFIXES) else None


def request_long_transaction(request) -> bool:
    """pyramid_tm's ``activate_hook``: every request but those that commit on their own."""
    return not request.path_info.startswith(SELF_COMMITTING_PREFIXES)


@contextlib.contextmanager
def transaction_for(request) -> Iterator[Session]:
    """``request.dbsession`` inside a transaction: the request's own when pyramid_tm runs
    one, else a short one committed when the block ends (rolled back on an exception)."""
    if is_tm_active(request):
        yield request.dbsession
        return
    with request.tm:
        yield request.dbsession


def includeme(config) -> None:
    """Engine, session factory, pyramid_tm and ``request.dbsession``."""
    settings = config.get_settings()
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
    # Nothing reads a transaction's user, and naming it costs an identity lookup a request.
    settings["tm.annotate_user"] = False
    settings.setdefault("tm.activate_hook", request_long_transaction)
    config.include("pyramid_tm")
    # A serialisation failure or deadlock is retried once more by pyramid_retry, except
    # where a retry would repeat work already committed (:func:`retry_attempts`).
    settings.setdefault("retry.activate_hook", retry_attempts)
    config.include("pyramid_retry")

    engine = settings.get("postal.engine") or get_engine(settings)
    session_factory = get_session_factory(engine)
    config.registry["dbengine"] = engine
    config.registry["dbsession_factory"] = session_factory

    def dbsession(request):
        # Tests may hand in a session of their own.
        session = request.environ.get("app.dbsession")
        if session is None:
            session = get_tm_session(session_factory, request.tm)
        return session

    config.add_request_method(dbsession, reify=True)
