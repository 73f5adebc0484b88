"""incident.io's lists as one run (or one `--check`) reads them: each at most once, when needed.

`Directory` is the `ListDirectory` a builder resolves names against (`payloads/names.py`) and the
catalog types a stream's type setup reads: each list is read with the API key through the
caller's `call` (the run's, which paces, retries and writes a response record, or
`--check`'s), page by page as the API pages it, and kept in a `LookupCache` for the rest of
the run. The names the settings give (`custom_field: "Team"`,
`role: "Incident Lead"`) are resolved when the run starts, so an unknown one fails the run
before any record, with the names that are known.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from urllib.parse import urlencode

from target_incidentio.catalog.type_setup import read_catalog_types
from target_incidentio.core.errors import SettingError
from target_incidentio.core.lookups import LookupCache, follow_pages
from target_incidentio.payloads.base import ApiRequest, BuildContext
from target_incidentio.payloads.names import (
    LISTS,
    Item,
    ListName,
    LookupFailedError,
    UnresolvedError,
    find,
    folded,
    same_text,
)
from target_incidentio.settings.declarations import STREAMS

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from target_incidentio.catalog.types import CatalogType
    from target_incidentio.delivery.results import DeliveryResult
    from target_incidentio.settings import Settings, StreamSettings

Call = t.Callable[[ApiRequest], tuple["DeliveryResult", t.Any]]
# The stream a run's look-ups are counted under (summary, response records): a list serves
# every stream that needs it.
LOOKUP_STREAM = "(look-ups)"
ListKey = tuple[ListName, "str | None"]


def lookup_context(settings: Settings, level: StreamSettings, stream: str) -> BuildContext:
    """What a look-up is built from: a level's key and headers, the key's rate bucket."""
    return BuildContext(
        stream=stream,
        key_properties=(),
        settings=level,
        key_rate_per_minute=settings.defaults.rate_limit_per_minute,
        alert_rate_per_minute=settings.delivery.alert_source_rate_limit_per_minute,
    )


def lookup_request(  # noqa: PLR0913 - what a look-up is: where, with what, for whom, why
    settings: Settings,
    level: StreamSettings,
    path: str,
    *,
    method: str = "GET",
    body: t.Any = None,  # noqa: ANN401 - any JSON
    stream: str = "",
    operation: str = "lookup",
    purpose: str = "",
) -> ApiRequest:
    """A call under `base_url` with the API key, drawing on its rate bucket like any call."""
    return lookup_context(settings, level, stream).api_key_call(
        method,
        path,
        body=body,
        order_key=f"{operation}:{path}",
        operation=operation,
        purpose=purpose,
    )


class Directory:
    """The run's one look-up object: the account's lists and catalog types, each read once.

    Built with the way to make a call and what a look-up is made with (the top-level key and
    headers, `lookup_context`); thread-safe (see the module).
    """

    def __init__(self, call: Call, ctx: BuildContext) -> None:
        self._call = call
        self._ctx = ctx
        self._lists: LookupCache[ListKey, tuple[Item, ...]] = LookupCache(self._read_list)
        self._types: LookupCache[None, tuple[CatalogType, ...]] = LookupCache(
            lambda _none: read_catalog_types(self._ctx, self._call)
        )

    @classmethod
    def of(cls, settings: Settings, call: Call) -> Directory:
        """The directory a run (or `--check`) reads with the top-level settings' API key."""
        return cls(call, lookup_context(settings, settings.defaults, LOOKUP_STREAM))

    @property
    def reads(self) -> int:
        """Lists and catalog type listings read so far."""
        return self._lists.reads + self._types.reads

    def items(self, name: ListName, owner: str | None = None) -> Sequence[Item]:
        """Every item of the list, read now if this run has not read it yet."""
        return self._lists.get((name, owner))

    def catalog_types(self) -> tuple[CatalogType, ...]:
        """The account's catalog types, listed once per run."""
        return self._types.get(None)

    def update_catalog_types(
        self, change: Callable[[tuple[CatalogType, ...]], tuple[CatalogType, ...]]
    ) -> tuple[CatalogType, ...]:
        """Replace the listing with `change(listing)` (a type the run created or grew)."""
        return self._types.update(None, change)

    def refresh_catalog_types(self) -> tuple[CatalogType, ...]:
        """List the catalog types again: a schema version the run relied on moved."""
        return self._types.refresh(None)

    def create_option(self, custom_field_id: str, value: str) -> Item:
        """A new option, created once per run even if several records miss it at once.

        Never one that matches an option already there under `names.folded` (NFC, whitespace
        around ignored, any case): that one is used. It is created as `names.same_text` has it.
        """
        made: list[Item] = []
        wanted = folded(value)

        def add(options: tuple[Item, ...]) -> tuple[Item, ...]:
            existing = [o for o in options if folded(str(o.get("value") or "")) == wanted]
            if existing:  # another thread created it while this one waited
                made.append(existing[0])
                return options
            made.append(self._create_option(custom_field_id, same_text(value)))
            return (*options, made[0])

        self._lists.update(("custom_field_options", custom_field_id), add)
        return made[0]

    def _create_option(self, custom_field_id: str, value: str) -> Item:
        body = {"custom_field_id": custom_field_id, "value": value}
        result, answer = self._send(
            "POST", "/v1/custom_field_options", body, purpose="create custom field option"
        )
        if result.status == "dry_run":  # nothing was created: the dry run shows the intent
            return {"id": f"<option {value!r}, created by a real run>", "value": value}
        option = answer.get("custom_field_option") if isinstance(answer, dict) else None
        if result.status != "delivered" or not isinstance(option, dict) or "id" not in option:
            raise LookupFailedError(result.summary)
        return t.cast("Item", option)

    def _send(
        self,
        method: str,
        path: str,
        body: t.Any = None,  # noqa: ANN401 - any JSON
        *,
        purpose: str = "",
    ) -> tuple[DeliveryResult, t.Any]:
        if self._ctx.settings.api_key is None:
            msg = "names are looked up with the API key, and `api_key` is not set"
            raise LookupFailedError(msg)
        request = self._ctx.api_key_call(
            method,
            path,
            body=body,
            order_key=f"lookup:{path}",
            operation="lookup",
            purpose=purpose,
        )
        return self._call(request)

    def _get(self, path: str) -> t.Any:  # noqa: ANN401 - any JSON
        result, body = self._send("GET", path)
        if result.status != "delivered":
            raise LookupFailedError(result.summary)
        return body

    def _read_list(self, key: ListKey) -> tuple[Item, ...]:
        """Every item with an id, page by page; an answer of another shape is a failed read."""
        name, owner = key
        kind = LISTS[name]
        query: dict[str, str] = {kind.owner: owner} if kind.owner and owner else {}
        if kind.paged:
            query["page_size"] = str(kind.page_size)

        def page(after: str | None) -> t.Any:  # noqa: ANN401 - any JSON
            asked = {**query, "after": after} if after and kind.paged else query
            return self._get(f"{kind.path}?{urlencode(asked)}" if asked else kind.path)

        try:
            items = follow_pages(page, kind.items_key)
        except (TypeError, ValueError) as problem:
            raise LookupFailedError(str(problem)) from None
        return tuple(item for item in items if isinstance(item.get("id"), str))


