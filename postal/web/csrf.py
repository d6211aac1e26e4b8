"""CSRF protection for every web form; the APIs are exempt (bearer tokens, no cookies).

Pyramid checks the token (form field ``csrf_token`` or header ``X-CSRF-Token``) and, over
HTTPS, the Origin/Referer on every request whose method is not GET, HEAD, OPTIONS or TRACE.
Plugins with cookie-less POST endpoints add path prefixes to
``registry["postal.csrf_exempt_prefixes"]``.
"""

from __future__ import annotations


EXEMPT_PREFIXES = ["/api/"]


def csrf_required(request) -> bool:
    prefixes = request.registry.get("postal.csrf_exempt_prefixes", EXEMPT_PREFIXES)
    if request.path_info.startswith(tuple(prefixes)):
        return False
    # Tracking hits arrive on customers' tracking domains, never from our forms.
    return "HTTP_X_POSTAL_TRACK_HOST" not in request.environ


def includeme(config) -> None:
    config.registry["postal.csrf_exempt_prefixes"] = list(EXEMPT_PREFIXES)
    config.set_default_csrf_options(require_csrf=True, callback=csrf_required)
