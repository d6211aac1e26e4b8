"""API v2 errors: ``{"error": {"code", "message"}}`` with a proper 4xx status."""

from __future__ import annotations

from pyramid.view import exception_view_config, notfound_view_config


class APIError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, code: str | None = None, status: int | None = None, **extra
    ):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status = status or self.status
        self.extra = extra


class Unauthenticated(APIError):
    status, code = 401, "unauthenticated"


class Forbidden(APIError):
    status, code = 403, "forbidden"


class NotFound(APIError):
    status, code = 404, "not_found"


class Conflict(APIError):
    status, code = 409, "conflict"


class ValidationFailed(APIError):
    status, code = 422, "validation_failed"


def error_body(code: str, message: str, **extra) -> dict:
    return {"error": {"code": code, "message": message, **extra}}


@exception_view_config(APIError, renderer="json")
def api_error(exc, request):
    request.response.status_int = exc.status
    if exc.status == 401:
        request.response.headers["WWW-Authenticate"] = 'Bearer realm="postal"'
    return error_body(exc.code, exc.message, **exc.extra)


@notfound_view_config(path_info=r"^/api/v2(/|$)", renderer="json")
def api_not_found(request):
    if request.matched_route is not None:
        # The path exists but no view takes this method (a predicate mismatch).
        request.response.status_int = 405
        request.response.headers["Allow"] = ", ".join(_allowed_methods(request))
        return error_body(
            "method_not_allowed", f"{request.method} is not allowed on {request.path}"
        )
    request.response.status_int = 404
    return error_body("not_found", f"No API v2 operation at {request.path}")


def _allowed_methods(request) -> list[str]:
    route_name = request.matched_route.name
    methods = set()
    for view in request.registry.introspector.get_category("views"):
        if view["introspectable"]["route_name"] == route_name:
            methods.update(_as_tuple(view["introspectable"]["request_methods"]))
    return sorted(methods)


def _as_tuple(methods) -> tuple[str, ...]:
    if methods is None:
        return ()
    return (methods,) if isinstance(methods, str) else tuple(methods)
