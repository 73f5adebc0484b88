"""Value parsers the setting types share, and that checks outside them reuse.

Headers (Nexla's `h1:v1,h2:v2` or an object), comma lists, and URLs that may carry a
credential.
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

from target_incidentio.core.errors import SettingError
from target_incidentio.core.headers import header_problem
from target_incidentio.core.urls import is_loopback

if t.TYPE_CHECKING:
    from collections.abc import Mapping

CONTENT_TYPE = {
    "content-type": "the target always sends JSON with `Content-Type: application/json`.",
}
RESERVED_HEADERS = {
    "authorization": "the `api_key` or `alert_source_token` setting fills `Authorization`.",
    **CONTENT_TYPE,
}


def parse_headers(
    setting: str, value: object, reserved: Mapping[str, str] = RESERVED_HEADERS
) -> dict[str, str]:
    """Headers from Nexla's `h1:v1,h2:v2` string form or from an object."""
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        pairs = [(str(k).strip(), str(v).strip()) for k, v in value.items()]
    elif isinstance(value, str):
        pairs = []
        for number, item in enumerate(value.split(","), start=1):
            if not item.strip():
                continue
            name, sep, header_value = item.partition(":")
            if not sep or not name.strip():
                # The item is not echoed: it may hold a token (webhook headers are secret).
                raise SettingError(
                    setting,
                    f"cannot read item {number} as a `name:value` header.",
                    "write `name:value` pairs separated by commas, e.g. "
                    "`X-Team:payments,X-Env:prod`, or give an object.",
                )
            pairs.append((name.strip(), header_value.strip()))
    else:
        raise SettingError(setting, "must be a `name:value,...` string or an object.")
    headers: dict[str, str] = {}
    for name, header_value in pairs:
        problem = header_problem(name, header_value)
        if problem is not None:
            raise SettingError(setting, problem, f"fix or remove that header in `{setting}`.")
        reason = reserved.get(name.lower())
        if reason is not None:
            raise SettingError(
                setting,
                f"header {name!r} is set by the target itself and cannot be overridden: {reason}",
                f"remove {name!r} from `{setting}`.",
            )
        headers[name] = header_value
    return headers


def parse_list(setting: str, value: object) -> tuple[str, ...]:
    """A comma-separated string or an array of strings."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(item.strip() for item in value if item.strip())
    raise SettingError(setting, "must be a comma-separated string or an array of strings.")


def header_value_problem(text: str) -> str | None:
    """What in `text` no HTTP header value may hold (a control character, non-Latin-1), or None."""
    for char in text:
        if char == "\t":
            continue
        if ord(char) < 0x20 or ord(char) == 0x7F:  # noqa: PLR2004 - the C0 controls and DEL
            return f"a control character ({char!r})"
        if ord(char) > 0xFF:  # noqa: PLR2004 - what a header's Latin-1 can carry
            return "a character outside Latin-1"
    return None


def check_url(setting: str, url: str, *, root: bool = False) -> str:
    """Refuse URLs that would send a credential in clear or are not URLs at all.

    No whitespace or control character anywhere (a newline from a file or a secret); an API
    root (`root`) also no query string or fragment, since paths are joined onto it.
    """
    parts = urlsplit(url)
    if root and (parts.query or parts.fragment or url.endswith(("?", "#"))):
        raise SettingError(
            setting,
            f"{url!r} has a query string or fragment; API paths are joined onto it.",
            "give the root alone, e.g. `https://api.incident.io` or `https://host/prefix`.",
        )
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise SettingError(
            setting,
            f"{url!r} is not an absolute https:// URL.",
            "use e.g. `https://api.incident.io`.",
        )
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):  # noqa: PLR2004
        raise SettingError(
            setting,
            f"{url!r} holds whitespace or a control character (a newline from a file?).",
            "write the URL alone, e.g. `https://api.incident.io`.",
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise SettingError(
            setting,
            f"{url!r} uses plain http:// to a host other than this machine, "
            "which would send the API key in clear.",
            "use https://; plain http:// is allowed only for 127.0.0.1, ::1 or localhost.",
        )
    if parts.username or parts.password:
        raise SettingError(setting, "credentials in the URL are not allowed.", "use `api_key`.")
    try:
        parts.port  # noqa: B018 - read for its check: urllib raises on a port that is no number
    except ValueError:
        raise SettingError(
            setting, f"{url!r} has a port that is not a number.", "write e.g. `https://host:8443`."
        ) from None
    return url
