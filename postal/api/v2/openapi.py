"""The OpenAPI 3.1 document of API v2, built in Python, served at ``GET /api/v2/openapi.json``.

Each area of the API describes its own operations in a module of ``openapi_areas`` exposing
``TAG`` (name and description), ``SCHEMAS`` (component schemas) and ``PATHS`` (path items,
paths relative to ``/api/v2``).  To document a new area, add such a module and its name to
``AREAS``; ``tests/functional/test_api_v2_openapi.py`` fails while any route under
``/api/v2`` is undocumented or any documented operation has no view.

Area modules build operations with :func:`operation` and the schema helpers below, so the
error responses every operation shares are added in one place:

* 401 for every operation that needs a token (all but this document),
* 400 and 422 for every operation with a request body,
* 404 for every operation on a path with a ``{uuid}`` parameter,
* 422 for paged lists (bad ``page`` / ``per_page``).
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from pyramid.view import view_config

from ... import __version__


# The areas documented, in the order their tags are listed.
AREAS = (
    "users", "organizations", "servers", "domains", "credentials", "webhooks", "messages",
    "suppressions", "track_domains", "routes", "endpoints", "ip_pools", "stats",
)  # fmt: skip

JSON = "application/json"
PATH_PARAMETER = re.compile(r"{(\w+)}")

# Shared error responses (components/responses), keyed by status.
ERROR_RESPONSES: dict[int, tuple[str, str, tuple[str, ...]]] = {
    400: ("InvalidJSON", "The request body is not a JSON object.", ("invalid_json",)),
    401: ("Unauthenticated", "No valid API token was sent.", ("unauthenticated",)),
    403: ("Forbidden", "The token's user may see the object but not do this.", ("forbidden",)),
    404: ("NotFound", "No such object, or not one the token's user may see.", ("not_found",)),
    409: ("Conflict", "The object would clash with an existing one.", ("conflict",)),
    422: ("ValidationFailed", "A field is missing, unknown or invalid.", ("validation_failed",)),
}


# --- Schema helpers -----------------------------------------------------------------------


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Any], *, required: list[str] | None = None, **extra) -> dict:
    """A closed object; every property is required unless ``required`` says otherwise."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
        **extra,
    }


def string(description: str | None = None, **extra) -> dict[str, Any]:
    return {"type": "string", **({"description": description} if description else {}), **extra}


