"""`target-incidentio --check`: the configuration asked of incident.io before any data flows.

A wrong id is otherwise found by the first record, often at night on a schedule. Each check
is a pure request builder (a GET under `base_url`, here) and a pure judge of its answer
(`judges.py`), which returns findings (`findings.py`). `run_check` sends the look-ups
through `Delivery.call`, so they are paced and retried like any call, with TLS verified, and
logs one line per finding on stderr, then a summary.

A check writes nothing: no state, no response records, no dead letters. It is a question, and
its answer is its lines and its exit code. It wants that answer now, so it does not spend a
run's retry budget: `check_retry_policy` hands delivery a policy of its own (one short retry
of a call that got no answer, none of one that timed out, waits capped), and a base_url that
refuses, does not resolve or does not answer is reported within about `request_timeout`.
"""

from __future__ import annotations

import logging
import typing as t
from dataclasses import replace
from urllib.parse import quote

from target_incidentio.catalog.types import TYPES_PATH
from target_incidentio.check.alert_source_judges import judge_alert_source, judge_heartbeat_source
from target_incidentio.check.findings import (
    LABELS,
    Answer,
    Finding,
    Lookup,
    Status,
    failed,
    note,
    passed,
)
from target_incidentio.check.judges import (
    custom_field_judge,
    judge_base_url,
    judge_catalog_type,
    judge_identity,
    level_name,
    named_field_judge,
    named_type_judge,
    role_judge,
    role_needs,
    schedule_judge,
    stream_of,
)
from target_incidentio.check.sync_judges import SyncCheck
from target_incidentio.core.errors import SettingError
from target_incidentio.core.lookups import follow_pages
from target_incidentio.core.secrets import install_redaction, remove_redaction
from target_incidentio.delivery.engine import Delivery
from target_incidentio.delivery.retry import RetryPolicy
from target_incidentio.incidents.listing import listing_path
from target_incidentio.operation_entry import ID_CHECKS, RUN_CHECKS
from target_incidentio.operations import OPERATIONS, check_credential
from target_incidentio.run.directory import lookup_request
from target_incidentio.settings import check_heartbeat

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from target_incidentio.core.secrets import Redactor
    from target_incidentio.operation_entry import IdCheck, RunCheck
    from target_incidentio.payloads.base import ApiRequest
    from target_incidentio.settings import DeliverySettings, Settings, StreamSettings

LOG = logging.getLogger("target-incidentio")
# The check's retries: a 429 or 5xx is retried as configured but waits at most this long (and
# at most this many times); a call with no answer is retried once, soon; a timeout is not.
CHECK_MAX_WAIT = 10.0
CHECK_MAX_RETRIES = 3
CHECK_FIRST_WAIT = 0.5


def check_retry_policy(delivery: DeliverySettings) -> RetryPolicy:
    """A question's retries, not a run's: bounded so that `--check` answers in seconds."""
    return RetryPolicy(
        max_retries=min(delivery.max_retries, CHECK_MAX_RETRIES),
        max_wait=min(delivery.max_retry_wait, CHECK_MAX_WAIT),
        first_wait=CHECK_FIRST_WAIT,
        unanswered_retries=1,
        timeout_retries=0,
    )


# -- request builders (pure) -------------------------------------------------------------------


def identity_request(settings: Settings) -> ApiRequest:
    """`GET /v1/identity`: whether the key works and its roles; also whether base_url answers."""
    return _lookup(settings, settings.defaults, "", "/v1/identity")


def _lookup(settings: Settings, level: StreamSettings, where: str, path: str) -> ApiRequest:
    """`GET {base_url}{path}` for the check of a level."""
    return lookup_request(settings, level, path, stream=stream_of(where), operation="check")


def _path(collection: str, item_id: str) -> str:
    return f"{collection}/{quote(item_id, safe='')}"


# -- what each level of the settings asks --------------------------------------------------------


def settings_findings(settings: Settings) -> Iterator[Finding]:
    """They parsed (else the target could not be built); each operation has its credential."""
    operations = ", ".join(
        f"`{level.operation}` ({level_name(where)})" for where, level in settings.levels()
    )
    yield passed("settings", f"parsed; operations: {operations}.")
    for where, level in settings.levels():
        error = _credential_error(level, where)
        if error is not None:
            yield Finding("failed", "settings", error)


def _credential_error(level: StreamSettings, where: str) -> str | None:
    """A dry run does not check credentials at start; a real run will."""
    try:
        check_credential(OPERATIONS[level.operation], level, where)
    except SettingError as error:
        return str(error.errors[0])
    return None


class Ask(t.Protocol):
    """Make a level's look-up of `path`.

    `pages`: a listing read whole (its items' key, and the path of the page after a cursor).
    """

    def __call__(
        self,
        path: str,
        judge: Callable[[Answer], Iterable[Finding]],
        subject: str,
        *,
        pages: tuple[str, Callable[[str], str]] | None = None,
    ) -> Lookup:
        """The look-up."""
        ...


LevelCheck = t.Callable[[Ask, str, "StreamSettings"], t.Iterator["Lookup | Finding"]]


