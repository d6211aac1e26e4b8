"""Several SMTP processes on one port (``smtp_server.processes``).

One Python process serves SMTP on one core at most (its event loop and its group-commit
writer share a GIL), so ``postal smtp-server`` with ``smtp_server.processes = N`` runs its own
server plus N - 1 copies of itself, all listening with ``SO_REUSEPORT``; the kernel spreads
new connections across them.  Each copy has its own loop, writer and database connections;
only the first serves the health server (``/health``, ``/metrics`` count its own sessions).
A copy that dies is started again; stopping the first stops them all, and a copy whose first
process has gone (killed with SIGKILL) stops by itself.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

from ..settings import ConfigError


log = logging.getLogger(__name__)

# Set in the environment of the copies to the first process's pid: "serve one process, no
# health server, stop when that process is gone".
COPY_ENV = "POSTAL_SMTP_COPY"
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
        log.warning("the first SMTP process has gone; stopping")
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="smtp-parent", daemon=True).start()


def process_count(settings) -> int:
    count = settings["smtp_server.processes"]
    if count < 1:
        raise ConfigError(f"smtp_server.processes: expected 1 or more (got {count})")
    return count


class SmtpProcessGroup:
    """The first SMTP process (in this process) and the copies it supervises."""

    name = "smtp"

    def __init__(self, first, config_file: str, count: int):
        self.first = first
        self.config_file = config_file
        self.count = count
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
        self._watcher = threading.Thread(target=self._watch, name="smtp-copies", daemon=True)
        self._watcher.start()
        print(f"postal SMTP server: {self.count} processes share port {self.port}", flush=True)

    def _spawn(self) -> subprocess.Popen:
        env = {**os.environ, COPY_ENV: str(os.getpid()), "PORT": str(self.first.port)}
        command = [sys.executable, "-m", "postal", "-c", self.config_file, "smtp-server"]
        return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)

    def _watch(self) -> None:
        while not self._stopping.wait(RESTART_DELAY):
            for index, copy in enumerate(self._copies):
                if copy is not None and copy.poll() is not None and not self._stopping.is_set():
                    log.error("SMTP process %s exited with %s; starting it again",
                              copy.pid, copy.returncode)  # fmt: skip
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