UUID = string(format="uuid")
TIMESTAMP = string("UTC, ISO 8601.", format="date-time")
PERMALINK = string(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", maxLength=63)


def paged(item_schema: str) -> dict[str, Any]:
    return obj({"data": {"type": "array", "items": ref(item_schema)}, "meta": ref("PageMeta")})


# --- Operations ---------------------------------------------------------------------------

PAGE_PARAMETERS = [
    {
        "name": "page",
        "in": "query",
        "description": "Page number, from 1.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
    },
    {
        "name": "per_page",
        "in": "query",
        "description": "Items per page.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 30},
    },
]


def operation(
    operation_id: str,
    summary: str,
    *,
    status: int = 200,
    response: str | dict | None = None,
    body: str | None = None,
    errors: dict[int, str | None] | None = None,
    paged_list: bool = False,
    description: str | None = None,
    public: bool = False,
) -> dict[str, Any]:
    """One operation.  ``response`` names the success schema (``None`` with status 204);
    ``errors`` adds statuses beyond the shared ones, each with an optional description of
    when it is answered (``None`` keeps the shared description)."""
    op: dict[str, Any] = {"operationId": operation_id, "summary": summary}
    if description:
        op["description"] = description
    if paged_list:
        op["parameters"] = PAGE_PARAMETERS
    if body:
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": ref(body)}}}
    if public:
        op["security"] = []
    success: dict[str, Any] = {"description": "No content." if status == 204 else "Success."}
    if response is not None:
        schema = ref(response) if isinstance(response, str) else response
        success["content"] = {JSON: {"schema": schema}}
    op["responses"] = {str(status): success}
    shared = set() if public else {401}
    if body:
        shared |= {400, 422}
    if paged_list:
        shared.add(422)
    for code in sorted(shared | set(errors or {})):
        op["responses"][str(code)] = _error_response(code, (errors or {}).get(code))
    return op


def _error_response(code: int, description: str | None) -> dict[str, Any]:
    name = ERROR_RESPONSES[code][0]
    if description is None:
        return {"$ref": f"#/components/responses/{name}"}
    return {"description": description, "content": {JSON: {"schema": ref("Error")}}}


# --- The document -------------------------------------------------------------------------

COMMON_SCHEMAS = {
    "Error": obj(
        {
            "error": obj(
                {
                    "code": string("Machine-readable: invalid_json, unauthenticated, …"),
                    "message": string("For people; safe to show."),
                    "field": string("The request field at fault, when there is one."),
                },
                required=["code", "message"],
            )
        }
    ),
    "PageMeta": obj(
        {
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
            "total": {"type": "integer", "minimum": 0, "description": "Items on all pages."},
        }
    ),
}

DESCRIPTION = """\
Management API: organisations, servers and their settings, domains, credentials, users and
API tokens.  Send `Authorization: Bearer <token>` (from `postal create-api-token` or
`POST /api/v2/tokens`).  Objects are addressed by `uuid`.  Errors are
`{"error": {"code", "message", "field"?}}` with a 4xx status; a path that exists answers
405 `method_not_allowed` to a method it does not support."""


def _path_item(path: str, operations: dict[str, Any]) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": string()}
        for name in PATH_PARAMETER.findall(path)
    ]
    item = {"parameters": parameters} if parameters else {}
    for method, op in operations.items():
        if parameters and "404" not in op["responses"]:
            op = {**op, "responses": {**op["responses"], "404": _error_response(404, None)}}
        item[method] = op
    return item


def build_document() -> dict[str, Any]:
    paths: dict[str, Any] = {"/openapi.json": _path_item("/openapi.json", SELF_PATH)}
    schemas = dict(COMMON_SCHEMAS)
    tags = [{"name": "Meta", "description": "This document."}]
    for name in AREAS:
        area = importlib.import_module(f"{__package__}.openapi_areas.{name}")
        tags.append(area.TAG)
        # Two areas defining one name would silently replace each other's description.
        _refuse_duplicates(name, schemas, area.SCHEMAS, "schema")
        _refuse_duplicates(name, paths, area.PATHS, "path")
        schemas.update(area.SCHEMAS)
        for path, operations in area.PATHS.items():
            tagged = {
                method: {"tags": [area.TAG["name"]], **op} for method, op in operations.items()
            }
            paths[path] = _path_item(path, tagged)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Postal management API",
            "version": __version__,
            "description": DESCRIPTION,
        },
        "servers": [{"url": "/api/v2"}],
        "security": [{"bearerAuth": []}],
        "tags": tags,
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
            "responses": {
                name: {
                    "description": description,
                    "content": {JSON: {"schema": ref("Error"), "example": _example(codes[0])}},
                }
                for name, description, codes in ERROR_RESPONSES.values()
            },
        },
    }


def _refuse_duplicates(area: str, existing: dict, new: dict, kind: str) -> None:
    clashes = sorted(set(existing) & set(new))
    if clashes:
        raise ValueError(f"openapi_areas.{area} redefines {kind} {clashes[0]!r}")


def _example(code: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": "…"}}


SELF_PATH = {
    "get": {
        **operation(
            "getOpenAPIDocument",
            "This OpenAPI document",
            response={"type": "object"},
            public=True,
        ),
        "tags": ["Meta"],
    }
}


@view_config(route_name="api.v2.openapi", request_method="GET", renderer="json")
def openapi_document(request):
    # Built once per application; the document depends on nothing but the code.
    document = request.registry.get("postal.api.v2.openapi")
    if document is None:
        document = request.registry["postal.api.v2.openapi"] = build_document()
    return document
