"""URLs the target sends to: which are safe, how a path joins the base, what a template needs.

Shared by the settings model (checked once, at start) and the payload builders (used per
record), so that both read a URL the same way.
"""

from __future__ import annotations

import ipaddress
import re
import string
from urllib.parse import quote, urlsplit

_FORMATTER = string.Formatter()
# Values that would move a URL path up, or nowhere, instead of naming one segment: a client or
# server folds `.` and `..` into the path around them, and an empty one names the parent.
UNSAFE_SEGMENTS = ("", ".", "..")


class UnsafeSegmentError(ValueError):
    """A value that cannot be one path segment (see `UNSAFE_SEGMENTS`)."""


def segment(value: str) -> str:
    """`value` as one URL path segment, encoded so that `/`, `?` or `#` stay inside it."""
    if value in UNSAFE_SEGMENTS:
        msg = f"{value!r} cannot be a URL path segment: it would move the request to another path."
        raise UnsafeSegmentError(msg)
    return quote(value, safe="")


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine (plain http is allowed only there)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_absolute(url: str) -> bool:
    """Whether `url` names its own host rather than a path under `base_url`."""
    return "://" in url.split("{", 1)[0]


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port: where a credential may go."""
    parts = urlsplit(url)
    default_port = {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default_port


def endpoint_url(base_url: str, api_url: str) -> str:
    """`api_url` as given when absolute, else under `base_url`."""
    if is_absolute(api_url):
        return api_url
    return f"{base_url.rstrip('/')}/{api_url.lstrip('/')}"


def placeholder_outside_path(template: str) -> bool:
    """Whether a `{field}` sits in the host, port, query or fragment of a URL template.

    A record value there could send the request (and its key) elsewhere, or change its query;
    placeholders belong in the path.
    """
    rest = template
    if is_absolute(template):
        authority, _, rest = template.split("://", 1)[1].partition("/")
        if "{" in authority:
            return True
    after_path = re.split(r"[?#]", rest, maxsplit=1)[1:]
    return any("{" in part for part in after_path)


def template_fields(template: str) -> list[str]:
    """The `{field}` placeholders of a URL template, in order."""
    return [name for _, name, _, _ in _FORMATTER.parse(template) if name is not None]
