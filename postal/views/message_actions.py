"""The buttons on a message page: retry, release, cancel hold, remove from queue.

Each is a POST that applies a rule of :mod:`postal.message_actions` (shared with the
management API) and comes back to the message page with a notice saying what happened.
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from .. import message_actions as actions
from ..web.access import load_message, load_server


DONE = {
    "message.retry": "The message has been queued to be sent again.",
    "message.release": "The message has been released and queued.",
    "message.cancel_hold": "The hold has been cancelled; the message will not be sent.",
    "message.dequeue": "The message has been removed from the queue.",
}


def _act(request, action, *args):
    access, server = load_server(request)
    message = load_message(request, server)
    try:
        action(request.dbsession, message, *args)
    except actions.MessageActionError as exc:
        request.session.flash(str(exc), "error")
    else:
        request.session.flash(DONE[request.matched_route.name])
    return HTTPFound(
        request.route_url("message", org=access.organization.permalink,
                          server=server.permalink, message=message.id)
    )  # fmt: skip


@view_config(route_name="message.retry", request_method="POST", permission="web")
def retry(request):
    return _act(request, actions.retry, request.tm)


@view_config(route_name="message.release", request_method="POST", permission="web")
def release(request):
    return _act(request, actions.release)


@view_config(route_name="message.cancel_hold", request_method="POST", permission="web")
def cancel_hold(request):
    return _act(request, actions.cancel_hold)


@view_config(route_name="message.dequeue", request_method="POST", permission="web")
def remove_from_queue(request):
    return _act(request, actions.remove_from_queue)
