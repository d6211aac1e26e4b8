"""Messages: search, details, raw bytes, the delivery log, retry / release / cancel."""

from ..openapi import TIMESTAMP, nullable, obj, operation, paged, ref, string


TAG = {
    "name": "Messages",
    "description": "A server's messages (one per recipient, as in Postal), addressed by their "
    "numeric id. Retry re-queues a message (a queued one is tried at once); release sends a "
    "held message past its hold; cancel ends a hold without sending.",
}

INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
NUMBER = {"type": "number"}

SCHEMAS = {
    "Message": obj(
        {
            "id": INTEGER,
            "token": string(),
            "direction": string(enum=["incoming", "outgoing"]),
            "message_id": nullable(string()),
            "rcpt_to": nullable(string()),
            "mail_from": nullable(string()),
            "subject": nullable(string()),
            "status": string("Pending, Sent, SoftFail, HardFail, Held, Bounced, HoldCancelled, …"),
            "held": BOOLEAN,
            "hold_expiry": nullable(TIMESTAMP),
            "tag": nullable(string()),
            "size": nullable(INTEGER),
            "bounce": BOOLEAN,
            "spam": BOOLEAN,
            "spam_score": NUMBER,
            "last_delivery_attempt": nullable(TIMESTAMP),
            "timestamp": TIMESTAMP,
        }
    ),
    "Delivery": obj(
        {
            "id": INTEGER,
            "status": string(),
            "details": nullable(string()),
            "output": nullable(string("The remote server's reply.")),
            "sent_with_ssl": BOOLEAN,
            "log_id": nullable(string()),
            "time": nullable({"type": "number", "description": "Seconds the attempt took."}),
            "timestamp": TIMESTAMP,
        }
    ),
    "DeliveryList": obj({"data": {"type": "array", "items": ref("Delivery")}}),
}

FILTERS = [
    {"name": name, "in": "query", "description": description, "schema": string()}
    for name, description in (
        ("direction", "incoming or outgoing."),
        ("status", "Exact status, e.g. Held."),
        ("tag", "Exact tag."),
        ("to", "Exact recipient address."),
        ("from", "Exact sender address."),
        ("query", "Text in subject, addresses or Message-ID, or an exact token."),
    )
]

_LIST = operation(
    "listMessages", "List and search a server's messages", response=paged("Message"),
    paged_list=True,
)  # fmt: skip
_LIST = {**_LIST, "parameters": _LIST["parameters"] + FILTERS}
_BUSY = {409: "The message is not in a state that allows this."}

PATHS = {
    "/servers/{server}/messages": {"get": _LIST},
    "/messages/{message}": {"get": operation("getMessage", "Get a message", response="Message")},
    "/messages/{message}/raw": {
        "get": {
            **operation("getRawMessage", "The message as stored (RFC 5322 bytes)"),
            "responses": {
                "200": {
                    "description": "The raw message.",
                    "content": {"message/rfc822": {"schema": string()}},
                },
                "401": {"$ref": "#/components/responses/Unauthenticated"},
            },
        }
    },
    "/messages/{message}/deliveries": {
        "get": operation("listDeliveries", "A message's delivery log", response="DeliveryList")
    },
    "/messages/{message}/retry": {
        "post": operation(
            "retryMessage", "Queue a message again", response="Message", errors=_BUSY
        )  # fmt: skip
    },
    "/messages/{message}/release": {
        "post": operation(
            "releaseMessage", "Send a held message", response="Message", errors=_BUSY
        )  # fmt: skip
    },
    "/messages/{message}/cancel": {
        "post": operation(
            "cancelHold", "Cancel a held message", response="Message", errors=_BUSY
        )  # fmt: skip
    },
}
