"""Sign-in through an OpenID Connect provider (``oidc.*`` settings).

Authorization code flow with PKCE (S256), ``state`` and ``nonce``; the ID token's RS256
signature is checked against the provider's JWKS.  A first sign-in links the provider's
subject to the local user with the same e-mail address; later sign-ins find the user by
issuer and subject.  Users are never created here, as in Postal.
"""

from __future__ import annotations

from postal import hookimpl


@hookimpl
def postal_web_configure(config):
    if config.get_settings().get("oidc.enabled"):
        config.include("plugins.oidc.views")
