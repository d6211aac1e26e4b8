"""SMTP authentication against the servers' credentials, as Postal does it.

PLAIN and LOGIN: any username, the password is the key of an ``SMTP`` credential.
CRAM-MD5: the username is ``org/server`` (or ``org_server``) and the answer is the HMAC-MD5
of the challenge keyed with one of that server's ``SMTP`` keys.  ``trylast``: a plugin that
authenticates some other way runs first.
"""

from __future__ import annotations

import hmac

from postal import hookimpl
from postal.smtp.auth import cram_md5_digest, split_server_permalink
from postal.smtp.directory import directory_for


@hookimpl(trylast=True)
def postal_smtp_authenticate(session, mechanism, username, password, challenge):
    directory = directory_for(session.registry)
    if mechanism in ("PLAIN", "LOGIN"):
        return directory.credential_by_key(password) if password else None
    if mechanism == "CRAM-MD5" and challenge:
        names = split_server_permalink(username)
        if names is None:
            return None
        for key, identity in directory.smtp_keys_for_server(*names):
            if hmac.compare_digest(cram_md5_digest(key, challenge), password):
                return identity
    return None
