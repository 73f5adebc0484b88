"""How a setting is declared: a dataclass field made by `setting()`, read back by `declared()`."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field, fields

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from target_incidentio.settings.setting_types import SettingType

_SPEC = "target_incidentio.setting"


@dataclass(frozen=True)
class Spec:
    """What `setting()` records about a field, read back by the schema, parser and env reader."""

    setting_type: SettingType[t.Any]
    title: str
    description: str
    default: object  # as JSON, shown by --about at the top level
    sdk: bool  # the SDK declares it (schema and --about text are the SDK's)


def setting(
    setting_type: SettingType[t.Any],
    title: str = "",
    description: str = "",
    *,
    default: object = None,
    sdk: bool = False,
) -> t.Any:  # noqa: ANN401 - a dataclass field stands for a value of any type
    """Declare a setting as a dataclass field; its default is the parsed JSON default."""
    spec = Spec(setting_type, title, description, default, sdk)
    return field(
        default_factory=lambda: setting_type.default(default),
        metadata={_SPEC: spec},
    )


def declared(cls: type) -> Iterator[tuple[str, Spec]]:
    """The settings a dataclass declares, in order."""
    for item in fields(cls):
        spec = item.metadata.get(_SPEC)
        if spec is not None:
            yield item.name, spec
