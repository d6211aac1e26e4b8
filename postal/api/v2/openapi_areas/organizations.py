"""Organisations and their members."""

from ..openapi import PERMALINK, TIMESTAMP, UUID, obj, operation, paged, ref, string


TAG = {
    "name": "Organizations",
    "description": "Organisations own servers. Users see the organisations they belong to; "
    "owners and admins manage them.",
}

ROLES = ["owner", "admin", "member"]
TIME_ZONE = string("An IANA time zone name.", maxLength=64, default="UTC")

SCHEMAS = {
    "Organization": obj(
        {
            "uuid": UUID,
            "name": string(),
            "permalink": PERMALINK,
            "time_zone": string(),
            "suspended": {"type": "boolean"},
            "created_at": TIMESTAMP,
        }
    ),
    "OrganizationCreate": obj(
        {
            "name": string(minLength=1, maxLength=255),
            "permalink": {
                **PERMALINK,
                "description": "Made from the name when left out. Reserved: new, edit, "
                "remove, delete, destroy, admin, mail, org, server.",
            },
            "time_zone": TIME_ZONE,
        },
        required=["name"],
    ),
    "OrganizationUpdate": obj(
        {
            "name": string(minLength=1, maxLength=255),
            "time_zone": TIME_ZONE,
            "suspended": {"type": "boolean", "description": "Installation admins only."},
            "suspension_reason": string("Installation admins only.", maxLength=255),
        },
        required=[],
    ),
    "Member": obj({"user": ref("User"), "role": string(enum=ROLES), "created_at": TIMESTAMP}),
    "MemberCreate": obj(
        {
            "email_address": string("An existing user's e-mail address.", format="email"),
            "role": string(enum=ROLES, default="member"),
        },
        required=["email_address"],
    ),
}

_MANAGE = {403: "The caller is a member but not an owner or admin of the organisation."}

PATHS = {
    "/organizations": {
        "get": operation(
            "listOrganizations",
            "List the organisations the caller belongs to (admins: all)",
            response=paged("Organization"),
            paged_list=True,
        ),
        "post": operation(
            "createOrganization",
            "Create an organisation owned by the caller",
            status=201,
            body="OrganizationCreate",
            response="Organization",
            errors={409: "An organisation has this permalink."},
        ),
    },
    "/organizations/{organization}": {
        "get": operation("getOrganization", "Get an organisation", response="Organization"),
        "patch": operation(
            "updateOrganization",
            "Change an organisation",
            body="OrganizationUpdate",
            response="Organization",
            errors={
                403: "Not an owner or admin, or suspending without being an installation admin."
            },
        ),
        "delete": operation(
            "deleteOrganization",
            "Delete an organisation with its servers, domains and messages",
            status=204,
            errors={403: "The caller is not an owner of the organisation."},
        ),
    },
    "/organizations/{organization}/members": {
        "get": operation(
            "listMembers",
            "List an organisation's members",
            response=paged("Member"),
            paged_list=True,
        ),
        "post": operation(
            "addMember",
            "Add an existing user to an organisation",
            status=201,
            body="MemberCreate",
            response="Member",
            errors={**_MANAGE, 409: "The user is already a member."},
        ),
    },
    "/organizations/{organization}/members/{user}": {
        "delete": operation(
            "removeMember",
            "Remove a member",
            status=204,
            errors={**_MANAGE, 409: "The member is the organisation's last owner."},
        )
    },
}
