"""A server's message volume: incoming, outgoing, bounced and held per hour or per day, the
same figures as the overview graphs of the web UI (:mod:`postal.web.stats`)."""

from __future__ import annotations

from pyramid.view import view_config

from ...models import utcnow
from ...web import stats
from .access import load_server
from .errors import ValidationFailed
from .serializers import timestamp


# How many buckets each period covers by default, and at most.
PERIODS = {"hour": (24, 24 * 31), "day": (30, 366)}


@view_config(route_name="api.v2.server.stats", request_method="GET", renderer="json")
def server_stats(request):
    server = load_server(request, request.matchdict["server"])
    period = request.params.get("period", "hour")
    if period not in PERIODS:
        raise ValidationFailed("period must be hour or day.", field="period")
    default, most = PERIODS[period]
    try:
        count = int(request.params.get("count", default))
    except ValueError:
        raise ValidationFailed("count must be a whole number.", field="count") from None
    if not 1 <= count <= most:
        raise ValidationFailed(f"count must be from 1 to {most}.", field="count")
    now = utcnow()
    buckets = stats.volume(request.dbsession, server.id, period, count, now)
    return {
        "period": period,
        "data": [
            {"start": timestamp(b.start), **{name: getattr(b, name) for name in stats.SERIES}}
            for b in buckets
        ],
        "summary": stats.summary(request.dbsession, server.id, now),
    }
