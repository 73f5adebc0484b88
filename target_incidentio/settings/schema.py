"""The JSON schema of the settings that `--about` shows, derived from the declarations."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th

from target_incidentio.settings.declarations import (
    GROUPS,
    SDK_NOTES,
    STREAM_OVERRIDABLE,
    STREAMS,
    STREAMS_DESCRIPTION,
    STREAMS_TITLE,
    StreamSettings,
)
from target_incidentio.settings.numbers import Bounded
from target_incidentio.settings.setting_types import SecretText, Text
from target_incidentio.settings.spec import declared

if t.TYPE_CHECKING:
    from target_incidentio.settings.spec import Spec


def _property(name: str, spec: Spec, *, top_level: bool) -> th.Property[t.Any]:
    typed = spec.setting_type
    examples = typed.examples if isinstance(typed, Text) and typed.examples else None
    description = spec.description
    if isinstance(typed, Bounded) and description:  # the range, as the checks say it
        description += f" Range: {typed.range_text()}."
    if isinstance(typed, SecretText) and description:  # as its parse strips it
        description += " Whitespace around the value (a newline read from a file) is ignored."
    return th.Property(
        name,
        typed.schema(),
        default=spec.default if top_level else None,
        secret=typed.secret,
        allowed_values=typed.allowed_values(),
        title=spec.title,
        description=description,
        examples=examples,
    )


def config_schema() -> dict[str, t.Any]:
    """The JSON schema of the declared settings (`operations.config_schema` adds the operations)."""
    properties: list[th.Property[t.Any]] = []
    per_stream = [
        _property(name, spec, top_level=False)
        for name, spec in declared(StreamSettings)
        if name in STREAM_OVERRIDABLE
    ]
    for group in GROUPS:
        for name, spec in declared(group):
            if not spec.sdk:
                properties.append(_property(name, spec, top_level=True))
        if group is StreamSettings:
            properties.append(
                th.Property(
                    STREAMS,
                    th.ObjectType(additional_properties=th.ObjectType(*per_stream)),
                    title=STREAMS_TITLE,
                    description=STREAMS_DESCRIPTION,
                )
            )
    return th.PropertiesList(*properties).to_dict()


def explain_sdk_settings(properties: dict[str, t.Any]) -> None:
    """Add `SDK_NOTES` to the SDK's settings in `properties`, the schema `--about` shows."""
    for name, note in SDK_NOTES.items():
        if name in properties:
            described = properties[name].get("description", "")
            properties[name] = {**properties[name], "description": f"{described} {note}".strip()}
