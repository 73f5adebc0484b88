"""Secret values that cannot leak through str(), repr(), logs or JSON."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import typing as t

from typing_extensions import override

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterable


class Secret:
    """Wraps a credential so that only `reveal()` ever yields the real value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the real value, for the one place that puts it on the wire."""
        return self._value

    @property
    def fingerprint(self) -> str:
        """Stable, non-reversible name for the secret (rate-limit buckets, logs)."""
        return hashlib.sha256(self._value.encode()).hexdigest()[:12]

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


REDACTED = "***"


class Redactor:
    """Scrubs known secret values out of any text before it is logged or written."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._pattern: re.Pattern[str] | None = None
        self._values: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Learn more values to scrub (empty and very short values are ignored).

        Each also in its JSON-escaped forms, as it appears inside a serialised record.
        """
        for value in secrets:
            if value and len(value) >= 4:  # noqa: PLR2004
                self._values.update(
                    {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
                )
        if self._values:
            alternatives = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(value) for value in alternatives))

    def __call__(self, text: str) -> str:
        """Return `text` with every known secret replaced by `***`."""
        if self._pattern is None:
            return text
        return self._pattern.sub(REDACTED, text)


def mask(value: object, redact: Callable[[str], str]) -> object:
    """`value` with `redact` applied to every string inside it, keys too.

    Masking a data structure, not its serialised text, so that a mask can never break the
    JSON (a value `true` masked inside `"ok": true`) nor a record's other values. A value
    nested deeper than Python can walk (a hostile record) is kept as its masked text.
    """
    try:
        return _mask(value, redact)
    except RecursionError:
        return redact(json.dumps(value, default=str)) if _dumps_ok(value) else redact(str(value))


def _dumps_ok(value: object) -> bool:
    try:
        json.dumps(value, default=str)
    except (RecursionError, ValueError):
        return False
    return True


def _mask(value: object, redact: Callable[[str], str]) -> object:
    # Plain loops, no comprehensions: one frame per level of nesting.
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        masked: dict[str, object] = {}
        for key, inner in value.items():
            masked[redact(str(key))] = _mask(inner, redact)
        return masked
    if isinstance(value, (list, tuple)):
        items: list[object] = []
        for inner in value:
            items.append(_mask(inner, redact))  # noqa: PERF401 - one frame per level
        return items
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return redact(str(value))  # anything else is written as its text


# A header holds a secret when it is `Authorization` or its name says key, token or secret.
SECRET_HEADER = re.compile(r"authorization|key|token|secret|password|credential", re.IGNORECASE)


def is_secret_header(name: str) -> bool:
    """Whether a header's value is a secret by its name (Authorization, X-Api-Key, ...)."""
    return SECRET_HEADER.search(name) is not None


class RedactingFilter(logging.Filter):
    """Scrubs secrets from every log record, whoever logs it: the SDK echoes record values."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    @override
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_text is None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        return True


def install_redaction(redact: Redactor) -> None:
    """Put a redacting filter on every handler of the root logger (stderr, in the CLI)."""
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(RedactingFilter(redact))


def remove_redaction(redact: Redactor) -> None:
    """Take off the filters `install_redaction(redact)` put on."""
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            if old.redact is redact:
                handler.removeFilter(old)
