"""Tenant isolation in the web UI, walked over every route Pyramid has registered.

A signed-in intruder (a user with an organisation of their own, not an admin) asks for every
page of the victim's organisation, server and objects, and POSTs every form with a valid CSRF
token: the answer is 403 or 404 and shows nothing of the victim's.  Routes that belong to no
tenant are listed in ``NOT_TENANT_SCOPED`` with the reason; a new route that is in neither
place fails ``test_every_web_route_is_walked``.  (That every form refuses a POST without its
CSRF token is walked the same way by ``tests/functional/test_web_csrf.py``.)
"""

from __future__ import annotations

import re
import uuid

import pytest
from pyramid.interfaces import IRoutesMapper


pytestmark = pytest.mark.functional

NOT_TENANT_SCOPED = {
    "__static/": "static files",
    "home": "the signed-in user's own organisations",
    "health": "liveness, no data",
    "well_known.jwks": "public signing keys, by design",
    "login": "signing in",
    "logout": "signing out",
    "login.reset": "asks for an e-mail address",
    "login.reset_token": "a secret token is the only key (tests/functional/test_web_auth.py)",
    "invite": "a secret token is the only key (tests/functional/test_web_auth.py)",
    "account": "the signed-in user's own settings",
    "account.password": "the signed-in user's own password",
    "tokens": "the signed-in user's own API tokens",
    "org.new": "creates an organisation of one's own",
}
# Installation-wide pages: every one refuses a user who is not an admin.
ADMIN_ONLY_PREFIXES = ("/users", "/admin/", "/ip_pools")


def web_routes(registry) -> dict[str, str]:
    return {
        route.name: "/" + route.pattern.lstrip("/")
        for route in registry.queryUtility(IRoutesMapper).get_routes()
        if not route.pattern.lstrip("/").startswith("api/")
    }


def fill(pattern: str, victim) -> str:
    values = {
        "org": victim.organization["permalink"],
        "server": victim.server["permalink"],
        "kind": "http",
        "scope": "outgoing",
        "log": "1",
        "index": "0",
        "address": "1",
        "invite": str(uuid.uuid4()),
    }

    def value(match):
        name = match.group(1)
        return values.get(name) or victim.ids[name]

    return re.sub(r"{(\w+)(?::[^}]*)?}", value, pattern)


def test_every_web_route_is_walked(web_app):
    routes = web_routes(web_app.app.registry)
    walked = {
        name for name, p in routes.items() if "{org}" in p or p.startswith(ADMIN_ONLY_PREFIXES)
    }
    walked |= {"token.delete"}
    assert set(routes) - walked - set(NOT_TENANT_SCOPED) == set(), "route without an isolation case"
    assert len(walked) >= 60


def test_no_page_or_form_of_another_tenant_answers(web_app, browser, testapp, victim, intruder):
    browser.sign_in(intruder.user.email_address)
    routes = web_routes(web_app.app.registry)
    token = browser.token()
    checked = 0
    for name, pattern in sorted(routes.items()):
        if name in NOT_TENANT_SCOPED:
            continue
        path = fill(pattern, victim)
        for method in ("get", "post"):
            if method == "get":
                response = web_app.get(path, expect_errors=True)
            else:
                response = web_app.post(
                    path, {"csrf_token": token, "name": "x"}, expect_errors=True
                )
            what = f"{method.upper()} {name} ({path})"
            assert response.status_int in (403, 404, 405), f"{what}: {response.status}"
            for secret in victim.secrets | {victim.organization["name"]}:
                assert secret not in response.text, f"{what} shows {secret!r}"
            checked += 1
    assert checked >= 120
    # The intruder's attempts changed nothing: the victim's objects are all still there.
    for kind in ("domains", "credentials", "webhooks", "routes", "track-domains", "servers"):
        key = {"track-domains": "track_domain"}.get(kind, kind[:-1])
        response = testapp.get(f"/api/v2/{kind}/{victim.ids[key]}", headers=victim.headers)
        assert response.status_int == 200
