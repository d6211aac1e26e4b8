"""Crash safety under load: SMTP and HTTP API v1 clients send for a bounded time while a
killer SIGKILLs a random worker or SMTP process at random moments and starts it again; then
clean processes drain the queue and the sink is counted.

    .venv/bin/python -m bench.chaos [--databases "sqlite postgresql+psycopg://…"] [--seconds 60]

Every message that got ``250`` or an API message id must reach the sink (``lost`` = 0, else
the exit status is 1).  Copies are counted and reported: a worker killed after the remote
server said ``250`` but before it recorded the delivery sends that message again (at-least-once
delivery).  ``make chaos`` runs it on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import argparse
import random
import shutil
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
    free_port,
    fresh_database,
    initialize,
    smtp_processes,
    stop_all,
    write_ini,
)


def killer(victims: list[Process], stop: threading.Event, seed: int, gap: tuple):
    """SIGKILL a random victim every ``gap`` seconds (uniform), restart it after a moment;
    returns the list of kills (name, seconds since start), filled as it goes, and the thread."""
    kills: list[tuple[str, float]] = []
    rng = random.Random(seed)
    started = time.monotonic()

    def run():
        while not stop.wait(rng.uniform(*gap)):
            victim = rng.choice([v for v in victims if _may_kill(v, victims)])
            victim.kill()
            kills.append((victim.name, time.monotonic() - started))
            stop.wait(rng.uniform(0.05, 0.5))
            victim.start(wait=False)  # comes back while the others keep working

    thread = threading.Thread(target=run, name="killer", daemon=True)
    thread.start()
    return kills, thread


def _may_kill(victim: Process, victims: list[Process]) -> bool:
    """Any worker; an SMTP server only while another one is serving, so the load goes on
    (a restart takes seconds: with both down the clients would only wait)."""
    if victim.role != "smtp-server":
        return True
    others = [v for v in victims if v.role == "smtp-server" and v is not victim]
    return any(v.ready() for v in others)


def chaos_run(server_url: str, args, directory: Path) -> dict:
    sink = load.TagSink().start()
    try:
        with fresh_database(server_url, directory) as url:
            ini = write_ini(
                directory, url, sink.port,
                **{"worker.claim_stale_seconds": str(args.stale_seconds),
                   "worker.batch_size": "10", "postal.dkim_key_size": "1024",
                   "web_server.max_threads": "4"},
            )  # fmt: skip
            initialize(ini)
            return _under_fire(ini, url, sink, args)
    finally:
        sink.stop()


def _under_fire(ini: Path, url: str, sink: load.TagSink, args) -> dict:
    web = Process("web", "web-server", ini, free_port())
    smtps, ports, shared = smtp_processes(ini, 2)
    workers = [Process(f"worker{i}", "worker", ini) for i in range(args.workers)]
    everything = [web, *smtps, *workers]
    probe = QueueProbe(url)
    try:
        for process in everything:
            process.start()
        ledger, stop = load.Ledger(), threading.Event()
        clients = load.start_clients(ports, web.port, ledger, stop, args.smtp_clients,
                                     args.api_clients, args.rate)  # fmt: skip
        halt = threading.Event()
        kills, thread = killer([*smtps, *workers], halt, args.seed, (args.min_gap, args.max_gap))
        time.sleep(args.seconds)
        halt.set()
        thread.join(10)
        stop.set()
        for client in clients:
            client.join(30)
        # Clean processes from here on: whatever the killer left dead starts again.
        for process in everything:
            if not process.alive:
                process.start(wait=False)
        for process in everything:
            process.wait_ready()
        started = time.monotonic()
        drained = probe.wait_empty(args.drain_seconds)
        sink.wait_quiet()
        figures = load.tally(ledger, sink)
        figures.update(
            kills=len(kills), smtp_kills=sum(1 for k in kills if k[0].startswith("smtp")),
            drained=drained, drain_seconds=time.monotonic() - started, shared_port=shared,
            left_in_queue=probe.depth(),
        )  # fmt: skip
        return figures
    finally:
        stop_all(everything)
        probe.close()


COLUMNS = [
    ("database", "{:<11}"), ("kills", "{:>5}"), ("accepted", "{:>8}"), ("smtp", "{:>6}"),
    ("api", "{:>6}"), ("delivered", "{:>9}"), ("lost", "{:>4}"), ("duplicated", "{:>10}"),
    ("uncertain", "{:>9}"), ("(delivered)", "{:>11}"), ("refused", "{:>7}"),
    ("queue left", "{:>10}"),
]  # fmt: skip


def table(rows: list[dict]) -> str:
    lines = ["  ".join(fmt.format(name) for name, fmt in COLUMNS)]
    for row in rows:
        values = [
            row["database"], row["kills"], row["accepted"], row["via_smtp"], row["via_api"],
            row["delivered"], row["lost"], row["duplicated"], row["uncertain"],
            row["uncertain_delivered"], row["refused"], row["left_in_queue"],
        ]  # fmt: skip
        lines.append("  ".join(fmt.format(v) for (_, fmt), v in zip(COLUMNS, values, strict=True)))
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--databases",
        default=DEFAULT_DATABASES,
        help="space-separated database server URLs (or 'sqlite')",
    )
    parser.add_argument("--seconds", type=float, default=60, help="load time per database")
    parser.add_argument("--smtp-clients", type=int, default=3)
    parser.add_argument("--api-clients", type=int, default=2)
    parser.add_argument("--rate", type=float, default=15, help="messages/s per client; 0 = max")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--min-gap", type=float, default=0.5, help="seconds between kills")
    parser.add_argument("--max-gap", type=float, default=2.5)
    parser.add_argument("--stale-seconds", type=int, default=5, help="worker.claim_stale_seconds")
    parser.add_argument("--drain-seconds", type=float, default=120)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the processes' logs here")
    return parser.parse_args(argv)  # fmt: skip


def keep_logs(directory: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for log in directory.glob("*.log"):
        shutil.copy(log, target / log.name)


def main(argv=None) -> int:
    args = parse_args(argv)
    args.seed = random.randrange(1 << 30) if args.seed is None else args.seed
    rows = []
    for server_url in args.databases.split():
        name = engine_name(server_url)
        print(f"chaos: {name}: {args.seconds:.0f} s of load with kills (seed {args.seed}) ...",
              flush=True)  # fmt: skip
        with tempfile.TemporaryDirectory(prefix=f"postal-chaos-{name}-") as tmp:
            try:
                row = chaos_run(server_url, args, Path(tmp))
            finally:
                if args.keep_logs:
                    keep_logs(Path(tmp), Path(args.keep_logs) / name)
        rows.append({"database": name, **row})
        print(f"chaos: {name}: {row['kills']} kills ({row['smtp_kills']} SMTP), "
              f"drained in {row['drain_seconds']:.1f} s", flush=True)  # fmt: skip
    print("\n" + table(rows))
    shared = "one shared port (SO_REUSEPORT)" if rows and rows[0]["shared_port"] else "two ports"
    print(
        f"\n2 SMTP servers on {shared}, {args.workers} workers, 1 web server; "
        "'uncertain' = connection killed before the reply (may or may not arrive)."
    )
    failed = [r["database"] for r in rows if r["lost"] or not r["drained"] or r["kills"] < 10]
    if failed:
        print(f"chaos: FAILED on {', '.join(failed)} (lost messages, queue not drained, "
              "or too few kills)", file=sys.stderr)  # fmt: skip
        return 1
    print("chaos: OK, nothing lost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
