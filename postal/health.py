"""The health server each long-running process serves: ``/health``, ``/metrics`` and ``/``.

As Postal does, a port that is already taken is logged and skipped; the process starts anyway.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest


log = logging.getLogger(__name__)


class HealthServer:
    def __init__(self, name: str, host: str, port: int, registry: CollectorRegistry = REGISTRY):
        self.name = name
        self.host = host
        self.port = port
        self.registry = registry
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Start in the background; ``False`` (and a log line) when the port is taken."""
        try:
            self._server = ThreadingHTTPServer((self.host, self.port), self._handler())
        except OSError as exc:
            log.warning("%s health server not started on %s:%s: %s", self.name, self.host,
                        self.port, exc)  # fmt: skip
            return False
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"{self.name}-health", daemon=True
        )
        self._thread.start()
        log.info("%s health server listening on http://%s:%s", self.name, self.host, self.port)
        return True

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handler(self):
        health = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                if self.path == "/health":
                    self._reply(200, b"OK", "text/plain")
                elif self.path == "/metrics":
                    self._reply(200, generate_latest(health.registry), CONTENT_TYPE_LATEST)
                elif self.path == "/":
                    text = f"{health.name} (pid: {os.getpid()}, host: {socket.gethostname()})"
                    self._reply(200, text.encode(), "text/plain")
                else:
                    self._reply(404, b"Not Found", "text/plain")

            def _reply(self, status, body, content_type):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):
                pass

        return Handler
