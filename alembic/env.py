"""Alembic environment: the database URL comes from postal's settings (ini + environment),
or from a connection handed in by ``postal initialize`` and the tests."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from postal.models import Base


config = context.config


def _url() -> str:
    from pyramid.paster import get_appsettings

    from postal.settings import load_settings

    ini = config.config_file_name
    raw = dict(get_appsettings(ini, name="main")) if ini else {}
    return load_settings(raw)["database.url"]


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = engine_from_config({"url": _url()}, prefix="", poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
