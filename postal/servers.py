"""Long-running processes (web, SMTP, worker) and running one or several of them.

Each process object starts in the background and says where it listens; ``run_processes``
waits for SIGTERM or SIGINT and stops them in reverse order, so ``postal run`` and the single
``postal web-server`` behave the same.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Protocol

from .bootstrap import build_configurator
from .health import HealthServer
from .settings import ConfigError, health_address, process_address


log = logging.getLogger(__name__)


class Process(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


class WebProcess:
    """waitress serving the Pyramid application."""

    name = "web"

    def __init__(self, config_file: str):
        from waitress import create_server

        from .web.wsgi import make_wsgi_app

        config = build_configurator(config_file, "web")
        settings = config.registry.settings
        try:
            self.host, self.port = process_address(settings, "web_server")
            health = health_address(settings, "web_server")
        except ConfigError as exc:
            from .bootstrap import fail

            fail(f"configuration error: {exc}")
        app = make_wsgi_app(config)
        self._server = create_server(
            app,
            host=self.host,
            port=self.port,
            threads=settings["web_server.max_threads"],
            ident="postal",
            clear_untrusted_proxy_headers=True,
        )
        self._thread = threading.Thread(target=self._server.run, name="web", daemon=True)
        self._health = HealthServer("postal-web", *health)

    def start(self) -> None:
        self._health.start()
        self._thread.start()
        host, port = self._server.effective_host, self._server.effective_port
        log.info("web server listening on http://%s:%s", host, port)
        print(f"postal web server listening on http://{host}:{port}", flush=True)

    def stop(self) -> None:
        self._server.close()
        self._thread.join(timeout=5)
        self._health.stop()


def web_process(config_file: str) -> Process:
    return WebProcess(config_file)


# ``postal run`` starts every process named here; the SMTP server and the worker add theirs.
def worker_process(config_file: str) -> Process:
    from .worker.runner import WorkerProcess

    return WorkerProcess(config_file)


def smtp_process(config_file: str) -> Process:
    from .smtp.server import smtp_process as make

    return make(config_file)


PROCESS_FACTORIES = {"web": web_process, "smtp": smtp_process, "worker": worker_process}


def all_processes(config_file: str) -> list[Process]:
    return [factory(config_file) for factory in PROCESS_FACTORIES.values()]


def run_processes(processes: list[Process]) -> None:
    """Start ``processes``, block until SIGTERM/SIGINT, then stop them cleanly."""
    stopping = threading.Event()

    def on_signal(signum, _frame):
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    started: list[Process] = []
    try:
        for process in processes:
            process.start()
            started.append(process)
        while not stopping.wait(1.0):
            pass
    finally:
        for process in reversed(started):
            try:
                process.stop()
            except Exception:
                log.exception("error while stopping %s", process.name)
        print("postal stopped", flush=True)
