"""Scale-out with real processes: two ``postal smtp-server`` processes fill one queue and
1, 2 and 4 ``postal worker`` processes drain it; with no crash, every message arrives at the
sink exactly once.  The full-size run with throughput figures is ``make scale-out``
(bench/scale_out.py); this is the small one, on the engines made for many processes."""

from __future__ import annotations

import pytest

from bench.processes import engine_name
from bench.scale_out import failures, report, run_scale_out
from tests.conftest import BACKENDS, _backend_id


pytestmark = pytest.mark.functional


# PostgreSQL and MariaDB only: SQLite has one writer, so many worker processes on it prove
# nothing about claims (``make scale-out`` still runs it).  Not collected on SQLite at all,
# rather than skipped: under ``make test`` a skip counts as a missing service.
SERVER_ENGINES = [url for url in BACKENDS if url != "sqlite"]


@pytest.fixture
def server_database(database_url, clean_tables):
    return database_url


@pytest.mark.parametrize(
    "database_url", SERVER_ENGINES, indirect=True, ids=[_backend_id(u) for u in SERVER_ENGINES]
)
def test_many_workers_and_two_smtp_servers_deliver_each_message_once(server_database, tmp_path):
    result = run_scale_out(server_database, tmp_path, worker_counts=(1, 2, 4), messages=60)

    print(report(engine_name(server_database), result))
    assert failures(result) == []
    assert [r["workers"] for r in result["rounds"]] == [1, 2, 4]
    for r in result["rounds"]:
        assert r["messages"] >= 60
        assert r["delivered"] == r["messages"]
        assert r["twice"] == 0