def level_lookups(
    settings: Settings, where: str, level: StreamSettings
) -> Iterator[Lookup | Finding]:
    """The look-ups a level's operation declares (`Operation.checks`), in `ID_CHECKS` order."""
    declared = OPERATIONS[level.operation].checks

    def ask(
        path: str,
        judge: Callable[[Answer], Iterable[Finding]],
        subject: str,
        *,
        pages: tuple[str, Callable[[str], str]] | None = None,
    ) -> Lookup:
        paged = None
        if pages is not None:
            key, page_path = pages
            paged = (key, lambda after: _lookup(settings, level, where, page_path(after)))
        return Lookup(_lookup(settings, level, where, path), judge, f"{where}{subject}", paged)

    for check in ID_CHECKS:
        if check in declared:
            yield from LEVEL_CHECKS[check](ask, where, level)


def _alert_source(ask: Ask, where: str, level: StreamSettings) -> Iterator[Lookup | Finding]:
    """The alert source by id (or a note where the id comes from records)."""
    if level.alert_source_config_id is None:
        yield note(
            f"{where}alert_source_config_id",
            "not set: taken from each record's `alert_source_config_id`; not checked.",
        )
    else:
        path = _path("/v2/alert_sources", level.alert_source_config_id)
        yield ask(path, lambda a: judge_alert_source(a, where, level), "alert_source_config_id")


def _catalog_type(ask: Ask, where: str, level: StreamSettings) -> Iterator[Lookup | Finding]:
    """The catalog type by name (listed) or by id (or a note where the id comes from records)."""
    if level.catalog_type or level.catalog_manage_type:
        yield ask(TYPES_PATH, named_type_judge(where, level), "catalog_type")
    elif level.catalog_type_id is None:
        yield note(
            f"{where}catalog_type_id",
            "not set: taken from each record's `catalog_type_id`; the attribute ids "
            "are not checked.",
        )
    else:
        path = _path("/v3/catalog_types", level.catalog_type_id)
        yield ask(path, lambda a: judge_catalog_type(a, where, level), "catalog_type_id")


def _custom_fields(ask: Ask, where: str, level: StreamSettings) -> Iterator[Lookup]:
    """Each mapped custom field, by id or by name."""
    for index, mapped in enumerate(level.custom_fields):
        subject = f"custom_fields[{index}]"
        if mapped.custom_field_id is None:
            yield ask("/v2/custom_fields", named_field_judge(where, index, mapped), subject)
        else:
            path = _path("/v2/custom_fields", mapped.custom_field_id)
            yield ask(path, custom_field_judge(where, index, mapped), subject)


def _role_assignments(ask: Ask, where: str, level: StreamSettings) -> Iterator[Lookup]:
    """Each role named by name."""
    for index, role in enumerate(level.role_assignments):
        if role.role is not None:
            subject = f"role_assignments[{index}]"
            yield ask("/v2/incident_roles", role_judge(f"{where}{subject}", role.role), subject)


def _schedules(ask: Ask, where: str, level: StreamSettings) -> Iterator[Lookup | Finding]:
    """Each schedule `override_schedules` names, with its rotations and layers."""
    if not level.override_schedules:
        yield note(
            f"{where}override_schedules",
            "none named: the schedules, rotations and layers each row names are resolved "
            "once per run.",
        )
    for index, name in enumerate(level.override_schedules):
        subject = f"override_schedules[{index}]"
        yield ask("/v2/schedules?page_size=250", schedule_judge(f"{where}{subject}", name), subject)


def _incident_sync(ask: Ask, where: str, level: StreamSettings) -> Iterator[Lookup]:
    """`incident_mode: sync`: key field, owned fields, close status, incidents holding a key."""
    if level.incident_mode != "sync":
        return
    judges = SyncCheck(where, level)
    yield ask("/v2/incident_roles", judges.judge_roles, "incident_sync_fields")
    yield ask("/v2/custom_fields", judges.judge_fields, "incident_key_field")
    if level.close_missing_incidents is not None:
        statuses = "/v1/incident_statuses"
        yield ask(statuses, judges.judge_status, "close_missing_incidents")
    pages = ("incidents", listing_path)
    yield ask(listing_path(), judges.judge_incidents, "incident_mode", pages=pages)


# How each kind of check an operation may declare is made.
LEVEL_CHECKS: Mapping[IdCheck, LevelCheck] = {
    "alert_source": _alert_source,
    "catalog_type": _catalog_type,
    "custom_fields": _custom_fields,
    "role_assignments": _role_assignments,
    "incident_sync": _incident_sync,
    "schedules": _schedules,
}


# -- what the run as a whole asks (`operation_entry.RUN_CHECKS`) ---------------------------

RunLevelCheck = t.Callable[["Settings"], t.Iterator["Lookup | Finding"]]


def run_lookups(settings: Settings) -> Iterator[Lookup | Finding]:
    """The look-ups of the run's own settings, in `RUN_CHECKS` order."""
    for check in RUN_CHECKS:
        yield from RUN_LEVEL_CHECKS[check](settings)


