"""Periodic work inside the app processes, so the embedded default needs no cron.

A domain registers a task in its init_app: ``every(app, "homework.tick", 300, services.tick)``.
With SCHEDULER on (the default; off under TestConfig), each process starts one daemon thread with
its first request, and the thread runs what is due every SCHEDULER_TICK_SECONDS. One row per task in
`scheduled_tasks` keeps its last start; a run is claimed with a single conditional UPDATE, so when
several processes (gunicorn workers, hosts) share the database each run happens once per period.
Where web processes should not run background work, set LMS_SCHEDULER=0 and call
`flask --app wsgi lms run-due` from cron every minute or few: the same claims apply.
"""

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, Text, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from lms.core.db import UTCDateTime, utcnow
from lms.extensions import db

log = logging.getLogger(__name__)
EXTENSION = "lms_schedule"


class ScheduledTask(db.Model):
    """A periodic task's last run, or a one-off job taken with claim_once (its name says which)."""

    __tablename__ = "scheduled_tasks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The last run's exception, one line; NULL after a run that succeeded.
    last_error: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class Task:
    name: str
    seconds: float
    func: Callable[[], object]


class _Schedule:
    def __init__(self, app):
        self.app = app
        self.tasks: dict[str, Task] = {}
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def start(self) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.stopping.clear()
                self.thread = threading.Thread(target=self._loop, name="lms-schedule", daemon=True)
                self.thread.start()

    def stop(self, timeout: float = 10) -> None:
        self.stopping.set()
        thread = self.thread
        if thread is not None:
            thread.join(timeout)

    def _loop(self) -> None:
        tick = float(self.app.config.get("SCHEDULER_TICK_SECONDS", 60))
        # Processes started together (gunicorn workers) need not all look at the same moment.
        if self.stopping.wait(random.uniform(0, min(tick, 10))):
            return
        while True:
            try:
                with self.app.app_context():
                    run_due(self.app)
            except Exception:  # noqa: BLE001 - the database may be away for a moment; try next tick
                log.exception("scheduled tasks could not run")
            if self.stopping.wait(tick):
                return


def _schedule(app) -> _Schedule:
    sched = app.extensions.get(EXTENSION)
    if sched is None:
        sched = app.extensions[EXTENSION] = _Schedule(app)
        if app.config.get("SCHEDULER", True):
            app.before_request(_start_once)
    return sched


def _start_once() -> None:
    from flask import current_app

    sched = current_app.extensions[EXTENSION]
    if sched.thread is None:
        sched.start()


def every(app, name: str, seconds: float, func: Callable[[], object]) -> None:
    """Run `func` (in an app context, outside any request) about every `seconds`, once across processes."""
    _schedule(app).tasks[name] = Task(name, float(seconds), func)


def tasks(app) -> list[Task]:
    return list(_schedule(app).tasks.values())


def stop(app) -> None:
    sched = app.extensions.get(EXTENSION)
    if sched is not None:
        sched.stop()


def claim(name: str, seconds: float, now: datetime | None = None) -> bool:
    """Take the run of `name` that is due at `now`; False if another process took it, or not due."""
    now = now or utcnow()
    if db.session.get(ScheduledTask, name) is None:
        try:
            with db.session.begin_nested():
                db.session.add(ScheduledTask(name=name))
        except IntegrityError:  # another process inserted it first
            pass
    cutoff = now - timedelta(seconds=seconds)
    won = db.session.execute(
        update(ScheduledTask)
        .where(ScheduledTask.name == name)
        .where(or_(ScheduledTask.last_started_at.is_(None), ScheduledTask.last_started_at <= cutoff))
        .values(last_started_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return won == 1


def claim_once(name: str) -> bool:
    """True for the one caller, across threads and processes, that first claims `name` (a one-off
    job such as one reminder); False for everyone after. Commits."""
    try:
        with db.session.begin_nested():
            db.session.add(ScheduledTask(name=name[:64], last_started_at=utcnow()))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def run_due(app, now: datetime | None = None, force: bool = False) -> dict[str, str]:
    """Run every task whose period has passed (all of them with `force`); returns name → "ok"/error."""
    now = now or utcnow()
    done = {}
    for task in tasks(app):
        if force:
            claim(task.name, 0, now)
        elif not claim(task.name, task.seconds, now):
            continue
        error = None
        try:
            task.func()
        except Exception as exc:  # noqa: BLE001 - one failing task must not stop the others
            db.session.rollback()
            log.exception("scheduled task %s failed", task.name)
            error = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        db.session.execute(
            update(ScheduledTask)
            .where(ScheduledTask.name == task.name)
            .values(last_finished_at=utcnow(), last_error=error)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        done[task.name] = error or "ok"
    return done
