"""No secret reaches the logs: with every application logger at DEBUG, an SMTP AUTH (good
and bad), an API v1 send, credential and user creation through API v2, a failed sign-in and
a DKIM-signed delivery by the worker log nothing that contains a credential key, an API
token, a password or private key material.

SQLAlchemy's statement logging is left at WARNING, as both ini files set it: at INFO it
echoes bound parameters by design, and it is an operator's debugging switch, not a log the
application writes.
"""

from __future__ import annotations

import base64
import logging
import smtplib

import pytest

from postal.dkim_keys import load_or_create_signing_key
from tests.fixtures.web import WebBrowser


pytestmark = pytest.mark.functional

PASSWORD = "s3cret-Passw0rd!"


def secrets_in(text: str, secrets: set[str]) -> list[str]:
    """Each secret found in ``text``, also base64-encoded (as AUTH PLAIN carries it)."""
    found = []
    for secret in secrets:
        forms = {secret, base64.b64encode(secret.encode()).decode().rstrip("=")}
        if any(form in text for form in forms):
            found.append(secret)
    return found


@pytest.fixture
def debug_logs(caplog):
    # set_level also sets the capture handler's level, so the DEBUG calls come last.
    caplog.set_level(logging.WARNING, logger="sqlalchemy")
    for name in ("postal", "plugins", "mail.log", "waitress", None):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_no_secret_is_logged(debug_logs, smtp_server, smtp_data, sending_app, mail_server,
                             mail_worker, smtp_sink, data, web_app, sending_settings):  # fmt: skip
    secrets = {mail_server.api_key, PASSWORD}
    # SMTP AUTH, accepted and refused, then a relayed message.
    server = smtp_data.server()
    smtp_data.domain("auth.example", server=server)
    credential = smtp_data.credential(server)
    secrets.add(credential.key)
    username = f"{server.organization.permalink}/{server.permalink}"
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login(username, PASSWORD)
        client.login(username, credential.key)
        client.sendmail(
            "a@auth.example", ["x@far.example"], b"From: a@auth.example\r\nSubject: x\r\n\r\nhi\r\n"
        )
    # API v2: a credential and a user with a password; API v1: a send (delivered below).
    admin, headers = data.auth(admin=True)
    secrets.add(headers["Authorization"].split()[1])
    organization = sending_app.post_json("/api/v2/organizations", {"name": "L"}, headers=headers)
    created = sending_app.post_json(
        f"/api/v2/organizations/{organization.json['uuid']}/servers", {"name": "S"}, headers=headers
    ).json
    key = sending_app.post_json(
        f"/api/v2/servers/{created['uuid']}/credentials",
        {"type": "SMTP", "name": "k"},
        headers=headers,
    ).json["key"]
    secrets.add(key)
    user = {
        "email_address": "p@example.com",
        "first_name": "P",
        "last_name": "Q",
        "password": PASSWORD,
    }
    sending_app.post_json("/api/v2/users", user, headers=headers, status=201)
    WebBrowser(web_app).sign_in("p@example.com", PASSWORD + "x", status=401)
    body = {"to": ["bob@example.net"], "from": "a@example.com", "plain_body": "hi"}
    sent = sending_app.post_json(
        "/api/v1/send/message", body, headers={"X-Server-API-Key": mail_server.api_key}
    )
    assert sent.json["status"] == "success"
    # The worker signs with the installation's DKIM key and delivers to the sink.
    assert mail_worker.run_until_idle() >= 1
    assert smtp_sink.messages and b"DKIM-Signature:" in smtp_sink.messages[-1].data
    private_pem = load_or_create_signing_key(sending_settings["postal.signing_key_path"], 1024)
    key_lines = [line for line in private_pem.splitlines() if line and not line.startswith("-----")]
    secrets |= set(key_lines[:3])
    logged = "\n".join(
        f"{record.getMessage()} {vars(record)}" + (record.exc_text or "")
        for record in debug_logs.records
    )
    assert len(debug_logs.records) >= 5, "nothing was logged: the capture proves nothing"
    assert secrets_in(logged, secrets) == []
    assert "PRIVATE KEY" not in logged
