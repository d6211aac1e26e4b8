"""A third-party postal plugin: adds a route to the web app and reports the role it saw."""

import pluggy


hookimpl = pluggy.HookimplMarker("postal")

seen_roles = []


@hookimpl
def postal_configure(settings, role):
    seen_roles.append(role)


@hookimpl
def postal_web_configure(config):
    config.add_route("sample.hello", "/sample/hello")
    config.add_view(
        lambda request: {"hello": "from a plugin"}, route_name="sample.hello", renderer="json"
    )
