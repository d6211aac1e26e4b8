"""Runs the scheduled tasks plugins register, on exactly one worker at a time.

The workers elect a leader through a lease row in ``worker_roles``: the leader renews it on
every check; when it stops renewing (it crashed or was killed), another worker takes the
lease once it is ``scheduler.lease_seconds`` old.  Each task's next run time is claimed with
a conditional UPDATE before the task runs, so even two leaders during a hand-over never run
the same task twice in one interval.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from postal import hookimpl
from postal.models import ScheduledTask as TaskRow
from postal.models import WorkerRole, utcnow
from postal.unit_of_work import unit_of_work


log = logging.getLogger(__name__)

ROLE = "scheduler"


class Scheduler:
    def __init__(self, lease_seconds: float = 300, check_interval: float = 60):
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.check_interval = check_interval
        self._last_check = 0.0
        self._lock = threading.Lock()

    def poll(self, registry, worker_id: str) -> int:
        """Check the lease and run due tasks, at most once per ``check_interval``."""
        with self._lock:
            now = time.monotonic()
            if now - self._last_check < self.check_interval:
                return 0
            self._last_check = now
        if not self.hold_lease(registry, worker_id):
            return 0
        return self.run_due_tasks(registry)

    def hold_lease(self, registry, worker_id: str) -> bool:
        """Renew our lease, or take a free or stale one; True when we are the leader."""
        now = utcnow()
        with unit_of_work(registry) as request:
            taken = request.dbsession.execute(
                update(WorkerRole)
                .where(
                    WorkerRole.role == ROLE,
                    or_(
                        WorkerRole.worker == worker_id,
                        WorkerRole.worker.is_(None),
                        WorkerRole.acquired_at < now - self.lease,
                    ),
                )
                .values(worker=worker_id, acquired_at=now)
            ).rowcount
        if taken:
            return True
        try:
            with unit_of_work(registry) as request:
                exists = request.dbsession.scalar(
                    select(WorkerRole.id).where(WorkerRole.role == ROLE)
                )
                if exists is not None:
                    return False
                request.dbsession.add(WorkerRole(role=ROLE, worker=worker_id, acquired_at=now))
            log.info("worker %s is now the scheduler", worker_id)
            return True
        except IntegrityError:
            return False  # another worker created the lease first

    def run_due_tasks(self, registry) -> int:
        pm = registry["postal.plugin_manager"]
        tasks = [task for tasks in pm.hook.postal_register_scheduled_tasks() for task in tasks]
        ran = 0
        for task in tasks:
            if self._claim(registry, task):
                ran += 1
                started = time.monotonic()
                try:
                    task.run(registry)
                except Exception:
                    log.exception("scheduled task %s failed", task.name)
                else:
                    log.info(
                        "scheduled task %s done in %.2fs", task.name, time.monotonic() - started
                    )
        return ran

    def _claim(self, registry, task) -> bool:
        """Move the task's next run forward if it is due; True when this call did so."""
        now = utcnow()
        try:
            with unit_of_work(registry) as request:
                row = request.dbsession.scalar(select(TaskRow).where(TaskRow.name == task.name))
                if row is None:
                    # First sight of this task: run now unless it asks to wait.
                    due = now + task.first_run_delay
                    run_now = due <= now
                    request.dbsession.add(
                        TaskRow(
                            name=task.name, next_run_after=now + task.interval if run_now else due
                        )
                    )
                    return run_now
                if row.next_run_after is not None and row.next_run_after > now:
                    return False
                claimed = request.dbsession.execute(
                    update(TaskRow)
                    .where(TaskRow.id == row.id, TaskRow.next_run_after == row.next_run_after)
                    .values(next_run_after=now + task.interval)
                ).rowcount
                return bool(claimed)
        except IntegrityError:
            return False  # another scheduler registered the task at the same moment


scheduler = Scheduler()


@hookimpl
def postal_configure(settings, role):
    global scheduler
    scheduler = Scheduler(
        lease_seconds=settings["scheduler.lease_seconds"],
        check_interval=settings["scheduler.check_interval"],
    )


@hookimpl(trylast=True)
def postal_worker_poll(registry, worker_id):
    return scheduler.poll(registry, worker_id)