def _heartbeat(settings: Settings) -> Iterator[Lookup | Finding]:
    """The heartbeat source by id, and its token given (a dry run starts without it)."""
    delivery = settings.delivery
    try:
        check_heartbeat(delivery, require_token=True)
    except SettingError as error:
        yield failed(error.setting, error.problem, error.fix)
    source_id = delivery.heartbeat_alert_source_config_id
    if source_id is not None:
        request = _lookup(settings, settings.defaults, "", _path("/v2/alert_sources", source_id))
        subject = "heartbeat_alert_source_config_id"
        token = delivery.heartbeat_token
        yield Lookup(request, lambda a: judge_heartbeat_source(a, source_id, token), subject)


# How each run-level check is made.
RUN_LEVEL_CHECKS: Mapping[RunCheck, RunLevelCheck] = {"heartbeat": _heartbeat}


def checks(settings: Settings, ask: Callable[[ApiRequest], Answer]) -> Iterator[Finding]:
    """Every finding, in order; `ask` sends a look-up (only GETs are ever built)."""
    yield from settings_findings(settings)
    identity = ask(identity_request(settings))
    yield judge_base_url(identity, settings.defaults.base_url)
    items = [
        *run_lookups(settings),
        *(item for where, lvl in settings.levels() for item in level_lookups(settings, where, lvl)),
    ]
    if identity.status_code is None:
        skipped = sum(isinstance(item, Lookup) for item in items) + 1
        yield note("check", f"{skipped} look-up(s) not made: base_url does not answer.")
        return
    unasked = "cannot be checked without an `api_key`."
    if settings.defaults.api_key is not None:
        needs, notes = role_needs(settings)
        yield from notes
        yield from judge_identity(identity, needs)
        unasked = "" if identity.ok else "not checked: the API key did not pass (see `api_key`)."
    for item in items:
        if isinstance(item, Finding):
            yield item
        elif unasked:
            yield note(item.subject, unasked)
        else:
            yield from item.judge(answered(item, ask))


class _PageFailedError(RuntimeError):
    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.reason)
        self.answer = answer


def answered(item: Lookup, ask: Callable[[ApiRequest], Answer]) -> Answer:
    """A look-up's answer.

    A listing's holds every page's items (`follow_pages`), or is the first page that failed,
    or says why the pages could not be followed.
    """
    first = ask(item.request)
    if item.pages is None or not first.ok:
        return first
    key, next_page = item.pages
    pages = 0

    def fetch(after: str | None) -> object:
        nonlocal pages
        answer = first if after is None else ask(next_page(after))
        if not answer.ok:
            raise _PageFailedError(answer)
        pages += 1
        return answer.body

    try:
        items = follow_pages(fetch, key)
    except _PageFailedError as failed:
        return failed.answer
    except (TypeError, ValueError) as error:
        return replace(first, ok=False, reason=f"{first.reason}; its pages: {error}")
    return replace(first, body={key: items, "pages": pages})


# -- the runner -----------------------------------------------------------------------------------


def run_check(settings: Settings, redact: Redactor) -> int:
    """Make the look-ups, log one line per finding and a summary; 0 only if none failed."""
    counts: dict[Status, int] = dict.fromkeys(LABELS, 0)
    install_redaction(redact)
    try:
        with Delivery(
            settings.delivery,
            on_result=lambda _: None,
            redact=redact,
            origin=settings.defaults.base_url,
            retry_policy=check_retry_policy(settings.delivery),
        ) as delivery:
            answers: dict[str, Answer] = {}

            def ask(request: ApiRequest) -> Answer:
                # The same id at several levels is asked once.
                if request.url not in answers:
                    answers[request.url] = Answer.of(*delivery.call(request))
                return answers[request.url]

            for finding in checks(settings, ask):
                counts[finding.status] += 1
                log(finding, redact)
    finally:
        remove_redaction(redact)
    return summarise(counts)


def log(finding: Finding, redact: Redactor) -> None:
    """One line on stderr, secrets scrubbed."""
    level = logging.ERROR if finding.status == "failed" else logging.INFO
    LOG.log(level, "%s", redact(finding.line()))


def report_unparsed(lines: Iterable[str]) -> int:
    """The settings did not parse: the messages a run would stop with, as failed checks."""
    counts: dict[Status, int] = dict.fromkeys(LABELS, 0)
    for line in lines:
        counts["failed"] += 1
        LOG.error("%s", Finding("failed", "settings", line).line())
    LOG.error("check: nothing was looked up until the settings parse.")
    return summarise(counts)


def summarise(counts: Mapping[Status, int]) -> int:
    """The summary line; the exit code."""
    notes = f", {counts['note']} note(s)" if counts["note"] else ""
    if counts["failed"]:
        LOG.error(
            "check: %d failed, %d passed%s. Fix what failed, then run --check again.",
            counts["failed"],
            counts["passed"],
            notes,
        )
        return 1
    LOG.info("check: all %d passed%s; the configuration is ready.", counts["passed"], notes)
    return 0
