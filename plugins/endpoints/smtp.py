"""SMTP endpoints: routed mail is relayed to a server of the user's (host, port, TLS mode).

The message goes out as it arrived, with Postal's spam headers in front, to the original
recipient and from the original sender: this server is one more hop on the way to the
recipient, so the remote sees the real envelope and its own bounces go to the real sender.
Delivery, TLS and reply classification are the ``mx_delivery`` sender's (one connection pool
for every SMTP delivery of the process).
"""

from __future__ import annotations

from plugins import mx_delivery
from plugins.mx_delivery.targets import SSL_MODES, Host
from postal import hookimpl
from postal.types import OutgoingMessage


@hookimpl(trylast=True)
def postal_deliver_to_endpoint(message, endpoint):
    if endpoint.type != "SMTPEndpoint":
        return None
    sender = mx_delivery.sender()
    if sender is None:
        return None
    options = endpoint.options
    mode = options.get("ssl_mode") or "Auto"
    mode = "STARTTLS" if mode.upper() in ("STARTTLS", "STARTLS") else mode
    host = Host(
        name=(options.get("hostname") or "").strip().lower(),
        port=int(options.get("port") or 25),
        ssl_mode=mode if mode in SSL_MODES else "Auto",
    )
    relayed = OutgoingMessage(
        id=message.id,
        token=message.token,
        server_id=message.server_id,
        server_token=message.server_token,
        mail_from=message.mail_from,
        rcpt_to=message.rcpt_to,
        raw=message.raw,
        source_ipv4=message.source_ipv4,
        source_ipv6=message.source_ipv6,
        helo_hostname=message.helo_hostname,
    )
    return sender.deliver_to(relayed, [host], f"{host.name}:{host.port}")
