"""A server's credentials: API keys, SMTP keys and SMTP-IP networks."""

from __future__ import annotations

import ipaddress

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config
from sqlalchemy import select

from ..models import Credential, CredentialType
from ..tokens import credential_key
from ..web.access import load_server
from ..web.forms import FormError, checkbox, choice, text
from .servers import server_page


TYPES = [t.value for t in CredentialType]


def _network(value: str) -> str:
    if not value:
        raise FormError("Enter the IP address or network allowed to send (SMTP-IP).")
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise FormError(f"{value!r} is not an IP address or network.") from None


def _page(request, access, server, error=None, form=None):
    credentials = request.dbsession.scalars(
        select(Credential).where(Credential.server_id == server.id).order_by(Credential.id)
    )
    return server_page(request, access, server, credentials=list(credentials), types=TYPES,
                       error=error, form=form or {})  # fmt: skip


def _list_url(request, access, server) -> str:
    return request.route_url(
        "credentials", org=access.organization.permalink, server=server.permalink
    )


@view_config(
    route_name="credentials",
    request_method="GET",
    renderer="credentials/index.jinja2",
    permission="web",
)
def index(request):
    access, server = load_server(request)
    return _page(request, access, server)


@view_config(
    route_name="credentials",
    request_method="POST",
    renderer="credentials/index.jinja2",
    permission="web",
)
def create(request):
    access, server = load_server(request)
    try:
        kind = choice(request, "type", TYPES, "credential type")
        name = text(request, "name", required="Give the credential a name.")
        key = _network(text(request, "key", max_length=64)) if kind == "SMTP-IP" else None
    except FormError as exc:
        return _page(request, access, server, str(exc), request.POST)
    credential = Credential(
        server=server, type=kind, name=name, key=key or credential_key(),
        hold=checkbox(request, "hold"),
    )  # fmt: skip
    request.dbsession.add(credential)
    request.dbsession.flush()
    request.session.flash(f"Credential {name} has been created.")
    return HTTPFound(_list_url(request, access, server))


def _load(request, server) -> Credential:
    credential = request.dbsession.scalar(
        select(Credential).where(
            Credential.uuid == request.matchdict["credential"], Credential.server_id == server.id
        )
    )
    if credential is None:
        raise HTTPNotFound()
    return credential


@view_config(
    route_name="credential",
    request_method="GET",
    renderer="credentials/edit.jinja2",
    permission="web",
)
def edit_form(request):
    access, server = load_server(request)
    return server_page(request, access, server, credential=_load(request, server), error=None)


@view_config(
    route_name="credential",
    request_method="POST",
    renderer="credentials/edit.jinja2",
    permission="web",
)
def edit_submit(request):
    access, server = load_server(request)
    credential = _load(request, server)
    try:
        name = text(request, "name", required="Give the credential a name.")
        key = credential.key
        if credential.type == CredentialType.SMTP_IP:
            key = _network(text(request, "key", max_length=64))
    except FormError as exc:
        return server_page(request, access, server, credential=credential, error=str(exc))
    credential.name, credential.key, credential.hold = name, key, checkbox(request, "hold")
    request.session.flash(f"Credential {name} has been saved.")
    return HTTPFound(_list_url(request, access, server))


@view_config(route_name="credential.delete", request_method="POST", permission="web")
def delete(request):
    access, server = load_server(request)
    credential = _load(request, server)
    request.dbsession.delete(credential)
    request.session.flash(f"Credential {credential.name} has been deleted.")
    return HTTPFound(_list_url(request, access, server))
