"""The `--check` judges of alert sources: the events' HTTP source and the heartbeat source.

Each exists, is of the type its calls need, and holds the configured token when it shows one
(compared in constant time). Pure, as every judge (`judges.py`).
"""

from __future__ import annotations

import hmac
import typing as t

from target_incidentio.check.findings import Answer, Finding, failed, passed
from target_incidentio.check.judges import refused

if t.TYPE_CHECKING:
    from collections.abc import Generator, Iterator

    from target_incidentio.core.secrets import Secret
    from target_incidentio.settings import StreamSettings


# Alert source types whose events arrive at `POST /v2/alert_events/http/{id}`.
HTTP_SOURCE_TYPES = frozenset({"http", "http_custom"})
# The alert source type that takes pings at `/v2/heartbeat/{id}/ping`.
HEARTBEAT_SOURCE_TYPE = "heartbeat"


def _source_of_type(  # noqa: PLR0913 - each says what to tell the user
    answer: Answer,
    subject: str,
    source_id: str,
    types: t.Collection[str],
    *,
    what: str,
    find: str,
    wrong: str,
    make: str,
) -> Generator[Finding, None, dict[str, t.Any] | None]:
    """The alert source looked up, if it exists and is of one of `types`; else why not.

    `what` names it in a refusal, `find` says where its id is copied from, `wrong` what a
    source of another type cannot do, `make` how to create one that can.
    """
    found = answer.item("alert_source")
    if not answer.ok or found is None:
        yield refused(answer, subject, what, "viewer", find)
        return None
    kind, name = found.get("source_type"), found.get("name")
    if kind not in types:
        yield failed(
            subject, f"alert source `{source_id}` ({name}) is a `{kind}` source{wrong}", make
        )
        return None
    return found


def judge_alert_source(answer: Answer, where: str, level: StreamSettings) -> Iterator[Finding]:
    """The source exists, takes HTTP events, and (when it shows it) has the configured token."""
    source_id = level.alert_source_config_id or ""
    subject = f"{where}alert_source_config_id"
    found = yield from _source_of_type(
        answer,
        subject,
        source_id,
        HTTP_SOURCE_TYPES,
        what=f"alert source `{source_id}`",
        find="copy the id from the HTTP source's URL in incident.io (Alerts > Sources): "
        "https://api.incident.io/v2/alert_events/http/<id>.",
        wrong="; alert events go to HTTP sources.",
        make="create an HTTP source in incident.io (Alerts > Sources > HTTP) and use its id.",
    )
    if found is None:
        return
    name = found.get("name")
    yield passed(subject, f"alert source `{source_id}` ({name}) exists and takes HTTP events.")
    token_subject = f"{where}alert_source_token"
    yield from _judge_token(
        found.get("secret_token"), level.alert_source_token, token_subject, source_id
    )


def judge_heartbeat_source(
    answer: Answer, source_id: str, token: Secret | None
) -> Iterator[Finding]:
    """The heartbeat source exists, is a heartbeat source, and (if it shows it) has the token.

    The ping goes to `/v2/heartbeat/{id}/ping` over HTTP; only a source of type `heartbeat`
    takes it. A ping itself is not sent: it would count as the run having happened.
    """
    subject = "heartbeat_alert_source_config_id"
    found = yield from _source_of_type(
        answer,
        subject,
        source_id,
        {HEARTBEAT_SOURCE_TYPE},
        what=f"heartbeat alert source `{source_id}`",
        find="copy the id from the heartbeat source's ping URL in incident.io (Alerts > "
        "Sources): https://api.incident.io/v2/heartbeat/<id>/ping.",
        wrong=", not a heartbeat source: it takes no pings, so the heartbeat would never arrive.",
        make="create a heartbeat source in incident.io (Alerts > Sources > Heartbeat) and use "
        "the id from its ping URL.",
    )
    if found is None:
        return
    name = found.get("name")
    options = found.get("heartbeat_options")
    every = options.get("interval_seconds") if isinstance(options, dict) else None
    expects = f", expecting a ping every {every} s" if isinstance(every, int) else ""
    yield passed(subject, f"heartbeat alert source `{source_id}` ({name}) exists{expects}.")
    yield from _judge_token(found.get("secret_token"), token, "heartbeat_token", source_id)


def _judge_token(
    shown: object, token: Secret | None, subject: str, source_id: str
) -> list[Finding]:
    """The configured token is the one the source shows (compared in constant time)."""
    if token is None or not isinstance(shown, str) or not shown:
        return []
    if hmac.compare_digest(token.reveal().encode(), shown.encode()):
        return [passed(subject, f"is the token of alert source `{source_id}`.")]
    fix = "copy the token the source shows in incident.io (Alerts > Sources) into it."
    return [failed(subject, f"is not the token of alert source `{source_id}`.", fix)]
