"""Our settings read from `TARGET_INCIDENTIO_<NAME>` variables, each by its setting type."""

from __future__ import annotations

import typing as t

from target_incidentio.core.errors import SettingError
from target_incidentio.settings.declarations import STREAMS, all_settings
from target_incidentio.settings.setting_types import AttributeMap

if t.TYPE_CHECKING:
    from collections.abc import Mapping


def settings_from_env(environ: Mapping[str, str], prefix: str) -> dict[str, object]:
    """Our settings from `<PREFIX><NAME>` variables, read as a config file would hold them.

    A value that cannot be read raises `SettingError` naming the setting and the variable.
    """
    config: dict[str, object] = {}
    # The SDK's settings we declare too: the SDK's reader is not asked for them (target.py).
    names = [(name, spec.setting_type) for name, spec in all_settings()]
    names.append((STREAMS, AttributeMap()))  # any JSON object; checked when parsed
    for name, setting_type in names:
        variable = f"{prefix}{name.upper()}"
        if variable in environ:
            try:
                config[name] = setting_type.from_env(name, environ[variable])
            except SettingError as error:
                raise SettingError(
                    name, f"{error.problem} (read from {variable})", error.fix
                ) from None
    return config
