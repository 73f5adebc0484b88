"""``GET /v2/incidents``'s filters, order and pages, as the endpoint's description documents them.

Each filter is ``name[operator]=value`` (roles and custom fields nest one more level:
``custom_field[FIELD_ID][one_of]=OPTION_ID``). The sandbox evaluates the ones the description
documents and answers 422 for any other, rather than ignoring it: a client that filters on
something incident.io does not document (a text custom field, say) learns so here.

``mode`` is a scope, not a filter: without it only ``standard`` and ``retrospective``
incidents are listed, whatever ``filter_mode`` says; the other filters are combined by
``filter_mode``, ``all`` (the default) or ``any``, one condition per filter and operator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from incidentio_sandbox.seed.configuration import SELECT_TYPES
from incidentio_sandbox.store.common import InvalidError

if TYPE_CHECKING:
    from incidentio_sandbox.seed import Seed

JSONObject = dict[str, Any]
Problem = tuple[str, str, str]
Condition = Callable[[JSONObject], bool]

# What the endpoint's description says ("The maximum page size that can be requested is
# 250"), though the parameter's schema allows 500.
MAX_PAGE_SIZE = 250
DEFAULT_MODES = ("standard", "retrospective")
# Filter -> its operators, for filters on one value of the incident.
FLAT_FILTERS: Mapping[str, frozenset[str]] = {
    "status": frozenset({"one_of", "not_in"}),
    "status_category": frozenset({"one_of", "not_in"}),
    "created_at": frozenset({"gte", "lte", "date_range"}),
    "updated_at": frozenset({"gte", "lte", "date_range"}),
    "severity": frozenset({"one_of", "not_in", "gte", "lte"}),
    "incident_type": frozenset({"one_of", "not_in"}),
    "mode": frozenset({"one_of"}),
}
# The API's names of the status categories, from the endpoint's description (the dashboard
# shows "live" as Active and "learning" as Post-incident).
STATUS_CATEGORIES = (
    "triage",
    "live",
    "learning",
    "paused",
    "closed",
    "declined",
    "canceled",
    "merged",
)
ROLE_OPERATORS = frozenset({"is_set", "one_of", "is_blank"})
OPTION_OPERATORS = frozenset({"one_of", "not_in"})


def _instant(text: str, *, end_of_day: bool) -> datetime:
    """A filter's date (``2024-05-01``, the whole day) or RFC 3339 instant, in UTC."""
    try:
        if len(text) == len("2024-05-01"):
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            return start + timedelta(days=1) - timedelta(microseconds=1) if end_of_day else start
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        msg = f"{text!r} is not a date (2024-05-01) or an RFC 3339 timestamp"
        raise ValueError(msg) from None


def _stamp(incident: JSONObject, name: str) -> datetime:
    return datetime.fromisoformat(str(incident[name]).replace("Z", "+00:00"))


