"""Prometheus metrics for the web process: requests by route, method and status, and time."""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram


REQUESTS = Counter(
    "postal_web_requests_total",
    "HTTP requests answered by the web process",
    ["route", "method", "status"],
)
DURATION = Histogram(
    "postal_web_request_duration_seconds",
    "Time to answer an HTTP request",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


# (route, method, status) -> its counter and its route's histogram: ``labels()`` takes a lock
# and builds a key on every call, which is a measurable share of a small API request.
_children: dict[tuple[str, str, int], tuple] = {}


def _series(route: str, method: str, status: int) -> tuple:
    key = (route, method, status)
    found = _children.get(key)
    if found is None:
        found = REQUESTS.labels(route, method, str(status)), DURATION.labels(route)
        _children[key] = found
    return found


def metrics_tween_factory(handler, registry):
    def metrics_tween(request):
        started = time.perf_counter()
        status = 500
        try:
            response = handler(request)
            status = response.status_int
            return response
        finally:
            # Route names, not paths: ids in paths would make unbounded label values.
            route = request.matched_route.name if request.matched_route else "unmatched"
            counter, histogram = _series(route, request.method, status)
            counter.inc()
            histogram.observe(time.perf_counter() - started)

    return metrics_tween


def includeme(config) -> None:
    config.add_tween("postal.web_metrics.metrics_tween_factory")
