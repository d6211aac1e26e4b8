"""Signing in with a password, signing out, and password resets by e-mail."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config
from sqlalchemy import select

from ..accounts import UserError, normalise_email
from ..models import User, utcnow
from ..models.user import MIN_PASSWORD_LENGTH
from ..web.auth import client_ip, login, logout, safe_next
from ..web.mailer import send_after_commit


RESET_VALID_FOR = dt.timedelta(hours=1)
RESET_SENT = (
    "If an account exists for that address, we have sent it a link to choose a new password."
)


def local_login_enabled(request) -> bool:
    return request.registry.settings.get("oidc.local_authentication_enabled", True)


@view_config(route_name="login", request_method="GET", renderer="auth/login.jinja2")
def login_form(request):
    if request.identity is not None:
        return HTTPFound(safe_next(request, request.GET.get("next")))
    return {"next": request.GET.get("next", ""), "email": "", "error": None}


@view_config(route_name="login", request_method="POST", renderer="auth/login.jinja2")
def login_submit(request):
    email = (request.POST.get("email_address") or "").strip()
    password = request.POST.get("password") or ""
    next_url = request.POST.get("next", "")
    result = {"next": next_url, "email": email, "error": None}
    if not local_login_enabled(request):
        result["error"] = "Passwords are turned off here; sign in with the button below."
        request.response.status_int = 403
        return result
    limiter = request.registry["postal.login_limiter"]
    keys = (f"ip:{client_ip(request)}", f"email:{email.lower()}")
    wait = limiter.blocked_for(*keys)
    if wait:
        request.response.status_int = 429
        minutes = max(1, math.ceil(wait / 60))
        result["error"] = f"Too many failed sign-ins. Try again in {minutes} minute(s)."
        return result
    user = request.hooks.postal_authenticate_user(request=request, email=email, password=password)
    if user is None:
        limiter.failed(*keys)
        request.response.status_int = 401
        result["error"] = "The e-mail address or password is not right."
        return result
    limiter.reset(keys[1])
    login(request, user)
    return HTTPFound(safe_next(request, next_url))


@view_config(route_name="logout", request_method="POST")
def logout_submit(request):
    logout(request)
    request.session.flash("You have signed out.")
    return HTTPFound(request.route_url("login"))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@view_config(route_name="login.reset", request_method="GET", renderer="auth/reset.jinja2")
def reset_form(request):
    return {"sent": False, "error": None}


@view_config(route_name="login.reset", request_method="POST", renderer="auth/reset.jinja2")
def reset_submit(request):
    limiter = request.registry["postal.login_limiter"]
    key = f"reset:{client_ip(request)}"
    if limiter.blocked_for(key):
        request.response.status_int = 429
        return {"sent": False, "error": "Too many requests. Try again later."}
    limiter.failed(key)  # every reset request counts, so nobody can flood a mailbox
    try:
        email = normalise_email(request.POST.get("email_address", ""))
    except UserError as exc:
        return {"sent": False, "error": str(exc)}
    user = request.dbsession.scalar(select(User).where(User.email_address == email))
    if user is not None and local_login_enabled(request):
        token = secrets.token_urlsafe(32)
        user.password_reset_token = _token_hash(token)
        user.password_reset_token_valid_until = utcnow() + RESET_VALID_FOR
        link = _public_url(request, "login.reset_token", token=token)
        send_after_commit(
            request,
            user.email_address,
            "Reset your Postal password",
            f"Hello {user.first_name},\n\nSomeone (hopefully you) asked to reset the password "
            f"of your Postal account. Choose a new one here within the next hour:\n\n{link}\n\n"
            "If you did not ask for this, ignore this message; your password stays as it is.\n",
        )
    return {"sent": True, "error": None}


def _public_url(request, route: str, **kw) -> str:
    """Links in e-mails use the configured host name, never the request's Host header."""
    settings = request.registry.settings
    base = f"{settings['postal.web_protocol']}://{settings['postal.web_hostname']}"
    return base + request.route_path(route, **kw)


def _reset_user(request) -> User:
    token = request.matchdict["token"]
    user = request.dbsession.scalar(
        select(User).where(User.password_reset_token == _token_hash(token))
    )
    valid = user is not None and user.password_reset_token_valid_until
    if not valid or user.password_reset_token_valid_until < utcnow():
        raise HTTPNotFound()
    return user


@view_config(
    route_name="login.reset_token", request_method="GET", renderer="auth/new_password.jinja2"
)
def new_password_form(request):
    _reset_user(request)
    return {"error": None}


@view_config(
    route_name="login.reset_token", request_method="POST", renderer="auth/new_password.jinja2"
)
def new_password_submit(request):
    user = _reset_user(request)
    password = request.POST.get("password", "")
    if len(password) < MIN_PASSWORD_LENGTH:
        return {"error": f"Use at least {MIN_PASSWORD_LENGTH} characters."}
    if password != request.POST.get("password_confirmation", ""):
        return {"error": "The two passwords are not the same."}
    user.set_password(password)
    user.password_reset_token = user.password_reset_token_valid_until = None
    request.session.flash("Your password has been changed. Sign in with it now.")
    return HTTPFound(request.route_url("login"))
