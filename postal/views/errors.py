"""Error pages of the web UI (the APIs keep their JSON errors)."""

from __future__ import annotations

from urllib.parse import urlencode

from pyramid.exceptions import BadCSRFOrigin, BadCSRFToken
from pyramid.httpexceptions import HTTPFound
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config


NOT_API = r"^(?!/api/)"


@forbidden_view_config(path_info=NOT_API, renderer="errors/error.jinja2")
def forbidden(exc, request):
    if request.identity is None:
        target = request.path_qs if request.method == "GET" else None
        query = "?" + urlencode({"next": target}) if target else ""
        return HTTPFound(request.route_url("login") + query)
    request.response.status_int = 403
    message = exc.message if exc.message and "permission" not in exc.message else None
    return {"title": "Not allowed", "message": message or "You may not do this."}


@notfound_view_config(path_info=NOT_API, renderer="errors/error.jinja2")
def not_found(request):
    request.response.status_int = 404
    return {"title": "Not found", "message": "There is nothing here, or you may not see it."}


@exception_view_config(BadCSRFToken, renderer="errors/error.jinja2")
@exception_view_config(BadCSRFOrigin, renderer="errors/error.jinja2")
def bad_csrf(exc, request):
    request.response.status_int = 400
    return {
        "title": "Form expired",
        "message": "This form was refused because its security token was missing or stale "
        "(CSRF check). Go back, reload the page and try again.",
    }
