"""The settings model: every setting declared once, parsed and checked once, before any request.

- `declarations.py`: the list of settings (name, setting type, default, title, description, whether
  a stream may override it); `call_settings.py`: the first of a stream's, how every call is made.
- `spec.py`: how a declaration is made; `setting_types.py`: how each type of setting is typed,
  parsed, checked and read from the environment; `values.py`: the value parsers they share;
  `field_maps.py`: what `custom_fields` and `role_assignments` parse into.
- `schema.py` (the `--about` schema), `environment.py` (`TARGET_INCIDENTIO_*` variables),
  `parse.py` (a config into `Settings`) and `redaction.py` (the secrets of a raw config): all
  derived from the declarations.

The one public parse is `operations.parse_settings`: it adds the checks the operation table
makes, which this package, below the payload builders, cannot.
"""

from target_incidentio.settings.call_settings import DEFAULT_BASE_URL, METHODS
from target_incidentio.settings.declarations import (
    STREAM_OVERRIDABLE,
    DeliverySettings,
    PerStreamSetting,
    ResponseSettings,
    StreamSettings,
    known_names,
)
from target_incidentio.settings.environment import settings_from_env
from target_incidentio.settings.field_maps import CustomFieldMap, RoleMap
from target_incidentio.settings.parse import Settings, check_heartbeat, refuse_unknown
from target_incidentio.settings.redaction import secret_values
from target_incidentio.settings.schema import config_schema, explain_sdk_settings
from target_incidentio.settings.setting_types import CUSTOM_FIELD_KINDS
from target_incidentio.settings.spec import setting
from target_incidentio.settings.values import check_url, parse_headers, parse_list

__all__ = [
    "CUSTOM_FIELD_KINDS",
    "DEFAULT_BASE_URL",
    "METHODS",
    "STREAM_OVERRIDABLE",
    "CustomFieldMap",
    "DeliverySettings",
    "PerStreamSetting",
    "ResponseSettings",
    "RoleMap",
    "Settings",
    "StreamSettings",
    "check_heartbeat",
    "check_url",
    "config_schema",
    "explain_sdk_settings",
    "known_names",
    "parse_headers",
    "parse_list",
    "refuse_unknown",
    "secret_values",
    "setting",
    "settings_from_env",
]
