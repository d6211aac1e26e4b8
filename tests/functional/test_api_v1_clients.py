"""Existing Postal clients, unchanged, against our API v1 on a real waitress, and on to the
SMTP sink through the worker: npm ``@atech/postal`` (it sends chunked bodies) and PyPI
``postal-py``.

The Node client only speaks HTTPS to port 443; the test script points Node's ``https``
module at our plain-HTTP port, which changes the transport but not one line of the client.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


NODE_SCRIPT = r"""
const http = require('http'), https = require('https');
const [port, key, mode] = process.argv.slice(2);
https.request = (options, callback) =>
  http.request(Object.assign({}, options, {host: '127.0.0.1', port: Number(port)}), callback);
const Postal = require('@atech/postal');
const client = new Postal.Client('127.0.0.1', key);
let message;
if (mode === 'raw') {
  message = new Postal.SendRawMessage(client);
  message.mailFrom('alice@example.com');
  message.rcptTo('raw@example.net');
  message.data('From: alice@example.com\r\nTo: raw@example.net\r\nSubject: Raw\r\n\r\nHi\r\n');
} else {
  message = new Postal.SendMessage(client);
  message.to('node@example.net');
  message.from('Alice <alice@example.com>');
  message.subject(mode === 'bad' ? '' : 'From Node');
  if (mode !== 'bad') message.plainBody('Hello from Node');
  message.header('X-Client', 'node');
  message.attach('hello.txt', 'text/plain', 'attached text');
}
message.send().then(
  (result) => {
    const recipients = result.recipients();
    const out = {};
    for (const address in recipients) out[address] = recipients[address].id();
    console.log(JSON.stringify({ok: true, recipients: out}));
  },
  (error) => console.log(JSON.stringify({ok: false, error: error})));
"""


@pytest.fixture(scope="session")
def node_client(tmp_path_factory) -> Path:
    """A directory with ``npm install @atech/postal`` done in it."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are not installed")
    directory = tmp_path_factory.mktemp("node-client")
    (directory / "package.json").write_text('{"name": "postal-client-test", "private": true}')
    result = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "@atech/postal@1.0.0"],
        cwd=directory, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.skip(f"npm install @atech/postal failed: {result.stderr[-500:]}")
    (directory / "send.js").write_text(NODE_SCRIPT)
    return directory


def run_node(directory: Path, port: int, key: str, mode: str) -> dict:
    result = subprocess.run(
        ["node", "send.js", str(port), key, mode],
        cwd=directory, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_node_client_sends_through_to_the_sink(node_client, live_web, mail_server, mail_worker,
                                               smtp_sink):  # fmt: skip
    sent = run_node(node_client, live_web.effective_port, mail_server.api_key, "message")
    assert sent["ok"], sent
    assert list(sent["recipients"]) == ["node@example.net"]
    raw = run_node(node_client, live_web.effective_port, mail_server.api_key, "raw")
    assert raw["ok"] and list(raw["recipients"]) == ["raw@example.net"]
    mail_worker.run_until_idle()
    assert sorted(smtp_sink.recipients()) == ["node@example.net", "raw@example.net"]
    node_mail = next(m for m in smtp_sink.messages if m.rcpt_tos == ["node@example.net"])
    assert b"X-Client: node" in node_mail.data and b"hello.txt" in node_mail.data


def test_node_client_sees_postal_errors(node_client, live_web, mail_server):
    failed = run_node(node_client, live_web.effective_port, mail_server.api_key, "bad")
    assert failed == {
        "ok": False,
        "error": {"message": "There is no content defined for this e-mail", "code": "NoContent"},
    }


@pytest.fixture(scope="session")
def postal_py():
    try:
        import postal_py  # noqa: F401
    except ImportError:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "postal-py"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if result.returncode != 0:
            pytest.skip(f"pip install postal-py failed: {result.stderr[-500:]}")
    from postal_py import PostalPyAPI
    from postal_py.api import schemas

    return PostalPyAPI, schemas


def test_postal_py_sends_and_reads_back(postal_py, live_web, mail_server, mail_worker, smtp_sink):
    api_class, schemas = postal_py
    api = api_class(base_url=live_web.url, api_key=mail_server.api_key, timeout=10)
    try:
        result = api.send_message(
            schemas.RequestMessageSchema(
                to=["py@example.net"], from_="alice@example.com", subject="From Python",
                plain_body="Hello from postal-py", tag="py",
            )
        )  # fmt: skip
        assert result.status == schemas.ResponseStatus.success
        message_id = result.data.messages["py@example.net"].id
        mail_worker.run_until_idle()
        assert smtp_sink.recipients() == ["py@example.net"]
        details = api.get_message_details(
            schemas.RequestMessageDetailsSchema(id=message_id, expansions={"all"})
        )
        assert details.data.status.status == "Sent"
        assert details.data.details.tag == "py"
        assert details.data.plain_body.strip() == "Hello from postal-py"
        deliveries = api.get_message_deliveries(message_id)
        assert [d.status for d in deliveries.data] == ["Sent"]
    finally:
        api.close()


def test_postal_py_raises_postals_errors(postal_py, live_web, mail_server):
    api_class, schemas = postal_py
    from postal_py.api.exceptions import PostalPyUnauthenticatedFromAddressError

    api = api_class(base_url=live_web.url, api_key=mail_server.api_key, timeout=10)
    try:
        with pytest.raises(PostalPyUnauthenticatedFromAddressError):
            api.send_message(
                schemas.RequestMessageSchema(
                    to=["py@example.net"], from_="eve@elsewhere.test", plain_body="x"
                )
            )
    finally:
        api.close()
