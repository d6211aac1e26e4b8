"""Tenant isolation, walked over every API route the application registers.

Each API v2 operation (from Pyramid's introspector, so a new route is walked the day it is
added) is called by an intruder — a user with an organisation of their own — with the
victim's ids in the path: the answer is 403 or 404, and none of the victim's ids or secrets
appears in it.  Operations without ids (listings, creating one's own objects) must not show
anything of the victim's either.  API v1 is walked the same way with the intruder's server
API key against the victim's message.
"""

from __future__ import annotations

import re

import pytest

from tests.functional.test_api_v2_openapi import registered_operations


pytestmark = pytest.mark.functional

# Path parameters whose name alone does not say which of the victim's objects they take.
ENDPOINT_PARAMETER = {
    "/smtp-endpoints/{endpoint}": "smtp_endpoint",
    "/address-endpoints/{endpoint}": "address_endpoint",
}
# Operations open to anyone or without ids; still checked for leaks, not for a refusal.
WITHOUT_IDS_STATUSES = {200, 201, 400, 403, 404, 409, 422}
BODIES = {
    "post": {"name": "x", "address": "x@y.example", "email_address": "i@intruder.example",
             "type": "API", "url": "https://x.example", "hostname": "x.example",
             "ipv4": "192.0.2.9", "ip_pool": "x", "domain": "x"},
    "patch": {"name": "renamed"},
    "put": {"ip_pools": [], "ip_pool": None},
    "delete": None, "get": None,
}  # fmt: skip


def fill(path: str, ids: dict) -> str:
    def value(match):
        name = (
            ENDPOINT_PARAMETER.get(path, match.group(1))
            if match.group(1) == "endpoint"
            else match.group(1)
        )
        assert name in ids, f"the victim has no object for {{{name}}} in {path}: add one"
        return ids[name]

    return re.sub(r"{(\w+)}", value, path)


def assert_no_leak(response, victim, what: str) -> None:
    text = response.text
    for secret in victim.secrets:
        assert secret not in text, f"{what} shows the victim's {secret!r}"


def call(testapp, method, path, headers, body):
    kwargs = {"headers": headers, "expect_errors": True}
    if body is not None:
        return getattr(testapp, f"{method}_json")(path, body, **kwargs)
    return getattr(testapp, method)(path, **kwargs)


def test_every_api_v2_operation_refuses_another_tenants_ids(web_config, testapp, victim, intruder):
    operations = sorted(registered_operations(web_config))
    with_ids = [(p, m) for p, m in operations if "{" in p]
    assert len(with_ids) >= 40, "the walk found too few operations to prove anything"
    for path, method in with_ids:
        url = "/api/v2" + fill(path, victim.ids)
        response = call(testapp, method, url, intruder.headers, BODIES[method])
        what = f"{method.upper()} {path}"
        assert response.status_int in (403, 404), f"{what}: {response.status} {response.text[:200]}"
        assert_no_leak(response, victim, what)
    # The victim's objects are all still there and unchanged by the intruder's attempts.
    for path, method in with_ids:
        if method == "get":
            url = "/api/v2" + fill(path, victim.ids)
            assert call(testapp, "get", url, victim.headers, None).status_int == 200, path


def test_operations_without_ids_show_nothing_of_another_tenant(
    web_config, testapp, victim, intruder
):
    operations = sorted(p_m for p_m in registered_operations(web_config) if "{" not in p_m[0])
    assert ("/organizations", "get") in operations
    for path, method in operations:
        response = call(testapp, method, "/api/v2" + path, intruder.headers, BODIES[method])
        what = f"{method.upper()} {path}"
        assert response.status_int in WITHOUT_IDS_STATUSES, f"{what}: {response.status}"
        assert_no_leak(response, victim, what)


def test_no_api_v2_operation_answers_without_a_token(web_config, testapp, victim):
    for path, method in sorted(registered_operations(web_config)):
        if path == "/openapi.json":
            continue
        url = "/api/v2" + fill(path, victim.ids)
        response = call(testapp, method, url, {}, BODIES[method])
        assert response.status_int == 401, f"{method.upper()} {path}: {response.status}"
        forged = call(testapp, method, url, {"Authorization": "Bearer forged"}, BODIES[method])
        assert forged.status_int == 401, f"{method.upper()} {path} with a forged token"


V1_CALLS = {
    "api.v1.messages.message": ("/api/v1/messages/message", "id"),
    "api.v1.messages.deliveries": ("/api/v1/messages/deliveries", "id"),
    "api.v1.send.message": ("/api/v1/send/message", None),
    "api.v1.send.raw": ("/api/v1/send/raw", None),
}


def test_every_api_v1_route_keeps_servers_apart(web_config, testapp, victim, intruder):
    routes = {
        r.name for r in web_config.get_routes_mapper().get_routes() if r.name.startswith("api.v1.")
    }
    assert routes == set(V1_CALLS), "a new API v1 route needs an isolation case here"
    key = {"X-Server-API-Key": intruder.api_key}
    for path, parameter in (V1_CALLS[name] for name in sorted(routes)):
        if parameter:
            body = {"id": int(victim.ids["message"]), "_expansions": True}
            response = testapp.post_json(path, body, headers=key)
            assert response.json["status"] == "error"
            assert response.json["data"]["code"] == "MessageNotFound", path
        else:
            # Sending as the victim's verified domain with the intruder's key is refused.
            body = {"to": ["x@far.example"], "from": "a@victim.example", "plain_body": "x",
                    "mail_from": "a@victim.example", "rcpt_to": ["x@far.example"],
                    "data": "RnJvbTogYUB2aWN0aW0uZXhhbXBsZQ0KDQp4DQo="}  # fmt: skip
            response = testapp.post_json(path, body, headers=key)
            assert response.json["status"] == "error", path
            assert response.json["data"]["code"] == "UnauthenticatedFromAddress", path
        assert_no_leak(response, victim, path)
