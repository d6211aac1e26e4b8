from __future__ import annotations

import pytest

from postal import hookimpl
from postal.config import configure
from postal.events import Event
from postal.unit_of_work import unit_of_work


class Recorder:
    def __init__(self):
        self.events = []

    @hookimpl
    def postal_event(self, event):
        self.events.append(event)


class Exploding:
    @hookimpl
    def postal_event(self, event):
        raise RuntimeError("listener bug")


@pytest.fixture
def registry(app_settings, clean_tables):
    return configure(app_settings, role="worker").registry


def test_events_fire_once_after_commit(registry):
    recorder = Recorder()
    registry["postal.plugin_manager"].register(recorder)
    with unit_of_work(registry) as request:
        request.notify(Event(name="MessageSent", server_id=1, payload={"n": 1}))
        request.notify(Event(name="MessageSent", server_id=1, payload={"n": 2}))
        assert recorder.events == []
    assert [e.payload["n"] for e in recorder.events] == [1, 2]


def test_events_of_a_rolled_back_unit_of_work_never_fire(registry):
    recorder = Recorder()
    registry["postal.plugin_manager"].register(recorder)
    with pytest.raises(RuntimeError):
        with unit_of_work(registry) as request:
            request.notify(Event(name="MessageSent", server_id=1, payload={}))
            raise RuntimeError("the unit of work fails")
    assert recorder.events == []


def test_a_failing_listener_does_not_stop_the_others(registry, caplog):
    recorder = Recorder()
    pm = registry["postal.plugin_manager"]
    pm.register(recorder)
    pm.register(Exploding())  # registered last, so pluggy would call it first
    with unit_of_work(registry) as request:
        request.notify(Event(name="DomainDNSError", server_id=None, payload={}))
    assert "postal_event listener failed" in caplog.text
    assert [e.name for e in recorder.events] == ["DomainDNSError"]


def test_current_request_is_the_innermost_unit_of_work(registry):
    from postal.unit_of_work import current_request

    assert current_request() is None
    with unit_of_work(registry) as outer:
        assert current_request() is outer
        with unit_of_work(registry) as inner:
            assert current_request() is inner
        assert current_request() is outer
    assert current_request() is None
