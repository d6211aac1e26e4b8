"""Shared fixtures.  Every data test runs once per database engine listed in
``POSTAL_TEST_DATABASES`` (``make test`` lists SQLite, PostgreSQL and MariaDB), each on a
throw-away database created for the run and dropped after it."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import transaction
import webtest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from postal.config import configure
from postal.migrations import upgrade
from postal.models import Base
from postal.settings import load_settings
from postal.web.wsgi import make_wsgi_app


# Every module in tests/fixtures/ is a fixture plugin; add a module there, not a line here.
pytest_plugins = sorted(
    f"tests.fixtures.{path.stem}"
    for path in (Path(__file__).parent / "fixtures").glob("*.py")
    if path.stem != "__init__"
)

BACKENDS = os.environ.get("POSTAL_TEST_DATABASES", "sqlite").split()


def _backend_id(url: str) -> str:
    if url == "sqlite":
        return "sqlite"
    return "mariadb" if make_url(url).get_backend_name() in ("mysql", "mariadb") else "postgresql"


@pytest.fixture(scope="session", params=BACKENDS, ids=[_backend_id(b) for b in BACKENDS])
def database_url(request, tmp_path_factory):
    """A fresh database at head on one engine, dropped after the run."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "postal.db"
        url = f"sqlite:///{path}"
        _migrate(url)
        yield url
        return
    server = make_url(request.param)
    name = f"postal_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        with admin.connect() as connection:
            if admin.dialect.name == "postgresql":
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


def _migrate(url: str) -> None:
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def dbengine(database_url):
    from postal.models import get_engine

    engine = get_engine({"database.url": database_url})
    yield engine
    engine.dispose()


@pytest.fixture
def clean_tables(dbengine):
    """Empty every table after the test, so tests never see each other's rows."""
    yield
    with dbengine.begin() as connection:
        if connection.dialect.name == "mysql":
            connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
        if connection.dialect.name == "mysql":
            connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))


@pytest.fixture
def app_settings(database_url, dbengine, tmp_path):
    raw = {
        "database.url": database_url,
        "postal.signing_key_path": str(tmp_path / "signing.key"),
        "postal.dkim_key_size": "1024",
        "dns.mx_records": "mx1.postal.test, mx2.postal.test",
        "dns.spf_include": "spf.postal.test",
        "dns.return_path_domain": "rp.postal.test",
        "dns.route_domain": "routes.postal.test",
        "dns.track_domain": "track.postal.test",
        # Tests add track domains and send at once: no caching between them.
        "tracking.cache_seconds": "0",
        "jinja2.directories": os.path.join(os.path.dirname(__file__), "..", "templates"),
        "here": str(tmp_path),
    }
    settings = load_settings(raw, environ={})
    settings["postal.engine"] = dbengine
    return settings


@pytest.fixture
def web_config(app_settings, clean_tables):
    return configure(app_settings, role="web")


@pytest.fixture
def testapp(web_config):
    return webtest.TestApp(make_wsgi_app(web_config))


@pytest.fixture
def dbsession(dbengine, clean_tables):
    """A plain session for arranging and checking rows; commit explicitly."""
    session = Session(bind=dbengine, expire_on_commit=False)
    yield session
    session.rollback()
    session.close()
    transaction.abort()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Under ``make test`` (POSTAL_STRICT_SERVICES=1) a test skipped because a real service
    or tool is missing fails instead: CI must never pass by not running the real thing."""
    report = yield
    if (
        report.skipped
        and os.environ.get("POSTAL_STRICT_SERVICES")
        and not hasattr(report, "wasxfail")
    ):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped under POSTAL_STRICT_SERVICES: {reason}"
    return report
