"""Paged lists: ``{"data": [...], "meta": {"page", "per_page", "total"}}``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, func, select

from .params import page_params
from .serializers import page


def paginate(request, query: Select, serialize: Callable[[Any], dict]) -> dict:
    page_number, per_page = page_params(request)
    total = request.dbsession.scalar(
        select(func.count()).select_from(query.order_by(None).subquery())
    )
    rows = request.dbsession.scalars(query.limit(per_page).offset((page_number - 1) * per_page))
    return page([serialize(row) for row in rows], page_number, per_page, total)
