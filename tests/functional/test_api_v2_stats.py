"""API v2: a server's message volume per hour and per day."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from postal.messages import store_message
from postal.models import Message, Server, utcnow


def path(server) -> str:
    return f"/api/v2/servers/{server['uuid']}/stats"


def test_volume_per_hour_and_day(api, v2, dbsession):
    headers, _org, server = v2.tenant()
    row = dbsession.scalar(select(Server).where(Server.uuid == server["uuid"]))
    for scope, rcpt in (("outgoing", "a@x.test"), ("outgoing", "b@x.test"), ("incoming", "c@y")):
        store_message(dbsession, row, scope=scope, mail_from="m@f.test", rcpt_to=[rcpt],
                      raw=b"Subject: s\r\n\r\nhi\r\n")  # fmt: skip
    (old,) = store_message(dbsession, row, scope="outgoing", mail_from="m@f.test",
                           rcpt_to=["d@x.test"], raw=b"Subject: s\r\n\r\nhi\r\n")  # fmt: skip
    old.timestamp, old.status = utcnow() - dt.timedelta(days=2), "Bounced"
    dbsession.commit()

    hourly = api.get(path(server), headers=headers).json
    assert hourly["period"] == "hour" and len(hourly["data"]) == 24
    last = hourly["data"][-1]
    assert (last["outgoing"], last["incoming"], last["bounced"]) == (2, 1, 0)
    assert sum(b["outgoing"] for b in hourly["data"]) == 2
    assert hourly["summary"]["queued"] == 4

    daily = api.get(path(server) + "?period=day&count=3", headers=headers).json
    assert [b["outgoing"] for b in daily["data"]] == [1, 0, 2]
    assert [b["bounced"] for b in daily["data"]] == [1, 0, 0]
    assert dbsession.scalar(select(Message.id).where(Message.id == old.id))


def test_bad_requests_and_other_tenants(api, v2):
    headers, _org, server = v2.tenant()
    other, _o, _s = v2.tenant()
    api.get(path(server) + "?period=week", headers=headers, status=422)
    api.get(path(server) + "?count=0", headers=headers, status=422)
    api.get(path(server) + "?count=x", headers=headers, status=422)
    api.get(path(server) + "?period=day&count=367", headers=headers, status=422)
    api.get(path(server), headers=other, status=404)
    api.get(path(server), status=401)
