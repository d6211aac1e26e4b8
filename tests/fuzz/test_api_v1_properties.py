"""API v1 under arbitrary input: whatever the body (JSON of any shape, form fields, a
``params`` field holding anything, bytes that are not JSON at all), every endpoint answers
200 with Postal's envelope and a status of success, error or parameter-error — never a 500,
never a body that is not JSON."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


pytestmark = pytest.mark.functional

ENDPOINTS = (
    "/api/v1/send/message",
    "/api/v1/send/raw",
    "/api/v1/messages/message",
    "/api/v1/messages/deliveries",
)
FIELDS = (
    "to", "cc", "bcc", "from", "sender", "subject", "tag", "reply_to", "plain_body",
    "html_body", "headers", "attachments", "bounce", "mail_from", "rcpt_to", "data", "id",
    "_expansions",
)  # fmt: skip
STATUSES = {"success", "error", "parameter-error"}
PROPERTY_SETTINGS = settings(
    max_examples=60,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["a@example.com", "Bob <bob@example.net>", "aGVsbG8=", "1", "*", "all"]),
)
json_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
param_objects = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8)


def _json_request(value):
    return {"params": json.dumps(value).encode(), "content_type": "application/json"}


def _params_field(text):
    return {"params": {"params": text}}


def _form(fields):
    return {"params": {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}}


requests = st.one_of(
    param_objects.map(_json_request),
    json_values.map(_json_request),
    st.binary(max_size=200).map(lambda raw: {"params": raw, "content_type": "application/json"}),
    param_objects.map(lambda value: _params_field(json.dumps(value))),
    st.text(max_size=60).map(_params_field),
    st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=30) | json_values, max_size=6).map(
        _form
    ),
)


def assert_envelope(response) -> dict:
    assert response.status_int == 200, f"{response.status}: {response.body[:300]!r}"
    assert response.content_type == "application/json"
    body = json.loads(response.body)
    assert set(body) == {"status", "time", "flags", "data"}
    assert body["status"] in STATUSES
    return body


@pytest.mark.parametrize("path", ENDPOINTS)
def test_arbitrary_input_always_gets_the_envelope(testapp, mail_server, path):
    # A real message, so the message endpoints can find something by id too.
    sent = testapp.post_json(
        "/api/v1/send/message",
        {"to": ["bob@example.net"], "from": "alice@example.com", "plain_body": "hi"},
        headers={"X-Server-API-Key": mail_server.api_key},
    )
    assert assert_envelope(sent)["status"] == "success"
    keys = st.sampled_from([mail_server.api_key, mail_server.api_key, "wrong", None, ""])

    @PROPERTY_SETTINGS
    @given(request=requests, key=keys, method=st.sampled_from(["POST", "POST", "GET", "PUT"]))
    def check(request, key, method):
        headers = {} if key is None else {"X-Server-API-Key": key}
        if method == "GET" and not isinstance(request["params"], dict):
            method = "POST"  # a query string carries only fields
        send = getattr(testapp, method.lower())
        response = send(path, headers=headers, expect_errors=True, **request)
        assert_envelope(response)

    check()
