"""The OpenAPI document: valid, complete, and never out of step with the routes and views."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from tests.fixtures.openapi import PREFIX


METHODS = {"get", "put", "post", "patch", "delete", "options", "head", "trace"}


def api_v2_routes(config) -> dict[str, str]:
    """Route name -> pattern for every route under /api/v2 (patterns may lack the "/")."""
    patterns = {
        route.name: "/" + route.pattern.lstrip("/")
        for route in config.get_routes_mapper().get_routes()
    }
    return {name: p for name, p in patterns.items() if p.startswith(PREFIX + "/")}


def registered_operations(config) -> set[tuple[str, str]]:
    """``(path relative to /api/v2, method)`` for every view on a route under /api/v2."""
    patterns = api_v2_routes(config)
    operations = set()
    for view in config.registry.introspector.get_category("views"):
        introspectable = view["introspectable"]
        pattern = patterns.get(introspectable["route_name"])
        if pattern is None:
            continue
        methods = introspectable["request_methods"]
        assert methods, f"the view of {pattern} takes any method; give it request_method"
        for method in [methods] if isinstance(methods, str) else methods:
            operations.add((pattern.removeprefix(PREFIX), method.lower()))
    return operations


def documented_operations(document) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }


def test_the_document_is_valid_openapi(testapp):
    response = testapp.get("/api/v2/openapi.json")
    assert response.content_type == "application/json"
    assert response.json["openapi"].startswith("3.1")
    validate(response.json)


def test_every_view_is_documented_and_every_operation_has_a_view(web_config, openapi_document):
    registered = registered_operations(web_config)
    documented = documented_operations(openapi_document.document)
    # The introspection really finds the views (it would pass vacuously otherwise).
    assert ("/organizations", "post") in registered
    assert registered - documented == set(), "views without documentation"
    assert documented - registered == set(), "documented operations without a view"


def test_every_route_under_api_v2_has_a_view(web_config):
    routes = {pattern.removeprefix(PREFIX) for pattern in api_v2_routes(web_config).values()}
    with_views = {path for path, _method in registered_operations(web_config)}
    assert routes - with_views == set()


def test_path_parameters_match_the_routes(openapi_document):
    for path, item in openapi_document.document["paths"].items():
        names = re.findall(r"{(\w+)}", path)
        documented = [p["name"] for p in item.get("parameters", []) if p["in"] == "path"]
        assert documented == names, path


def test_every_operation_documents_its_errors(openapi_document):
    for path, item in openapi_document.document["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation["responses"]
            assert operation["operationId"] and operation["summary"], (path, method)
            assert any(code.startswith("2") for code in responses), (path, method)
            if operation.get("security") != []:
                assert "401" in responses, (path, method)
            if "{" in path:
                assert "404" in responses, (path, method)
            if "requestBody" in operation:
                assert {"400", "422"} <= set(responses), (path, method)


def test_operation_ids_are_unique(openapi_document):
    ids = [
        operation["operationId"]
        for item in openapi_document.document["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    ]
    assert len(ids) == len(set(ids))


def test_the_document_needs_no_token_and_declares_bearer_auth(testapp):
    document = testapp.get("/api/v2/openapi.json").json
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    assert document["security"] == [{"bearerAuth": []}]
    assert document["paths"]["/openapi.json"]["get"]["security"] == []


@pytest.mark.parametrize(
    "name", ["Organization", "Member", "Server", "Domain", "DnsRecord", "Credential", "User"]
)
def test_object_schemas_are_closed(openapi_document, name):
    """Responses are checked against closed schemas, so an undocumented field fails a test."""
    schema = openapi_document.document["components"]["schemas"][name]
    assert schema["additionalProperties"] is False


def test_a_response_that_drifts_from_the_document_fails_validation(openapi_document):
    """The checker used by every API test really checks (it would catch a drifted field)."""
    organization = {
        "uuid": "0b9b4b0c-1c8e-4f57-9d5a-1f7d2e2a3b4c",
        "name": "Acme",
        "permalink": "acme",
        "time_zone": "UTC",
        "suspended": False,
        "created_at": "2024-01-01T00:00:00Z",
    }
    path = f"/api/v2/organizations/{organization['uuid']}"
    openapi_document.validate("GET", path, 200, organization)
    with pytest.raises(pytest.fail.Exception):
        openapi_document.validate("GET", path, 200, {**organization, "extra": 1})
    with pytest.raises(pytest.fail.Exception):
        openapi_document.validate("GET", path, 200, {**organization, "suspended": "no"})
    with pytest.raises(AssertionError):
        openapi_document.validate("GET", path, 418, organization)


def test_an_area_cannot_silently_replace_another_areas_description(monkeypatch):
    from postal.api.v2 import openapi

    monkeypatch.setattr(openapi, "AREAS", ("users", "users"))
    with pytest.raises(ValueError, match="openapi_areas.users redefines"):
        openapi.build_document()
