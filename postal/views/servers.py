"""Mail servers: creation, the overview, settings, the sending help page and deletion."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config
from sqlalchemy import delete, select

from ..models import Credential, Message, Server, ServerMode, utcnow
from ..models.server import RESERVED_PERMALINKS
from ..permalinks import server_permalink_taken
from ..web import charts, stats
from ..web.access import load_organization, load_server
from ..web.forms import FormError, checkbox, choice, number, permalink, text


MODES = [mode.value for mode in ServerMode]


def server_page(request, access, server, **values) -> dict:
    """What every server page's layout needs (header counts, tabs)."""
    return {"access": access, "org": access.organization, "server": server,
            "summary": stats.summary(request.dbsession, server.id, utcnow()), **values}  # fmt: skip


@view_config(
    route_name="server.new", request_method="GET", renderer="servers/new.jinja2", permission="web"
)
def new_form(request):
    access = load_organization(request)
    access.require_manage()
    return {"access": access, "org": access.organization, "modes": MODES, "error": None, "form": {}}


@view_config(
    route_name="server.new", request_method="POST", renderer="servers/new.jinja2", permission="web"
)
def create(request):
    access = load_organization(request)
    access.require_manage()
    organization = access.organization
    settings = request.registry.settings
    try:
        name = text(request, "name", required="Give the server a name.")
        mode = choice(request, "mode", MODES, "mode")
        permalink = _permalink(request, organization, name)
    except FormError as exc:
        return {"access": access, "org": organization, "modes": MODES, "error": str(exc),
                "form": request.POST}  # fmt: skip
    server = Server(
        organization=organization, name=name, permalink=permalink, mode=ServerMode(mode),
        spam_threshold=settings["postal.default_spam_threshold"],
        spam_failure_threshold=settings["postal.default_spam_failure_threshold"],
        message_retention_days=60, raw_message_retention_days=30,
        raw_message_retention_size=2048, allow_sender=False, privacy_mode=False,
        log_smtp_data=False,
    )  # fmt: skip
    request.dbsession.add(server)
    request.dbsession.flush()
    request.session.flash(f"{name} has been created. Add a domain to start sending.")
    return HTTPFound(request.route_url("server", org=organization.permalink, server=permalink))


def _permalink(request, organization, name: str) -> str:
    taken = server_permalink_taken(request.dbsession, organization.id)
    return permalink(request, name, RESERVED_PERMALINKS, taken)


@view_config(
    route_name="server", request_method="GET", renderer="servers/overview.jinja2", permission="web"
)
def overview(request):
    access, server = load_server(request)
    now = utcnow()
    hourly = stats.volume(request.dbsession, server.id, "hour", 24, now)
    daily = stats.volume(request.dbsession, server.id, "day", 30, now)
    recent = request.dbsession.scalars(
        select(Message)
        .where(Message.server_id == server.id)
        .order_by(Message.timestamp.desc(), Message.id.desc())
        .limit(6)
    )
    return server_page(
        request, access, server,
        hourly_chart=charts.volume_chart(hourly, "%H:00", "Messages per hour, last 24 hours"),
        daily_chart=charts.volume_chart(daily, "%d %b", "Messages per day, last 30 days"),
        recent=list(recent),
    )  # fmt: skip


@view_config(
    route_name="server.settings",
    request_method="GET",
    renderer="servers/settings.jinja2",
    permission="web",
)
def settings_form(request):
    access, server = load_server(request)
    return server_page(request, access, server, modes=MODES, error=None)


@view_config(
    route_name="server.settings",
    request_method="POST",
    renderer="servers/settings.jinja2",
    permission="web",
)
def settings_submit(request):
    access, server = load_server(request)
    access.require_manage()
    try:
        values = _read_settings(request, server)
    except FormError as exc:
        return server_page(request, access, server, modes=MODES, error=str(exc))
    for key, value in values.items():
        setattr(server, key, value)
    request.session.flash("The server's settings have been saved.")
    return HTTPFound(
        request.route_url(
            "server.settings", org=access.organization.permalink, server=server.permalink
        )
    )


def _read_settings(request, server: Server) -> dict:
    """Every field is validated before any is applied."""
    values = {
        "name": text(request, "name", required="Give the server a name."),
        "mode": ServerMode(choice(request, "mode", MODES, "mode")),
        "spam_threshold": number(request, "spam_threshold", "Spam threshold", minimum=0),
        "spam_failure_threshold": number(
            request, "spam_failure_threshold", "Spam failure threshold", minimum=0
        ),
        "postmaster_address": text(request, "postmaster_address") or None,
        "privacy_mode": checkbox(request, "privacy_mode"),
    }
    if values["spam_failure_threshold"] < values["spam_threshold"]:
        raise FormError("The spam failure threshold must not be below the spam threshold.")
    if request.identity.admin:
        values.update(_read_admin_settings(request))
    return values


def _read_admin_settings(request) -> dict:
    """Postal's "advanced settings": installation admins only."""
    return {
        "send_limit": number(
            request, "send_limit", "Send limit", minimum=0, integer=True, blank_is_none=True
        ),
        "allow_sender": checkbox(request, "allow_sender"),
        "log_smtp_data": checkbox(request, "log_smtp_data"),
        "outbound_spam_threshold": number(
            request, "outbound_spam_threshold", "Outbound spam threshold", minimum=0,
            blank_is_none=True,
        ),
        "message_retention_days": number(
            request, "message_retention_days", "Message retention", minimum=1, maximum=3650,
            integer=True,
        ),
        "raw_message_retention_days": number(
            request, "raw_message_retention_days", "Raw message retention", minimum=1,
            maximum=3650, integer=True,
        ),
        "raw_message_retention_size": number(
            request, "raw_message_retention_size", "Raw message storage", minimum=1, integer=True
        ),
    }  # fmt: skip


@view_config(route_name="server.delete", request_method="POST", permission="web")
def delete_server(request):
    access, server = load_server(request)
    access.require_manage()
    org = access.organization.permalink
    if request.POST.get("confirm") != server.permalink:
        request.session.flash("Type the server's short name to confirm.", "error")
        return HTTPFound(request.route_url("server.settings", org=org, server=server.permalink))
    # The database cascades to domains, credentials, messages and the queue.
    request.dbsession.execute(delete(Server).where(Server.id == server.id))
    request.session.flash(f"{server.name} has been deleted.")
    return HTTPFound(request.route_url("org", org=org))


@view_config(
    route_name="server.help", request_method="GET", renderer="servers/help.jinja2", permission="web"
)
def help_page(request):
    access, server = load_server(request)
    credentials = list(
        request.dbsession.scalars(
            select(Credential).where(Credential.server_id == server.id).order_by(Credential.id)
        )
    )
    settings = request.registry.settings
    base = f"{settings['postal.web_protocol']}://{settings['postal.web_hostname']}"
    return server_page(
        request, access, server,
        api_credentials=[c for c in credentials if c.type == "API"],
        smtp_credentials=[c for c in credentials if c.type == "SMTP"],
        api_url=base, smtp_host=settings["postal.smtp_hostname"],
    )  # fmt: skip
