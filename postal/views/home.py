"""The landing page and the web process's health check."""

from pyramid.view import view_config

from .. import __version__


@view_config(route_name="home", renderer="home/index.jinja2")
def home(request):
    return {"version": __version__, "openapi_url": request.route_url("api.v2.openapi")}


@view_config(route_name="health", renderer="string")
def health(request):
    return "OK"
