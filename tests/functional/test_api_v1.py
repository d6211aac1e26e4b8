"""HTTP API v1 through the real WSGI stack: envelope, authentication, Postal's validation
order and texts, parameters from JSON or the ``params`` field, and chunked bodies."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import socket

import pytest
from sqlalchemy import select

from postal.models import Message, QueuedMessage, Server


SEND = "/api/v1/send/message"


def call(app, path, params, key, **kwargs):
    headers = {"X-Server-API-Key": key} if key is not None else {}
    response = app.post_json(path, params, headers=headers, **kwargs)
    assert response.status_int == 200
    assert set(response.json) == {"status", "time", "flags", "data"}
    assert response.json["flags"] == {}
    return response.json


def valid(**overrides):
    params = {
        "to": ["Bob <bob@example.net>"],
        "from": "Alice <alice@example.com>",
        "subject": "Hello",
        "plain_body": "Hi Bob",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def test_missing_key_is_access_denied(sending_app):
    body = call(sending_app, SEND, valid(), None)
    assert body["status"] == "error"
    assert body["data"] == {"code": "AccessDenied", "message": "Must be authenticated as a server."}


def test_unknown_key_is_reported_with_the_token(sending_app, mail_server):
    body = call(sending_app, SEND, valid(), "nope")
    assert body["data"] == {
        "code": "InvalidServerAPIKey",
        "message": "The API token provided in X-Server-API-Key was not valid.",
        "token": "nope",
    }


def test_suspended_server(sending_app, mail_server, dbsession):
    from postal.models import utcnow

    dbsession.get(Server, mail_server.id).suspended_at = utcnow()
    dbsession.commit()
    body = call(sending_app, SEND, valid(), mail_server.api_key)
    assert body["data"] == {"code": "ServerSuspended"}


@pytest.mark.parametrize(
    ("overrides", "code", "message"),
    [
        ({"to": None}, "NoRecipients", "There are no recipients defined to receive this message"),
        (
            {"to": [f"r{i}@example.net" for i in range(51)], "plain_body": None},
            "TooManyToAddresses",
            "The maximum number of To addresses has been reached (maximum 50)",
        ),
        (
            {"cc": ",".join(f"r{i}@example.net" for i in range(51))},
            "TooManyCCAddresses",
            "The maximum number of CC addresses has been reached (maximum 50)",
        ),
        (
            {"bcc": [f"r{i}@example.net" for i in range(51)]},
            "TooManyBCCAddresses",
            "The maximum number of BCC addresses has been reached (maximum 50)",
        ),
        (
            {"plain_body": "  ", "from": None},
            "NoContent",
            "There is no content defined for this e-mail",
        ),
        ({"from": ""}, "FromAddressMissing", "The From address is missing and is required"),
        (
            {"from": "eve@elsewhere.test", "attachments": [{"data": "eA=="}]},
            "UnauthenticatedFromAddress",
            "The From address is not authorised to send mail from this server",
        ),
        ({"attachments": [{"data": "eA=="}]}, "AttachmentMissingName", None),
        ({"attachments": [{"name": "a.txt"}]}, "AttachmentMissingData", None),
    ],
)
def test_first_error_wins_in_postals_order(sending_app, mail_server, overrides, code, message):
    body = call(sending_app, SEND, valid(**overrides), mail_server.api_key)
    assert body["status"] == "error"
    assert body["data"]["code"] == code
    if message:
        assert body["data"]["message"] == message


def test_send_message_stores_one_row_per_unique_recipient(sending_app, mail_server, dbsession):
    body = call(
        sending_app,
        SEND,
        valid(
            to="Bob <bob@example.net>, carol@example.net",
            cc=["carol@example.net"],
            bcc=["dan@example.net"],
            tag="welcome",
            headers={"X-Campaign": "spring", "Bad Name": "x"},
            attachments=[{"name": "a.txt", "data": base64.b64encode(b"hello").decode()}, 7],
            html_body="<p>Hi Bob</p>",
        ),
        mail_server.api_key,
    )
    assert body["status"] == "success"
    data = body["data"]
    assert data["message_id"].endswith("@rp.postal.test")
    assert set(data["messages"]) == {"bob@example.net", "carol@example.net", "dan@example.net"}
    rows = dbsession.scalars(select(Message).order_by(Message.id)).all()
    assert [(m.rcpt_to, m.mail_from, m.tag, m.received_with_ssl) for m in rows] == [
        ("bob@example.net", "alice@example.com", "welcome", True),
        ("carol@example.net", "alice@example.com", "welcome", True),
        ("dan@example.net", "alice@example.com", "welcome", True),
    ]
    assert data["messages"]["bob@example.net"] == {"id": rows[0].id, "token": rows[0].token}
    assert len(dbsession.scalars(select(QueuedMessage)).all()) == 3
    parsed = email.message_from_bytes(rows[0].raw_message.data, policy=email.policy.default)
    assert parsed["Message-ID"] == f"<{data['message_id']}>"
    assert parsed["X-Campaign"] == "spring"
    assert "Bad Name" not in rows[0].raw_message.data.decode()
    assert "dan@example.net" not in rows[0].raw_message.data.decode()  # Bcc stays hidden
    assert parsed["Received"].startswith("from api (")
    assert "by postal.example.com with HTTP;" in parsed["Received"]
    assert parsed.get_body(("plain",)).get_content().strip() == "Hi Bob"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Hi Bob</p>"
    (attachment,) = parsed.iter_attachments()
    assert attachment.get_filename() == "a.txt"
    assert attachment.get_content() == b"hello"


def test_non_ascii_subject_and_names_are_encoded(sending_app, mail_server, dbsession):
    body = call(
        sending_app,
        SEND,
        valid(subject="Grüße", to=["Zoë <zoe@example.net>"], plain_body="Ça va?"),
        mail_server.api_key,
    )
    message = dbsession.get(Message, body["data"]["messages"]["zoe@example.net"]["id"])
    raw = message.raw_message.data
    assert raw.isascii()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Grüße"
    assert parsed["To"].addresses[0].display_name == "Zoë"
    assert parsed.get_body(("plain",)).get_content().strip() == "Ça va?"
    assert message.subject == "Grüße"


def test_params_form_field_and_any_method(sending_app, mail_server):
    headers = {"X-Server-API-Key": mail_server.api_key}
    form = {"params": json.dumps(valid())}
    for method in ("post", "put", "patch"):
        response = getattr(sending_app, method)(SEND, form, headers=headers)
        assert response.json["status"] == "success", method
    response = sending_app.get(SEND, {"params": json.dumps(valid())}, headers=headers)
    assert response.json["status"] == "success"
    # Individual form fields are not read, as in Postal.
    response = sending_app.post(SEND, valid(), headers=headers)
    assert response.json["data"]["code"] == "NoRecipients"
    sending_app.delete(SEND, headers=headers, status=404)


def test_bad_json_is_a_parameter_error(sending_app, mail_server):
    response = sending_app.post(
        SEND,
        b"{nope",
        headers={"X-Server-API-Key": mail_server.api_key, "Content-Type": "application/json"},
    )
    assert response.json["status"] == "parameter-error"
    assert response.json["data"] == {"message": "The request body is not valid JSON"}


def raw_params(**overrides):
    message = (
        b"From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: Raw\r\n"
        b"Message-ID: <raw-1@example.com>\r\n\r\nBody\r\n"
    )
    params = {
        "rcpt_to": ["bob@example.net", "bob@example.net", "carol@example.net"],
        "mail_from": "alice@example.com",
        "data": base64.b64encode(message).decode(),
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"rcpt_to": None}, "`rcpt_to` parameter is required but is missing"),
        ({"rcpt_to": "bob@example.net"}, "`rcpt_to` parameter is required but is missing"),
        ({"mail_from": ""}, "`mail_from` parameter is required but is missing"),
        ({"data": None}, "`data` parameter is required but is missing"),
    ],
)
def test_send_raw_parameter_errors(sending_app, mail_server, overrides, text):
    body = call(sending_app, "/api/v1/send/raw", raw_params(**overrides), mail_server.api_key)
    assert body["status"] == "parameter-error"
    assert body["data"] == {"message": text}


def test_send_raw_stores_the_message_unchanged(sending_app, mail_server, dbsession):
    params = raw_params()
    body = call(sending_app, "/api/v1/send/raw", params, mail_server.api_key)
    assert body["status"] == "success"
    assert body["data"]["message_id"] == "raw-1@example.com"
    assert list(body["data"]["messages"]) == ["bob@example.net", "carol@example.net"]
    message = dbsession.get(Message, body["data"]["messages"]["bob@example.net"]["id"])
    assert message.raw_message.data == base64.b64decode(params["data"])
    assert message.domain_id == mail_server.domain_id


def test_send_raw_checks_every_from_address(sending_app, mail_server):
    message = b"From: alice@example.com, eve@elsewhere.test\r\n\r\nBody\r\n"
    params = raw_params(data=base64.b64encode(message).decode())
    body = call(sending_app, "/api/v1/send/raw", params, mail_server.api_key)
    assert body["status"] == "error"
    assert body["data"] == {"code": "UnauthenticatedFromAddress"}


def test_send_raw_without_recipients(sending_app, mail_server):
    body = call(sending_app, "/api/v1/send/raw", raw_params(rcpt_to=[]), mail_server.api_key)
    assert body["data"] == {"message_id": None, "messages": {}}


def test_message_lookup_and_expansions(sending_app, mail_server):
    sent = call(sending_app, SEND, valid(tag="t1"), mail_server.api_key)["data"]
    message = sent["messages"]["bob@example.net"]
    path = "/api/v1/messages/message"
    body = call(sending_app, path, {"id": message["id"]}, mail_server.api_key)
    assert body["data"] == message
    body = call(sending_app, path, {"id": message["id"], "_expansions": True}, mail_server.api_key)
    data = body["data"]
    assert data["status"]["status"] == "Pending" and data["status"]["held"] is False
    assert data["details"]["rcpt_to"] == "bob@example.net"
    assert data["details"]["direction"] == "outgoing"
    assert isinstance(data["details"]["size"], str)
    assert data["details"]["bounce_for_id"] == 0
    assert data["plain_body"].strip() == "Hi Bob"
    assert data["headers"]["subject"] == ["Hello"]
    assert base64.b64decode(data["raw_message"]).startswith(b"Received:")
    assert all(len(line) <= 60 for line in data["raw_message"].splitlines())
    assert data["activity_entries"] == {"loads": [], "clicks": []}
    body = call(sending_app, path, {"id": message["id"], "_expansions": ["status"]},
                mail_server.api_key)  # fmt: skip
    assert set(body["data"]) == {"id", "token", "status"}


@pytest.mark.parametrize(
    ("given", "status", "data"),
    [
        (None, "parameter-error", {"message": "`id` parameter is required but is missing"}),
        ({"a": 1}, "parameter-error", {"message": "`id` parameter must be a string or integer"}),
        ("abc", "error", {"code": "MessageNotFound",
                          "message": "No message found matching provided ID", "id": "abc"}),
        (999999, "error", {"code": "MessageNotFound",
                           "message": "No message found matching provided ID", "id": 999999}),
    ],
)  # fmt: skip
def test_message_id_errors(sending_app, mail_server, given, status, data):
    params = {} if given is None else {"id": given}
    body = call(sending_app, "/api/v1/messages/message", params, mail_server.api_key)
    assert (body["status"], body["data"]) == (status, data)


def test_a_string_id_works_where_postal_fails(sending_app, mail_server):
    sent = call(sending_app, SEND, valid(), mail_server.api_key)["data"]
    message = sent["messages"]["bob@example.net"]
    body = call(sending_app, "/api/v1/messages/deliveries", {"id": str(message["id"])},
                mail_server.api_key)  # fmt: skip
    assert body == {**body, "status": "success", "data": []}


def test_messages_of_other_servers_are_not_found(sending_app, mail_server, dbsession,
                                                 app_settings):  # fmt: skip
    from tests.fixtures.sending import make_mail_server

    other = make_mail_server(dbsession, app_settings, name="other", domain="other.test")
    sent = call(sending_app, SEND, valid(), mail_server.api_key)["data"]
    message_id = sent["messages"]["bob@example.net"]["id"]
    body = call(sending_app, "/api/v1/messages/message", {"id": message_id}, other.api_key)
    assert body["data"]["code"] == "MessageNotFound"


def _chunked_request(host: str, port: int, key: str, payload: bytes) -> bytes:
    chunks = [payload[i : i + 17] for i in range(0, len(payload), 17)]
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    head = (
        f"POST {SEND} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"X-Server-API-Key: {key}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(head + body)
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    return response


def test_chunked_request_bodies_through_waitress(live_web, mail_server):
    payload = json.dumps(valid()).encode()
    response = _chunked_request("127.0.0.1", live_web.effective_port, mail_server.api_key, payload)
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert json.loads(body)["status"] == "success"


def test_concurrent_sends_of_both_kinds_are_committed_together(live_web, mail_server):
    """The group commit stores send/message and send/raw requests in one batch."""
    import http.client
    import threading

    results = []

    def post(path, params):
        connection = http.client.HTTPConnection("127.0.0.1", live_web.effective_port, timeout=30)
        connection.request(
            "POST",
            path,
            json.dumps(params),
            {"Content-Type": "application/json", "X-Server-API-Key": mail_server.api_key},
        )
        results.append(json.loads(connection.getresponse().read())["status"])
        connection.close()

    threads = [
        threading.Thread(target=post, args=(SEND, valid(tag=f"t{i}")))
        if i % 2 else threading.Thread(target=post, args=("/api/v1/send/raw", raw_params()))
        for i in range(16)
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == ["success"] * 16


def test_a_send_is_not_retried_after_its_message_is_committed(
    sending_app, mail_server, dbsession, monkeypatch
):
    """A retryable error after the group commit (the ``last_used_at`` write) must not make
    pyramid_retry run the request again: that would store the message twice."""
    from pyramid_retry import RetryableException

    from postal.api.v1 import envelope

    def fails(request, credential):
        raise RetryableException("deadlock")

    monkeypatch.setattr(envelope, "mark_used", fails)
    with pytest.raises(RetryableException):
        sending_app.post_json(SEND, valid(), headers={"X-Server-API-Key": mail_server.api_key})
    assert len(dbsession.scalars(select(Message)).all()) == 1


def test_other_requests_keep_their_retries(sending_app, mail_server, monkeypatch):
    from postal.models import retry_attempts

    assert retry_attempts(type("R", (), {"path_info": "/api/v1/send/raw"})) == 1
    assert retry_attempts(type("R", (), {"path_info": "/api/v1/messages/message"})) is None
    assert retry_attempts(type("R", (), {"path_info": "/org/x/servers"})) is None


def test_a_send_runs_outside_a_request_long_transaction(sending_app, mail_server, monkeypatch):
    """The group commit stores the message; the request's few reads each take a short
    transaction, so no transaction is held open while the request waits for the store."""
    from pyramid_tm import is_tm_active

    from postal.api.v1 import send

    seen, store = [], send.store_outgoing

    def store_outgoing(request, *args, **kwargs):
        seen.append(is_tm_active(request))
        return store(request, *args, **kwargs)

    monkeypatch.setattr(send, "store_outgoing", store_outgoing)
    assert call(sending_app, SEND, valid(), mail_server.api_key)["status"] == "success"
    raw = call(sending_app, "/api/v1/send/raw", raw_params(), mail_server.api_key)
    assert raw["status"] == "success"
    assert seen == [False, False]


def test_a_failed_use_record_does_not_fail_a_stored_send(
    sending_app, mail_server, dbsession, monkeypatch
):
    """A database error writing ``last_used_at`` comes after the message is committed: the
    client gets its ids (an error would make it send the message again)."""
    from sqlalchemy.exc import OperationalError

    from postal.api.v1 import envelope

    def fails(dbsession, credential):
        raise OperationalError("UPDATE credentials", {}, Exception("database is locked"))

    monkeypatch.setattr(envelope, "_mark_used", fails)
    body = call(sending_app, SEND, valid(), mail_server.api_key)
    assert body["status"] == "success"
    (message,) = dbsession.scalars(select(Message)).all()
    assert body["data"]["messages"]["bob@example.net"]["id"] == message.id


def test_a_send_records_when_its_credential_was_used(sending_app, mail_server, dbsession):
    from postal.models import Credential

    assert call(sending_app, SEND, valid(), mail_server.api_key)["status"] == "success"
    credential = dbsession.scalars(select(Credential).where(Credential.type == "API")).one()
    assert credential.last_used_at is not None
