"""The web process's WSGI application: Pyramid's router, with request extensions baked in.

Pyramid applies ``add_request_method(..., reify=True)`` properties (``request.dbsession``,
``request.tm``, ``request.hooks``) by creating a new subclass of the request class for every
request, which costs more than routing a small API call.  The properties are the same for
every request, so here they become attributes of one subclass made at start-up, which the
router then uses as its request factory; plain request methods (``request.notify``) are
still bound per request, as Pyramid does.  Requests made outside the router (units of work,
scripts) are untouched and get their extensions the usual way.
"""

from __future__ import annotations

from pyramid.router import Router


class _Extensions:
    """A request extensions record with the methods only (the properties are baked in)."""

    def __init__(self, methods: dict):
        self.methods = methods
        self.descriptors: dict = {}


def make_wsgi_app(config) -> Router:
    app = config.make_wsgi_app()
    extensions = app.request_extensions
    if extensions is None or not extensions.descriptors:
        return app
    parent = app.request_factory
    attributes = {"__module__": parent.__module__, **extensions.descriptors}
    baked = type(parent.__name__, (parent,), attributes)
    # As Pyramid does for its per-request classes: the subclass keeps its parent's
    # interface declarations, so zope.interface does not build new ones for it.
    for name in ("__implemented__", "__provides__"):
        value = getattr(parent, name, None)
        if value is not None:
            setattr(baked, name, value)
    app.request_factory = baked
    app.request_extensions = _Extensions(dict(extensions.methods))
    return app
