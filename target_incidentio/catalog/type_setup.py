"""A stream's catalog type, settled before its first entry (`catalog_type`, `catalog_manage_type`).

The type is found by name in the types listing (read once per run through the look-up cache);
when the stream manages it, it is created if missing and its schema gains an attribute for
each field it lacks. The builder then gets the type's id and the attribute ids, so entries
flow as with `catalog_type_id`. The plan is pure (`catalog/types.py`); this module sends it.

A failure here stops the run before any entry is sent, naming the type and the attribute. A
concurrent schema change (the `version` moved) is re-read and retried once, then reported.
"""

from __future__ import annotations

import logging
import typing as t
from dataclasses import replace

from target_incidentio.catalog.types import (
    PLANNED,
    TYPES_PATH,
    PlanError,
    columns,
    find_type,
    parse_type,
    parse_types,
    plan_type,
    schema_path,
    twins,
    with_type,
)
from target_incidentio.core.errors import DeliveryFailedError
from target_incidentio.strategies import Prepared

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from target_incidentio.catalog.types import CatalogType, TypePlan
    from target_incidentio.delivery.results import DeliveryResult
    from target_incidentio.payloads.base import ApiRequest, BuildContext
    from target_incidentio.strategies import Outlet

LOG = logging.getLogger("target-incidentio")

_OPERATION = "catalog_entry"
Call = t.Callable[["ApiRequest"], tuple["DeliveryResult", t.Any]]


def read_catalog_types(ctx: BuildContext, call: Call) -> tuple[CatalogType, ...]:
    """`GET /v3/catalog_types` (not paginated); raises with the reason when it fails."""
    request = ctx.api_key_call("GET", TYPES_PATH, order_key="catalog-types", operation=_OPERATION)
    result, body = call(request)
    if not result.ok:
        raise _TypeCallError(result, "listing the catalog types")
    return parse_types(body)


class _TypeCallError(RuntimeError):
    """A call about catalog types that incident.io did not answer with success."""

    def __init__(self, result: DeliveryResult, doing: str) -> None:
        super().__init__(f"{doing} was refused: {result.summary}")
        self.result = result


def prepare_catalog_type(
    ctx: BuildContext, schema: Mapping[str, t.Any], outlet: Outlet
) -> Prepared:
    """The type named by `catalog_type` (or the stream, when managed), ready for entries."""
    settings = ctx.settings
    if settings.catalog_type is None and not settings.catalog_manage_type:
        return Prepared(settings)
    wanted = settings.catalog_type or ctx.stream
    try:
        return _Preparing(ctx, schema, outlet, wanted).run()
    except (PlanError, ValueError, TypeError, _TypeCallError) as error:
        fix = (
            "the API key needs the `catalog_editor` role to create and change types"
            if isinstance(error, _TypeCallError) and error.result.status_code in (401, 403)
            else 'see docs/catalogs.md, "Catalog types from the stream"'
        )
        msg = (
            f"Stream '{ctx.stream}': catalog type {wanted} could not be settled before the "
            f"first entry: {error}. Fix: {fix}."
        )
        raise DeliveryFailedError(msg) from error


