"""Users, the signed-in user and API tokens."""

from ..openapi import TIMESTAMP, UUID, nullable, obj, operation, paged, string


TAG = {
    "name": "Users",
    "description": "Users (installation admins manage them) and the caller's API tokens.",
}

SCHEMAS = {
    "User": obj(
        {
            "uuid": UUID,
            "email_address": string(format="email"),
            "first_name": string(),
            "last_name": string(),
            "name": string("First and last name."),
            "admin": {"type": "boolean", "description": "An installation admin."},
            "time_zone": string(),
            "created_at": TIMESTAMP,
        }
    ),
    "UserCreate": obj(
        {
            "email_address": string(format="email", maxLength=255),
            "first_name": string(minLength=1, maxLength=255),
            "last_name": string(minLength=1, maxLength=255),
            "password": string("For the web UI; leave out for token-only users.", minLength=8),
            "admin": {"type": "boolean", "default": False},
        },
        required=["email_address", "first_name", "last_name"],
    ),
    "ApiToken": obj(
        {
            "uuid": UUID,
            "name": string(),
            "prefix": string("The token's first characters, to recognise it."),
            "user": UUID,
            "last_used_at": nullable(TIMESTAMP),
            "expires_at": nullable(TIMESTAMP),
            "created_at": TIMESTAMP,
        }
    ),
    "ApiTokenCreate": obj({"name": string(minLength=1, maxLength=255)}),
}
# The token itself is shown once, when it is created; only its hash is stored.
SCHEMAS["CreatedApiToken"] = obj(
    {
        **SCHEMAS["ApiToken"]["properties"],
        "token": string("The bearer token. Shown only in this response."),
    }
)

_ADMIN = {403: "The caller is not an installation admin."}

PATHS = {
    "/me": {"get": operation("getMe", "The user the token belongs to", response="User")},
    "/users": {
        "get": operation(
            "listUsers", "List users", response=paged("User"), paged_list=True, errors=_ADMIN
        ),
        "post": operation(
            "createUser",
            "Create a user",
            status=201,
            body="UserCreate",
            response="User",
            errors={**_ADMIN, 409: "A user with this e-mail address exists."},
        ),
    },
    "/users/{user}": {
        "get": operation(
            "getUser",
            "Get a user",
            response="User",
            description="Users other than admins may get only themselves.",
        ),
        "delete": operation(
            "deleteUser",
            "Delete a user",
            status=204,
            errors={403: "The caller is not an installation admin, or is that user."},
        ),
    },
    "/tokens": {
        "get": operation(
            "listApiTokens",
            "List the caller's API tokens",
            response=paged("ApiToken"),
            paged_list=True,
        ),
        "post": operation(
            "createApiToken",
            "Create an API token for the caller",
            status=201,
            body="ApiTokenCreate",
            response="CreatedApiToken",
        ),
    },
    "/tokens/{token}": {
        "delete": operation(
            "deleteApiToken",
            "Revoke an API token",
            status=204,
            description="Your own tokens; installation admins may revoke anyone's.",
        )
    },
}
