"""Postal's RCPT TO decision tree (reference §3.4), in Postal's order:

1. a return-path address (``<server token>@<return path domain>`` or ``…@psrp.<domain>``)
   is a bounce for that server;
2. ``<route token>@<route domain>`` goes to that route;
3. an authenticated session relays to any address (outgoing);
4. a route named after the local part (``+tag`` stripped), else the domain's ``*`` route;
5. an SMTP-IP credential whose network holds the client authenticates the session, then 3;
6. anything else is refused with ``530 Authentication required`` — no open relay.

``trylast``, so a plugin can classify recipients its own way first.
"""

from __future__ import annotations

import dataclasses
import ipaddress

from postal import hookimpl
from postal.smtp.directory import directory_for
from postal.smtp.hooks import inline_safe
from postal.types import MessageCopy, RcptDecision, SmtpReply


OK = SmtpReply(250, "OK")
SUSPENDED = RcptDecision.reject(535, "Mail server has been suspended")
ROUTE_REJECTS = RcptDecision.reject(550, "Route does not accept incoming messages")


@hookimpl(trylast=True)
@inline_safe
def postal_smtp_rcpt(session, envelope, address):
    settings = session.registry.settings
    directory = directory_for(session.registry)
    local, _, domain = address.rpartition("@")
    domain = domain.lower()
    uname, plus, tag = local.partition("+")

    return_path = settings["dns.return_path_domain"].lower()
    prefix = settings["dns.custom_return_path_prefix"].lower() + "."
    if domain == return_path or domain.startswith(prefix):
        return _bounce(directory.server_by_token(uname.lower()), address)

    if domain == settings["dns.route_domain"].lower():
        route = directory.route_by_token(uname)
        if route is None:
            return RcptDecision.reject(550, "Invalid route token")
        target = f"{route.name}{plus}{tag}@{route.domain}" if route.domain else address
        return _incoming(route, target)

    if session.identity is not None:
        return _outgoing(session.identity, address)

    route = directory.route_for_address(uname.lower(), domain)
    if route is not None:
        return _incoming(route, address)

    identity = _ip_credential(directory.ip_credentials(), session.client_ip)
    if identity is not None:
        return dataclasses.replace(_outgoing(identity, address), identity=identity)
    return RcptDecision.reject(530, "Authentication required")


def _bounce(server, address):
    if server is None:
        return RcptDecision.reject(550, "Invalid server token")
    if server.suspended:
        return SUSPENDED
    route = server.returnpath_route
    return RcptDecision(
        reply=OK,
        kind="bounce",
        server_id=server.id,
        address=address,
        route_id=route.id if route else None,
        copies=route.copies if route else (MessageCopy(),),
    )


def _incoming(route, address):
    if route.suspended:
        return SUSPENDED
    if route.mode == "Reject":
        return ROUTE_REJECTS
    return RcptDecision(
        reply=OK,
        kind="incoming",
        server_id=route.server_id,
        address=address,
        route_id=route.id,
        copies=route.copies,
    )


def _outgoing(identity, address):
    if identity.suspended:
        return SUSPENDED
    return RcptDecision(reply=OK, kind="outgoing", server_id=identity.server_id, address=address)


def _ip_credential(networks, client_ip):
    try:
        ip = ipaddress.ip_address(client_ip)
    except ValueError:
        return None
    candidates = [ip]
    if ip.version == 4:
        candidates.append(ipaddress.IPv6Address(f"::ffff:{ip}"))
    elif ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    for network, identity in networks:
        if any(c.version == network.version and c in network for c in candidates):
            return identity
    return None
