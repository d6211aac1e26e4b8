"""Domains: creation with a DKIM key, the records to publish, verification, DNS checks."""

from ..openapi import TIMESTAMP, UUID, nullable, obj, operation, paged, ref, string


TAG = {
    "name": "Domains",
    "description": "Sending and receiving domains of a server, their DNS records, "
    "verification by a TXT record and DNS checks.",
}

CHECK = obj(
    {
        "status": nullable(string("null until checked.", enum=["OK", "Missing", "Invalid"])),
        "error": nullable(string("Postal's text for what is wrong.")),
    }
)

SCHEMAS = {
    "DnsRecord": obj(
        {
            "purpose": string(enum=["verification", "spf", "dkim", "return_path", "mx"]),
            "type": string(enum=["TXT", "CNAME", "MX"]),
            "name": string("The full record name."),
            "value": string(),
            "priority": {"type": "integer", "description": "MX records only."},
        },
        required=["purpose", "type", "name", "value"],
    ),
    "Domain": obj(
        {
            "uuid": UUID,
            "name": string("Lower case; internationalised names in punycode."),
            "server": nullable(UUID),
            "verified": {"type": "boolean"},
            "verified_at": nullable(TIMESTAMP),
            "verification_method": string(enum=["DNS", "Email"]),
            "dkim_selector": string(),
            "dns_records": {
                "type": "array",
                "items": ref("DnsRecord"),
                "description": "What to publish: the verification TXT (until verified), SPF, "
                "DKIM, the return path CNAME and the MX records.",
            },
            "dns_checked_at": nullable(TIMESTAMP),
            "dns_checks": obj({name: CHECK for name in ("spf", "dkim", "mx", "return_path")}),
            "dns_ok": {"type": "boolean"},
            "use_for_any": {"type": "boolean"},
            "created_at": TIMESTAMP,
        }
    ),
    "DomainCreate": obj(
        {
            "name": string(minLength=1, maxLength=253),
            "verified": {
                "type": "boolean",
                "default": False,
                "description": "Installation admins only: add the domain already verified.",
            },
        },
        required=["name"],
    ),
}

PATHS = {
    "/servers/{server}/domains": {
        "get": operation(
            "listDomains", "List a server's domains", response=paged("Domain"), paged_list=True
        ),
        "post": operation(
            "createDomain",
            "Add a domain with a new DKIM key",
            status=201,
            body="DomainCreate",
            response="Domain",
            errors={
                403: "verified: true from a user who is not an installation admin.",
                409: "The server has this domain already.",
            },
        ),
    },
    "/domains/{domain}": {
        "get": operation("getDomain", "Get a domain and its DNS records", response="Domain"),
        "delete": operation("deleteDomain", "Delete a domain", status=204),
    },
    "/domains/{domain}/verify": {
        "post": operation(
            "verifyDomain",
            "Verify a domain by its TXT record",
            response="Domain",
            description="Looks for the verification record's value among the TXT records at "
            "the domain's apex. A verified domain answers 200 again.",
            errors={422: "verification_failed: the TXT record was not found."},
        )
    },
    "/domains/{domain}/check-dns": {
        "post": operation(
            "checkDomainDns",
            "Check a domain's SPF, DKIM, MX and return path records now",
            response="Domain",
            description="Stores each check's status and text in dns_checks. When the records "
            "are not all right, a DomainDNSError event (webhook) follows the response.",
        )
    },
}
