"""The route and endpoint rules that need no database (the rest: tests/functional)."""

from __future__ import annotations

import pytest

from postal import routing
from postal.routing import RoutingError


NOTHING_ALLOWED: dict = {"postal.allowed_request_destinations": []}


@pytest.mark.parametrize(
    ("given", "stored"),
    [("Support", "support"), (" sales.eu ", "sales.eu"), ("a-1", "a-1"), ("*", "*"),
     ("__returnpath__", "__returnpath__")],
)  # fmt: skip
def test_route_names(given, stored):
    assert routing.route_name(given) == stored


@pytest.mark.parametrize("name", ["", "  ", "a+b", "a_b", "a b", "a@b", "**", "x" * 256, None])
def test_bad_route_names(name):
    with pytest.raises(RoutingError) as error:
        routing.route_name(name)
    assert error.value.field == "name"


def test_http_urls():
    url = "https://user:pw@93.184.215.14:8443/in?x=1"
    assert routing.http_url(f"  {url} ", NOTHING_ALLOWED) == url
    allowed = {"postal.allowed_request_destinations": ["127.0.0.0/8"]}
    assert routing.http_url("http://127.0.0.1:9/", allowed) == "http://127.0.0.1:9/"
    for bad, message in [
        ("ftp://93.184.215.14/", "http:// or https://"),
        ("https:///path", "with a host"),
        ("http://93.184.215.14:99999/", "not a valid URL"),
        ("http://93.184.215.14/a b", "http:// or https://"),
        ("http://10.1.2.3/", "a private address"),
        ("", "http:// or https://"),
    ]:
        with pytest.raises(RoutingError, match=message):
            routing.http_url(bad, NOTHING_ALLOWED)


def test_http_options():
    assert routing.http_options("FormData", "RawMessage", 60) == ("FormData", "RawMessage", 60)
    for args, field in [(("XML", "Hash", 5), "encoding"), (("FormData", "Text", 5), "format"),
                        (("FormData", "Hash", 4), "timeout"), (("FormData", "Hash", 61), "timeout"),
                        (("FormData", "Hash", True), "timeout"),
                        (("FormData", "Hash", 5.0), "timeout")]:  # fmt: skip
        with pytest.raises(RoutingError) as error:
            routing.http_options(*args)
        assert error.value.field == field


def test_smtp_targets():
    assert routing.smtp_target(" MX.Example.com ", 587, "STARTTLS") == (
        "mx.example.com", 587, "STARTTLS",
    )  # fmt: skip
    assert routing.smtp_target("192.0.2.1", 25, "None") == ("192.0.2.1", 25, "None")
    bad = [(("", 25, "Auto"), "hostname"), (("mx_1", 25, "Auto"), "hostname"),
           (("mx", 0, "Auto"), "port"), (("mx", 65536, "Auto"), "port"),
           (("mx", False, "Auto"), "port"), (("mx", 25, "STARTLS"), "ssl_mode")]  # fmt: skip
    for args, field in bad:
        with pytest.raises(RoutingError) as error:
            routing.smtp_target(*args)
        assert error.value.field == field


def test_forwarding_address_and_description():
    from postal.models import Domain, Route

    route = Route(name="support", token="AbC12345", domain=Domain(name="in.example"))
    assert routing.forwarding_address({"dns.route_domain": "routes.example"}, route) == (
        "AbC12345@routes.example"
    )
    assert routing.description(route) == "support@in.example"
    assert routing.description(Route(name="__returnpath__")) == "Return Path"
