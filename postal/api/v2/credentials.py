"""Credentials of a server: API keys, SMTP keys and SMTP-IP networks."""

from __future__ import annotations

import ipaddress

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config
from sqlalchemy import select

from ...models import Credential, CredentialType
from ...tokens import credential_key
from . import serializers
from .access import load_credential, load_server
from .errors import Conflict, ValidationFailed
from .listing import paginate
from .params import boolean, choice, json_body, string


TYPES = [t.value for t in CredentialType]


def _network(value: str | None) -> str:
    """SMTP-IP keys are an address or a network (``192.0.2.0/24``), stored normalised."""
    if not value:
        raise ValidationFailed("key is required for SMTP-IP credentials.", field="key")
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValidationFailed(f"{value!r} is not an IP address or network.", field="key") from None


def _check_unique_network(request, server_id: int, key: str, credential_id=None) -> None:
    query = select(Credential.id).where(
        Credential.server_id == server_id,
        Credential.type == CredentialType.SMTP_IP,
        Credential.key == key,
    )
    if credential_id is not None:
        query = query.where(Credential.id != credential_id)
    if request.dbsession.scalar(query) is not None:
        raise Conflict(f"This server has an SMTP-IP credential for {key}.", field="key")


@view_config(route_name="api.v2.server.credentials", request_method="GET", renderer="json")
def list_credentials(request):
    server = load_server(request, request.matchdict["server"])
    query = select(Credential).where(Credential.server_id == server.id).order_by(Credential.id)
    return paginate(request, query, serializers.credential)


@view_config(route_name="api.v2.server.credentials", request_method="POST", renderer="json")
def create_credential(request):
    server = load_server(request, request.matchdict["server"])
    body = json_body(request, {"type", "name", "key", "hold"})
    kind = choice(body, "type", TYPES, required=True)
    name = string(body, "name", required=True)
    if kind == CredentialType.SMTP_IP:
        key = _network(string(body, "key", max_length=64))
        _check_unique_network(request, server.id, key)
    elif "key" in body:
        raise ValidationFailed(f"{kind} keys are generated; do not send key.", field="key")
    else:
        key = credential_key()
    credential = Credential(
        server=server, type=kind, name=name, key=key, hold=boolean(body, "hold", default=False)
    )
    request.dbsession.add(credential)
    request.dbsession.flush()
    request.response.status_int = 201
    return serializers.credential(credential)


@view_config(route_name="api.v2.credential", request_method="GET", renderer="json")
def get_credential(request):
    return serializers.credential(load_credential(request, request.matchdict["credential"]))


@view_config(route_name="api.v2.credential", request_method="PATCH", renderer="json")
def update_credential(request):
    credential = load_credential(request, request.matchdict["credential"])
    body = json_body(request, {"name", "key", "hold"})
    credential.name = string(body, "name", required="name" in body, default=credential.name)
    credential.hold = boolean(body, "hold", default=credential.hold)
    if "key" in body:
        if credential.type != CredentialType.SMTP_IP:
            raise ValidationFailed("Only SMTP-IP credentials may change their key.", field="key")
        key = _network(string(body, "key", max_length=64))
        _check_unique_network(request, credential.server_id, key, credential.id)
        credential.key = key
    return serializers.credential(credential)


@view_config(route_name="api.v2.credential", request_method="DELETE", renderer="json")
def delete_credential(request):
    credential = load_credential(request, request.matchdict["credential"])
    request.dbsession.delete(credential)
    return HTTPNoContent()
