"""The overview's graphs (outgoing, incoming, bounced, held; hours and days, inline SVG) and
the admins' list of every organisation."""

from __future__ import annotations

import datetime as dt
import re

from postal.messages import store_message
from postal.models import Organization, Server, utcnow
from postal.web import stats


RAW = b"From: a@example.com\r\nTo: b@example.net\r\nSubject: Hi\r\n\r\nHi\r\n"


def fill(dbsession, server, hour_start):
    """Two sent, one bounced and one held this hour; one received two days ago."""
    this_hour = hour_start + dt.timedelta(seconds=1)
    for status in ("Sent", "Sent", "Bounced", "Held"):
        store_message(dbsession, server, scope="outgoing", mail_from="a@example.com",
                      rcpt_to=["b@example.net"], raw=RAW, queue=False, status=status,
                      timestamp=this_hour)  # fmt: skip
    store_message(dbsession, server, scope="incoming", mail_from="x@example.org",
                  rcpt_to=["in@acme.test"], raw=RAW, queue=False,
                  timestamp=this_hour - dt.timedelta(days=2))  # fmt: skip
    dbsession.commit()


def test_volume_counts_every_series(server_owner, dbsession):
    now = utcnow().replace(minute=30)
    hour_start = now.replace(minute=0, second=0, microsecond=0)
    fill(dbsession, server_owner.server, hour_start)
    hourly = stats.volume(dbsession, server_owner.server.id, "hour", 24, now)
    assert len(hourly) == 24 and hourly[-1].start == hour_start
    last = hourly[-1]
    assert (last.outgoing, last.incoming, last.bounced, last.held) == (4, 0, 1, 1)
    assert sum(b.outgoing + b.incoming for b in hourly[:-1]) == 0
    daily = stats.volume(dbsession, server_owner.server.id, "day", 30, now)
    assert len(daily) == 30 and (daily[-1].outgoing, daily[-1].bounced) == (4, 1)
    assert daily[-3].incoming == 1 and daily[-3].start == daily[-1].start - dt.timedelta(days=2)


def test_overview_draws_four_series(server_owner, dbsession):
    now = utcnow()
    fill(dbsession, server_owner.server, now.replace(minute=0, second=0, microsecond=0))
    page = server_owner.app.get(server_owner.base).text
    charts = re.findall(r"<svg class=\"chart\".*?</svg>", page, re.S)
    assert len(charts) == 2  # hours and days, inline
    for chart in charts:
        for css in ("bar-out", "bar-in", "bar-bounced", "bar-held"):
            assert f'class="{css}"' in chart, css
    hourly = charts[0]
    assert ": 4 outgoing</title>" in hourly and ": 1 bounced</title>" in hourly
    assert ": 1 held</title>" in hourly
    assert "<script" not in page and "http://" not in "".join(charts).replace(
        "http://www.w3.org/2000/svg", ""
    )  # nothing loaded from elsewhere
    assert "Bounced" in page and "Held" in page  # the legend


def test_admins_list_every_organisation(data, dbsession, server_owner, stranger):
    stranger()  # owns "other" with one server
    dbsession.add(Server(organization=dbsession.merge(server_owner.server.organization),
                         name="Second", permalink="second"))  # fmt: skip
    gone = Organization(name="Gone", permalink="gone", deleted_at=utcnow())
    dbsession.add(gone)
    dbsession.commit()
    server_owner.app.get("/admin/organizations", status=403)
    assert "All organisations" not in server_owner.app.get("/settings").text

    admin = type(server_owner)(type(server_owner.app)(server_owner.app.app))
    admin.sign_in(data.user(admin=True).email_address)
    assert "All organisations" in admin.app.get("/settings").text
    page = admin.app.get("/admin/organizations").text
    rows = re.findall(r"<tr>\s*<td><a href=\"[^\"]+\">([^<]+)</a></td>.*?<td>(\d+)</td>\s*"
                      r"<td>(\d+)</td>", page, re.S)  # fmt: skip
    assert rows == [("Acme", "2", "1"), ("Other", "1", "1")]  # deleted ones are left out
