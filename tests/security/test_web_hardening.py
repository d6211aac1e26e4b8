"""Session cookies, security headers, password storage and the request-forgery guard.

Cookie flags are checked with production.ini's own settings (Secure there) as well as the
development ones; security headers on every HTML page the route walk reaches, error pages
included; passwords only ever as bcrypt digests; webhook and HTTP endpoint URLs that lead to
internal addresses refused through API v2 and the web forms alike.  The sign-in and SMTP AUTH
limits are tested in ``tests/functional/test_web_auth.py`` and ``test_smtp_auth.py``; the
walk here makes sure the login limit also holds per address across different clients.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import bcrypt
import pytest
import webtest
from sqlalchemy import select

from postal.config import configure
from postal.models import User
from postal.settings import load_settings
from postal.web.headers import HEADERS
from tests.fixtures.web import WebBrowser, csrf_token
from tests.security.test_web_isolation import NOT_TENANT_SCOPED, fill, web_routes


pytestmark = pytest.mark.functional

ROOT = Path(__file__).resolve().parents[2]
INTERNAL_URLS = [
    "http://127.0.0.1/hook",
    "http://localhost:8080/hook",
    "http://[::1]/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.1.2.3/hook",
    "http://192.168.0.1/hook",
    "http://2130706433/hook",  # 127.0.0.1 written as one number
    "http://[::ffff:127.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "file:///etc/passwd",
    "gopher://127.0.0.1:25/",
]


def production_settings(app_settings) -> dict:
    """production.ini's [app:main], pointed at the test database and files."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "production.ini")
    raw = {k: v for k, v in parser["app:main"].items() if k != "use"}
    raw.update(
        {
            "here": str(ROOT),
            "jinja2.directories": str(ROOT / "templates"),
            "database.url": app_settings["database.url"],
            "postal.signing_key_path": app_settings["postal.signing_key_path"],
        }
    )
    settings = load_settings(raw, environ={})
    settings["postal.engine"] = app_settings["postal.engine"]
    return settings


def session_cookie(app, email: str) -> str:
    page = app.get("/login")
    body = {"email_address": email, "password": "password123", "csrf_token": csrf_token(page)}
    response = app.post("/login", body, headers={"Referer": "https://localhost/login"}, status=302)
    cookies = [v for k, v in response.headerlist if k == "Set-Cookie"]
    assert cookies, "signing in set no cookie"
    return cookies[-1].lower()


def test_session_cookie_flags_with_production_settings(app_settings, clean_tables, data):
    user = data.user()
    settings = production_settings(app_settings)
    app = webtest.TestApp(
        configure(settings, role="web").make_wsgi_app(),
        extra_environ={"wsgi.url_scheme": "https", "HTTP_HOST": "localhost"},
    )
    cookie = session_cookie(app, user.email_address)
    assert "; httponly" in cookie
    assert re.search(r"; samesite=(lax|strict)", cookie)
    assert "; secure" in cookie


def test_session_cookie_flags_in_development(web_app, data):
    cookie = session_cookie(web_app, data.user().email_address)
    assert "; httponly" in cookie
    assert re.search(r"; samesite=(lax|strict)", cookie)


def test_every_html_page_has_the_security_headers(web_app, browser, victim):
    browser.sign_in(victim.user.email_address)
    pages = 0
    for name, pattern in sorted(web_routes(web_app.app.registry).items()):
        if name in ("__static/", "logout"):
            continue
        response = web_app.get(fill(pattern, victim), expect_errors=True)
        if response.content_type != "text/html":
            continue
        pages += 1
        for header, value in HEADERS.items():
            if header == "Content-Security-Policy":
                # The sandboxed message preview sets a stricter policy of its own.
                assert "frame-ancestors" in response.headers.get(header, ""), name
            else:
                assert response.headers.get(header) == value, f"{name}: {header}"
    assert pages >= 40, "the walk reached too few pages"
    missing = web_app.get("/no/such/page", status=404)
    assert missing.headers["X-Frame-Options"] == "DENY"
    assert set(NOT_TENANT_SCOPED) <= set(web_routes(web_app.app.registry))


def test_passwords_are_stored_as_bcrypt_digests(testapp, data, dbsession):
    _admin, headers = data.auth(admin=True)
    body = {"email_address": "new@example.com", "first_name": "N", "last_name": "U",
            "password": "correct horse battery"}  # fmt: skip
    testapp.post_json("/api/v2/users", body, headers=headers, status=201)
    data.user(email="direct@example.com", password="another password")
    dbsession.expire_all()
    for email, password in (("new@example.com", body["password"]),
                            ("direct@example.com", "another password")):  # fmt: skip
        digest = dbsession.scalar(select(User.password_digest).where(User.email_address == email))
        assert digest.startswith("$2"), f"{email}: not a bcrypt digest"
        assert password not in digest
        assert bcrypt.checkpw(password.encode(), digest.encode())


def test_login_limit_counts_per_address_across_clients(web_settings, clean_tables, data):
    user = data.user()
    app = configure({**web_settings, "web.login_attempts": 3}, role="web").make_wsgi_app()
    for number in range(3):
        client = WebBrowser(webtest.TestApp(app, extra_environ={"REMOTE_ADDR": f"10.0.0.{number}"}))
        client.sign_in(user.email_address, "wrong-password", status=401)
    fresh = WebBrowser(webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "10.0.0.99"}))
    fresh.sign_in(user.email_address, "password123", status=429)


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_webhook_and_http_endpoint_urls_to_internal_addresses_are_refused(api, victim, url):
    sid = victim.server["uuid"]
    cases = [
        ("post", f"/api/v2/servers/{sid}/webhooks", {"name": "W", "url": url, "all_events": True}),
        ("patch", f"/api/v2/webhooks/{victim.ids['webhook']}", {"url": url}),
        ("post", f"/api/v2/servers/{sid}/http-endpoints", {"name": "H", "url": url}),
        ("patch", f"/api/v2/http-endpoints/{victim.ids['endpoint']}", {"url": url}),
    ]
    for method, path, body in cases:
        response = getattr(api, method)(path, body, headers=victim.headers, status=422)
        assert response.json["error"]["field"] == "url", (method, path)


def test_web_forms_refuse_internal_urls_too(web_app, browser, victim):
    browser.sign_in(victim.user.email_address)
    routes = web_routes(web_app.app.registry)
    forms = [
        (
            fill(routes["webhooks.new"], victim),
            {"name": "W", "url": INTERNAL_URLS[3], "all_events": "1"},
        ),
        (
            fill(routes["endpoints"], victim),
            {
                "name": "H",
                "url": INTERNAL_URLS[0],
                "timeout": "5",
                "encoding": "BodyAsJSON",
                "format": "Hash",
            },
        ),
    ]
    for path, fields in forms:
        token = csrf_token(web_app.get(path))
        response = web_app.post(path, {**fields, "csrf_token": token}, expect_errors=True)
        assert response.status_int in (200, 400, 422), f"{path}: {response.status}"
        error = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.text)
        assert error, f"{path} accepted {fields['url']}"
        assert "refused" in error.group(1), error.group(1)
