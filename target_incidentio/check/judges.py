"""The judges of `--check`: pure functions from a look-up's answer to findings.

Each says passed, failed (with the fix), or a note; none sends anything. The alert sources'
judges are in `alert_source_judges.py`, incident sync's in `sync_judges.py`.
"""

from __future__ import annotations

import typing as t
from collections import defaultdict
from dataclasses import replace
from urllib.parse import urlsplit

from target_incidentio.catalog.types import find_type, parse_types
from target_incidentio.core.custom_fields import kind_of
from target_incidentio.delivery.transport import PROXY_VARIABLES
from target_incidentio.operations import OPERATIONS
from target_incidentio.payloads.names import LISTS, UnresolvedError, find

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from target_incidentio.catalog.types import CatalogType
    from target_incidentio.payloads.names import ListName
    from target_incidentio.settings import CustomFieldMap, Settings, StreamSettings

from target_incidentio.check.findings import Answer, Finding, failed, note, passed

NEW_KEY = (
    "an API key's roles are chosen when it is created: create a key in incident.io "
    "(Settings > API keys) with {roles}, and set it as `api_key` (TARGET_INCIDENTIO_API_KEY)."
)


def stream_of(where: str) -> str:
    """The stream name or glob of a level (`streams.<pattern>.`); empty at the top level."""
    return where.removeprefix("streams.").removesuffix(".")


def level_name(where: str) -> str:
    """`where` as the user reads it: the top level, or the stream(s) under `streams`."""
    if not where:
        return "the top level"
    pattern = stream_of(where)
    if any(c in pattern for c in "*?["):
        return f"streams matching `{pattern}`"
    return f"stream `{pattern}`"


def refused(answer: Answer, subject: str, what: str, role: str, fix: str) -> Finding:
    """A look-up that did not succeed: why, and what to do."""
    if answer.status_code == 404:  # noqa: PLR2004 - HTTP status
        return failed(subject, f"{what} does not exist in this incident.io account.", fix)
    if answer.status_code == 403:  # noqa: PLR2004
        return failed(
            subject,
            f"the API key may not read {what} ({answer.reason}), so it could not be checked.",
            NEW_KEY.format(roles=f"`{role}` besides the roles the operations need"),
        )
    return failed(subject, f"{what} could not be checked: {answer.reason}.", fix)


# What to look at when base_url gives no answer, by what kept it from coming.
_PROXY_HINT = f"if a proxy should carry the calls, check {PROXY_VARIABLES}"
UNANSWERED_FIXES: Mapping[str, str] = {
    "unresolved": "check the host name in `base_url` (default https://api.incident.io) and "
    f"this machine's DNS; {_PROXY_HINT}.",
    "refused": "check the host and port in `base_url` (default https://api.incident.io): "
    f"nothing accepts connections there; {_PROXY_HINT}.",
    "unreachable": f"check `base_url` and this machine's network route to it; {_PROXY_HINT}.",
    "timeout": "check `base_url`, and the firewall or proxy between here and incident.io "
    f"({PROXY_VARIABLES}); `request_timeout` is how long one call may take.",
    "proxy": f"check the proxy environment variables ({PROXY_VARIABLES}): the proxy they "
    "name must be running and allow the host of `base_url`, or NO_PROXY must exclude it.",
    "tls": "set `base_url` to https://api.incident.io; if a proxy on your network re-signs "
    "TLS, point REQUESTS_CA_BUNDLE at its CA bundle (certificate checks are never switched off).",
}
DEFAULT_FIX = f"check `base_url` (default https://api.incident.io), DNS, firewall; {_PROXY_HINT}."


def judge_base_url(answer: Answer, base_url: str) -> Finding:
    """Any HTTP answer means the host answers, over TLS that was verified (https)."""
    how = "TLS verified" if urlsplit(base_url).scheme == "https" else "plain http on loopback"
    if answer.status_code is not None:
        return passed("base_url", f"{base_url} answers ({how}).")
    fix = UNANSWERED_FIXES.get(answer.cause or "", DEFAULT_FIX)
    if answer.cause == "tls":
        problem = f"{base_url}: its TLS certificate is not trusted ({answer.reason})."
        return failed("base_url", problem, fix)
    return failed("base_url", f"{base_url} does not answer ({answer.reason}).", fix)


