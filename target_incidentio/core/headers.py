"""Which headers a setting may add to a request: what HTTP can carry, and nothing of its framing.

Checked once, at start, for every form a header setting takes (text, object, environment), so
that no record ever fails on a header, and no header can break the request it rides on.
"""

from __future__ import annotations

import re

# RFC 9110 §5.6.2: a field name is a token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 §5.5, kept to what every server reads the same: visible ASCII, spaces and tabs.
_VALUE = re.compile(r"[\x20-\x7e\t]*")
# Framing and hop-by-hop headers (RFC 9110 §7.6.1, §6.6.2): requests sets them itself, and a
# second one would change where the request ends or what the connection does.
TRANSPORT_HEADERS = frozenset(
    {
        "connection",
        "content-length",
        "expect",
        "host",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


def header_problem(name: str, value: str) -> str | None:
    """Why `name: value` cannot be sent as an extra header, or None.

    The value is never quoted: it may be a token.
    """
    if not _TOKEN.fullmatch(name):
        return (
            f"header name {name!r} is not an HTTP token: use letters, digits and "
            "!#$%&'*+-.^_`|~ only, no spaces or control characters."
        )
    if not _VALUE.fullmatch(value):
        return (
            f"the value of header {name!r} holds a character HTTP cannot carry: use visible "
            "ASCII, spaces and tabs only (no control or non-ASCII characters)."
        )
    if name.lower() in TRANSPORT_HEADERS:
        return f"header {name!r} belongs to HTTP's framing or connection, which the target sets."
    return None
