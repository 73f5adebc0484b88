"""Every secret a raw config holds, found by the declarations, for redaction."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from target_incidentio.core.secrets import is_secret_header
from target_incidentio.settings.declarations import all_settings

SECRET_SETTINGS = frozenset(name for name, spec in all_settings() if spec.setting_type.secret)
# Extra headers (`name:value,...` or an object): only the values of secret headers are secrets
# (`secrets.is_secret_header`: Authorization, names saying key, token or secret). Masking
# every value masked `true` and `incident` everywhere they appeared.
HEADER_SETTINGS = frozenset(("request_headers", "response_webhook_headers"))


MARKED_SETTING = "secret_headers"


def _marked(config: object) -> frozenset[str]:
    """The header names the user marked secret (`secret_headers`), folded to lower case."""
    raw = config.get(MARKED_SETTING) if isinstance(config, Mapping) else None
    names = raw.split(",") if isinstance(raw, str) else raw if isinstance(raw, list) else []
    return frozenset(str(name).strip().lower() for name in names if str(name).strip())


def _header_secrets(config: object, marked: frozenset[str]) -> list[str]:
    """The secret values of a headers setting, as text or as an object."""

    def secret(name: str) -> bool:
        return is_secret_header(name) or name.strip().lower() in marked

    if isinstance(config, str):
        pairs = [part.partition(":") for part in config.split(",")]
        return [v.strip() for name, _, v in pairs if secret(name.strip()) and v.strip()]
    if isinstance(config, Mapping):
        return [
            found
            for name, value in config.items()
            if secret(str(name))
            for found in secret_values(value, secret=True)
        ]
    return secret_values(config, secret=True)  # not headers at all: the parse will say so


def secret_values(
    config: object, *, secret: bool = False, marked: frozenset[str] | None = None
) -> list[str]:
    """Every secret in a raw config, wherever it sits and whatever its type, for redaction.

    Read from the raw config, not the parsed settings, so that even a secret that fails
    parsing (a list where a string belongs) is scrubbed from the error that says so.
    `marked`: the headers `secret_headers` names (read from the top level when not given).
    """
    if marked is None:
        marked = _marked(config)
    if isinstance(config, str):
        if not secret:
            return []
        # `name:value,...` headers: each value on its own too, as it travels on the wire.
        values = [part.partition(":")[2].strip() for part in config.split(",")]
        return [value for value in (config, *values) if value]
    if isinstance(config, (int, float, Decimal)) and not isinstance(config, bool):
        return secret_values(str(config), secret=secret)
    if isinstance(config, Mapping):
        headers = [v for key, v in config.items() if key in HEADER_SETTINGS and not secret]
        items = [
            (secret or key in SECRET_SETTINGS, value)
            for key, value in config.items()
            if secret or key not in HEADER_SETTINGS
        ]
        return [
            *(found for value in headers for found in _header_secrets(value, marked)),
            *(
                found
                for inner, value in items
                for found in secret_values(value, secret=inner, marked=marked)
            ),
        ]
    if isinstance(config, (list, tuple)):
        items = [(secret, value) for value in config]
    else:
        return []
    return [
        found
        for inner, value in items
        for found in secret_values(value, secret=inner, marked=marked)
    ]
