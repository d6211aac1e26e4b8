"""Scale-out: 1, 2 and 4 ``postal worker`` processes draining one pre-filled queue on one
database, filled through two ``postal smtp-server`` processes (sharing one port with
``smtp_server.reuse_port`` when postal has it, else on two ports).  Nothing is killed here, so
every message must arrive exactly once; throughput is printed per worker count.

    .venv/bin/python -m bench.scale_out [--databases "postgresql+psycopg://…"] [--messages 2000]

Exits 1 when a message is lost or delivered twice.  ``make scale-out`` runs it;
``tests/functional/test_scale_out.py`` runs a small one on PostgreSQL and MariaDB.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import load
from .processes import (
    DEFAULT_DATABASES,
    Process,
    QueueProbe,
    engine_name,
    fresh_database,
    initialize,
    smtp_processes,
    stop_all,
    write_ini,
)


def fill(ports: list[int], messages: int, clients: int = 4) -> tuple[load.Ledger, float]:
    """Submit ``messages`` (a few more, what was in flight) over SMTP; (ledger, msg/s)."""
    ledger, stop = load.Ledger(), threading.Event()
    started = time.monotonic()
    threads = load.start_clients(ports, 0, ledger, stop, clients, 0)
    deadline = started + 600
    while len(ledger.accepted) < messages and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    for thread in threads:
        thread.join(30)
    return ledger, len(ledger.accepted) / (time.monotonic() - started)


def drain(ini: Path, workers: int, probe: QueueProbe, timeout: float) -> tuple[bool, float]:
    """Start ``workers`` workers, wait (bounded) for an empty queue, stop them; returns
    (drained, when the last of them was up), to time the part where all of them worked."""
    processes = [Process(f"worker{workers}-{i}", "worker", ini) for i in range(workers)]
    try:
        for process in processes:
            process.start(wait=False)
        for process in processes:
            process.wait_ready()
        all_up = time.monotonic()
        return probe.wait_empty(timeout), all_up
    finally:
        stop_all(processes)


def round_figures(ledger, sink: load.TagSink, workers: int, drained: bool, all_up: float):
    """Counts, and msg/s over the deliveries made once every worker was up (all of them
    when the queue emptied first)."""
    tags = list(ledger.accepted)
    seen = sorted(sink.first_seen[t] for t in tags if t in sink.first_seen)
    timed = [t for t in seen if t >= all_up]
    timed = timed if len(timed) > len(seen) // 2 else seen
    span = timed[-1] - timed[0] if len(timed) > 1 else 0
    return {
        "workers": workers,
        "messages": len(tags),
        "delivered": len(seen),
        "lost": len(tags) - len(seen),
        "twice": sum(1 for t in tags if sink.counts[t] > 1),
        "uncertain": len(ledger.uncertain),
        "rate": (len(timed) - 1) / span if span else 0.0,
        "drained": drained,
    }


def run_scale_out(url: str, directory: Path, worker_counts=(1, 2, 4), messages=2000) -> dict:
    """Every round on one database (already created, empty or at head); returns the figures."""
    sink = load.TagSink().start()
    ini = write_ini(directory, url, sink.port, **{"worker.batch_size": "50"})
    initialize(ini)
    smtps, ports, shared = smtp_processes(ini, 2)
    probe = QueueProbe(url)
    rounds, intake = [], []
    try:
        for process in smtps:
            process.start()
        for workers in worker_counts:
            ledger, rate = fill(ports, messages)
            intake.append(rate)
            drained, all_up = drain(ini, workers, probe, timeout=120 + messages / 10)
            sink.wait_quiet()
            rounds.append(round_figures(ledger, sink, workers, drained, all_up))
    finally:
        stop_all(smtps)
        probe.close()
        sink.stop()
    return {"rounds": rounds, "smtp_intake": intake, "shared_port": shared, "ports": ports}


def failures(result: dict) -> list[str]:
    """What went wrong in a run, as sentences (empty: all delivered exactly once)."""
    problems = []
    for r in result["rounds"]:
        if r["lost"] or r["twice"] or r["uncertain"] or not r["drained"]:
            problems.append(
                f"{r['workers']} workers: {r['lost']} lost, {r['twice']} delivered twice, "
                f"{r['uncertain']} uncertain, queue drained: {r['drained']}"
            )
    return problems


def report(name: str, result: dict) -> str:
    where = "one shared port" if result["shared_port"] else f"ports {result['ports']}"
    intake = sum(result["smtp_intake"]) / len(result["smtp_intake"])
    lines = [
        f"{name}: 2 SMTP servers on {where}, intake {intake:.0f} msg/s (4 clients)",
        f"  {'workers':>7}  {'messages':>8}  {'delivered':>9}  {'lost':>4}  {'twice':>5}  "
        f"{'msg/s':>7}  {'per worker':>10}",
    ]
    for r in result["rounds"]:
        lines.append(
            f"  {r['workers']:>7}  {r['messages']:>8}  {r['delivered']:>9}  {r['lost']:>4}  "
            f"{r['twice']:>5}  {r['rate']:>7.0f}  {r['rate'] / r['workers']:>10.0f}"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default=DEFAULT_DATABASES)
    parser.add_argument("--messages", type=int, default=2000, help="queued per round")
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",")]
    reports, problems = [], []
    for server_url in args.databases.split():
        name = engine_name(server_url)
        print(f"scale-out: {name}: {args.messages} messages per round, workers {counts} ...",
              flush=True)  # fmt: skip
        with tempfile.TemporaryDirectory(prefix=f"postal-scale-{name}-") as tmp:
            with fresh_database(server_url, Path(tmp)) as url:
                result = run_scale_out(url, Path(tmp), counts, args.messages)
        reports.append(report(name, result))
        problems += [f"{name}: {p}" for p in failures(result)]
    print("\n" + "\n\n".join(reports))
    print("\nmsg/s: deliveries at the sink once every worker was up (start-up excluded).")
    if problems:
        print("scale-out: FAILED\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print("scale-out: OK, every message delivered exactly once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