def role_needs(settings: Settings) -> tuple[dict[str, list[str]], list[Finding]]:
    """Each role the configured operations need, with who needs it; notes for unknown roles."""
    needs: dict[str, list[str]] = defaultdict(list)
    notes = []
    for where, level in settings.levels():
        operation = OPERATIONS[level.operation]
        if operation.credential != "api_key":
            continue
        if operation.roles is None:
            notes.append(
                note(
                    f"{where}api_url",
                    f"the roles an `{operation.name}` call needs depend on its endpoint "
                    f"({level.api_url}); not checked. The scopes each endpoint needs are in "
                    "incident.io's API reference.",
                )
            )
            continue
        for role in operation.roles:
            needs[role].append(f"`{operation.name}` at {level_name(where)}")
        if "create_missing_options" in operation.reads and level.create_missing_options:
            # POST /v1/custom_field_options: `organisation_settings.update` in the spec.
            needs["manage_settings"].append(f"`create_missing_options` at {level_name(where)}")
    return dict(needs), notes


def judge_identity(answer: Answer, needs: Mapping[str, list[str]]) -> Iterator[Finding]:
    """The key works and holds every role `needs` names."""
    if answer.status_code == 401:  # noqa: PLR2004 - HTTP status
        yield failed(
            "api_key",
            f"incident.io does not accept the API key ({answer.reason}).",
            "check `api_key` (TARGET_INCIDENTIO_API_KEY): a key is shown once, when it is "
            "created in incident.io (Settings > API keys); a revoked key must be replaced.",
        )
        return
    identity = answer.item("identity")
    roles = identity.get("roles") if identity else None
    if not answer.ok or identity is None or not isinstance(roles, list):
        why = answer.reason if not answer.ok else "no identity in the answer"
        yield failed(
            "api_key",
            f"could not be checked: GET /v1/identity gave {why}.",
            "make sure `base_url` is incident.io's API (https://api.incident.io), then retry.",
        )
        return
    team_roles = set(identity.get("team_roles") or ())
    teams = ", ".join(str(team.get("name")) for team in identity.get("teams") or ())
    name = f'key "{identity.get("name")}"'
    missing = {role: users for role, users in needs.items() if role not in roles}
    for role in sorted(set(missing) & team_roles):
        yield note(
            "api_key",
            f"{name} holds `{role}` only as a team role (teams: {teams or 'none'}); calls on "
            f"what other teams own will be refused. Needed by {', '.join(missing.pop(role))}.",
        )
    if missing:
        lacks = "; ".join(
            f"`{role}` (needed by {', '.join(users)})" for role, users in sorted(missing.items())
        )
        wanted = ", ".join(f"`{role}`" for role in sorted({*roles, *missing}))
        yield failed(
            "api_key",
            f"{name} lacks {lacks}. It holds: {', '.join(map(str, roles)) or 'no role'}.",
            NEW_KEY.format(roles=wanted),
        )
        return
    held = "; ".join(f"`{role}` for {', '.join(users)}" for role, users in sorted(needs.items()))
    yield passed("api_key", f"{name} works" + (f" and holds {held}." if held else "."))


def judge_catalog_type(answer: Answer, where: str, level: StreamSettings) -> Iterator[Finding]:
    """The type exists and every mapped attribute id is one of its schema's."""
    type_id = level.catalog_type_id or ""
    subject = f"{where}catalog_type_id"
    found = answer.item("catalog_type")
    if not answer.ok or found is None:
        fix = (
            "copy the id from the type's page in incident.io (Catalog) or `GET /v3/catalog_types`."
        )
        yield refused(answer, subject, f"catalog type `{type_id}`", "catalog_viewer", fix)
        return
    name = found.get("name")
    yield passed(subject, f"catalog type `{type_id}` ({name}) exists.")
    schema = found.get("schema")
    listed = schema.get("attributes") if isinstance(schema, dict) else None
    attributes = [a for a in listed or () if isinstance(a, dict)]
    by_id = {str(a.get("id")): str(a.get("name")) for a in attributes}
    by_name = {name_: id_ for id_, name_ in by_id.items()}
    listing = ", ".join(f"{n} = {i}" for i, n in by_id.items()) or "none"
    mapping = level.catalog_attributes
    bad = {field: attr for field, attr in mapping.items() if attr not in by_id}
    subject = f"{where}catalog_attributes"
    for field, attr in bad.items():
        guess = by_name.get(attr) or by_name.get(field)
        hint = f'"{field}": "{guess}"' if guess else f"one of the ids above for `{field}`"
        yield failed(
            subject,
            f"`{field}` → `{attr}` is not an attribute of catalog type "
            f"{name} (`{type_id}`). Its attributes (name = id): {listing}.",
            f"use {hint}.",
        )
    if mapping and not bad:
        pairs = ", ".join(f"`{field}` → {by_id[attr]}" for field, attr in mapping.items())
        yield passed(subject, f"every attribute id is one of {name}'s: {pairs}.")


