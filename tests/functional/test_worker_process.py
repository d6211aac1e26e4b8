"""The worker as users run it: ``postal worker -c <ini>`` in its own process, killed with
SIGKILL mid-batch and started again; and several workers sharing one queue."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import func, select

from postal.config import configure
from postal.messages import store_message
from postal.models import Message, QueuedMessage, Server


POSTAL = str(Path(sys.executable).with_name("postal"))


def queue_messages(dbsession, server_id: int, domain_id: int, count: int) -> list[int]:
    server = dbsession.get(Server, server_id)
    ids = []
    for i in range(count):
        raw = f"From: alice@example.com\r\nTo: r{i}@example.net\r\nSubject: {i}\r\n\r\nHi\r\n"
        (message,) = store_message(
            dbsession, server, scope="outgoing", mail_from="alice@example.com",
            rcpt_to=[f"r{i}@example.net"], raw=raw.encode(), domain_id=domain_id,
        )  # fmt: skip
        ids.append(message.id)
    dbsession.commit()
    return ids


def write_ini(path: Path, settings: dict, **extra) -> Path:
    values = {
        "database.url": settings["database.url"],
        "postal.signing_key_path": settings["postal.signing_key_path"],
        "postal.dkim_key_size": "1024",
        "dns.return_path_domain": "rp.postal.test",
        "dns.nameservers": ",".join(f"{h}:{p}" for h, p in settings["dns.nameservers"]),
        "postal.smtp_delivery_port": str(settings["postal.smtp_delivery_port"]),
        "worker.poll_interval": "0.1",
        **extra,
    }
    lines = ["[app:main]", "use = egg:postal"] + [f"{k} = {v}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def start_worker(ini: Path, health_port: int = 0) -> subprocess.Popen:
    env = {**os.environ, "HEALTH_SERVER_PORT": str(health_port)}
    return subprocess.Popen(
        [POSTAL, "worker", "-c", str(ini)], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def wait_until(condition, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    return process.stdout.read() if process.stdout else ""


def count_queued(dbsession) -> int:
    dbsession.commit()
    return dbsession.scalar(select(func.count()).select_from(QueuedMessage))


def test_sigkill_mid_batch_loses_nothing(
    mail_server, sending_settings, smtp_sink, dbsession, tmp_path, clean_tables
):
    ids = queue_messages(dbsession, mail_server.id, mail_server.domain_id, 12)
    smtp_sink.data_delay = 0.3  # a batch of 4 takes over a second: time to kill it
    ini = write_ini(
        tmp_path / "worker.ini", sending_settings,
        **{"worker.batch_size": "4", "worker.threads": "1", "worker.claim_stale_seconds": "3"},
    )  # fmt: skip
    first = start_worker(ini)
    try:
        assert wait_until(lambda: len(smtp_sink.messages) >= 2, 60), stop(first)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    dbsession.commit()
    locked = dbsession.scalar(
        select(func.count()).select_from(QueuedMessage).where(QueuedMessage.locked_by.is_not(None))
    )
    assert locked > 0  # the dead worker's claim is still there

    smtp_sink.data_delay = 0
    second = start_worker(ini)
    try:
        assert wait_until(lambda: count_queued(dbsession) == 0, 60), stop(second)
    finally:
        output = stop(second)
    delivered = collections.Counter(smtp_sink.recipients())
    assert set(delivered) == {f"r{i}@example.net" for i in range(12)}, output
    # Only what was on the wire when the process died can arrive twice.
    assert sum(delivered.values()) - 12 <= 4
    dbsession.expire_all()
    statuses = dbsession.scalars(select(Message.status).where(Message.id.in_(ids))).all()
    assert statuses == ["Sent"] * 12


def test_the_health_server_serves_metrics(
    mail_server, sending_settings, smtp_sink, dbsession, tmp_path, clean_tables
):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    queue_messages(dbsession, mail_server.id, mail_server.domain_id, 2)
    process = start_worker(write_ini(tmp_path / "w.ini", sending_settings), health_port=port)
    try:
        assert wait_until(lambda: count_queued(dbsession) == 0, 60)

        def fetch(path):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
                return reply.read().decode()

        assert wait_until(lambda: _answers(fetch, "/health"), 10)
        assert fetch("/health") == "OK"
        # The queue empties when the batch is committed; its counters follow a moment later.
        sent = 'postal_worker_deliveries_total{status="Sent"} 2.0'
        assert wait_until(lambda: sent in fetch("/metrics"), 10)
        metrics = fetch("/metrics")
        assert "postal_message_queue_latency_count 2.0" in metrics
        assert "postal_queued_messages" in metrics
        assert "postal_queue_oldest_message_age_seconds" in metrics
        assert "# TYPE postal_webhook_requests_total counter" in metrics
        assert "# TYPE postal_dns_checks_total counter" in metrics
    finally:
        stop(process)


def _answers(fetch, path) -> bool:
    try:
        fetch(path)
        return True
    except OSError:
        return False


def test_workers_sharing_a_queue_never_send_twice(
    mail_server, sending_settings, smtp_sink, dbsession, clean_tables
):
    from postal.worker.runner import Worker

    queue_messages(dbsession, mail_server.id, mail_server.domain_id, 60)
    settings = {**sending_settings, "worker.batch_size": 7, "worker.threads": 2}
    workers = [Worker(configure(settings, role="worker").registry) for _ in range(3)]
    for worker in workers:
        worker.start()
    try:
        assert wait_until(lambda: count_queued(dbsession) == 0, 90)
    finally:
        for worker in workers:
            worker.stop(timeout=10)
    delivered = collections.Counter(smtp_sink.recipients())
    assert len(delivered) == 60
    assert set(delivered.values()) == {1}


def test_a_stale_claim_is_taken_over(mail_server, mail_worker, smtp_sink, dbsession):
    from postal.models import utcnow
    from postal.worker.claims import claim_batch

    queue_messages(dbsession, mail_server.id, mail_server.domain_id, 1)
    assert claim_batch(dbsession, "dead worker", 10, stale_seconds=300)
    dbsession.commit()
    assert mail_worker.process_batch() == 0  # fresh claims are respected
    dbsession.query(QueuedMessage).update({"locked_at": utcnow().replace(year=2000)})
    dbsession.commit()
    assert mail_worker.process_batch() == 1
    assert smtp_sink.recipients() == ["r0@example.net"]
