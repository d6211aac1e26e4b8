"""What the SMTP server looks up in the database, cached briefly.

Credentials, routes, server tokens and sender domains change rarely but are needed on every
AUTH, RCPT and DATA; a short cache (``smtp_server.lookup_cache_seconds``) keeps the SMTP
process from doing a database round trip per command.  Values are plain snapshots, never
ORM rows, so they can be shared between threads.

The event loop calls the built-in plugins directly when the answer is cached: inside
:func:`cache_only` a miss raises :class:`CacheMiss` instead of blocking the loop, and the
caller retries the hook in a worker thread.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from ..models import Credential, CredentialType, Domain, Route, Server
from ..types import AuthIdentity, MessageCopy
from ..unit_of_work import unit_of_work


class CacheMiss(Exception):
    """A lookup needs the database while the caller may not block (the event loop)."""


_state = threading.local()


@contextmanager
def cache_only():
    """Within this block, lookups answer from the cache or raise :class:`CacheMiss`."""
    previous = getattr(_state, "cache_only", False)
    _state.cache_only = True
    try:
        yield
    finally:
        _state.cache_only = previous


@dataclass(frozen=True)
class ServerInfo:
    id: int
    token: str
    suspended: bool
    returnpath_route: RouteInfo | None = None


@dataclass(frozen=True)
class RouteInfo:
    id: int
    server_id: int
    name: str
    domain: str | None
    mode: str
    suspended: bool
    copies: tuple[MessageCopy, ...]


@dataclass(frozen=True)
class SenderDomain:
    id: int
    name: str
    server_owned: bool
    use_for_any: bool


class Directory:
    def __init__(self, registry, ttl: float = 10.0):
        self.registry = registry
        self.ttl = ttl
        self._cache: dict[tuple, tuple[float, object]] = {}

    def _get(self, key: tuple, load: Callable[[], object]):
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        if getattr(_state, "cache_only", False):
            raise CacheMiss(key)
        value = load()
        if len(self._cache) > 50_000:  # a flood of distinct keys must not grow memory forever
            self._cache.clear()
        self._cache[key] = (now + self.ttl, value)
        return value

    def clear(self) -> None:
        self._cache.clear()

    def _query(self, work: Callable):
        with unit_of_work(self.registry) as request:
            return work(request.dbsession)

    # --- credentials ----------------------------------------------------------------------

    def credential_by_key(self, key: str) -> AuthIdentity | None:
        def load(db):
            credential = db.scalars(
                select(Credential)
                .where(Credential.key == key, Credential.type == CredentialType.SMTP)
                .options(joinedload(Credential.server).joinedload(Server.organization))
                .order_by(Credential.id)
            ).first()
            if credential is None or credential.server.deleted_at is not None:
                return None
            return identity_for(credential)

        return self._get(("key", key), lambda: self._query(load))

    def smtp_keys_for_server(self, org: str, server: str) -> list[tuple[str, AuthIdentity]]:
        """``(key, identity)`` of every SMTP credential of ``org/server`` (CRAM-MD5)."""

        def load(db):
            from ..models import Organization

            rows = db.scalars(
                select(Credential)
                .join(Server, Credential.server_id == Server.id)
                .join(Organization, Server.organization_id == Organization.id)
                .where(
                    Organization.permalink == org,
                    Server.permalink == server,
                    Server.deleted_at.is_(None),
                    Credential.type == CredentialType.SMTP,
                )
                .options(joinedload(Credential.server).joinedload(Server.organization))
                .order_by(Credential.id)
            ).all()
            return [(row.key, identity_for(row)) for row in rows]

        return self._get(("cram", org, server), lambda: self._query(load))

    def ip_credentials(self) -> list[tuple[ipaddress._BaseNetwork, AuthIdentity]]:
        """Every SMTP-IP credential's network, most specific first."""

        def load(db):
            rows = db.scalars(
                select(Credential)
                .where(Credential.type == CredentialType.SMTP_IP)
                .options(joinedload(Credential.server).joinedload(Server.organization))
                .order_by(Credential.id)
            ).all()
            networks = []
            for row in rows:
                if row.server.deleted_at is not None:
                    continue
                try:
                    network = ipaddress.ip_network(row.key.strip(), strict=False)
                except ValueError:
                    continue
                networks.append((network, identity_for(row)))
            return sorted(networks, key=lambda item: -item[0].prefixlen)

        return self._get(("ip",), lambda: self._query(load))

    # --- servers and routes ---------------------------------------------------------------

    def server_by_token(self, token: str) -> ServerInfo | None:
        def load(db):
            server = db.scalars(
                select(Server)
                .where(Server.token == token, Server.deleted_at.is_(None))
                .options(joinedload(Server.organization))
            ).first()
            if server is None:
                return None
            returnpath = db.scalars(
                _routes().where(Route.server_id == server.id, Route.name == "__returnpath__")
            ).first()
            return ServerInfo(
                id=server.id,
                token=server.token,
                suspended=server.suspended,
                returnpath_route=route_info(returnpath) if returnpath else None,
            )

        return self._get(("server", token), lambda: self._query(load))

    def route_by_token(self, token: str) -> RouteInfo | None:
        def load(db):
            route = db.scalars(_routes().where(Route.token == token)).first()
            return route_info(route) if route else None

        return self._get(("route-token", token), lambda: self._query(load))

    def route_for_address(self, name: str, domain: str) -> RouteInfo | None:
        """The route called ``name`` on ``domain``, else that domain's ``*`` route."""

        def load(db):
            rows = db.scalars(
                _routes()
                .join(Domain, Route.domain_id == Domain.id)
                .where(Domain.name == domain, Route.name.in_([name, "*"]))
            ).all()
            exact = [row for row in rows if row.name == name]
            chosen = (exact or rows or [None])[0]
            return route_info(chosen) if chosen else None

        return self._get(("route", name, domain), lambda: self._query(load))

    # --- sender domains -------------------------------------------------------------------

    def sender_domains(self, server_id: int) -> list[SenderDomain]:
        """Verified domains of the server and of its organisation (§2.7)."""

        def load(db):
            server = db.get(Server, server_id)
            if server is None:
                return []
            rows = db.scalars(
                select(Domain)
                .where(
                    Domain.verified_at.is_not(None),
                    or_(
                        Domain.server_id == server.id,
                        Domain.organization_id == server.organization_id,
                    ),
                )
                .order_by(Domain.name)
            ).all()
            return [
                SenderDomain(
                    id=row.id,
                    name=row.name.lower(),
                    server_owned=row.server_id == server.id,
                    use_for_any=bool(row.use_for_any),
                )
                for row in rows
            ]

        return self._get(("domains", server_id), lambda: self._query(load))


