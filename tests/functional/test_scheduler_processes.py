"""Two real ``postal worker`` processes elect one scheduler; killing it hands over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from postal.models import WorkerRole
from tests.fixtures.process_groups import wait_until


POSTAL = str(Path(sys.executable).with_name("postal"))


def _start(ini: Path) -> subprocess.Popen:
    env = {**os.environ, "HEALTH_SERVER_PORT": "0"}
    return subprocess.Popen(
        [POSTAL, "-c", str(ini), "worker"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _leader(dbsession) -> str | None:
    dbsession.commit()  # a fresh snapshot (MariaDB is REPEATABLE READ)
    return dbsession.scalar(select(WorkerRole.worker).where(WorkerRole.role == "scheduler"))


def test_a_killed_leader_is_replaced_by_the_other_worker(
    database_url, clean_tables, dbsession, tmp_path
):
    ini = tmp_path / "workers.ini"
    ini.write_text(
        "[app:main]\nuse = egg:postal\n"
        f"database.url = {database_url}\n"
        f"postal.signing_key_path = {tmp_path / 'signing.key'}\n"
        "postal.dkim_key_size = 1024\n"
        "worker.poll_interval = 0.1\n"
        "scheduler.lease_seconds = 3\n"
        "scheduler.check_interval = 0.2\n"
    )
    workers = {}
    try:
        for _ in range(2):
            process = _start(ini)
            workers[process.pid] = process
        first = wait_until(lambda: _leader(dbsession))
        leader_pid = next(pid for pid in workers if f"pid:{pid} " in f"{first} ")
        # Only one of the two holds the lease while it lives.
        time.sleep(1.5)
        assert _leader(dbsession) == first

        workers[leader_pid].send_signal(signal.SIGKILL)
        workers[leader_pid].wait(timeout=10)
        (survivor,) = [pid for pid in workers if pid != leader_pid]
        second = wait_until(lambda: (lead := _leader(dbsession)) != first and lead)
        assert f"pid:{survivor} " in f"{second} "
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
