"""Routes of the web UI.  Names are dotted ``area.action``."""

ORG = "/org/{org}"
SERVER = ORG + "/servers/{server}"
MESSAGE = SERVER + "/messages/{message:\\d+}"


def includeme(config) -> None:
    # Signing in and out, password resets, invitations.
    config.add_route("login", "/login")
    config.add_route("logout", "/logout")
    config.add_route("login.reset", "/login/reset")
    config.add_route("login.reset_token", "/login/reset/{token}")
    config.add_route("invite", "/invite/{token}")
    # The signed-in user.
    config.add_route("account", "/settings")
    config.add_route("account.password", "/settings/password")
    config.add_route("tokens", "/settings/tokens")
    config.add_route("token.delete", "/settings/tokens/{token}/delete")
    # Installation admins.
    config.add_route("users", "/users")
    config.add_route("users.new", "/users/new")
    config.add_route("user.edit", "/users/{user}/edit")
    config.add_route("user.delete", "/users/{user}/delete")
    # Organisations.
    config.add_route("org.new", "/org/new")
    config.add_route("org", ORG)
    config.add_route("org.settings", ORG + "/settings")
    config.add_route("org.delete", ORG + "/delete")
    config.add_route("org.members", ORG + "/members")
    config.add_route("org.member.delete", ORG + "/members/{user}/delete")
    config.add_route("org.invite.delete", ORG + "/invites/{invite}/delete")
    # Servers.
    config.add_route("server.new", ORG + "/servers/new")
    config.add_route("server", SERVER)
    config.add_route("server.settings", SERVER + "/settings")
    config.add_route("server.delete", SERVER + "/delete")
    config.add_route("server.help", SERVER + "/help")
    config.add_route("domains", SERVER + "/domains")
    config.add_route("domain", SERVER + "/domains/{domain}")
    config.add_route("domain.verify", SERVER + "/domains/{domain}/verify")
    config.add_route("domain.check", SERVER + "/domains/{domain}/check")
    config.add_route("domain.delete", SERVER + "/domains/{domain}/delete")
    config.add_route("credentials", SERVER + "/credentials")
    config.add_route("credential", SERVER + "/credentials/{credential}")
    config.add_route("credential.delete", SERVER + "/credentials/{credential}/delete")
    # Messages.
    config.add_route("messages", SERVER + "/messages/{scope:outgoing|incoming|held|queue}")
    config.add_route("message", MESSAGE)
    config.add_route("message.html", MESSAGE + "/html")
    config.add_route("message.raw", MESSAGE + "/raw")
    config.add_route("message.attachment", MESSAGE + "/attachments/{index:\\d+}")
