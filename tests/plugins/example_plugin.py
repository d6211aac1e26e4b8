"""A plugin module loaded through ``postal.plugins.extra`` in tests."""

from postal import hookimpl


configured = []


@hookimpl
def postal_configure(settings, role):
    configured.append(role)


@hookimpl
def postal_web_configure(config):
    config.add_route("example.ping", "/example/ping")
    config.add_view(lambda request: {"pong": True}, route_name="example.ping", renderer="json")


@hookimpl(tryfirst=True)
def postal_authenticate_request(request):
    # Trusts a header, as a plugin behind an authenticating proxy might.
    email = request.headers.get("X-Example-User")
    if not email:
        return None
    from sqlalchemy import select

    from postal.models import User

    return request.dbsession.scalar(select(User).where(User.email_address == email))
