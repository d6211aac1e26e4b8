"""Message volume of a server."""

from ..openapi import TIMESTAMP, obj, operation, string


TAG = {
    "name": "Statistics",
    "description": "Messages per hour or per day (UTC), as the web UI's overview graphs show.",
}

COUNT = {"type": "integer", "minimum": 0}

SCHEMAS = {
    "VolumeBucket": obj(
        {"start": TIMESTAMP, "outgoing": COUNT, "incoming": COUNT, "bounced": COUNT, "held": COUNT},
        required=["start", "outgoing", "incoming", "bounced", "held"],
    ),
    "ServerStats": obj(
        {
            "period": string(enum=["hour", "day"]),
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/VolumeBucket"}},
            "summary": obj(
                {
                    "outgoing": COUNT,
                    "incoming": COUNT,
                    "bounced": COUNT,
                    "held": COUNT,
                    "queued": COUNT,
                },
                description="The last 24 hours; held and queued: now.",
            ),
        },
        required=["period", "data", "summary"],
    ),
}

_STATS = operation(
    "getServerStats",
    "Message volume per hour or per day",
    response="ServerStats",
    errors={404: None, 422: "A bad period or count."},
    description="Oldest bucket first, empty buckets included. Bounced and held count messages "
    "by their status now; outgoing and incoming by the time they were received.",
)
_STATS = {
    **_STATS,
    "parameters": [
        {"name": "period", "in": "query", "schema": string(enum=["hour", "day"])},
        {
            "name": "count",
            "in": "query",
            "description": "Buckets: default 24 hours or 30 days; at most 744 hours or 366 days.",
            "schema": {"type": "integer", "minimum": 1, "maximum": 744},
        },
    ],
}

PATHS = {"/servers/{server}/stats": {"get": _STATS}}
