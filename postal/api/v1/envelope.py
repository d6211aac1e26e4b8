"""What every API v1 endpoint shares: authentication by ``X-Server-API-Key``, parameters
read as Postal's Moonrope-era API did, and the always-200 ``{status, time, flags, data}``
envelope.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pyramid.response import Response
from pyramid_tm import is_tm_active
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload

from ...models import Credential, CredentialType, Server, transaction_for, utcnow


log = logging.getLogger(__name__)

# Clients use POST; Postal's router also takes these.
METHODS = ("GET", "POST", "PATCH", "PUT")

# ``last_used_at`` is written at most this often per credential: one UPDATE per request
# would double the write load of a busy sender for a value shown to the minute.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)
CACHE_SECONDS = 5.0


class V1Error(Exception):
    """``{"status": "error", "data": {..., "code": code}}``."""

    def __init__(self, code: str, **data: Any):
        super().__init__(code)
        self.data = {**data, "code": code}


class ParameterError(Exception):
    """``{"status": "parameter-error", "data": {"message": message}}``."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def envelope(status: str, started: float, data: Any) -> Response:
    body = {
        "status": status,
        "time": round(time.monotonic() - started, 3),
        "flags": {},
        "data": data,
    }
    return Response(
        body=json.dumps(body, separators=(",", ":")).encode("utf-8"),
        content_type="application/json",
        charset="utf-8",
    )


def api_v1(handler: Callable[[Any, ApiCredential, dict], Any]) -> Callable:
    """Wrap ``handler(request, credential, params) -> data`` in authentication, parameter
    parsing and the envelope.  Handlers raise :class:`V1Error` or :class:`ParameterError`."""

    @functools.wraps(handler)
    def view(request):
        started = time.monotonic()
        try:
            credential = authenticate(request)
            params = read_params(request)
            data = handler(request, credential, params)
            # After the handler: on SQLite this write would otherwise hold the database's
            # one write lock while the message store (another thread) waits for it.
            mark_used(request, credential)
        except V1Error as exc:
            return envelope("error", started, exc.data)
        except ParameterError as exc:
            return envelope("parameter-error", started, {"message": exc.message})
        return envelope("success", started, data)

    return view


@dataclass(frozen=True)
class ServerInfo:
    id: int
    organization_id: int
    allow_sender: bool
    privacy_mode: bool
    usable: bool


@dataclass(frozen=True)
class ApiCredential:
    """What a request needs of its credential and server, cached for a few seconds."""

    id: int
    server_id: int
    server: ServerInfo
    last_used_at: dt.datetime | None


def authenticate(request) -> ApiCredential:
    key = request.headers.get("X-Server-API-Key", "")
    if not key.strip():
        raise V1Error("AccessDenied", message="Must be authenticated as a server.")
    # A busy sender makes hundreds of requests a second with one key: remember the lookup
    # briefly.  A revoked key or a suspension takes effect within CACHE_SECONDS.
    cache = request.registry.setdefault("postal.api_v1.credentials", {})
    now = time.monotonic()
    cached = cache.get(key)
    if cached is None or cached[0] < now:
        cached = (now + CACHE_SECONDS, _lookup(request, key))
        if len(cache) > 10000:
            cache.clear()
        cache[key] = cached
    credential = cached[1]
    if credential is None:
        raise V1Error(
            "InvalidServerAPIKey",
            message="The API token provided in X-Server-API-Key was not valid.",
            token=key,
        )
    if not credential.server.usable:
        raise V1Error("ServerSuspended")
    return credential


def mark_used(request, credential: ApiCredential) -> None:
    """Postal records every use; we write it at most once a minute per credential."""
    last = credential.last_used_at
    if last is not None and utcnow() - last < LAST_USED_RESOLUTION:
        return  # without touching request.dbsession, which would open a session
    try:
        with transaction_for(request) as dbsession:
            marked = _mark_used(dbsession, credential)
    except SQLAlchemyError:
        if is_tm_active(request):
            raise  # the request's own transaction is spoilt: it fails (and is retried)
        # A send is stored already: failing to note the use must not make it an error
        # (the client would send it again).  The next request notes it.
        log.warning("could not record the use of API credential %s", credential.id,
                    exc_info=True)  # fmt: skip
        return
    if marked:
        cache = request.registry.setdefault("postal.api_v1.credentials", {})
        key = request.headers.get("X-Server-API-Key", "")
        if key in cache:
            cache[key] = (cache[key][0], replace(credential, last_used_at=utcnow()))


def _lookup(request, key: str) -> ApiCredential | None:
    with transaction_for(request) as dbsession:
        return _credential(dbsession, key)


def _credential(dbsession, key: str) -> ApiCredential | None:
    credential = dbsession.scalar(
        select(Credential)
        .where(Credential.type == CredentialType.API, Credential.key == key)
        .options(joinedload(Credential.server).joinedload(Server.organization))
        .limit(1)
    )
    if credential is None:
        return None
    server = credential.server
    return ApiCredential(
        id=credential.id,
        server_id=server.id,
        server=ServerInfo(
            id=server.id,
            organization_id=server.organization_id,
            allow_sender=server.allow_sender,
            privacy_mode=server.privacy_mode,
            usable=not server.suspended and server.deleted_at is None,
        ),
        last_used_at=credential.last_used_at,
    )


def _mark_used(dbsession, credential: ApiCredential) -> bool:
    now = utcnow()
    if credential.last_used_at and now - credential.last_used_at < LAST_USED_RESOLUTION:
        return False
    dbsession.execute(
        update(Credential)
        .where(Credential.id == credential.id)
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    return True


def read_params(request) -> dict[str, Any]:
    """A JSON body (with the query string) when the content type is JSON; else the JSON
    object in the ``params`` form or query field; else nothing.  Individual form fields
    are not read, as in Postal."""
    if (request.content_type or "").startswith("application/json"):
        params: dict[str, Any] = dict(request.GET.items())
        if request.body:
            params.update(_json_object(request.body, "The request body"))
        return params
    raw = request.params.get("params")
    if raw:
        return _json_object(raw, "The `params` parameter")
    return {}


def _json_object(raw: bytes | str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ParameterError(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise ParameterError(f"{what} must be a JSON object")
    return value


def blank(value: Any) -> bool:
    """Ruby's ``blank?``: nil, false, empty or whitespace-only strings, empty collections."""
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | dict):
        return not value
    return False


def truthy(value: Any) -> bool:
    """Ruby truthiness, which Postal applies to ``bounce``: only nil and false are false."""
    return value is not None and value is not False
