from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from plugins.scheduler import Scheduler
from postal import hookimpl
from postal.config import configure
from postal.models import ScheduledTask as TaskRow
from postal.models import WorkerRole
from postal.types import ScheduledTask
from postal.unit_of_work import unit_of_work


class Tasks:
    def __init__(self, interval=dt.timedelta(hours=1)):
        self.runs = []
        self.interval = interval

    @hookimpl
    def postal_register_scheduled_tasks(self):
        return [ScheduledTask(name="count", interval=self.interval, run=self.runs.append)]


@pytest.fixture
def registry(app_settings, clean_tables):
    registry = configure(app_settings, role="worker").registry
    pm = registry["postal.plugin_manager"]
    # Only the tasks each test registers: unregister built-ins that schedule their own.
    for impl in pm.hook.postal_register_scheduled_tasks.get_hookimpls():
        pm.unregister(impl.plugin)
    return registry


def test_hook_postal_register_scheduled_tasks(registry):
    tasks = Tasks()
    registry["postal.plugin_manager"].register(tasks)
    scheduler = Scheduler(lease_seconds=300, check_interval=0)
    assert scheduler.poll(registry, "worker-a") == 1
    assert tasks.runs == [registry]
    # Not due again for an hour, whoever asks.
    assert scheduler.poll(registry, "worker-a") == 0
    assert len(tasks.runs) == 1


def test_only_the_leader_runs_tasks_and_a_dead_leader_is_replaced(registry):
    tasks = Tasks(interval=dt.timedelta(0))
    registry["postal.plugin_manager"].register(tasks)
    a = Scheduler(lease_seconds=300, check_interval=0)
    b = Scheduler(lease_seconds=300, check_interval=0)
    assert a.hold_lease(registry, "worker-a")
    assert not b.hold_lease(registry, "worker-b")
    assert b.poll(registry, "worker-b") == 0
    assert a.poll(registry, "worker-a") == 1

    # worker-a dies: its lease is not renewed and goes stale.
    with unit_of_work(registry) as request:
        role = request.dbsession.scalar(select(WorkerRole))
        role.acquired_at -= dt.timedelta(seconds=301)
    assert b.hold_lease(registry, "worker-b")
    assert not a.hold_lease(registry, "worker-a")
    with unit_of_work(registry) as request:
        assert request.dbsession.scalar(select(WorkerRole.worker)) == "worker-b"


def test_a_failing_task_does_not_stop_the_schedule(registry, caplog):
    def broken(_registry):
        raise RuntimeError("task bug")

    class Plugin:
        @hookimpl
        def postal_register_scheduled_tasks(self):
            return [ScheduledTask(name="broken", interval=dt.timedelta(hours=1), run=broken)]

    tasks = Tasks()
    pm = registry["postal.plugin_manager"]
    pm.register(Plugin())
    pm.register(tasks)
    assert Scheduler(check_interval=0).poll(registry, "w") == 2
    assert "scheduled task broken failed" in caplog.text
    assert len(tasks.runs) == 1
    with unit_of_work(registry) as request:
        names = set(request.dbsession.scalars(select(TaskRow.name)))
    assert names == {"broken", "count"}


def test_first_run_delay_defers_the_first_run(registry):
    runs = []

    class Plugin:
        @hookimpl
        def postal_register_scheduled_tasks(self):
            return [ScheduledTask(name="later", interval=dt.timedelta(hours=1), run=runs.append,
                                  first_run_delay=dt.timedelta(minutes=5))]  # fmt: skip

    registry["postal.plugin_manager"].register(Plugin())
    assert Scheduler(check_interval=0).poll(registry, "w") == 0
    assert runs == []
