"""Every web form refuses a POST without its CSRF token; the APIs never ask for one."""

from __future__ import annotations

import re

import pytest
from pyramid.interfaces import IRoutesMapper


def post_routes(registry) -> list[tuple[str, str]]:
    """(route name, pattern) of every non-API route with a view that accepts POST."""
    routes = {}
    for item in registry.introspector.get_category("views"):
        view = item["introspectable"]
        methods = view["request_methods"]
        methods = (methods,) if isinstance(methods, str) else methods
        if view["route_name"] and (methods is None or "POST" in methods):
            routes[view["route_name"]] = None
    mapper = registry.queryUtility(IRoutesMapper)
    found = []
    for route in mapper.get_routes():
        web_path = route.pattern.startswith("/") and not route.pattern.startswith("/api/")
        if route.name in routes and web_path:
            found.append((route.name, route.pattern))
    return sorted(found)


def fill(pattern: str) -> str:
    """Any value fits: the CSRF check runs before the view looks anything up."""
    return re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: "1" if m.group(2) and "d" in m.group(2)
                  else ("outgoing" if m.group(1) == "scope" else "x"), pattern)  # fmt: skip


@pytest.fixture
def signed_in(browser, data):
    browser.sign_in(data.user(admin=True).email_address)
    return browser


def test_every_post_route_requires_a_csrf_token(signed_in, web_app):
    registry = web_app.app.registry
    routes = post_routes(registry)
    names = {name for name, _ in routes}
    # The walk must see the forms that matter, or it proves nothing.
    assert {"login", "logout", "org.new", "server.settings", "domains", "credentials",
            "tokens", "users.new", "invite"} <= names  # fmt: skip
    for name, pattern in routes:
        path = fill(pattern)
        response = signed_in.app.post(path, {"name": "x"}, status=400, expect_errors=True)
        assert "CSRF" in response.text, f"{name} ({path}) accepted a POST without a token"
        wrong = signed_in.app.post(path, {"csrf_token": "forged"}, status=400)
        assert "CSRF" in wrong.text, f"{name} ({path}) accepted a forged token"


def test_a_valid_token_is_accepted(signed_in):
    response = signed_in.post("/org/new", {"name": "Acme"}, status=302)
    assert response.location == "http://localhost/org/acme"


def test_the_token_header_works_too(signed_in):
    token = signed_in.token()
    response = signed_in.app.post("/org/new", {"name": "Beta"},
                                  headers={"X-CSRF-Token": token}, status=302)  # fmt: skip
    assert response.location == "http://localhost/org/beta"


def test_api_posts_need_no_csrf_token(web_app, data):
    _user, headers = data.auth()
    web_app.post_json("/api/v2/organizations", {"name": "Acme"}, headers=headers, status=201)
