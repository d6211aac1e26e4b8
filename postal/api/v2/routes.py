"""API v2 routes (mounted under ``/api/v2``).  Names are ``api.v2.<area>.<action>``."""


def includeme(config) -> None:
    add = config.add_route
    add("api.v2.openapi", "/openapi.json")
    add("api.v2.me", "/me")
    add("api.v2.users", "/users")
    add("api.v2.user", "/users/{user}")
    add("api.v2.tokens", "/tokens")
    add("api.v2.token", "/tokens/{token}")
    add("api.v2.organizations", "/organizations")
    add("api.v2.organization", "/organizations/{organization}")
    add("api.v2.organization.members", "/organizations/{organization}/members")
    add("api.v2.organization.member", "/organizations/{organization}/members/{user}")
    add("api.v2.organization.servers", "/organizations/{organization}/servers")
    add("api.v2.server", "/servers/{server}")
    add("api.v2.server.domains", "/servers/{server}/domains")
    add("api.v2.domain", "/domains/{domain}")
    add("api.v2.domain.verify", "/domains/{domain}/verify")
    add("api.v2.domain.check_dns", "/domains/{domain}/check-dns")
    add("api.v2.server.credentials", "/servers/{server}/credentials")
    add("api.v2.credential", "/credentials/{credential}")
