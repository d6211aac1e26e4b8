"""Security headers on every web (non-API) response.

Views that need other values (the sandboxed HTML preview) set the header themselves; only
missing headers are added here.
"""

from __future__ import annotations

from pyramid.events import NewResponse


PAGE_CSP = (
    "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'; img-src 'self' data:"
)

HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": PAGE_CSP,
}


def add_security_headers(event: NewResponse) -> None:
    if event.request.path_info.startswith("/api/"):
        return
    headers = event.response.headers
    for name, value in HEADERS.items():
        if name not in headers:
            headers[name] = value


def includeme(config) -> None:
    config.add_subscriber(add_security_headers, NewResponse)