# -- the names the settings give -----------------------------------------------------------------


@dataclass(frozen=True)
class ConfiguredName:
    """A name in the settings (`custom_field: "Team"`): where it is, and what it names."""

    setting: str
    value: str
    names: ListName


def configured_names(settings: Settings, stream: str | None = None) -> Iterator[ConfiguredName]:
    """Every name the settings give that must be resolved before a record.

    At every level (`--check`), or only `stream`'s level (a run, when that stream starts).

    Also a custom field given by id without a `kind`: its kind comes from its type, so it
    must exist.
    """
    levels: Iterable[tuple[str, StreamSettings]] = settings.levels()
    if stream is not None:
        pattern = settings.pattern_for(stream)
        where = "" if pattern is None else f"{STREAMS}.{pattern}."
        levels = [(where, settings.for_stream(stream))]
    for where, level in levels:
        for index, mapped in enumerate(level.custom_fields):
            if mapped.custom_field:
                at = f"{where}custom_fields[{index}].custom_field"
                yield ConfiguredName(at, mapped.custom_field, "custom_fields")
            elif mapped.kind is None and mapped.custom_field_id:  # its kind comes from its type
                at = f"{where}custom_fields[{index}].custom_field_id"
                yield ConfiguredName(at, mapped.custom_field_id, "custom_fields")
        for index, role in enumerate(level.role_assignments):
            if role.role:
                at = f"{where}role_assignments[{index}].role"
                yield ConfiguredName(at, role.role, "incident_roles")


def resolve_configured(
    name: ConfiguredName, lists: Directory
) -> tuple[str, None] | tuple[None, str]:
    """`(id, None)`, or `(None, why)` when the name names nothing, two things, or cannot be read."""
    try:
        return str(find(name.value, lists.items(name.names), LISTS[name.names])["id"]), None
    except (UnresolvedError, LookupFailedError) as problem:
        return None, str(problem)


def resolve_settings(
    settings: Settings, lists: Directory, stream: str | None = None
) -> dict[str, str]:
    """Setting -> id for every configured name (of `stream`'s level, if given).

    A `SettingError` names all that fail, with the known names.
    """
    found: dict[str, str] = {}
    errors: list[SettingError] = []
    for name in configured_names(settings, stream):
        ident, why = resolve_configured(name, lists)
        if ident is None:
            hint = (
                f"use one of the known names (letter case is ignored), or the "
                f"{LISTS[name.names].what}'s id."
            )
            errors.append(SettingError(name.setting, f"{why}.", hint))
        else:
            found[name.setting] = ident
    if errors:
        first = errors[0]
        first.errors = [message for error in errors for message in error.errors]  # all of them
        raise first
    return found
