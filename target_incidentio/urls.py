"""URLs the target sends to: which are safe, how a path joins the base, what a template needs.

Shared by the settings model (checked once, at start) and the payload builders (used per
record), so that both read a URL the same way.
"""

from __future__ import annotations

import ipaddress
import string
from urllib.parse import urlsplit

_FORMATTER = string.Formatter()


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


def template_fields(template: str) -> list[str]:
    """The `{field}` placeholders of a URL template, in order."""
    return [name for _, name, _, _ in _FORMATTER.parse(template) if name is not None]
