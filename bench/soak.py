"""Soak: steady load through SMTP and the HTTP API for a long time (10 minutes by default)
while the resident memory of every postal process and the queue are sampled from /proc and
the database; prints start and end RSS per process and latency percentiles.

    .venv/bin/python -m bench.soak [--seconds 600] [--rate 20] [--database-url URL]

Fails (exit 1) when:

* a process's RSS at the end exceeds its RSS after the warm-up by more than
  ``--rss-margin-mib`` (16) or ``--rss-margin-percent`` (15 %), whichever is larger;
* latency (submission to arrival at the sink) is unbounded: the 99th percentile above
  ``--max-p99`` (5 s), or the 95th percentile of the last third of the run more than three
  times that of the first third plus one second (a backlog that keeps growing);
* the queue does not drain within 60 s after the load stops, or a message is lost.
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
    Process,
    QueueProbe,
    free_port,
    fresh_database,
    initialize,
    stop_all,
    write_ini,
)


def sample(processes: list[Process], probe: QueueProbe, elapsed: float) -> dict:
    return {
        "t": elapsed,
        "rss": {p.name: p.rss_kib() for p in processes},
        "queue": probe.depth(),
    }


def run_soak(url: str, directory: Path, args) -> dict:
    sink = load.TagSink().start()
    ini = write_ini(directory, url, sink.port, **{"web_server.max_threads": "4"})
    initialize(ini)
    web = Process("web", "web-server", ini, free_port())
    smtp = Process("smtp", "smtp-server", ini, free_port())
    workers = [Process(f"worker{i}", "worker", ini) for i in range(args.workers)]
    everything = [web, smtp, *workers]
    probe = QueueProbe(url)
    try:
        for process in everything:
            process.start()
        ledger, stop = load.Ledger(), threading.Event()
        per_client = args.rate / 4
        clients = load.start_clients([smtp.port], web.port, ledger, stop, 2, 2, per_client)
        samples, started = [], time.monotonic()
        while (elapsed := time.monotonic() - started) < args.seconds:
            samples.append(sample(everything, probe, elapsed))
            time.sleep(min(args.interval, max(0.1, args.seconds - elapsed)))
        samples.append(sample(everything, probe, time.monotonic() - started))
        stop.set()
        for client in clients:
            client.join(30)
        drained = probe.wait_empty(60)
        sink.wait_quiet()
        return {
            "samples": samples,
            "figures": load.tally(ledger, sink),
            "latencies": load.latencies(ledger, sink),
            "thirds": _thirds(ledger, sink, started, args.seconds),
            "drained": drained,
            "names": [p.name for p in everything],
        }
    finally:
        stop_all(everything)
        probe.close()
        sink.stop()


def _thirds(ledger: load.Ledger, sink: load.TagSink, started: float, seconds: float):
    """p95 latency of messages submitted in the first and in the last third of the run."""
    first, last = [], []
    for tag, submitted in ledger.accepted.items():
        if tag in sink.first_seen:
            offset = submitted - started
            latency = sink.first_seen[tag] - submitted
            if offset < seconds / 3:
                first.append(latency)
            elif offset > 2 * seconds / 3:
                last.append(latency)
    return load.percentile(sorted(first), 0.95), load.percentile(sorted(last), 0.95)


def rss_rows(result: dict, warmup: float) -> list[tuple[str, int, int, float]]:
    """(process, RSS after warm-up, RSS at the end, growth %), in KiB."""
    samples = result["samples"]
    baseline = next((s for s in samples if s["t"] >= warmup), samples[0])
    end = samples[-1]
    rows = []
    for name in result["names"]:
        start_kib, end_kib = baseline["rss"][name], end["rss"][name]
        if start_kib and end_kib:
            rows.append((name, start_kib, end_kib, 100 * (end_kib - start_kib) / start_kib))
        else:
            rows.append((name, start_kib or 0, end_kib or 0, float("nan")))
    return rows


def verdict(result: dict, rows, args) -> list[str]:
    problems = []
    for name, start_kib, end_kib, _growth in rows:
        allowed = max(args.rss_margin_mib * 1024, start_kib * args.rss_margin_percent / 100)
        if not start_kib or not end_kib:
            problems.append(f"{name} was not running at every sample")
        elif end_kib - start_kib > allowed:
            problems.append(f"{name} RSS grew {(end_kib - start_kib) / 1024:.1f} MiB")
    p99 = load.percentile(result["latencies"], 0.99)
    first, last = result["thirds"]
    if not p99 <= args.max_p99:
        problems.append(f"p99 latency {p99:.2f} s above {args.max_p99} s")
    if last > 3 * first + 1:
        problems.append(f"latency growing: p95 {first:.2f} s at the start, {last:.2f} s at the end")
    if not result["drained"] or result["figures"]["lost"]:
        problems.append(f"queue drained: {result['drained']}, lost: {result['figures']['lost']}")
    return problems


def report(result: dict, rows, args) -> str:
    f, lat = result["figures"], result["latencies"]
    queue = [s["queue"] for s in result["samples"]]
    lines = [
        f"soak: {args.seconds:.0f} s at {args.rate:g} msg/s: accepted {f['accepted']} "
        f"(smtp {f['via_smtp']}, api {f['via_api']}), delivered {f['delivered']}, "
        f"lost {f['lost']}, duplicated {f['duplicated']}, refused {f['refused']}",
        f"  {'process':<9} {'RSS start':>10} {'RSS end':>10} {'growth':>8}",
    ]
    for name, start_kib, end_kib, growth in rows:
        lines.append(
            f"  {name:<9} {start_kib / 1024:>7.1f} MiB {end_kib / 1024:>6.1f} MiB {growth:>7.1f}%"
        )
    pcts = "  ".join(f"p{int(q * 100)} {load.percentile(lat, q):.3f} s" for q in (0.5, 0.95, 0.99))
    lines.append(f"  latency: {pcts}  max {lat[-1] if lat else float('nan'):.3f} s")
    first, last = result["thirds"]
    lines.append(f"  p95 first third {first:.3f} s, last third {last:.3f} s; "
                 f"queue depth max {max(queue)}, at end of load {queue[-1]}")  # fmt: skip
    return "\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--rate", type=float, default=20, help="messages/s in total")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--interval", type=float, default=5, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=None, help="default: min(60, 20%% of run)")
    parser.add_argument("--rss-margin-mib", type=float, default=16)
    parser.add_argument("--rss-margin-percent", type=float, default=15)
    parser.add_argument("--max-p99", type=float, default=5.0)
    parser.add_argument("--database-url", default="sqlite", help="a server URL, or sqlite")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    warmup = args.warmup if args.warmup is not None else min(60, args.seconds / 5)
    print(f"soak: {args.seconds:.0f} s of steady load on {args.database_url} ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="postal-soak-") as tmp:
        with fresh_database(args.database_url, Path(tmp)) as url:
            result = run_soak(url, Path(tmp), args)
    rows = rss_rows(result, warmup)
    print(report(result, rows, args))
    print(f"  RSS start = first sample after {warmup:.0f} s of warm-up; allowed growth "
          f"max({args.rss_margin_mib:g} MiB, {args.rss_margin_percent:g} %)")  # fmt: skip
    problems = verdict(result, rows, args)
    if problems:
        print("soak: FAILED: " + "; ".join(problems), file=sys.stderr)
        return 1
    print("soak: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
