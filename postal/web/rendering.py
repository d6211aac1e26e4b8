"""Values every template gets: the signed-in user, the version, a CSRF token, formatters."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from markupsafe import Markup
from pyramid.csrf import get_csrf_token
from pyramid.events import BeforeRender

from .. import __version__


def _zone(user) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(user.time_zone) if user is not None else dt.UTC
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return dt.UTC


def add_globals(event: BeforeRender) -> None:
    if not str(event.get("renderer_name", "")).endswith(".jinja2"):
        return
    request = event["request"]
    if request is None:
        return
    user = request.identity
    zone = _zone(user)

    def when(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(zone).strftime(fmt) if value else "—"

    def csrf_field() -> Markup:
        token = get_csrf_token(request)
        return Markup('<input type="hidden" name="csrf_token" value="{}">').format(token)

    event.setdefault("version", __version__)
    event.setdefault("user", user)
    event.setdefault("settings", request.registry.settings)
    event["csrf_field"] = csrf_field
    event["when"] = when
    event["flashes"] = lambda: (
        [("notice", m) for m in request.session.pop_flash()]
        + [("error", m) for m in request.session.pop_flash("error")]
    )


def includeme(config) -> None:
    config.add_subscriber(add_globals, BeforeRender)