def judge_named_catalog_type(
    answer: Answer, where: str, level: StreamSettings
) -> Iterator[Finding]:
    """The type `catalog_type` (or the stream) names: exists, managed, fields with no attribute.

    The stream's SCHEMA is not known without input: a dry run names its fields that lack one.
    """
    subject = f"{where}catalog_type"
    wanted = level.catalog_type or stream_of(where)
    if level.catalog_type is None and (not wanted or any(c in wanted for c in "*?[")):
        yield note(subject, "named after each stream (no `catalog_type`); checked at run time.")
        return
    if not answer.ok:
        fix = "give the key the `catalog_viewer` role, or name the type by `catalog_type_id`."
        yield refused(answer, subject, "the catalog types", "catalog_viewer", fix)
        return
    try:
        types = parse_types(answer.body)
        kind = find_type(types, wanted)
    except (TypeError, ValueError) as error:
        yield failed(subject, f"{error}.", 'set `catalog_type` to its type_name (`Custom["…"]`).')
        return
    yield from _judge_references(types, where, level)
    if kind is None and level.catalog_manage_type:
        text = f"catalog type {wanted} does not exist yet; the first run creates it, managed by "
        yield passed(subject, text + "this stream.")
    elif kind is None:
        yield failed(
            subject,
            f"catalog type {wanted} does not exist.",
            "create it in incident.io (Catalog), or set `catalog_manage_type: true` to let the "
            "target create it from the stream.",
        )
    else:
        owner = kind.managed_by
        how = (
            f"managed by target-incidentio (stream '{owner}')"
            if owner is not None
            else "not created by target-incidentio, so its schema is used as it is"
        )
        yield passed(subject, f"catalog type {wanted} exists (`{kind.id}`), {how}.")
        yield from _judge_mapped_fields(kind, where, level)


def _judge_mapped_fields(kind: CatalogType, where: str, level: StreamSettings) -> Iterator[Finding]:
    """Which fields `catalog_attributes` and `catalog_references` name have no attribute."""
    subject = f"{where}catalog_attributes"
    mapped = {f: f for f in level.catalog_references} | dict(level.catalog_attributes)
    missing = sorted(field for field, attr in mapped.items() if kind.attribute(attr) is None)
    if missing and level.catalog_manage_type and kind.managed_by is not None:
        text = f"fields {', '.join(missing)} have no attribute yet; the next run adds them."
        yield note(subject, text)
    elif missing:
        yield failed(
            subject,
            f"fields {', '.join(missing)} have no attribute in catalog type {kind.name}; their "
            f"values would not be sent. Its attributes (name = id): {kind.listing()}.",
            "map them to attributes it has, or add the attributes in incident.io.",
        )
    elif mapped:
        yield passed(subject, f"every mapped field has an attribute of {kind.name}.")
    if not level.catalog_attributes:
        yield note(
            subject,
            "the stream's fields become attributes at run time; a dry run (`dry_run: true`) "
            "names those with no attribute.",
        )


def _judge_references(
    types: tuple[CatalogType, ...], where: str, level: StreamSettings
) -> Iterator[Finding]:
    """Each type `catalog_references` names exists (an attribute cannot reference nothing)."""
    subject = f"{where}catalog_references"
    for field, reference in level.catalog_references.items():
        try:
            found = find_type(types, reference)
        except ValueError as error:
            yield failed(subject, f"`{field}`: {error}.", "name the type by its type_name.")
            continue
        if found is None:
            names = ", ".join(kind.type_name for kind in types) or "none"
            yield failed(
                subject,
                f"`{field}` references catalog type {reference}, which does not exist. The "
                f"types (type_name): {names}.",
                "name an existing type by its type_name, or create it in incident.io first.",
            )
        else:
            yield passed(subject, f"`{field}` references {reference} (`{found.id}`).")


