"""Who is making a request.

API requests (``/api/...``): plugins decide through ``postal_authenticate_request`` (bearer
tokens built in); cookies are never read there, so the APIs need no CSRF tokens.  Web pages:
the signed session cookie set at sign-in (:mod:`postal.web.auth`).
"""

from __future__ import annotations

from pyramid.authorization import Everyone
from pyramid.security import Allowed, Denied

from .web.auth import session_user


class SecurityPolicy:
    """Identity comes from the ``postal_authenticate_request`` hook (API tokens built in) for
    API paths and from the web session everywhere else.

    Authorisation is decided per object in the views (organisation membership), so
    ``permits`` only distinguishes signed-in users from anonymous ones.
    """

    def identity(self, request):
        cached = request.environ.get("postal.identity", _MISSING)
        if cached is _MISSING:
            if is_api_request(request):
                cached = request.hooks.postal_authenticate_request(request=request)
            else:
                cached = session_user(request)
            request.environ["postal.identity"] = cached
        return cached

    def authenticated_userid(self, request):
        user = self.identity(request)
        return user.uuid if user is not None else None

    def permits(self, request, context, permission):
        if permission == Everyone or self.identity(request) is not None:
            return Allowed("signed in")
        return Denied("not signed in")

    def remember(self, request, userid, **kw):
        return []

    def forget(self, request, **kw):
        return []


_MISSING = object()

API_PREFIX = "/api/"


def is_api_request(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def includeme(config) -> None:
    # Sessions, CSRF and security headers for the web pages.
    config.include("postal.web")
    config.set_security_policy(SecurityPolicy())
