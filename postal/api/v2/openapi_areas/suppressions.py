"""The suppression list of a server."""

from ..openapi import TIMESTAMP, UUID, nullable, obj, operation, paged, string


TAG = {
    "name": "Suppressions",
    "description": "Recipients a server will not send to (messages to them are held) until "
    "keep_until. The worker adds addresses after repeated failures; a successful send "
    "removes them.",
}

SCHEMAS = {
    "Suppression": obj(
        {
            "uuid": UUID,
            "type": string(enum=["recipient"]),
            "address": string(),
            "reason": nullable(string()),
            "keep_until": nullable(TIMESTAMP),
            "active": {"type": "boolean", "description": "keep_until is still ahead."},
            "created_at": TIMESTAMP,
        }
    ),
    "SuppressionCreate": obj(
        {
            "address": string("An e-mail address.", maxLength=255),
            "reason": string(maxLength=255),
            "days": {
                "type": "integer",
                "minimum": 1,
                "maximum": 3650,
                "description": "How long; default postal.default_suppression_list_"
                "automatic_removal_days.",
            },
        },
        required=["address"],
    ),  # fmt: skip
}

_LIST = operation(
    "listSuppressions", "List a server's suppressed addresses", response=paged("Suppression"),
    paged_list=True,
)  # fmt: skip
_LIST = {
    **_LIST,
    "parameters": _LIST["parameters"]
    + [{"name": "address", "in": "query", "description": "Exact address.", "schema": string()}],
}

PATHS = {
    "/servers/{server}/suppressions": {
        "get": _LIST,
        "post": operation(
            "addSuppression",
            "Suppress an address (or refresh its entry)",
            status=201,
            body="SuppressionCreate",
            response="Suppression",
        ),  # fmt: skip
    },
    "/servers/{server}/suppressions/{suppression}": {
        "delete": operation("deleteSuppression", "Remove an address from the list", status=204)
    },
}
