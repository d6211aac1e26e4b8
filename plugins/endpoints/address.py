"""Address endpoints: routed mail is forwarded to another e-mail address.

The copy goes through the outgoing delivery path (``postal_deliver_outgoing``: MX lookup or
``postal.smtp_relays``, or whichever plugin delivers outgoing mail) to the address, with this
server's return path as the envelope sender, so the forward passes the receiving side's SPF
check and its bounces come back here (where they are linked to this message) rather than to
a sender who never wrote to that address.  The message is not re-signed or rewritten.
"""

from __future__ import annotations

from pyramid.threadlocal import get_current_registry

from postal import hookimpl
from postal.messages import recipient_domain
from postal.types import DeliveryResult, OutgoingMessage


@hookimpl(trylast=True)
def postal_deliver_to_endpoint(message, endpoint):
    if endpoint.type != "AddressEndpoint":
        return None
    registry = get_current_registry()
    address = (endpoint.options.get("address") or "").strip()
    domain = recipient_domain(address)
    if domain is None:
        return DeliveryResult("HardFail", f"The address endpoint {address!r} is not an address.")
    return_path = registry.settings["dns.return_path_domain"]
    forwarded = OutgoingMessage(
        id=message.id,
        token=message.token,
        server_id=message.server_id,
        server_token=message.server_token,
        mail_from="" if message.bounce else f"{message.server_token}@{return_path}",
        rcpt_to=address,
        raw=message.raw,
        source_ipv4=message.source_ipv4,
        source_ipv6=message.source_ipv6,
        helo_hostname=message.helo_hostname,
    )
    forwarded.notes.update(message.notes)
    hooks = registry["postal.plugin_manager"].hook
    result = hooks.postal_deliver_outgoing(message=forwarded, domain=domain)
    if result is None:
        return DeliveryResult("SoftFail", "No delivery plugin accepted the message.")
    return result
