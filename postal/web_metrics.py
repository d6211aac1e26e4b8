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
            REQUESTS.labels(route, request.method, str(status)).inc()
            DURATION.labels(route).observe(time.perf_counter() - started)

    return metrics_tween


def includeme(config) -> None:
    config.add_tween("postal.web_metrics.metrics_tween_factory")
