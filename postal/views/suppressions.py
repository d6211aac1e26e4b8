"""A server's suppression list: the addresses (reason, keep until), adding one, removing one.
The rules are :mod:`postal.suppressions`, shared with the management API."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config
from sqlalchemy import select

from .. import suppressions as rules
from ..models import Suppression, utcnow
from ..web.access import load_server
from ..web.forms import FormError, number, text
from .servers import server_page


PER_PAGE = 30


def _page(request, access, server, error=None, form=None) -> dict:
    try:
        page = max(int(request.GET.get("page", 1)), 1)
    except ValueError:
        page = 1
    rows = list(
        request.dbsession.scalars(
            select(Suppression)
            .where(Suppression.server_id == server.id)
            .order_by(Suppression.id.desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE + 1)
        )
    )
    now = utcnow()
    return server_page(
        request, access, server, suppressions=rows[:PER_PAGE], more=len(rows) > PER_PAGE,
        page=page, error=error, form=form or {}, active=lambda row: rules.is_active(row, now),
        default_days=request.registry.settings[
            "postal.default_suppression_list_automatic_removal_days"
        ],
    )  # fmt: skip


def _list_url(request, access, server) -> str:
    return request.route_url(
        "suppressions", org=access.organization.permalink, server=server.permalink
    )


@view_config(
    route_name="suppressions", request_method="GET", renderer="suppressions/index.jinja2",
    permission="web",
)  # fmt: skip
def index(request):
    access, server = load_server(request)
    return _page(request, access, server)


@view_config(
    route_name="suppressions", request_method="POST", renderer="suppressions/index.jinja2",
    permission="web",
)  # fmt: skip
def add(request):
    access, server = load_server(request)
    try:
        address = text(request, "address", required="Enter the address to suppress.")
        days = number(request, "days", "Days", minimum=1, maximum=rules.MAX_DAYS, integer=True)
        row = rules.add_manually(
            request.dbsession, server.id, address, text(request, "reason"), days
        )
    except (FormError, rules.SuppressionError) as exc:
        message = str(exc)
        return _page(request, access, server, message[:1].upper() + message[1:], request.POST)
    request.session.flash(f"{row.address} is on the suppression list.")
    return HTTPFound(_list_url(request, access, server))


@view_config(route_name="suppression.delete", request_method="POST", permission="web")
def remove(request):
    access, server = load_server(request)
    row = request.dbsession.scalar(
        select(Suppression).where(
            Suppression.server_id == server.id,
            Suppression.uuid == request.matchdict["suppression"],
        )
    )
    if row is None:
        raise HTTPNotFound()
    request.dbsession.delete(row)
    request.session.flash(f"{row.address} has been removed from the suppression list.")
    return HTTPFound(_list_url(request, access, server))