class IncidentQuery:
    """One listing's filters, judged against the account's configuration when parsed."""

    def __init__(self, seed: Seed, filters: Mapping[str, Any], filter_mode: str) -> None:
        self.seed = seed
        self.any = filter_mode == "any"
        self.modes: tuple[str, ...] = tuple(filters.get("mode", {}).get("one_of", DEFAULT_MODES))
        problems: list[Problem] = []
        self.conditions: list[Condition] = []
        for name, operators in filters.items():
            if name == "mode":
                continue
            try:
                self.conditions += self._parse(name, operators)
            except ValueError as problem:
                problems.append(("invalid_value", str(problem), name))
        if problems:
            raise InvalidError(problems)

    def matches(self, incident: JSONObject) -> bool:
        """In scope (its mode) and through the filters, combined as ``filter_mode`` says."""
        if incident["mode"] not in self.modes:
            return False
        if not self.conditions:
            return True
        judged = (condition(incident) for condition in self.conditions)
        return any(judged) if self.any else all(judged)

    # -- parsing ------------------------------------------------------------------------------

    def _parse(self, name: str, operators: Mapping[str, Any]) -> list[Condition]:
        if name == "incident_role":
            return [c for role_id, ops in operators.items() for c in self._role(role_id, ops)]
        if name == "custom_field":
            return [c for field_id, ops in operators.items() for c in self._option(field_id, ops)]
        allowed = FLAT_FILTERS.get(name)
        if allowed is None:
            msg = f"The sandbox does not evaluate the {name!r} filter (nor does the spec name it)"
            raise ValueError(msg)
        unknown = sorted(set(operators) - allowed)
        if unknown:
            msg = f"{name} accepts the operators {sorted(allowed)}, not {unknown}"
            raise ValueError(msg)
        return [self._flat(name, operator, values) for operator, values in operators.items()]

    def _flat(self, name: str, operator: str, values: list[str]) -> Condition:
        if name == "status_category" and set(values) - set(STATUS_CATEGORIES):
            # The parameter's own example says "active": the API value is "live".
            msg = f"status_category takes {list(STATUS_CATEGORIES)}, not {values}"
            raise ValueError(msg)
        if name in ("created_at", "updated_at"):
            return self._when(name, operator, values)
        if name == "severity" and operator in ("gte", "lte"):
            return self._rank(operator, values)
        read: Callable[[JSONObject], str | None] = {
            "status": lambda i: i["incident_status"]["id"],
            "status_category": lambda i: i["incident_status"]["category"],
            "severity": lambda i: (i.get("severity") or {}).get("id"),
            "incident_type": lambda i: (i.get("incident_type") or {}).get("id"),
        }[name]
        wanted = set(values)
        if operator == "one_of":
            return lambda incident: read(incident) in wanted
        return lambda incident: read(incident) not in wanted

    @staticmethod
    def _when(name: str, operator: str, values: list[str]) -> Condition:
        if operator == "date_range":
            first, sep, last = values[0].partition("~")
            if not sep:
                msg = f"{name}[date_range] takes two dates joined by '~', not {values[0]!r}"
                raise ValueError(msg)
            low, high = _instant(first, end_of_day=False), _instant(last, end_of_day=True)
            return lambda incident: low <= _stamp(incident, name) <= high
        bound = _instant(values[0], end_of_day=operator == "lte")
        if operator == "gte":
            return lambda incident: _stamp(incident, name) >= bound
        return lambda incident: _stamp(incident, name) <= bound

    def _rank(self, operator: str, values: list[str]) -> Condition:
        ranks = {s.id: int(s.extra.get("rank", 0)) for s in self.seed.severities}
        if values[0] not in ranks:
            msg = f"severity[{operator}] needs a severity of the account, not {values[0]!r}"
            raise ValueError(msg)
        bound = ranks[values[0]]

        def judged(incident: JSONObject) -> bool:
            severity = incident.get("severity")
            if severity is None or severity["id"] not in ranks:
                return False
            rank = ranks[severity["id"]]
            return rank >= bound if operator == "gte" else rank <= bound

        return judged

    @staticmethod
    def _role(role_id: str, operators: Mapping[str, list[str]]) -> list[Condition]:
        unknown = sorted(set(operators) - ROLE_OPERATORS)
        if unknown:
            msg = f"incident_role accepts the operators {sorted(ROLE_OPERATORS)}, not {unknown}"
            raise ValueError(msg)

        def assignee(incident: JSONObject) -> str | None:
            for item in incident["incident_role_assignments"]:
                if item["role"]["id"] == role_id and item.get("assignee"):
                    return str(item["assignee"]["id"])
            return None

        def one_of(wanted: set[str]) -> Condition:
            return lambda incident: assignee(incident) in wanted

        def assigned(expected: bool) -> Condition:  # noqa: FBT001 - a flag is what it judges
            return lambda incident: (assignee(incident) is not None) == expected

        out: list[Condition] = []
        for operator, values in operators.items():
            if operator == "one_of":
                out.append(one_of(set(values)))
                continue
            flag = values[0].lower()
            if flag not in ("true", "false"):
                msg = f"incident_role[{role_id}][{operator}] takes true or false, not {flag!r}"
                raise ValueError(msg)
            out.append(assigned((flag == "true") == (operator == "is_set")))
        return out

    def _option(self, field_id: str, operators: Mapping[str, list[str]]) -> list[Condition]:
        seeded = next((f for f in self.seed.custom_fields if f.id == field_id), None)
        if seeded is None:
            msg = f"No custom field found with id {field_id!r}"
            raise ValueError(msg)
        if seeded.field_type not in SELECT_TYPES or seeded.catalog_type_id:
            msg = (
                f"custom_field[{field_id}]: the spec documents operators only for option "
                f"fields; {seeded.name!r} is a {seeded.field_type} field"
                + (" backed by a catalog type" if seeded.catalog_type_id else "")
            )
            raise ValueError(msg)
        unknown = sorted(set(operators) - OPTION_OPERATORS)
        if unknown:
            msg = f"custom_field accepts the operators {sorted(OPTION_OPERATORS)}, not {unknown}"
            raise ValueError(msg)

        def chosen(incident: JSONObject) -> set[str]:
            return {
                value["value_option"]["id"]
                for entry in incident["custom_field_entries"]
                if entry["custom_field"]["id"] == field_id
                for value in entry["values"]
                if "value_option" in value
            }

        def judged(operator: str, wanted: set[str]) -> Condition:
            if operator == "one_of":
                return lambda incident: bool(chosen(incident) & wanted)
            return lambda incident: not chosen(incident) & wanted

        return [judged(operator, set(values)) for operator, values in operators.items()]


def ordered_page(
    incidents: list[JSONObject], *, newest_first: bool, after: str | None, page_size: int
) -> tuple[list[JSONObject], str | None]:
    """One page in the answer's order (ids sort by creation), and the cursor for the next.

    ``after`` is an incident's id: the page holds the incidents after it in that order,
    or where it would be, were it gone. No cursor comes back on the last page.
    """
    ordered = sorted(
        incidents, key=lambda i: (str(i["created_at"]), str(i["id"])), reverse=newest_first
    )
    if after is not None:
        at = next((n for n, i in enumerate(ordered) if i["id"] == after), None)
        if at is not None:
            ordered = ordered[at + 1 :]
        else:  # gone since: ids sort by creation too
            ordered = [i for i in ordered if (str(i["id"]) < after) == newest_first]
    chosen = ordered[:page_size]
    return chosen, str(chosen[-1]["id"]) if len(ordered) > page_size else None
