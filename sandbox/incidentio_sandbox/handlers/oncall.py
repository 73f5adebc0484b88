"""On-call: users, schedules with rotations and layers, overrides, escalation paths, escalations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from incidentio_sandbox import views
from incidentio_sandbox.store.common import InvalidError, page, seeded
from incidentio_sandbox.validation import deep_objects

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from incidentio_sandbox.exchange import Call, JSONObject

# Escalation filters with their operators, as the endpoint's description names them; the
# spec's other filters (alert, created_at, updated_at) answer 422 rather than being ignored.
ESCALATION_FILTERS: Mapping[str, frozenset[str]] = {
    "idempotency_key": frozenset({"is"}),
    "escalation_path": frozenset({"one_of", "not_in"}),
    "incident": frozenset({"one_of", "not_in"}),
    "status": frozenset({"one_of", "not_in"}),
}


def _page(
    call: Call, items: list[JSONObject], *, total: bool = False
) -> tuple[list[JSONObject], JSONObject]:
    """One page in id order, and its ``pagination_meta`` (the total where the schema has one)."""
    ordered = sorted(items, key=lambda item: str(item["id"]))
    size = call.page_size()
    chosen, after = page(ordered, call.request.args.get("after"), size)
    meta: JSONObject = {"page_size": size}
    if total:
        meta["total_record_count"] = len(ordered)
    if after is not None:
        meta["after"] = after
    return chosen, meta


# -- users -------------------------------------------------------------------------------------


def list_users(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/users``: by ``email`` (any letter case) or ``slack_user_id``.

    Active users only, unless ``include_inactive``.
    """
    args = call.request.args
    reference = {name: args[name] for name in ("email", "slack_user_id") if args.get(name)}
    inactive = args.get("include_inactive", "false").lower() == "true"
    users = [
        views.user_with_roles(user)
        for user in call.store.seed.users
        if (inactive or user.is_active) and (not reference or user.matches(reference))
    ]
    chosen, meta = _page(call, users)
    return 200, {"users": chosen, "pagination_meta": meta}


def show_user(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/users/{id}``."""
    found = seeded(call.store.seed.users, call.args["id"], "user")
    return 200, {"user": views.user_with_roles(found)}


# -- schedules and their overrides -----------------------------------------------------------


def list_schedules(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/schedules``: each with its rotations and their layers."""
    seed, stamp = call.store.seed, call.store.seed_stamp
    schedules = [views.schedule(s, seed.users, stamp) for s in seed.schedules]
    chosen, meta = _page(call, schedules, total=True)
    return 200, {"schedules": chosen, "pagination_meta": meta}


def show_schedule(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/schedules/{id}``."""
    schedule = call.store.overrides.schedule(call.args["id"], "id")
    shown = views.schedule(schedule, call.store.seed.users, call.store.seed_stamp)
    return 200, {"schedule": shown}


def list_schedule_overrides(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/schedule_overrides?schedule_id=``, narrowed by ``rotation_id``, ``layer_id``."""
    args = call.request.args
    overrides = call.store.overrides.on(
        args["schedule_id"], args.get("rotation_id"), args.get("layer_id")
    )
    chosen, meta = _page(call, overrides)
    return 200, {"overrides": chosen, "pagination_meta": meta}


def create_schedule_override(call: Call) -> tuple[int, JSONObject]:
    """``POST /v2/schedule_overrides`` (201); the neighbours it covers give way."""
    return 201, {"override": call.store.overrides.create(call.payload)}


def show_schedule_override(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/schedule_overrides/{id}``: a deleted one is a 404."""
    return 200, {"override": call.store.overrides.get(call.args["id"])}


def update_schedule_override(call: Call) -> tuple[int, JSONObject]:
    """``PUT /v2/schedule_overrides/{id}``: a new window or layer, the same user."""
    return 200, {"override": call.store.overrides.update(call.args["id"], call.payload)}


def delete_schedule_override(call: Call) -> tuple[int, JSONObject]:
    """``DELETE /v2/schedule_overrides/{id}`` (204), again and again."""
    call.store.overrides.delete(call.args["id"])
    return 204, {}


# -- escalation paths and escalations -------------------------------------------------------


def list_escalation_paths(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/escalation_paths``."""
    paths = [views.escalation_path(p) for p in call.store.seed.escalation_paths]
    chosen, meta = _page(call, paths)
    return 200, {"escalation_paths": chosen, "pagination_meta": meta}


def show_escalation_path(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/escalation_paths/{id}``."""
    found = seeded(call.store.seed.escalation_paths, call.args["id"], "escalation path")
    return 200, {"escalation_path": views.escalation_path(found)}


def create_escalation(call: Call) -> tuple[int, JSONObject]:
    """``POST /v2/escalations`` (201); a key seen before answers its escalation, pages nobody."""
    creator = {k: v for k, v in call.actor.items() if k in ("alert", "user", "workflow")}
    escalation, _created = call.store.escalations.create(call.payload, creator)
    return 201, {"escalation": escalation}


def show_escalation(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/escalations/{id}``."""
    return 200, {"escalation": call.store.escalations.get(call.args["id"])}


def list_escalations(call: Call) -> tuple[int, JSONObject]:
    """``GET /v2/escalations`` with the filters of ``ESCALATION_FILTERS``."""
    filters = deep_objects(call.request.args)
    problems = [
        ("invalid_value", f"{name} accepts the operators {sorted(allowed)}", f"{name}[{operator}]")
        if (allowed := ESCALATION_FILTERS.get(name))
        else ("invalid_value", f"The sandbox does not evaluate the {name!r} filter", name)
        for name, operators in filters.items()
        for operator in operators
        if operator not in ESCALATION_FILTERS.get(name, frozenset())
    ]
    if problems:
        raise InvalidError(problems)
    store = call.store.escalations
    fields: dict[str, Callable[[JSONObject], set[str]]] = {
        "idempotency_key": lambda e: {store.key_of(e["id"])},
        "escalation_path": lambda e: {e.get("escalation_path_id", "")},
        "incident": lambda e: {i["id"] for i in e["related_incidents"]},
        "status": lambda e: {e["status"]},
    }

    def wanted(escalation: JSONObject) -> bool:
        for name, operators in filters.items():
            held = fields[name](escalation)
            for operator, values in operators.items():
                if bool(held & set(values)) == (operator == "not_in"):
                    return False
        return True

    chosen, meta = _page(call, [e for e in store.escalations.values() if wanted(e)])
    return 200, {"escalations": chosen, "pagination_meta": meta}
