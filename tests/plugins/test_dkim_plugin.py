"""The built-in ``dkim`` plugin signs outgoing messages through ``postal_before_send``."""

from __future__ import annotations

import dkim

from postal import dkim_keys, hookimpl
from postal.plugins import get_plugin_manager
from postal.types import OutgoingMessage


MESSAGE = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: bob@example.net\r\n"
    b"Subject: Hi\r\n"
    b"\r\n"
    b"A link: https://example.com/x\r\n"
)


class LinkRewriter:
    """Stands in for click tracking: a plugin that changes the body before DKIM runs."""

    @hookimpl
    def postal_before_send(self, message):
        message.raw = message.raw.replace(b"https://example.com/x", b"https://t.example/abc")


def outgoing(pem, raw=MESSAGE):
    return OutgoingMessage(
        id=1,
        token="tok42",
        server_id=1,
        server_token="srv001",
        mail_from="alice@example.com",
        rcpt_to="bob@example.net",
        raw=raw,
        dkim_domain="example.com",
        dkim_selector="postal-Qw3rty",
        dkim_private_key=pem,
    )


def test_hook_postal_before_send(app_settings):
    pem = dkim_keys.generate_private_key(1024)
    pm = get_plugin_manager(app_settings, "worker")
    assert pm.get_plugin("dkim") is not None
    pm.register(LinkRewriter())  # registered later, yet DKIM (trylast) still runs last
    message = outgoing(pem)
    pm.hook.postal_before_send(message=message)

    assert message.raw.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;")
    assert b"\r\nX-Postal-MsgID: tok42\r\nFrom: Alice" in message.raw
    assert b"https://t.example/abc" in message.raw
    record = dkim_keys.dkim_record(pem).encode()
    assert dkim.verify(message.raw, dnsfunc=lambda name, timeout=5: record)

    signed_once = message.raw
    pm.hook.postal_before_send(message=message)  # a retry: nothing is added again
    assert message.raw == signed_once


def test_without_a_key_the_message_goes_out_unsigned_with_its_token(app_settings):
    pm = get_plugin_manager(app_settings, "worker")
    message = outgoing(None)
    pm.hook.postal_before_send(message=message)
    assert message.raw == b"X-Postal-MsgID: tok42\r\n" + MESSAGE
