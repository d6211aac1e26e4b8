"""The route rules that need no database (the rest: tests/functional)."""

from __future__ import annotations

import pytest

from postal import routing
from postal.routing import RoutingError


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


def test_forwarding_address_and_description():
    from postal.models import Domain, Route

    route = Route(name="support", token="AbC12345", domain=Domain(name="in.example"))
    assert routing.forwarding_address({"dns.route_domain": "routes.example"}, route) == (
        "AbC12345@routes.example"
    )
    assert routing.description(route) == "support@in.example"
    assert routing.description(Route(name="__returnpath__")) == "Return Path"