class _Preparing:
    """One stream's settling: read, plan, create, grow, bind."""

    def __init__(
        self, ctx: BuildContext, schema: Mapping[str, t.Any], outlet: Outlet, wanted: str
    ) -> None:
        self.ctx = ctx
        self.outlet = outlet
        self.wanted = wanted
        self.fields = tuple(schema.get("properties") or ())
        self.columns = columns(ctx.settings, schema, ctx.key_properties)

    def run(self) -> Prepared:
        kind = self._find(self.outlet.directory.catalog_types())
        plan = self._plan(kind)
        self._warn(plan)
        if self.outlet.dry_run:
            if plan.changes:
                LOG.info("Stream '%s', dry run: %s.", self.ctx.stream, plan.summary())
            type_id = plan.existing.id if plan.existing else f"{PLANNED}{self.wanted}"
            return self._bound(type_id, plan.planned(), plan)
        if kind is None:
            kind = self._create()
            plan = self._plan(kind)
        if plan.add:
            kind, plan = self._grow(kind, plan)
        return self._bound(kind.id, plan.settled(kind), plan)

    def _plan(self, kind: CatalogType | None) -> TypePlan:
        settings = self.ctx.settings
        return plan_type(
            self.ctx.stream,
            self.wanted,
            kind,
            self.columns,
            manage=settings.catalog_manage_type,
            fields=self.fields,
        )

    def _bound(self, type_id: str, bound: Mapping[str, str], plan: TypePlan) -> Prepared:
        settings = replace(self.ctx.settings, catalog_type_id=type_id, catalog_attributes=bound)
        return Prepared(settings, frozenset(c.field for c in plan.unattributed))

    def _warn(self, plan: TypePlan) -> None:
        """What the stream should know once: fields without an attribute, attributes kept."""
        stream, kind = self.ctx.stream, plan.existing
        if self.ctx.settings.catalog_manage_type and kind is not None and not plan.manage:
            LOG.warning(
                "Stream '%s': catalog type %s (%s) was not created by target-incidentio, so "
                "`catalog_manage_type` leaves its schema as it is.",
                stream,
                self.wanted,
                kind.id,
            )
        if plan.unattributed:
            LOG.warning(
                "Stream '%s': catalog type %s has no attribute for fields %s; their values are "
                "not sent.%s",
                stream,
                self.wanted,
                ", ".join(f"'{c.field}' ({c.shown})" for c in plan.unattributed),
                " Add the attributes in incident.io, or map the fields to attributes it has "
                "with `catalog_attributes`."
                if not plan.manage
                else " Only strings, numbers, booleans and arrays of them become attributes.",
            )
        if plan.left:
            LOG.warning(
                "Stream '%s': attributes %s of catalog type %s have no field in the stream any "
                "more; kept (the target never removes an attribute).",
                stream,
                ", ".join(plan.left),
                self.wanted,
            )

    def _find(self, types: tuple[CatalogType, ...]) -> CatalogType | None:
        """The stream's type among `types`; a twin made by a retried create is named."""
        kind = find_type(types, self.wanted, self.ctx.stream)
        extra = twins(types, kind) if kind is not None else ()
        if kind is not None and extra:
            LOG.warning(
                "Stream '%s': catalog type %s was created more than once (a create whose "
                "answer was lost, then retried); %s is used, and %s can be deleted in "
                "incident.io.",
                self.ctx.stream,
                self.wanted,
                kind.id,
                ", ".join(extra),
            )
        return kind

    def _create(self) -> CatalogType:
        """`POST /v3/catalog_types`, then the listing again: a retried create may make two."""
        body = self._plan(None).create_body()
        try:
            made = parse_type(self._send(TYPES_PATH, body, "creating it", "create catalog type"))
        except _TypeCallError:
            # A retry refused because its first attempt made the type: that one is ours.
            kind = self._find(self._reread())
            if kind is None or kind.managed_by != self.ctx.stream:
                raise
            return kind
        LOG.info(
            "Stream '%s': created catalog type %s (%s), managed by this stream.",
            self.ctx.stream,
            made.name,
            made.id,
        )
        kind = self._find(self._reread())
        if kind is None:
            msg = f"it was created ({made.id}), yet the listing does not name it"
            raise PlanError(msg)
        return kind

    def _grow(self, kind: CatalogType, plan: TypePlan) -> tuple[CatalogType, TypePlan]:
        """`update_schema` with the listed version; a version that moved is re-read once."""
        try:
            return self._update_schema(kind, plan), plan
        except _TypeCallError:
            fresh = self._find(self._reread())
            if fresh is None or fresh.version == kind.version:
                raise
        LOG.info(
            "Stream '%s': the schema of catalog type %s moved from version %d to %d meanwhile; "
            "planning again.",
            self.ctx.stream,
            self.wanted,
            kind.version,
            fresh.version,
        )
        plan = self._plan(fresh)
        return (self._update_schema(fresh, plan) if plan.add else fresh), plan

    def _update_schema(self, kind: CatalogType, plan: TypePlan) -> CatalogType:
        """One `update_schema`: every listed attribute by id, then the added ones."""
        added = ", ".join(column.shown for column in plan.add)
        answer = self._send(
            schema_path(kind.id),
            plan.schema_body(kind),
            f"adding {added}",
            "update catalog type schema",
        )
        grown = parse_type(answer)
        self.outlet.directory.update_catalog_types(lambda types: with_type(types, grown))
        LOG.info(
            "Stream '%s': added attributes to catalog type %s (%s): %s.",
            self.ctx.stream,
            self.wanted,
            grown.id,
            added,
        )
        return grown

    def _reread(self) -> tuple[CatalogType, ...]:
        """The types as incident.io has them now, in place of the run's listing."""
        return t.cast("tuple[CatalogType, ...]", self.outlet.directory.refresh_catalog_types())

    def _send(self, path: str, body: Mapping[str, t.Any], doing: str, purpose: str) -> object:
        """A POST about the type, sent now; its answer's body, or the refusal raised."""
        request = self.ctx.api_key_call(
            "POST",
            path,
            order_key=f"catalog-type:{self.wanted}",
            operation=_OPERATION,
            body=body,
            purpose=purpose,
        )
        result, answer = self.outlet.call(request)
        if not result.ok:
            raise _TypeCallError(result, doing)
        return answer
