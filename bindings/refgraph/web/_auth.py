"""HTTP basic authentication for the debug pages: credentials from the middleware's ``auth`` or the environment."""

from __future__ import annotations

import base64
import binascii
import hmac
import os

ENV_VAR = "REFGRAPH_WEB_AUTH"
CHALLENGE = 'Basic realm="refgraph", charset="UTF-8"'


def credentials(auth):
    """The expected ``b"user:password"``, or None when none is configured (then nothing is served).

    ``auth``: ``(user, password)``; None reads ``REFGRAPH_WEB_AUTH=user:password``. ValueError names a bad one.
    """
    if auth is None:
        raw = os.environ.get(ENV_VAR)
        if raw is None or raw == "":
            return None
        user, sep, password = raw.partition(":")
        if not sep:
            raise ValueError(f"{ENV_VAR}: expected user:password (no ':' found)")
        where = ENV_VAR
    else:
        if not isinstance(auth, (tuple, list)) or len(auth) != 2:
            raise ValueError(f"auth: expected a (user, password) pair, got {type(auth).__name__}")
        user, password = auth
        where = "auth"
        if not isinstance(user, str) or not isinstance(password, str):
            raise ValueError("auth: user and password must be str")
    if not user or not password:
        raise ValueError(f"{where}: user and password must both be non-empty")
    if ":" in user:
        raise ValueError(f"{where}: the user name must not contain ':' (HTTP basic authentication splits on it)")
    return f"{user}:{password}".encode()


def authorized(header, expected):
    """True if an ``Authorization`` header value carries the expected credentials; compared in constant time."""
    if not header or header[:6].lower() != "basic ":
        given = b""
    else:
        try:
            given = base64.b64decode(header[6:].strip().encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            given = b""
    # Always compare, also against an empty value, so a malformed header takes the same path as a wrong one.
    return hmac.compare_digest(given, expected)
