"""Web UI plumbing: sessions, CSRF, security headers, sign-in helpers, forms, search, charts.

``includeme`` is called by :mod:`postal.security` so the web role gets sessions and CSRF
before any view is added.
"""

from __future__ import annotations


def includeme(config) -> None:
    # Signed-cookie sessions first: CSRF tokens live in the session.
    config.include(".sessions")
    # CSRF on every unsafe request except the APIs (bearer tokens, no cookies).
    config.include(".csrf")
    # Security headers and template globals on web responses.
    config.include(".headers")
    config.include(".rendering")
    # One in-process limiter for failed sign-ins.
    config.include(".ratelimit")
