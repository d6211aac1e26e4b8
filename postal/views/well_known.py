"""``/.well-known/jwks.json``: the public half of the installation signing key.

Webhook receivers verify ``X-Postal-Signature-256`` with the key whose ``kid`` equals the
request's ``X-Postal-Signature-KID``.  Public and unauthenticated by design.
"""

from pyramid.view import view_config

from ..signing import signing_key


@view_config(route_name="well_known.jwks", request_method="GET", renderer="json")
def jwks(request):
    request.response.cache_control = "public, max-age=3600"
    request.response.content_type = "application/json"
    return signing_key(request.registry.settings).jwks()