def judge_custom_field(
    answer: Answer, where: str, index: int, mapped: CustomFieldMap
) -> Iterator[Finding]:
    """The field exists and `kind` fits its type."""
    subject = f"{where}custom_fields[{index}]"
    field_id = mapped.custom_field_id
    found = answer.item("custom_field")
    if not answer.ok or found is None:
        fix = (
            f"copy the id of the field that `{mapped.field}` should fill from incident.io "
            "(Settings > Custom fields), or `GET /v2/custom_fields`."
        )
        yield refused(answer, subject, f"custom field `{field_id}`", "viewer", fix)
        return
    name, field_type = found.get("name"), found.get("field_type")
    fits = kind_of(found)
    described = f"custom field `{field_id}` ({name}) is {field_type}"
    if found.get("catalog_type_id"):
        described += f" of catalog type `{found['catalog_type_id']}`"
    if fits is None:
        yield note(subject, f"{described}, a type the target does not know; kind not checked.")
    elif mapped.kind is None:
        yield passed(subject, f"{described}: its values are sent as kind `{fits}`.")
    elif fits != mapped.kind:
        yield failed(
            subject,
            f"{described}, but its `kind` is `{mapped.kind}` (record field `{mapped.field}`).",
            f'set "kind": "{fits}".',
        )
    else:
        yield passed(subject, f"{described}: kind `{mapped.kind}` fits.")


def named_type_judge(where: str, level: StreamSettings) -> Callable[[Answer], Iterable[Finding]]:
    """The judge of the catalog types listing for a type named by `catalog_type`."""
    return lambda answer: judge_named_catalog_type(answer, where, level)


def custom_field_judge(
    where: str, index: int, mapped: CustomFieldMap
) -> Callable[[Answer], Iterable[Finding]]:
    """The judge of a custom field given by id."""
    return lambda answer: judge_custom_field(answer, where, index, mapped)


def named_field_judge(
    where: str, index: int, mapped: CustomFieldMap
) -> Callable[[Answer], Iterable[Finding]]:
    """The judge of the custom fields listing for a field given by name."""
    return lambda answer: judge_named_custom_field(answer, where, index, mapped)


def role_judge(subject: str, role: str) -> Callable[[Answer], Iterable[Finding]]:
    """The judge of the roles listing for a role named in `role_assignments`."""
    return lambda answer: judge_name(answer, subject, role, "incident_roles")


def judge_name(answer: Answer, subject: str, value: str, names: ListName) -> Iterator[Finding]:
    """A configured name names exactly one item of its list: `'Incident Lead' → 01H…`."""
    kind = LISTS[names]
    listed = answer.body.get(kind.items_key) if isinstance(answer.body, dict) else None
    if not answer.ok or not isinstance(listed, list):
        fix = "make sure the API key has the `viewer` role, or give the id instead of the name."
        yield refused(answer, subject, f"the {kind.items_key.replace('_', ' ')}", "viewer", fix)
        return
    try:
        found = find(value, [item for item in listed if isinstance(item, dict)], kind)
    except UnresolvedError as problem:
        yield failed(subject, f"{problem}.", "use one of the known names, or the id.")
        return
    yield passed(subject, f"{kind.what} {value!r} → {found.get('id')}.")


def schedule_judge(subject: str, value: str) -> Callable[[Answer], Iterable[Finding]]:
    """The judge of the schedules listing for a schedule `override_schedules` names."""

    def judge(answer: Answer) -> Iterator[Finding]:
        findings = list(judge_name(answer, subject, value, "schedules"))
        if any(finding.status != "passed" for finding in findings):
            yield from findings
            return
        listed = [i for i in answer.body["schedules"] if isinstance(i, dict)]
        found = find(value, listed, LISTS["schedules"])
        rotations = found.get("config", {}).get("rotations") or []
        parts = "; ".join(
            f"rotation {r.get('name')!r}: layers "
            + ", ".join(repr(layer.get("name")) for layer in r.get("layers") or [])
            for r in rotations
            if isinstance(r, dict)
        )
        yield passed(subject, f"schedule {value!r} → {found.get('id')} ({parts or 'no rotation'}).")

    return judge


def judge_named_custom_field(
    answer: Answer, where: str, index: int, mapped: CustomFieldMap
) -> Iterator[Finding]:
    """A field named by name: it names one field (name → id), and `kind` fits its type."""
    subject = f"{where}custom_fields[{index}]"
    findings = list(judge_name(answer, subject, mapped.custom_field or "", "custom_fields"))
    yield from findings
    if any(finding.status != "passed" for finding in findings):
        return
    listed = answer.body["custom_fields"]
    found = find(mapped.custom_field or "", listed, LISTS["custom_fields"])
    as_shown = Answer(answer.status_code, answer.ok, {"custom_field": found}, answer.reason)
    named = replace(mapped, custom_field_id=str(found.get("id")))
    yield from judge_custom_field(as_shown, where, index, named)
