"""Every secret a raw config holds, found by the declarations, for redaction."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from target_incidentio.settings.declarations import all_settings

SECRET_SETTINGS = frozenset(name for name, spec in all_settings() if spec.setting_type.secret)


def secret_values(config: object, *, secret: bool = False) -> list[str]:
    """Every secret in a raw config, wherever it sits and whatever its type, for redaction.

    Read from the raw config, not the parsed settings, so that even a secret that fails
    parsing (a list where a string belongs) is scrubbed from the error that says so.
    """
    if isinstance(config, str):
        if not secret:
            return []
        # `name:value,...` headers: each value on its own too, as it travels on the wire.
        values = [part.partition(":")[2].strip() for part in config.split(",")]
        return [value for value in (config, *values) if value]
    if isinstance(config, (int, float, Decimal)) and not isinstance(config, bool):
        return secret_values(str(config), secret=secret)
    if isinstance(config, Mapping):
        items = [(secret or key in SECRET_SETTINGS, value) for key, value in config.items()]
    elif isinstance(config, (list, tuple)):
        items = [(secret, value) for value in config]
    else:
        return []
    return [found for inner, value in items for found in secret_values(value, secret=inner)]
