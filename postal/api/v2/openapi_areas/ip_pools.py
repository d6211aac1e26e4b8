"""IP pools, their addresses, organisation assignments, a server's pool and IP rules."""

from ..openapi import TIMESTAMP, UUID, nullable, obj, operation, paged, ref, string


TAG = {
    "name": "IP pools",
    "description": "Source addresses outgoing mail is sent from (with `postal.use_ip_pools`). "
    "Pools and their addresses are for installation admins; a pool must be assigned to an "
    "organisation before its servers and rules may use it. IP rules (of a server, then of its "
    "organisation, newest first) choose a pool by sender or recipient.",
}

PRIORITY = {
    "type": "integer",
    "minimum": 0,
    "maximum": 100,
    "default": 100,
    "description": "Weight of the address in the pool's random choice.",
}
CONDITIONS = string(
    "One condition per line: an address (matched without its +tag) or a domain (exact)."
)
POOL_REF = obj({"uuid": UUID, "name": string()})

SCHEMAS = {
    "IPAddress": obj(
        {
            "ipv4": string(format="ipv4"),
            "ipv6": nullable(string(format="ipv6")),
            "hostname": string("The name this address says in EHLO."),
            "priority": PRIORITY,
        }
    ),
    "IPAddressCreate": obj(
        {
            "ipv4": string(format="ipv4"),
            "ipv6": nullable(string(format="ipv6")),
            "hostname": string(maxLength=255),
            "priority": PRIORITY,
        },
        required=["ipv4", "hostname"],
    ),
    "IPAddressUpdate": obj(
        {
            "ipv4": string(format="ipv4"),
            "ipv6": nullable(string(format="ipv6")),
            "hostname": string(maxLength=255),
            "priority": PRIORITY,
        },
        required=[],
    ),
    "IPPool": obj(
        {
            "uuid": UUID,
            "name": string(),
            "default": {"type": "boolean", "description": "Assigned to new organisations."},
            "addresses": {"type": "array", "items": ref("IPAddress")},
            "created_at": TIMESTAMP,
        }
    ),
    "IPPoolCreate": obj(
        {"name": string(minLength=1, maxLength=255), "default": {"type": "boolean"}},
        required=["name"],
    ),
    "IPPoolUpdate": obj(
        {"name": string(minLength=1, maxLength=255), "default": {"type": "boolean"}},
        required=[],
    ),
    "IPPoolRef": POOL_REF,
    "IPPoolList": obj({"data": {"type": "array", "items": ref("IPPoolRef")}}),
    "IPPoolAssignment": obj({"ip_pools": {"type": "array", "items": UUID}}),
    "ServerIPPool": obj({"ip_pool": nullable(ref("IPPoolRef"))}),
    "ServerIPPoolUpdate": obj({"ip_pool": nullable(UUID)}),
    "IPRule": obj(
        {
            "uuid": UUID,
            "ip_pool": nullable(ref("IPPoolRef")),
            "from_text": CONDITIONS,
            "to_text": CONDITIONS,
            "created_at": TIMESTAMP,
        }
    ),
    "IPRuleCreate": obj(
        {"ip_pool": UUID, "from_text": CONDITIONS, "to_text": CONDITIONS},
        required=["ip_pool"],
    ),
    "IPRuleUpdate": obj(
        {"ip_pool": UUID, "from_text": CONDITIONS, "to_text": CONDITIONS}, required=[]
    ),
}

_ADMIN = {403: "Only installation admins may do this."}
_MANAGE = {403: "Only the organisation's owners and admins may do this."}
_TAKEN = {**_ADMIN, 409: "The address is already in an IP pool."}


def _rules(owner: str) -> dict:
    return {
        "get": operation(
            f"list{owner}IPRules",
            f"List a {owner.lower()}'s IP rules, newest first",
            response=paged("IPRule"),
            paged_list=True,
        ),
        "post": operation(
            f"create{owner}IPRule",
            f"Add an IP rule to a {owner.lower()}",
            status=201,
            body="IPRuleCreate",
            response="IPRule",
            errors=_MANAGE,
        ),
    }


PATHS = {
    "/ip-pools": {
        "get": operation(
            "listIPPools", "List IP pools", response=paged("IPPool"), paged_list=True, errors=_ADMIN
        ),
        "post": operation(
            "createIPPool",
            "Create an IP pool",
            status=201,
            body="IPPoolCreate",
            response="IPPool",
            errors=_ADMIN,
        ),
    },
    "/ip-pools/{pool}": {
        "get": operation(
            "getIPPool", "Get an IP pool and its addresses", response="IPPool", errors=_ADMIN
        ),
        "patch": operation(
            "updateIPPool",
            "Rename a pool or change its default flag",
            body="IPPoolUpdate",
            response="IPPool",
            errors=_ADMIN,
        ),
        "delete": operation(
            "deleteIPPool", "Delete a pool, its addresses and rules", status=204, errors=_ADMIN
        ),
    },
    "/ip-pools/{pool}/addresses": {
        "post": operation(
            "addIPAddress",
            "Add an address to a pool",
            status=201,
            body="IPAddressCreate",
            response="IPAddress",
            errors=_TAKEN,
        ),
    },
    "/ip-pools/{pool}/addresses/{address}": {
        "patch": operation(
            "updateIPAddress",
            "Change an address (named by its IPv4)",
            body="IPAddressUpdate",
            response="IPAddress",
            errors=_TAKEN,
        ),
        "delete": operation(
            "deleteIPAddress", "Remove an address from its pool", status=204, errors=_ADMIN
        ),
    },
    "/organizations/{organization}/ip-pools": {
        "get": operation(
            "listOrganizationIPPools",
            "The pools assigned to an organisation",
            response="IPPoolList",
        ),
        "put": operation(
            "assignOrganizationIPPools",
            "Set the pools assigned to an organisation",
            body="IPPoolAssignment",
            response="IPPoolList",
            errors=_ADMIN,
        ),
    },
    "/organizations/{organization}/ip-rules": _rules("Organization"),
    "/servers/{server}/ip-pool": {
        "get": operation(
            "getServerIPPool", "The pool a server sends from", response="ServerIPPool"
        ),
        "put": operation(
            "setServerIPPool",
            "Choose a server's pool (one of its organisation's)",
            body="ServerIPPoolUpdate",
            response="ServerIPPool",
            errors=_MANAGE,
        ),
    },
    "/servers/{server}/ip-rules": _rules("Server"),
    "/ip-rules/{rule}": {
        "get": operation("getIPRule", "Get an IP rule", response="IPRule"),
        "patch": operation(
            "updateIPRule",
            "Change an IP rule",
            body="IPRuleUpdate",
            response="IPRule",
            errors=_MANAGE,
        ),
        "delete": operation("deleteIPRule", "Delete an IP rule", status=204, errors=_MANAGE),
    },
}
