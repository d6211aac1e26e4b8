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
from .process_group import ProcessGroup, is_copy, listening_socket, process_count, stop_with_parent
from .settings import ConfigError, health_address, process_address


log = logging.getLogger(__name__)


class Process(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


# By default (``send_bytes = 1``) waitress has a request's thread send each piece of its
# answer as soon as it is written: the head, then the body, each a send that gives up the
# GIL, and the event loop's thread is woken once the request ends anyway.  With a buffer of
# this size the event loop sends a small answer whole, once, when it is woken; a larger body
# is sent by the request's thread whenever this much is waiting.  For an API call that is a
# third less CPU and a third as many context switches (bench/send_e2e.py).
SEND_BYTES = 16384


def tune_waitress(server) -> None:
    """Applied to a server made by ``waitress.create_server``.  Set on its adjustments
    rather than passed in: waitress warns that the ``send_bytes`` argument is deprecated
    (a waitress without it just ignores the attribute)."""
    server.adj.send_bytes = SEND_BYTES


def stop_waitress(server, thread: threading.Thread, timeout: float = 5) -> None:
    """Close ``server`` from its own event loop, which then ends once its connections have
    (closed from another thread, the loop's next ``select`` fails on the closed socket).  A
    loop that does not get to it in time is closed from here."""
    if thread.is_alive():
        server.trigger.pull_trigger(server.close)
        thread.join(timeout)
    if thread.is_alive() or not thread.ident:
        server.close()


class WebProcess:
    """waitress serving the Pyramid application; with ``reuse_port`` its listening socket
    shares the port with the other processes of a group (``web_server.processes``)."""

    name = "web"

    def __init__(self, config, *, health: bool = True, reuse_port: bool = False):
        from waitress import create_server

        from .web.wsgi import make_wsgi_app

        settings = config.registry.settings
        self.host, self.port = process_address(settings, "web_server")
        address = (
            {"sockets": [listening_socket(self.host, self.port, reuse_port=True)]}
            if reuse_port
            else {"host": self.host, "port": self.port}
        )
        self._server = create_server(
            make_wsgi_app(config),
            threads=settings["web_server.max_threads"],
            ident="postal",
            clear_untrusted_proxy_headers=True,
            **address,
        )
        tune_waitress(self._server)
        self.port = self._server.effective_port
        self._thread = threading.Thread(target=self._server.run, name="web", daemon=True)
        self._health = (
            HealthServer("postal-web", *health_address(settings, "web_server")) if health else None
        )

    def start(self) -> None:
        if self._health is not None:
            self._health.start()
        self._thread.start()
        host, port = self._server.effective_host, self._server.effective_port
        log.info("web server listening on http://%s:%s", host, port)
        print(f"postal web server listening on http://{host}:{port}", flush=True)

    def stop(self) -> None:
        stop_waitress(self._server, self._thread)
        if self._health is not None:
            self._health.stop()


def web_process(config_file: str) -> Process:
    """One web process, or ``web_server.processes`` of them sharing the port."""
    from .bootstrap import fail

    config = build_configurator(config_file, "web")
    try:
        if is_copy():
            stop_with_parent()
            return WebProcess(config, health=False, reuse_port=True)
        count = process_count(config.registry.settings, "web_server")
        if count == 1:
            return WebProcess(config)
        return ProcessGroup(WebProcess(config, reuse_port=True), config_file, count, "web-server")
    except ConfigError as exc:
        fail(f"configuration error: {exc}")


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
