"""Who is making a request: plugins decide through ``postal_authenticate_request``."""

from __future__ import annotations

from pyramid.authorization import Everyone
from pyramid.security import Allowed, Denied


class SecurityPolicy:
    """Identity comes from the ``postal_authenticate_request`` hook (API tokens built in).

    Authorisation is decided per object in the views (organisation membership), so
    ``permits`` only distinguishes signed-in users from anonymous ones.
    """

    def identity(self, request):
        cached = request.environ.get("postal.identity", _MISSING)
        if cached is _MISSING:
            cached = request.hooks.postal_authenticate_request(request=request)
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


def includeme(config) -> None:
    config.set_security_policy(SecurityPolicy())