def _routes():
    return (
        select(Route)
        .options(
            joinedload(Route.server).joinedload(Server.organization),
            joinedload(Route.domain),
            selectinload(Route.additional_endpoints),
        )
        .order_by(Route.id)
    )


def identity_for(credential: Credential) -> AuthIdentity:
    server = credential.server
    return AuthIdentity(
        credential_id=credential.id,
        credential_type=credential.type,
        server_id=server.id,
        server_uuid=server.uuid,
        permalink=server.full_permalink,
        suspended=server.suspended,
        privacy_mode=bool(server.privacy_mode),
        log_smtp_data=bool(server.log_smtp_data),
        allow_sender=bool(server.allow_sender),
    )


def route_info(route: Route) -> RouteInfo:
    copies: tuple[MessageCopy, ...] = (MessageCopy(),)
    if route.mode == "Endpoint" and route.endpoint_type:
        copies = (MessageCopy(route.endpoint_type, route.endpoint_id),) + tuple(
            MessageCopy(extra.endpoint_type, extra.endpoint_id)
            for extra in route.additional_endpoints
        )
    return RouteInfo(
        id=route.id,
        server_id=route.server_id,
        name=route.name,
        domain=route.domain.name if route.domain else None,
        mode=route.mode,
        suspended=route.server.suspended,
        copies=copies,
    )


def directory_for(registry) -> Directory:
    """The process's directory (created on first use, kept on the registry)."""
    directory = registry.get("postal.smtp.directory")
    if directory is None:
        ttl = registry.settings.get("smtp_server.lookup_cache_seconds", 10.0)
        directory = registry["postal.smtp.directory"] = Directory(registry, ttl)
    return directory
