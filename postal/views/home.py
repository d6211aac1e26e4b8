"""The organisation list (the home page) and the web process's health check."""

from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from ..web.access import organizations_for


@view_config(
    route_name="home", request_method="GET", renderer="home/index.jinja2", permission="web"
)
def home(request):
    organizations = organizations_for(request)
    if len(organizations) == 1 and not request.identity.admin:
        return HTTPFound(request.route_url("org", org=organizations[0].permalink))
    return {"organizations": organizations}


@view_config(route_name="health", renderer="string")
def health(request):
    return "OK"
