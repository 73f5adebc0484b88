"""A plan as a dry run prints it: the counts, then up to `SHOWN` keys of each kind."""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from target_incidentio.reconcile.engine import Change, Plan

# Keys named in one log line or dry-run line before "… and N more".
SHOWN = 20


def shown(ids: Iterable[str], limit: int = SHOWN) -> str:
    """Up to `limit` ids, then how many more."""
    listed = list(ids)
    more = f" … and {len(listed) - limit} more" if len(listed) > limit else ""
    return ", ".join(listed[:limit]) + more


def kind_line(kind: str, ids: list[str], limit: int) -> str:
    """`kind (n): a, b, … and N more`, or nothing when there are none."""
    return f"{kind} ({len(ids)}): {shown(ids, limit)}" if ids else ""


def change_line(change: Change[t.Any, t.Any, t.Any, t.Any]) -> str:
    """`ext-1 (name, rank)`, or with values `7 (severity: 'Critical' -> 'Minor')`."""
    return f"{change.key} ({', '.join(d.shown() for d in change.differences)})"


def summary(
    plan: Plan[t.Any, t.Any, t.Any, t.Any],
    *,
    headline: str,
    label: Callable[[t.Any], str],
    kept_label: Callable[[t.Any], str] | None = None,
    limit: int = SHOWN,
) -> str:
    """The plan, line by line, in the feature's words.

    `headline` (the counts), then creates, changes, removals, unchanged, left alone, keys
    several objects hold, repeated keys, and why nothing is removed. `label` names a listed
    object to remove or holding a refused key; `kept_label` one left alone (else `label`).
    """
    words = plan.words
    lines = [
        headline,
        kind_line("create", [c.key for c in plan.creates], limit),
        kind_line(words.change, [change_line(c) for c in plan.changes], limit),
        kind_line(words.remove, [label(item) for item in plan.verdict.removes], limit),
        kind_line("unchanged", [u.key for u in plan.unchanged], limit),
        kind_line("left alone", [(kept_label or label)(item) for item in plan.kept], limit),
        kind_line(
            f"refused, several {words.items} hold the {words.key}",
            [f"{c.key} ({', '.join(label(h) for h in c.holders)})" for c in plan.conflicts],
            limit,
        ),
    ]
    if plan.repeated:
        lines.append(
            kind_line(f"duplicate {words.keys}, last row wins", list(plan.repeated), limit)
        )
    if plan.verdict.refusal:
        lines.append(f"no {words.removal}: {plan.verdict.refusal}")
    return "\n".join(line for line in lines if line)
