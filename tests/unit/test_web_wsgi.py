"""The web router with request extensions baked into one request class."""

from __future__ import annotations

from pyramid.config import Configurator

from postal.web.wsgi import make_wsgi_app


def _config() -> Configurator:
    config = Configurator()
    config.add_request_method(lambda request: object(), "thing", reify=True)
    config.add_request_method(lambda request: "hello", "greeting", property=True)
    config.add_request_method(lambda request, name: f"hi {name}", "greet")
    classes, things = [], []

    def view(request):
        classes.append(type(request))
        things.append(request.thing)  # kept alive, so ids are not reused
        same = request.thing is request.thing  # reified: computed once per request
        return {"thing": id(request.thing), "same": same, "greeting": request.greeting,
                "greet": request.greet("bob")}  # fmt: skip

    config.add_route("probe", "/probe")
    config.add_view(view, route_name="probe", renderer="json")
    return config, classes, things


def test_extensions_work_and_the_request_class_is_made_once():
    import webtest

    config, classes, things = _config()
    app = webtest.TestApp(make_wsgi_app(config))
    first = app.get("/probe").json
    second = app.get("/probe").json
    assert first["same"] and second["same"]
    assert things[0] is not things[1]  # reified per request, not shared
    assert (first["greeting"], first["greet"]) == ("hello", "hi bob")
    assert classes[0] is classes[1]


def test_an_application_without_properties_is_unchanged():
    config = Configurator()
    app = make_wsgi_app(config)
    assert app.request_extensions is None or not app.request_extensions.descriptors
