"""Several server processes on one port (``smtp_server.processes``, ``web_server.processes``).

One Python process uses one core at most (its threads share a GIL), so ``postal smtp-server``
or ``postal web-server`` with ``<section>.processes = N`` runs its own server plus N - 1
copies of itself, all listening with ``SO_REUSEPORT``; the kernel spreads new connections
across them.  Each copy has its own threads, group-commit writer and database connections;
only the first serves the health server (its ``/metrics`` count its own work).  A copy that
dies is started again; stopping the first stops them all, and a copy whose first process has
gone (killed with SIGKILL) stops by itself.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from .settings import ConfigError


log = logging.getLogger(__name__)

# Set in the environment of the copies to the first process's pid: "serve one process, no
# health server, stop when that process is gone".
COPY_ENV = "POSTAL_PROCESS_COPY"
RESTART_DELAY = 1.0


def is_copy() -> bool:
    return os.environ.get(COPY_ENV, "").isdigit()


def stop_with_parent() -> None:
    """In a copy: SIGTERM ourselves (a clean stop) once the first process is gone (also when
    it went while we were starting)."""
    parent = int(os.environ[COPY_ENV])

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(RESTART_DELAY)
        log.warning("the first process of the group has gone; stopping")
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="group-parent", daemon=True).start()


def process_count(settings, section: str) -> int:
    """``<section>.processes``, checked."""
    count = settings[f"{section}.processes"]
    if count < 1:
        raise ConfigError(f"{section}.processes: expected 1 or more (got {count})")
    return count


def listening_socket(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """A listening socket; ``::`` accepts IPv4 too.

    With ``reuse_port`` (``SO_REUSEPORT``) several processes may listen on the same port and
    the kernel spreads new connections across them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            if not hasattr(socket, "SO_REUSEPORT"):
                raise ConfigError("SO_REUSEPORT is not available here: use one process")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class ProcessGroup:
    """The first server process (in this process) and the copies it supervises; ``command``
    is the CLI command that starts one (``smtp-server``, ``web-server``)."""

    def __init__(self, first, config_file: str, count: int, command: str):
        self.first = first
        self.name = first.name
        self.config_file = config_file
        self.count = count
        self.command = command
        self._copies: list[subprocess.Popen | None] = [None] * (count - 1)
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.first.port

    def start(self) -> None:
        self.first.start()  # binds first, so a configured port 0 becomes a real one
        for index in range(len(self._copies)):
            self._copies[index] = self._spawn()
        self._watcher = threading.Thread(
            target=self._watch, name=f"{self.name}-copies", daemon=True
        )
        self._watcher.start()
        print(f"postal {self.name} server: {self.count} processes share port {self.port}",
              flush=True)  # fmt: skip

    def _spawn(self) -> subprocess.Popen:
        env = {**os.environ, COPY_ENV: str(os.getpid()), "PORT": str(self.first.port)}
        command = [sys.executable, "-m", "postal", "-c", self.config_file, self.command]
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)

    def _watch(self) -> None:
        while not self._stopping.wait(RESTART_DELAY):
            for index, copy in enumerate(self._copies):
                if copy is not None and copy.poll() is not None and not self._stopping.is_set():
                    log.error("%s process %s exited with %s; starting it again",
                              self.name, copy.pid, copy.returncode)  # fmt: skip
                    self._copies[index] = self._spawn()

    def stop(self) -> None:
        """Stop the copies (each finishes its commits), then the first."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(5)
        copies = [copy for copy in self._copies if copy is not None]
        for copy in copies:
            if copy.poll() is None:
                copy.send_signal(signal.SIGTERM)
        for copy in copies:
            try:
                copy.wait(15)
            except subprocess.TimeoutExpired:
                copy.kill()
                copy.wait(5)
        self.first.stop()

    def pids(self) -> list[int]:
        """This process and its running copies (for tests and the benchmark)."""
        return [os.getpid()] + [c.pid for c in self._copies if c is not None and c.poll() is None]
