"""Management API authentication with ``Authorization: Bearer <token>``."""

from __future__ import annotations

from postal import hookimpl
from postal.accounts import user_for_token


@hookimpl(trylast=True)
def postal_authenticate_request(request):
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return user_for_token(request.dbsession, token.strip())
