"""The endpoint rules that need no database (the rest: tests/functional)."""

from __future__ import annotations

import pytest

from postal import endpoints
from postal.routing import RoutingError


NOTHING_ALLOWED: dict = {"postal.allowed_request_destinations": []}


def test_http_urls():
    url = "https://user:pw@93.184.215.14:8443/in?x=1"
    assert endpoints.http_url(f"  {url} ", NOTHING_ALLOWED) == url
    allowed = {"postal.allowed_request_destinations": ["127.0.0.0/8"]}
    assert endpoints.http_url("http://127.0.0.1:9/", allowed) == "http://127.0.0.1:9/"
    for bad, message in [
        ("ftp://93.184.215.14/", "http:// or https://"),
        ("https:///path", "with a host"),
        ("http://93.184.215.14:99999/", "not a valid URL"),
        ("http://93.184.215.14/a b", "http:// or https://"),
        ("http://10.1.2.3/", "a private address"),
        ("", "http:// or https://"),
    ]:
        with pytest.raises(RoutingError, match=message):
            endpoints.http_url(bad, NOTHING_ALLOWED)


def test_http_options():
    assert endpoints.http_options("FormData", "RawMessage", 60) == ("FormData", "RawMessage", 60)
    for args, field in [(("XML", "Hash", 5), "encoding"), (("FormData", "Text", 5), "format"),
                        (("FormData", "Hash", 4), "timeout"), (("FormData", "Hash", 61), "timeout"),
                        (("FormData", "Hash", True), "timeout"),
                        (("FormData", "Hash", 5.0), "timeout")]:  # fmt: skip
        with pytest.raises(RoutingError) as error:
            endpoints.http_options(*args)
        assert error.value.field == field


def test_smtp_targets():
    assert endpoints.smtp_target(" MX.Example.com ", 587, "STARTTLS") == (
        "mx.example.com", 587, "STARTTLS",
    )  # fmt: skip
    assert endpoints.smtp_target("192.0.2.1", 25, "None") == ("192.0.2.1", 25, "None")
    bad = [(("", 25, "Auto"), "hostname"), (("mx_1", 25, "Auto"), "hostname"),
           (("mx", 0, "Auto"), "port"), (("mx", 65536, "Auto"), "port"),
           (("mx", False, "Auto"), "port"), (("mx", 25, "STARTLS"), "ssl_mode")]  # fmt: skip
    for args, field in bad:
        with pytest.raises(RoutingError) as error:
            endpoints.smtp_target(*args)
        assert error.value.field == field
