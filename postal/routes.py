"""Core routes.  Names are dotted ``area.action``; plugins add theirs in
``postal_web_configure``."""


def includeme(config) -> None:
    config.add_static_view("static", "postal:static", cache_max_age=3600)
    config.add_route("home", "/")
    config.add_route("health", "/health")
    config.add_route("well_known.jwks", "/.well-known/jwks.json")
    # API v1 first: Pyramid tries routes in order, and sending is the hottest path (the UI's
    # hundred-odd patterns cost more than the rest of the routing).
    config.include(".api.v1.routes", route_prefix="/api/v1")
    config.include(".views.routes")
    config.include(".api.v2.routes", route_prefix="/api/v2")
