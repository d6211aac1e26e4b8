"""Web sign-in: passwords, sessions, rate limiting, resets by e-mail, and the API beside it."""

from __future__ import annotations

import re

import pyramid.session
import pytest
import webtest
from sqlalchemy import select

from postal import hookimpl
from postal.config import configure
from postal.models import User
from postal.web.sessions import session_secret
from tests.fixtures.web import WebBrowser, csrf_token


def test_pages_need_a_signed_in_user(web):
    response = web.app.get("/org/acme", status=302)
    assert response.location == "http://localhost/login?next=%2Forg%2Facme"
    assert web.app.get("/health").text == "OK"


def test_sign_in_and_out(web, data):
    user = data.user()
    response = web.sign_in(user.email_address)
    assert response.location == "http://localhost/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Sign out" in web.app.get("/").text
    web.post("/logout")
    assert web.app.get("/", status=302).location.startswith("http://localhost/login")


def test_next_only_follows_local_paths(web, data):
    user = data.user()
    page = web.app.get("/login")
    for target, expected in (("/settings", "http://localhost/settings"),
                             ("//evil.example/", "http://localhost/"),
                             ("https://evil.example/", "http://localhost/")):  # fmt: skip
        body = {"email_address": user.email_address, "password": "password123",
                "next": target, "csrf_token": csrf_token(page)}  # fmt: skip
        assert web.app.post("/login", body, status=302).location == expected
        page = web.app.get("/login?next=/")  # signed in: redirected, take a fresh form
        web.post("/logout")
        page = web.app.get("/login")


def test_secure_cookie_over_https(web_settings, clean_tables, data):
    user = data.user()
    settings = {**web_settings, "postal.web_protocol": "https"}
    app = webtest.TestApp(
        configure(settings, role="web").make_wsgi_app(),
        extra_environ={"wsgi.url_scheme": "https", "HTTP_HOST": "localhost"},
    )
    page = app.get("/login")
    body = {"email_address": user.email_address, "password": "password123",
            "csrf_token": csrf_token(page)}  # fmt: skip
    response = app.post("/login", body, headers={"Referer": "https://localhost/login"}, status=302)
    assert "; secure" in response.headers["Set-Cookie"].lower()


def test_wrong_password_is_refused_and_rate_limited(web_settings, clean_tables, data):
    user = data.user()
    settings = {**web_settings, "web.login_attempts": 3}
    web = WebBrowser(webtest.TestApp(configure(settings, role="web").make_wsgi_app()))
    for _ in range(3):
        response = web.sign_in(user.email_address, "wrong-password", status=401)
        assert "not right" in response.text
    response = web.sign_in(user.email_address, "password123", status=429)
    assert "Too many failed sign-ins" in response.text


def test_sessions_expire(web, data, monkeypatch):
    user = data.user()
    web.sign_in(user.email_address)
    assert web.app.get("/", status=200)
    later = pyramid.session.time.time() + 28800 + 60

    class Later:
        @staticmethod
        def time():
            return later

    monkeypatch.setattr(pyramid.session, "time", Later)
    assert web.app.get("/", status=302).location.startswith("http://localhost/login")


def test_changing_the_password_ends_other_sessions(web_app, data):
    user = data.user()
    first, second = WebBrowser(web_app), WebBrowser(webtest.TestApp(web_app.app))
    first.sign_in(user.email_address)
    second.sign_in(user.email_address)
    new = {"new_password": "another-pass", "new_password_confirmation": "another-pass"}
    first.post("/settings/password", {"current_password": "password123", **new})
    assert first.app.get("/", status=200)
    assert second.app.get("/", status=302)


def test_session_secret_is_generated_once_and_kept(web_settings, tmp_path):
    settings = {**web_settings, "web.session_secret": "", "postal.signing_key_path":
                str(tmp_path / "keys" / "signing.key")}  # fmt: skip
    secret = session_secret(settings)
    stored = tmp_path / "keys" / "session.secret"
    assert stored.read_text().strip() == secret and len(secret) >= 40
    assert oct(stored.stat().st_mode & 0o777) == "0o600"
    assert session_secret(settings) == secret
    assert session_secret({**settings, "web.session_secret": "configured"}) == "configured"


def test_password_reset_by_email(web_settings, clean_tables, data, smtp_sink, dbsession):
    user = data.user()
    sink = smtp_sink
    settings = {**web_settings, "smtp.host": "127.0.0.1", "smtp.port": sink.port,
                "smtp.from_address": "postal@postal.test"}  # fmt: skip
    web = WebBrowser(webtest.TestApp(configure(settings, role="web").make_wsgi_app()))
    page = web.app.get("/login/reset")
    response = web.app.post("/login/reset", {"email_address": user.email_address,
                            "csrf_token": csrf_token(page)})  # fmt: skip
    assert "we have sent it a link" in response.text
    assert sink.wait_for(1)
    mail = sink.messages[0]
    assert mail.rcpt_tos == [user.email_address]
    link = re.search(rb"http://localhost(/login/reset/\S+)", mail.data).group(1).decode()
    form = web.app.get(link)
    web.app.post(link, {"password": "brand-new-pass", "password_confirmation": "brand-new-pass",
                        "csrf_token": csrf_token(form)}, status=302)  # fmt: skip
    web.sign_in(user.email_address, "brand-new-pass")
    web.app.get(link, status=404)  # used once
    # Unknown addresses get the same answer and no mail.
    page = web.app.get("/login/reset")
    response = web.app.post("/login/reset", {"email_address": "nobody@example.com",
                            "csrf_token": csrf_token(page)})  # fmt: skip
    assert "we have sent it a link" in response.text
    assert len(sink.messages) == 1


def test_passwords_can_be_turned_off(web_settings, clean_tables, data):
    user = data.user()
    settings = {**web_settings, "oidc.local_authentication_enabled": False}
    web = WebBrowser(webtest.TestApp(configure(settings, role="web").make_wsgi_app()))
    assert 'name="password"' not in web.app.get("/login").text
    body = {"email_address": user.email_address, "password": "password123",
            "csrf_token": csrf_token(web.app.get("/login/reset"))}  # fmt: skip
    assert "turned off" in web.app.post("/login", body, status=403).text


class MasterPassword:
    """A plugin that signs anybody in with one fixed password (for the hook test only)."""

    @hookimpl
    def postal_authenticate_user(self, request, email, password):
        if password != "open-sesame":
            return None
        return request.dbsession.scalar(select(User).where(User.email_address == email.lower()))


def test_hook_postal_authenticate_user(web_settings, clean_tables, data):
    user = data.user()
    app = configure(web_settings, role="web")
    app.registry["postal.plugin_manager"].register(MasterPassword(), name="master-password")
    web = WebBrowser(webtest.TestApp(app.make_wsgi_app()))
    web.sign_in(user.email_address, "open-sesame")
    web.post("/logout")
    web.sign_in(user.email_address, "password123")  # the built-in local plugin still answers
    web.post("/logout")
    web.sign_in(user.email_address, "neither", status=401)


def test_api_keeps_bearer_tokens_and_ignores_cookies(web, data):
    user, headers = data.auth()
    web.sign_in(user.email_address)
    web.app.get("/api/v2/me", status=401)  # the session cookie is not an API credential
    assert web.app.get("/api/v2/me", headers=headers).json["uuid"] == user.uuid
    created = web.app.post_json("/api/v2/organizations", {"name": "Acme"}, headers=headers)
    assert created.status_int == 201  # no CSRF token needed on the API


def test_security_headers(web, data):
    response = web.app.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in web.app.get("/api/v2/me", status=401).headers


@pytest.fixture
def web(browser):
    return browser
