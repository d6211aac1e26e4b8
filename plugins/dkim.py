"""DKIM-signs every outgoing message, last of all ``postal_before_send`` plugins.

Core fills ``message.dkim_domain``, ``dkim_selector`` and ``dkim_private_key`` (the sender
domain's key when its DKIM record checks out, otherwise the installation key).  This plugin
prepends ``DKIM-Signature`` and ``X-Postal-MsgID``, as Postal does, once per message: bytes
that already carry ``X-Postal-MsgID`` are left alone.  ``trylast`` makes it run after every
plugin that rewrites the message (click tracking), so it signs the final bytes.
"""

from __future__ import annotations

from postal import hookimpl
from postal.dkim_signing import add_outgoing_headers


@hookimpl(trylast=True)
def postal_before_send(message):
    message.raw = add_outgoing_headers(
        message.raw,
        message.token,
        domain=message.dkim_domain,
        selector=message.dkim_selector,
        private_pem=message.dkim_private_key,
    )
