"""Track domains: the host names a server's click and open tracking URLs are built on."""

from ..openapi import TIMESTAMP, UUID, nullable, obj, operation, paged, string


TAG = {
    "name": "Track domains",
    "description": "Host names `<name>.<domain>` for click and open tracking. Publish the "
    "CNAME in `dns_record`; tracking is applied to a server's mail from the domain only while "
    "the CNAME checks out (`dns_status` OK; re-checked hourly).",
}

_HOSTS = {
    "type": "array",
    "items": string(minLength=1, maxLength=255),
    "description": "Link hosts never click-tracked, as written in links (with any port).",
}
_SWITCHES = {
    "ssl_enabled": {"type": "boolean", "description": "Tracking URLs use https (default)."},
    "track_clicks": {"type": "boolean", "description": "Rewrite links (default true)."},
    "track_loads": {"type": "boolean", "description": "Add the open pixel (default true)."},
}

SCHEMAS = {
    "TrackDomain": obj(
        {
            "uuid": UUID,
            "server": UUID,
            "name": string("The label in front of the domain.", pattern="^[a-z0-9-]+$"),
            "domain": UUID,
            "full_name": string("<name>.<domain>"),
            **_SWITCHES,
            "excluded_click_domains": _HOSTS,
            "dns_status": nullable(string(enum=["OK", "Missing", "Invalid"])),
            "dns_error": nullable(string("Postal's text for what is wrong.")),
            "dns_checked_at": nullable(TIMESTAMP),
            "dns_record": obj(
                {
                    "type": string(enum=["CNAME"]),
                    "name": string(),
                    "value": string("dns.track_domain of the installation."),
                }
            ),
            "created_at": TIMESTAMP,
        }
    ),
    "TrackDomainCreate": obj(
        {
            "name": string("Default track.", pattern="^[a-z0-9-]+$", maxLength=63),
            "domain": string("uuid of a verified domain of the server or its organization."),
            **_SWITCHES,
            "excluded_click_domains": _HOSTS,
        },
        required=["domain"],
    ),
    "TrackDomainUpdate": obj({**_SWITCHES, "excluded_click_domains": _HOSTS}, required=[]),
}

PATHS = {
    "/servers/{server}/track-domains": {
        "get": operation(
            "listTrackDomains",
            "List a server's track domains",
            response=paged("TrackDomain"),
            paged_list=True,
        ),
        "post": operation(
            "createTrackDomain",
            "Add a track domain and check its CNAME",
            status=201,
            body="TrackDomainCreate",
            response="TrackDomain",
            errors={409: "The domain has a track domain on this server, or the name is taken."},
        ),
    },
    "/track-domains/{track_domain}": {
        "get": operation("getTrackDomain", "A track domain", response="TrackDomain"),
        "patch": operation(
            "updateTrackDomain",
            "Change a track domain's switches and exclusions",
            body="TrackDomainUpdate",
            response="TrackDomain",
        ),
        "delete": operation("deleteTrackDomain", "Remove a track domain", status=204),
    },
    "/track-domains/{track_domain}/check-dns": {
        "post": operation(
            "checkTrackDomainDns", "Check the track domain's CNAME now", response="TrackDomain"
        ),
    },
}
