"""Multi-row INSERTs for the message store, cheap in Python on every engine.

The store (:mod:`postal.messages`) writes a few multi-row INSERTs per group commit, hundreds
of times a second, so what each costs in Python matters as much as what the database does.

On PostgreSQL a multi-row ``INSERT … VALUES (…), (…)`` is a new statement for every batch
size: psycopg re-parses its long text each time (it only caches short queries) and the
server plans it afresh.  ``INSERT … SELECT * FROM unnest(%(a)s::type[], …)`` sends one array
per column instead, so a group commit of 1 or 200 messages is the same statement: parsed
once by psycopg, prepared once by the server.  Rows are numbered in array order, as with
VALUES.

On SQLite and MariaDB the rows go as ``INSERT … VALUES (…), (…)`` written here once per
shape (table, columns, row count) and executed on the DBAPI cursor of the caller's
connection, inside its transaction.  That skips SQLAlchemy's per-statement compile,
cache-key, parameter and result set-up (``exec_driver_sql`` still does the last two, and
they cost more than the database's part of a small insert); a driver error still goes
through SQLAlchemy's handling, so callers see the usual ``sqlalchemy.exc`` errors and a lost
connection is invalidated as on any other statement.  Column defaults and bind conversions
are SQLAlchemy's own, looked up once per shape.
"""

from __future__ import annotations

import enum
import functools
import sqlite3

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session


# One VALUES statement carries at most this many bytes of parameters (MariaDB refuses a
# packet over ``max_allowed_packet``, 16 MiB by default), this many rows, and no more bound
# values than SQLite allows (32,766 since SQLite 3.32, 999 before).
MAX_STATEMENT_BYTES = 4 * 1024 * 1024
MAX_STATEMENT_ROWS = 500
SQLITE_MAX_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999


def insert_rows(db, table, rows: list[dict], *, returning: bool) -> list[int] | None:
    """INSERT ``rows`` (each naming the same columns) through ``db``, a Connection or a
    Session (its transaction's connection); with ``returning``, the new ids in the order
    of ``rows``."""
    if not rows:
        return [] if returning else None
    connection = db.connection() if isinstance(db, Session) else db
    if connection.dialect.name == "postgresql":
        ids = unnest_insert(connection, table, rows, returning=returning)
    else:
        ids = values_insert(connection, table, rows, returning=returning)
    if not returning:
        return None
    if len(ids) != len(rows):
        raise RuntimeError(f"inserted {len(rows)} rows into {table.name}, got {len(ids)} ids")
    return sorted(ids)


@functools.lru_cache(maxsize=64)
def _statement(table, names: tuple[str, ...], returning: bool):
    arrays = [bindparam(name, type_=ARRAY(table.c[name].type)) for name in names]
    batch = func.unnest(*arrays).table_valued(*names).render_derived(name="batch")
    statement = insert(table).from_select(list(names), select(*batch.c))
    return statement.returning(table.c.id) if returning else statement


def unnest_insert(connection, table, rows: list[dict], *, returning: bool):
    """PostgreSQL: INSERT ``rows`` in one statement; with ``returning``, the new ids
    (unordered)."""
    names = tuple(rows[0])
    columns = {name: [row[name] for row in rows] for name in names}
    result = connection.execute(_statement(table, names, returning), columns)
    return result.scalars().all() if returning else None


class _Shape:
    """What inserting rows with these column names into ``table`` needs, per dialect: the
    columns filled from their Python defaults, each column's bind conversion, and the
    quoted head of the statement."""

    def __init__(self, table, names: tuple[str, ...], dialect):
        given = set(names)
        self.defaults = []
        for column in table.columns:
            default = column.default
            if column.name in given or default is None or column.primary_key:
                continue
            if default.is_sequence or default.is_clause_element:
                continue  # the database fills these
            arg = default.arg
            if isinstance(arg, enum.Enum):
                arg = arg.value  # drivers take plain values
            self.defaults.append((column.name, default.is_callable, arg))
        self.names = names + tuple(name for name, _c, _a in self.defaults)
        self.processors = [
            table.c[name].type._cached_bind_processor(dialect) for name in self.names
        ]
        quote = dialect.identifier_preparer.quote
        marker = "?" if dialect.paramstyle in ("qmark", "numeric") else "%s"
        self.head = (
            f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
            f"({', '.join(quote(name) for name in self.names)}) VALUES "
        )
        self.group = "(" + ", ".join([marker] * len(self.names)) + ")"
        self.returning = f" RETURNING {quote(table.c.id.name)}" if "id" in table.c else ""

    @functools.lru_cache(maxsize=256)  # noqa: B019 - shapes live as long as the process
    def sql(self, count: int, returning: bool) -> str:
        text = self.head + ", ".join([self.group] * count)
        return text + self.returning if returning else text

    def parameters(self, rows: list[dict]) -> tuple[list, list[int]]:
        """Every row's values, converted, in one flat list; and each row's size in bytes
        (roughly: the long values' lengths)."""
        flat, sizes = [], []
        given = self.names[: len(self.names) - len(self.defaults)]
        defaults = self.defaults
        converted = [(i, p) for i, p in enumerate(self.processors) if p is not None]
        for row in rows:
            values = [row[name] for name in given]
            for _name, is_callable, arg in defaults:
                values.append(arg(None) if is_callable else arg)
            for index, processor in converted:
                value = values[index]
                if value is not None:
                    values[index] = processor(value)
            sizes.append(sum(len(v) for v in values if isinstance(v, bytes | str)))
            flat += values
        return flat, sizes


@functools.lru_cache(maxsize=128)
def _shape(table, names: tuple[str, ...], dialect) -> _Shape:
    return _Shape(table, names, dialect)


def values_insert(connection, table, rows: list[dict], *, returning: bool):
    """SQLite and MariaDB: INSERT ``rows`` in as few ``VALUES`` statements as their size
    allows; with ``returning``, the new ids (unordered)."""
    shape = _shape(table, tuple(rows[0]), connection.dialect)
    flat, sizes = shape.parameters(rows)
    width = len(shape.names)
    most = MAX_STATEMENT_ROWS
    if connection.dialect.name == "sqlite":
        most = max(1, min(most, SQLITE_MAX_VARIABLES // width))
    ids: list[int] = []
    start = 0
    cursor = connection.connection.cursor()
    try:
        while start < len(rows):
            end, size = start, 0
            while end < len(rows) and end - start < most:
                if end > start and size + sizes[end] > MAX_STATEMENT_BYTES:
                    break
                size += sizes[end]
                end += 1
            statement = shape.sql(end - start, returning)
            parameters = tuple(flat[start * width : end * width])
            try:
                cursor.execute(statement, parameters)
                if returning:
                    ids.extend(row[0] for row in cursor.fetchall())
            except Exception as exc:  # wrapped, and a lost connection invalidated
                connection._handle_dbapi_exception(exc, statement, parameters, cursor, None)
            start = end
    finally:
        cursor.close()
    return ids if returning else None
