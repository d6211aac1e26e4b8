"""``/auth/oidc`` starts a sign-in at the provider; ``/auth/oidc/callback`` finishes it."""

from __future__ import annotations

import logging
import secrets

from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config
from sqlalchemy import select

from postal.models import User
from postal.web.auth import login, safe_next

from .client import OIDCClient, OIDCError, pkce_pair


log = logging.getLogger(__name__)
PENDING = "oidc.pending"


def _client(request) -> OIDCClient:
    return request.registry["postal.oidc_client"]


def redirect_uri(request) -> str:
    """Registered at the provider, so built from settings, not from the Host header."""
    settings = request.registry.settings
    base = f"{settings['postal.web_protocol']}://{settings['postal.web_hostname']}"
    return base + request.route_path("oidc.callback")


@view_config(route_name="oidc.start", request_method="GET")
def start(request):
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier, challenge = pkce_pair()
    try:
        url = _client(request).authorization_url(redirect_uri(request), state, nonce, challenge)
    except OIDCError as exc:
        return _failed(request, exc)
    request.session[PENDING] = {"state": state, "nonce": nonce, "verifier": verifier,
                                "next": request.GET.get("next", "")}  # fmt: skip
    return HTTPFound(url)


@view_config(route_name="oidc.callback", request_method="GET")
def callback(request):
    pending = request.session.pop(PENDING, None)
    if request.GET.get("error"):
        return _failed(
            request, OIDCError(request.GET.get("error_description") or request.GET["error"])
        )
    if not pending or not secrets.compare_digest(request.GET.get("state", ""), pending["state"]):
        return _failed(request, OIDCError("this sign-in expired or was not started here"))
    client = _client(request)
    try:
        tokens = client.exchange(
            request.GET.get("code", ""), redirect_uri(request), pending["verifier"]
        )
        claims = client.verify_id_token(tokens.get("id_token", ""), pending["nonce"])
        if tokens.get("access_token"):
            claims = {**claims, **client.userinfo(tokens["access_token"])}
        user = find_user(request, client.issuer, claims)
    except OIDCError as exc:
        return _failed(request, exc)
    login(request, user)
    return HTTPFound(safe_next(request, pending.get("next")))


def find_user(request, issuer: str, claims: dict) -> User:
    """By issuer and subject; the first time by e-mail address, then linked."""
    settings = request.registry.settings
    uid = str(claims.get(settings["oidc.uid_field"]) or "")
    if not uid:
        raise OIDCError("the provider did not say who you are")
    user = request.dbsession.scalar(
        select(User).where(User.oidc_issuer == issuer, User.oidc_uid == uid)
    )
    if user is not None:
        return user
    email = str(claims.get(settings["oidc.email_address_field"]) or "").strip().lower()
    if email and claims.get("email_verified") is False:
        raise OIDCError("the provider has not verified your e-mail address")
    user = email and request.dbsession.scalar(select(User).where(User.email_address == email))
    if not user:
        raise OIDCError(f"there is no Postal account for {email or 'this identity'}; ask an admin")
    if user.oidc_uid and (user.oidc_uid, user.oidc_issuer) != (uid, issuer):
        raise OIDCError(f"{email} is already linked to another identity")
    user.oidc_uid, user.oidc_issuer = uid, issuer
    return user


def _failed(request, exc: Exception):
    log.info("OpenID Connect sign-in failed: %s", exc)
    request.session.flash(
        f"Sign-in with {request.registry.settings['oidc.name']} failed: {exc}.", "error"
    )
    return HTTPFound(request.route_url("login"))


def includeme(config) -> None:
    config.registry["postal.oidc_client"] = OIDCClient(config.get_settings())
    config.add_route("oidc.start", "/auth/oidc")
    config.add_route("oidc.callback", "/auth/oidc/callback")
    config.scan("plugins.oidc.views")
