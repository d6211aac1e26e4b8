"""Credentials of a server: API keys, SMTP keys and SMTP-IP networks."""

from ..openapi import TIMESTAMP, UUID, nullable, obj, operation, paged, string


TAG = {
    "name": "Credentials",
    "description": "Keys a server's clients use: API (HTTP API v1), SMTP (password for SMTP "
    "AUTH) and SMTP-IP (an address or network allowed to relay without a password).",
}

TYPES = ["API", "SMTP", "SMTP-IP"]
KEY = string(
    "SMTP-IP only: an IPv4/IPv6 address or network, stored normalised (192.0.2.7/24 becomes "
    "192.0.2.0/24, an address becomes /32 or /128). API and SMTP keys are generated.",
    maxLength=64,
)

SCHEMAS = {
    "Credential": obj(
        {
            "uuid": UUID,
            "server": UUID,
            "type": string(enum=TYPES),
            "name": string(),
            "key": string(),
            "hold": {"type": "boolean", "description": "Hold messages sent with it."},
            "last_used_at": nullable(TIMESTAMP),
            "created_at": TIMESTAMP,
        }
    ),
    "CredentialCreate": obj(
        {
            "type": string(enum=TYPES),
            "name": string(minLength=1, maxLength=255),
            "key": KEY,
            "hold": {"type": "boolean", "default": False},
        },
        required=["type", "name"],
    ),
    "CredentialUpdate": obj(
        {"name": string(minLength=1, maxLength=255), "key": KEY, "hold": {"type": "boolean"}},
        required=[],
    ),
}

_DUPLICATE = {409: "The server has an SMTP-IP credential for this network."}

PATHS = {
    "/servers/{server}/credentials": {
        "get": operation(
            "listCredentials",
            "List a server's credentials",
            response=paged("Credential"),
            paged_list=True,
        ),
        "post": operation(
            "createCredential",
            "Create a credential",
            status=201,
            body="CredentialCreate",
            response="Credential",
            errors=_DUPLICATE,
        ),
    },
    "/credentials/{credential}": {
        "get": operation("getCredential", "Get a credential", response="Credential"),
        "patch": operation(
            "updateCredential",
            "Rename, hold or re-point a credential",
            body="CredentialUpdate",
            response="Credential",
            errors=_DUPLICATE,
        ),
        "delete": operation("deleteCredential", "Delete a credential", status=204),
    },
}
