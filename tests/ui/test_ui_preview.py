"""An HTML e-mail with a script and remote resources runs nothing and loads nothing in the
message page's preview, in a real Chromium."""

from __future__ import annotations

import http.server
import threading

import pytest

from postal.messages import store_message
from postal.models import MembershipRole, Organization, OrganizationUser, Server

from .test_ui_flow import sign_in


pytestmark = pytest.mark.functional


class HitRecorder:
    """A local HTTP server that remembers every path requested of it."""

    def __init__(self):
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}
        )
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=5)
        self.server.server_close()


@pytest.fixture
def recorder():
    recorder = HitRecorder()
    yield recorder
    recorder.stop()


def hostile_html(base: str) -> str:
    return (
        "<html><head><link rel='stylesheet' href='BASE/style.css'>"
        "<style>body { background: url('BASE/background.png'); }</style></head><body>"
        "<p id='content'>Hello from the e-mail</p>"
        "<script>document.body.setAttribute('data-script-ran', 'yes');"
        "fetch('BASE/fetch');</script>"
        "<img src='BASE/pixel.gif' alt='remote'>"
        "<img src='broken' onerror=\"document.body.setAttribute('data-handler-ran', 'yes')\">"
        "<iframe src='BASE/frame'></iframe></body></html>"
    ).replace("BASE", base)


def _arrange(dbsession, user, html: str):
    organization = Organization(name="Acme", permalink="acme", time_zone="UTC")
    organization.memberships.append(OrganizationUser(user_id=user.id, role=MembershipRole.OWNER))
    server = Server(organization=organization, name="Main", permalink="main")
    dbsession.add_all([organization, server])
    dbsession.flush()
    raw = (
        "From: a@example.com\r\nTo: b@example.net\r\nSubject: Hostile\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n" + html
    ).encode()
    (message,) = store_message(
        dbsession, server, scope="incoming", mail_from="a@example.com",
        rcpt_to=["b@example.net"], raw=raw, queue=False,
    )  # fmt: skip
    dbsession.commit()
    return message


def _markers(frame) -> dict:
    return frame.evaluate(
        "() => ({script: document.body.getAttribute('data-script-ran'),"
        " handler: document.body.getAttribute('data-handler-ran'),"
        " text: (document.getElementById('content') || {}).textContent})"
    )


def test_the_detector_sees_scripts_and_remote_loads_without_our_protections(page, recorder):
    """Control: the same HTML loaded without our sandbox runs its script and hits the recorder,
    so the assertions below would catch a preview that let either happen."""
    page.set_content(hostile_html(recorder.url), wait_until="load")
    page.wait_for_load_state("networkidle")
    assert _markers(page.main_frame)["script"] == "yes"
    assert "/pixel.gif" in recorder.hits


def test_html_preview_runs_no_script_and_loads_nothing(
    page, live_server, data, dbsession, recorder
):
    user = data.user()
    message = _arrange(dbsession, dbsession.merge(user), hostile_html(recorder.url))
    live = live_server()
    sign_in(page, live.url, user.email_address)
    page.goto(f"{live.url}/org/acme/servers/main/messages/{message.id}")
    iframe = page.locator("iframe.preview")
    assert iframe.get_attribute("sandbox") == ""
    page.wait_for_load_state("networkidle")
    frame = next(f for f in page.frames if f.url.endswith("/html"))
    frame.wait_for_load_state("load")
    assert _markers(frame) == {"script": None, "handler": None, "text": "Hello from the e-mail"}
    page.screenshot_as("11-html-preview")

    # Opened on its own, outside the iframe, the CSP header still forbids everything.
    page.goto(frame.url)
    page.wait_for_load_state("networkidle")
    markers = _markers(page.main_frame)
    assert (markers["script"], markers["handler"]) == (None, None)
    assert recorder.hits == []
