"""Multi-row INSERTs whose SQL text does not depend on the number of rows, on PostgreSQL.

A multi-row ``INSERT … VALUES (…), (…)`` is a new statement for every batch size: psycopg
re-parses its long text each time (it only caches short queries) and the server plans it
afresh.  ``INSERT … SELECT * FROM unnest(%(a)s::type[], …)`` sends one array per column
instead, so a group commit of 1 or 200 messages is the same statement: parsed once by
psycopg, prepared once by the server.  Rows are numbered in array order, as with VALUES.
"""

from __future__ import annotations

import functools

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY


@functools.lru_cache(maxsize=64)
def _statement(table, names: tuple[str, ...], returning: bool):
    arrays = [bindparam(name, type_=ARRAY(table.c[name].type)) for name in names]
    batch = func.unnest(*arrays).table_valued(*names).render_derived(name="batch")
    statement = insert(table).from_select(list(names), select(*batch.c))
    return statement.returning(table.c.id) if returning else statement


def unnest_insert(connection, table, rows: list[dict], *, returning: bool):
    """INSERT ``rows`` (each naming the same columns) in one statement; with ``returning``,
    the new ids (unordered)."""
    names = tuple(rows[0])
    columns = {name: [row[name] for row in rows] for name in names}
    result = connection.execute(_statement(table, names, returning), columns)
    return result.scalars().all() if returning else None
